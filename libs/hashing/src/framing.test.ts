// Framing removal and crop compensation on generated scenes: the frame found where it was drawn,
// nothing found where there is none, and the extra hashes land near the original's.
import { encode, naturalScene, seededRandom, type RawImage } from '@vigil/testkit';
import sharp from 'sharp';
import { beforeAll, describe, expect, it } from 'vitest';
import { createSharpDecoder, type PixelFrame } from './decode-sharp.ts';
import { findContentRegion, findContentRegions } from './framing.ts';
import { hammingDistanceHex } from './hash256.ts';
import { createImageHasher } from './hash-image.ts';

const decode = createSharpDecoder();
const hasher = createImageHasher(decode);

async function frameOf(bytes: Buffer): Promise<PixelFrame> {
  const outcome = await decode(bytes, { mode: 'fast' });
  if (!outcome.ok) throw new Error(outcome.message);
  return outcome.image.frames[0]!;
}

const raw = (image: RawImage) => sharp(image.data, { raw: { width: image.width, height: image.height, channels: image.channels } });

/** A phone-screenshot-like canvas: status bar, a caption line of "text" blocks, the picture, two more lines. */
async function screenshot(scene: RawImage, dark: boolean): Promise<{ bytes: Buffer; box: { left: number; top: number; width: number; height: number } }> {
  const width = scene.width + 40;
  const height = scene.height + 180;
  const bg = dark ? { r: 18, g: 18, b: 18 } : { r: 250, g: 250, b: 250 };
  const ink = dark ? { r: 230, g: 230, b: 230 } : { r: 30, g: 30, b: 30 };
  const random = seededRandom(7);
  const text = (y: number) =>
    Array.from({ length: 12 }, (_, k) => ({
      input: { create: { width: 4 + Math.floor(random() * 10), height: 12, channels: 3 as const, background: ink } },
      left: 20 + k * 18,
      top: y,
    }));
  const bar = { input: { create: { width, height: 30, channels: 3 as const, background: dark ? { r: 60, g: 60, b: 60 } : { r: 220, g: 220, b: 220 } } }, left: 0, top: 0 };
  const picture = { input: await raw(scene).png().toBuffer(), left: 20, top: 70 };
  const bytes = await sharp({ create: { width, height, channels: 3, background: bg } })
    .composite([bar, ...text(42), picture, ...text(scene.height + 90), ...text(scene.height + 120)])
    .jpeg({ quality: 90 })
    .toBuffer();
  return { bytes, box: { left: 20, top: 70, width: scene.width, height: scene.height } };
}

