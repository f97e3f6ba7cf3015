// The orchestration alone, with a fake decoder: which algorithms run, what an unscannable
// outcome carries, and that nothing throws.
import { describe, expect, it } from 'vitest';
import type { DecodeOutcome, Decoder, DecodeRequest } from './decode-sharp.ts';
import { exactHashes } from './exact.ts';
import { createImageHasher } from './hash-image.ts';
import { captioned, picture, rgbaOf } from '../test/pictures.ts';

function fakeDecoder(outcome: DecodeOutcome): Decoder & { calls: DecodeRequest[] } {
  const calls: DecodeRequest[] = [];
  return Object.assign(async (_bytes: Uint8Array, request: DecodeRequest) => {
    calls.push(request);
    return outcome;
  }, { calls });
}

const bytes = Buffer.from('some bytes');
const gradient = (width: number, height: number) => {
  const data = new Uint8Array(width * height * 4);
  for (let i = 0; i < width * height; i++) data.set([(i * 7) % 256, (i * 13) % 256, (i % width) * 2, 255], i * 4);
  return data;
};
const decoded = (width: number, height: number, orientation = 1): DecodeOutcome => ({
  ok: true,
  image: { format: 'png', width, height, orientation, frameCount: 1, frames: [{ data: gradient(width, height), width, height }] },
});

describe('createImageHasher', () => {
  it('hashes exact digests without decoding when no perceptual algorithm is asked for', async () => {
    const decode = fakeDecoder(decoded(10, 10));
    const outcome = await createImageHasher(decode)(bytes, { algorithms: ['sha256'] });
    expect(outcome).toEqual({ status: 'hashed', hashes: { mode: 'fast', sha256: exactHashes(bytes).sha256 } });
    expect(decode.calls).toHaveLength(0);
  });

  it('passes mode and frame choice to the decoder, and reports every algorithm', async () => {
    const decode = fakeDecoder(decoded(80, 60));
    const outcome = await createImageHasher(decode)(bytes, { mode: 'reference', allFrames: true });
    expect(decode.calls).toEqual([{ mode: 'reference', allFrames: true }]);
    if (outcome.status !== 'hashed') throw new Error(outcome.message);
    expect(outcome.hashes).toMatchObject({ ...exactHashes(bytes), format: 'png', width: 80, height: 60, mode: 'reference' });
    expect(outcome.hashes.pdq).toMatch(/^[0-9a-f]{64}$/);
    expect(outcome.hashes.blockhash).toMatch(/^[0-9a-f]{64}$/);
    expect(outcome.hashes.pdqOriented).toBeUndefined();
  });

  it('adds the as-displayed PDQ when EXIF orientation is not 1', async () => {
    const outcome = await createImageHasher(fakeDecoder(decoded(80, 60, 6)))(bytes, { algorithms: ['pdq'] });
    if (outcome.status !== 'hashed') throw new Error(outcome.message);
    expect(outcome.hashes.pdqOriented).toMatchObject({ orientation: 6 });
    expect(outcome.hashes.pdqOriented!.hash).not.toBe(outcome.hashes.pdq);
    expect(outcome.hashes.blockhash).toBeUndefined();
  });

  it('adds downscale-compensated PDQ for the factors a small image allows, none without PDQ', async () => {
    const small = await createImageHasher(fakeDecoder(decoded(300, 200)))(bytes, { upscale: [2, 4] });
    if (small.status !== 'hashed') throw new Error(small.message);
    expect(small.hashes.upscaled?.map((u) => u.factor)).toEqual([2]);
    expect(small.hashes.upscaled![0]!.pdq).not.toBe(small.hashes.pdq);
    const large = await createImageHasher(fakeDecoder(decoded(600, 400)))(bytes, { upscale: [2, 4] });
    expect(large.status === 'hashed' && large.hashes.upscaled).toBeUndefined();
    const blockhashOnly = await createImageHasher(fakeDecoder(decoded(300, 200)))(bytes, { algorithms: ['blockhash'], upscale: [2] });
    expect(blockhashOnly.status === 'hashed' && blockhashOnly.hashes.upscaled).toBeUndefined();
  });

  it('adds the text-free PDQ when asked and the picture carries a caption, as if larger too where downscale compensation applies', async () => {
    const marked = captioned(picture(300, 200), 16);
    const frame: DecodeOutcome = { ok: true, image: { format: 'png', width: 300, height: 200, orientation: 1, frameCount: 1, frames: [{ data: rgbaOf(marked), width: 300, height: 200 }] } };
    const outcome = await createImageHasher(fakeDecoder(frame))(bytes, { overlay: true, upscale: [2, 4] });
    if (outcome.status !== 'hashed') throw new Error(outcome.message);
    expect(outcome.hashes.overlayFree?.filter((o) => !o.unblended).map((o) => o.factor)).toEqual([1, 2]);
    expect(outcome.hashes.overlayFree![0]!.pdq).not.toBe(outcome.hashes.pdq);
    const notAsked = await createImageHasher(fakeDecoder(frame))(bytes, {});
    expect(notAsked.status === 'hashed' && notAsked.hashes.overlayFree).toBeUndefined();
    const clean: DecodeOutcome = { ok: true, image: { ...frame.image, frames: [{ data: rgbaOf(picture(300, 200)), width: 300, height: 200 }] } };
    const noCaption = await createImageHasher(fakeDecoder(clean))(bytes, { overlay: true });
    expect(noCaption.status === 'hashed' && noCaption.hashes.overlayFree).toBeUndefined();
  });

  it('keeps exact digests on an unscannable outcome, except when the bytes were refused unread', async () => {
    const failing = (reason: 'decode_error' | 'too_large') =>
      createImageHasher(fakeDecoder({ ok: false, reason, message: 'no' }))(bytes);
    expect(await failing('decode_error')).toEqual({ status: 'unscannable', reason: 'decode_error', message: 'no', exact: exactHashes(bytes) });
    expect(await failing('too_large')).toMatchObject({ status: 'unscannable', reason: 'too_large', exact: {} });
  });

  it('turns a failure while hashing pixels into an outcome instead of a throw', async () => {
    const broken: DecodeOutcome = {
      ok: true,
      image: { format: 'png', width: 50, height: 50, orientation: 1, frameCount: 1, frames: [{ data: new Uint8Array(10), width: 50, height: 50 }] },
    };
    const outcome = await createImageHasher(fakeDecoder(broken))(bytes);
    expect(outcome).toMatchObject({ status: 'unscannable', reason: 'decode_error' });
    expect(outcome.status === 'unscannable' && outcome.exact.sha256).toBe(exactHashes(bytes).sha256);
  });
});