describe('findContentRegion', () => {
  let scene: RawImage;
  beforeAll(async () => {
    scene = await naturalScene(320, 240, 3);
  });

  it('finds nothing to remove in an unframed picture', async () => {
    expect(findContentRegion(await frameOf(await encode(scene, 'jpeg', { quality: 90 })))).toBeNull();
  });

  it.each([
    ['white', { r: 255, g: 255, b: 255 }],
    ['black', { r: 0, g: 0, b: 0 }],
    ['grey', { r: 128, g: 128, b: 128 }],
  ])('trims a uniform %s border on every side', async (_name, background) => {
    const bytes = await raw(scene).extend({ top: 24, bottom: 24, left: 32, right: 32, background }).jpeg({ quality: 90 }).toBuffer();
    const region = findContentRegion(await frameOf(bytes));
    expect(region?.kind).toBe('border');
    expect(region!.left).toBeGreaterThanOrEqual(30);
    expect(region!.left).toBeLessThanOrEqual(34);
    expect(region!.top).toBeGreaterThanOrEqual(22);
    expect(region!.top).toBeLessThanOrEqual(26);
    expect(Math.abs(region!.width - 320)).toBeLessThanOrEqual(4);
    expect(Math.abs(region!.height - 240)).toBeLessThanOrEqual(4);
  });

  it('removes letterboxing (bars above and below only)', async () => {
    const bytes = await raw(scene).extend({ top: 60, bottom: 60, background: { r: 0, g: 0, b: 0 } }).png().toBuffer();
    expect(findContentRegion(await frameOf(bytes))).toEqual({ left: 0, top: 60, width: 320, height: 240, kind: 'border' });
  });

  it('ignores a frame too thin to matter', async () => {
    const bytes = await raw(scene).extend({ top: 2, bottom: 2, left: 2, right: 2, background: { r: 255, g: 255, b: 255 } }).png().toBuffer();
    expect(findContentRegion(await frameOf(bytes))).toBeNull();
  });

  it('adds a second guess from the picture\'s straight edges when rows of the picture match the background', async () => {
    // A dark picture on a dark theme: its middle rows are the background's own colour, which
    // splits the content band; its left and right edges still run straight above and below.
    const split = { ...scene, data: Buffer.from(scene.data) };
    for (let y = 100; y < 150; y++) split.data.fill(18, y * scene.width * scene.channels, (y + 1) * scene.width * scene.channels);
    const { bytes, box } = await screenshot(split, true);
    const regions = findContentRegions(await frameOf(bytes));
    expect(regions.length).toBe(2);
    const [first, second] = regions;
    expect(Math.abs(first!.height - box.height)).toBeGreaterThan(10);
    expect(second?.kind).toBe('chrome');
    for (const side of ['left', 'top', 'width', 'height'] as const) expect(Math.abs(second![side] - box[side])).toBeLessThanOrEqual(3);
    // A plain screenshot: both detectors agree, one region.
    expect(findContentRegions(await frameOf((await screenshot(scene, true)).bytes))).toHaveLength(1);
  });

  it.each([false, true])('finds the picture inside screenshot chrome (dark theme: %s)', async (dark) => {
    const { bytes, box } = await screenshot(scene, dark);
    const region = findContentRegion(await frameOf(bytes));
    expect(region?.kind).toBe('chrome');
    for (const side of ['left', 'top', 'width', 'height'] as const) expect(Math.abs(region![side] - box[side])).toBeLessThanOrEqual(3);
  });
});

describe('extra queries from the hasher', () => {
  it('hashes the content region of a framed copy close to the original, the canonical hash far', async () => {
    const scene = await naturalScene(320, 240, 5);
    const original = await hasher(await encode(scene, 'png'), {});
    const framed = await hasher((await screenshot(scene, false)).bytes, { framing: true });
    if (original.status !== 'hashed' || framed.status !== 'hashed') throw new Error('not hashed');
    expect(original.hashes.contentRegion).toBeUndefined();
    expect(hammingDistanceHex(original.hashes.pdq!, framed.hashes.pdq!)).toBeGreaterThan(60);
    expect(hammingDistanceHex(original.hashes.pdq!, framed.hashes.contentRegion!.pdq!)).toBeLessThanOrEqual(16);
    expect(hammingDistanceHex(original.hashes.blockhash!, framed.hashes.contentRegion!.blockhash!)).toBeLessThanOrEqual(16);
  });

  it('re-expands a centre crop so its PDQ lands near the original', async () => {
    const scene = await naturalScene(400, 300, 9);
    const original = await hasher(await encode(scene, 'png'), {});
    const cropped = await raw(scene).extract({ left: 10, top: 8, width: 380, height: 284 }).png().toBuffer();
    const copy = await hasher(cropped, { uncrop: [0.95, 0.9] });
    if (original.status !== 'hashed' || copy.status !== 'hashed') throw new Error('not hashed');
    expect(copy.hashes.uncropped?.map((u) => u.kept)).toEqual([0.95, 0.9]);
    const plain = hammingDistanceHex(original.hashes.pdq!, copy.hashes.pdq!);
    const uncropped = hammingDistanceHex(original.hashes.pdq!, copy.hashes.uncropped![0]!.pdq);
    expect(uncropped).toBeLessThan(plain);
    expect(uncropped).toBeLessThanOrEqual(20);
  });
});
