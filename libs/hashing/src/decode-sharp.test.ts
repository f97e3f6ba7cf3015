// Hostile and malformed inputs: every one gets its typed outcome, within its time limit, with
// bounded memory, and nothing throws.
import { animatedGif, encode, jpegWithHugeExif, naturalScene, pngWithDeclaredSize, randomBytes, zipArchive } from '@vigil/testkit';
import sharp from 'sharp';
import { beforeAll, describe, expect, it } from 'vitest';
import { createSharpDecoder, DEFAULT_DECODE_LIMITS, restrictSharpLoaders, type UnscannableReason } from './decode-sharp.ts';
import { createImageHasher, type HashOutcome } from './hash-image.ts';
import { hammingDistanceHex, isHex256 } from './hash256.ts';

const TIME_LIMIT_MS = DEFAULT_DECODE_LIMITS.timeoutMs;
const MEMORY_LIMIT_BYTES = 256 * 1024 * 1024;
const hash = createImageHasher(createSharpDecoder());

let jpeg: Buffer;
let png: Buffer;

beforeAll(async () => {
  const scene = await naturalScene(320, 240, 3);
  jpeg = await encode(scene, 'jpeg', { quality: 85 });
  png = await encode(scene, 'png');
});

/** Hashes under a stopwatch and an RSS watch. */
async function measured(bytes: Uint8Array, request: Parameters<typeof hash>[1] = {}) {
  const rssBefore = process.memoryUsage().rss;
  const started = performance.now();
  const outcome = await hash(bytes, request);
  return { outcome, ms: performance.now() - started, rssGrowth: process.memoryUsage().rss - rssBefore };
}

function expectUnscannable(outcome: HashOutcome, reason: UnscannableReason) {
  expect(outcome.status).toBe('unscannable');
  if (outcome.status === 'unscannable') {
    expect(outcome.reason, outcome.message).toBe(reason);
    expect(outcome.message.length).toBeGreaterThan(0);
  }
}

function expectHashed(outcome: HashOutcome) {
  if (outcome.status !== 'hashed') throw new Error(`expected hashed, got ${outcome.reason}: ${outcome.message}`);
  expect(isHex256(outcome.hashes.pdq!)).toBe(true);
  expect(isHex256(outcome.hashes.blockhash!)).toBe(true);
  return outcome.hashes;
}

describe('hostile inputs', () => {
  it('zero bytes: empty', async () => {
    const { outcome } = await measured(new Uint8Array(0));
    expectUnscannable(outcome, 'empty');
  });

  it('random bytes: unsupported_format, with exact digests still computed', async () => {
    const bytes = randomBytes(4096);
    const { outcome } = await measured(bytes);
    expectUnscannable(outcome, 'unsupported_format');
    expect(outcome.status === 'unscannable' && outcome.exact.sha256).toMatch(/^[0-9a-f]{64}$/);
  });

  it('truncated JPEG: truncated', async () => {
    const { outcome, ms } = await measured(jpeg.subarray(0, Math.floor(jpeg.length * 0.6)));
    expectUnscannable(outcome, 'truncated');
    expect(ms).toBeLessThan(TIME_LIMIT_MS);
  });

  it('JPEG cut inside its header: truncated', async () => {
    expectUnscannable((await measured(jpeg.subarray(0, 200))).outcome, 'truncated');
  });

  it('truncated PNG: truncated', async () => {
    expectUnscannable((await measured(png.subarray(0, Math.floor(png.length * 0.6)))).outcome, 'truncated');
  });

  it('truncated files stay truncated while other broken files fail beside them (decoder messages are process-wide)', async () => {
    const cut = [jpeg.subarray(0, 3000), png.subarray(0, Math.floor(png.length * 0.5))];
    // Complete files with a broken inside: a JPEG whose scan data is overwritten with markers.
    const corrupt = Buffer.from(jpeg);
    corrupt.fill(0xff, 700, jpeg.length - 2);
    const outcomes = await Promise.all(Array.from({ length: 24 }, (_, i) => hash(i % 3 === 2 ? corrupt : cut[i % 3]!)));
    outcomes.forEach((outcome, i) => {
      if (i % 3 !== 2) expectUnscannable(outcome, 'truncated');
    });
  });

  it('50000x50000 PNG header (decompression bomb): too_many_pixels before any pixel is decoded', async () => {
    const { outcome, ms, rssGrowth } = await measured(pngWithDeclaredSize(50000, 50000));
    expectUnscannable(outcome, 'too_many_pixels');
    expect(ms).toBeLessThan(TIME_LIMIT_MS);
    expect(rssGrowth).toBeLessThan(MEMORY_LIMIT_BYTES);
  });

  it('a bomb just under the byte limit but over the pixel limit of a stricter decoder', async () => {
    const strict = createImageHasher(createSharpDecoder({ maxPixels: 1000 }));
    expectUnscannable(await strict(png), 'too_many_pixels');
  });

  it('GIF with 3000 frames: first frame hashed quickly; all-frames mode stops at the frame cap', async () => {
    const gif = await animatedGif(3000);
    const first = await measured(gif);
    const hashes = expectHashed(first.outcome);
    expect(hashes.frameCount).toBe(3000);
    expect(hashes.frames).toBeUndefined();
    expect(first.ms).toBeLessThan(TIME_LIMIT_MS);

    const all = await measured(gif, { allFrames: true });
    const allHashes = expectHashed(all.outcome);
    expect(allHashes.frames).toHaveLength(DEFAULT_DECODE_LIMITS.maxFrames);
    expect(allHashes.frames![0]!.pdq).toBe(allHashes.pdq);
    // Frames alternate dark and light: their hashes are frames of the same flat picture, so
    // what must hold is that each frame was hashed on its own pixels.
    expect(allHashes.frames!.map((f) => f.index)).toEqual([...Array(DEFAULT_DECODE_LIMITS.maxFrames).keys()]);
    expect(all.rssGrowth).toBeLessThan(MEMORY_LIMIT_BYTES);
  });

  it('JPEG with ~4 MB of hostile EXIF: hashed like the same JPEG without it', async () => {
    const hostile = jpegWithHugeExif(jpeg, 60);
    expect(hostile.length).toBeGreaterThan(3_900_000);
    const { outcome, ms, rssGrowth } = await measured(hostile);
    const hashes = expectHashed(outcome);
    const plain = expectHashed(await hash(jpeg));
    expect(hashes.pdq).toBe(plain.pdq);
    expect(hashes.sha256).not.toBe(plain.sha256);
    expect(ms).toBeLessThan(TIME_LIMIT_MS);
    expect(rssGrowth).toBeLessThan(MEMORY_LIMIT_BYTES);
  });

  it('CMYK JPEG: hashed, close to the RGB original', async () => {
    const cmyk = await sharp(jpeg).toColourspace('cmyk').jpeg({ quality: 95 }).toBuffer();
    expect((await sharp(cmyk).metadata()).space).toBe('cmyk');
    const hashes = expectHashed((await measured(cmyk)).outcome);
    expect(hammingDistanceHex(hashes.pdq!, expectHashed(await hash(jpeg)).pdq!)).toBeLessThanOrEqual(31);
  });

  it('16-bit PNG: hashed as 8-bit pixels, equal to the 8-bit PNG', async () => {
    const png16 = await sharp(png).toColourspace('rgb16').png().toBuffer();
    expect((await sharp(png16).metadata()).depth).toBe('ushort');
    const wide = expectHashed((await measured(png16, { mode: 'reference' })).outcome);
    const narrow = expectHashed(await hash(png, { mode: 'reference' }));
    expect(hammingDistanceHex(wide.pdq!, narrow.pdq!)).toBeLessThanOrEqual(2);
    expect(hammingDistanceHex(wide.blockhash!, narrow.blockhash!)).toBeLessThanOrEqual(2);
  });

  it('polyglot JPEG+ZIP: hashed as the JPEG it starts with; digests cover every byte', async () => {
    const polyglot = Buffer.concat([jpeg, zipArchive('readme.txt', 'benign')]);
    const hashes = expectHashed((await measured(polyglot)).outcome);
    const plain = expectHashed(await hash(jpeg));
    expect(hashes.format).toBe('jpeg');
    expect(hashes.pdq).toBe(plain.pdq);
    expect(hashes.sha256).not.toBe(plain.sha256);
  });

  it('PNG signature on a JPEG body: a typed failure, not a crash', async () => {
    const { outcome } = await measured(Buffer.concat([png.subarray(0, 8), jpeg.subarray(2)]));
    expect(outcome.status).toBe('unscannable');
    expect(['decode_error', 'truncated']).toContain(outcome.status === 'unscannable' && outcome.reason);
  });

  it('SVG is refused by default and hashed when enabled', async () => {
    const svg = Buffer.from('<svg xmlns="http://www.w3.org/2000/svg" width="64" height="48"><rect width="32" height="48" fill="#fff"/></svg>');
    expectUnscannable((await measured(svg)).outcome, 'unsupported_format');
    const withSvg = createImageHasher(createSharpDecoder({ formats: [...DEFAULT_DECODE_LIMITS.formats, 'svg'] }));
    expect((await withSvg(svg)).status).toBe('hashed');
  });

  it('formats outside the allowlist are refused even when libvips could read them', async () => {
    const tiff = await sharp(png).tiff().toBuffer();
    const jpegOnly = createImageHasher(createSharpDecoder({ formats: ['jpeg', 'png'] }));
    expectUnscannable(await jpegOnly(tiff), 'unsupported_format');
    expect((await jpegOnly(png)).status).toBe('hashed');
  });

  it('decodes while decoders are set up again (libvips blocks loaders for every thread at once)', async () => {
    // Decodes run on libuv threads while the main thread restricts the loaders again and again,
    // as a new hashing pool or a replaced worker does: none may see its loader blocked.
    const decode = createSharpDecoder();
    const failures: string[] = [];
    for (let round = 0; round < 10; round++) {
      const running = Array.from({ length: 8 }, () => decode(jpeg, { mode: 'fast' }).then((o) => void (o.ok || failures.push(`${o.reason}: ${o.message}`))));
      for (let i = 0; i < 1000; i++) restrictSharpLoaders(DEFAULT_DECODE_LIMITS.formats);
      await Promise.all(running);
    }
    expect(failures).toEqual([]);
  });

  it('BMP (not an accepted format): unsupported_format', async () => {
    const bmp = Buffer.concat([Buffer.from('BM'), randomBytes(200)]);
    expectUnscannable((await measured(bmp)).outcome, 'unsupported_format');
  });

  it('over the byte limit: too_large, without hashing the bytes', async () => {
    const small = createImageHasher(createSharpDecoder({ maxInputBytes: 1000 }));
    const outcome = await small(jpeg);
    expectUnscannable(outcome, 'too_large');
    expect(outcome.status === 'unscannable' && outcome.exact).toEqual({});
  });

  it('a decode past its deadline: timeout', async () => {
    const big = await sharp({ create: { width: 6000, height: 4000, channels: 3, background: '#456' } }).png({ compressionLevel: 0 }).toBuffer();
    const hurried = createImageHasher(createSharpDecoder({ timeoutMs: 1, maxInputBytes: 256 * 1024 * 1024 }));
    const started = performance.now();
    expectUnscannable(await hurried(big, { mode: 'reference' }), 'timeout');
    const hurriedMs = performance.now() - started;
    // Relative to the full decode of the same image in the same run, so a loaded machine (CI,
    // parallel suites) cannot fail it: the deadline must cut the work short, not just label it.
    const patient = createImageHasher(createSharpDecoder({ maxInputBytes: 256 * 1024 * 1024, maxPixels: 50_000_000 }));
    const fullStarted = performance.now();
    expect((await patient(big, { mode: 'reference' })).status).toBe('hashed');
    expect(hurriedMs).toBeLessThan((performance.now() - fullStarted) / 2);
  });
});

describe('accepted formats', () => {
  it.each(['png', 'webp', 'gif', 'tiff', 'avif'] as const)('%s decodes and hashes close to the JPEG', async (format) => {
    const bytes = await sharp(png).toFormat(format, format === 'gif' ? {} : { quality: 95 }).toBuffer();
    const hashes = expectHashed(await hash(bytes));
    expect(hashes.format).toBe(format);
    expect([hashes.width, hashes.height]).toEqual([320, 240]);
    expect(hammingDistanceHex(hashes.pdq!, expectHashed(await hash(png)).pdq!)).toBeLessThanOrEqual(format === 'gif' ? 40 : 20);
  });

  it('keeps the colour under transparent pixels in fast mode (no premultiplied resize)', async () => {
    const scene = await naturalScene(1200, 900, 9);
    const rgba = Buffer.alloc(1200 * 900 * 4);
    for (let i = 0; i < 1200 * 900; i++) {
      rgba.set(scene.data.subarray(i * 3, i * 3 + 3), i * 4);
      rgba[i * 4 + 3] = i % 1200 < 600 ? 0 : 255; // left half fully transparent
    }
    const bytes = await sharp(rgba, { raw: { width: 1200, height: 900, channels: 4 } }).png().toBuffer();
    const fast = expectHashed(await hash(bytes, { mode: 'fast' }));
    const reference = expectHashed(await hash(bytes, { mode: 'reference' }));
    expect(hammingDistanceHex(fast.pdq!, reference.pdq!)).toBeLessThanOrEqual(10);
    expect(hammingDistanceHex(fast.blockhash!, reference.blockhash!)).toBeLessThanOrEqual(10);
  });

  it('hashes each frame of an animation on its own pixels, shrunk per frame in fast mode', async () => {
    const scenes = await Promise.all([1, 2, 3].map((seed) => naturalScene(1024, 768, seed)));
    const strip = Buffer.concat(scenes.map((scene) => Buffer.from(scene.data)));
    const animation = await sharp(strip, { raw: { width: 1024, height: 768 * 3, channels: 3, pageHeight: 768 } })
      .webp({ quality: 90 })
      .toBuffer();
    const hashes = expectHashed(await hash(animation, { allFrames: true }));
    expect([hashes.width, hashes.height, hashes.frameCount, hashes.frames?.length]).toEqual([1024, 768, 3, 3]);
    for (const [i, scene] of scenes.entries()) {
      const single = await sharp(Buffer.from(scene.data), { raw: { width: 1024, height: 768, channels: 3 } }).webp({ quality: 90 }).toBuffer();
      const alone = expectHashed(await hash(single));
      expect(hammingDistanceHex(hashes.frames![i]!.pdq!, alone.pdq!), `frame ${i}`).toBeLessThanOrEqual(8);
      expect(hammingDistanceHex(hashes.frames![i]!.pdq!, hashes.frames![(i + 1) % 3]!.pdq!)).toBeGreaterThan(50);
    }
  });

  it('only exact digests requested: no decode, so any bytes hash', async () => {
    const outcome = await hash(randomBytes(100), { algorithms: ['md5', 'sha1'] });
    expect(outcome.status).toBe('hashed');
    if (outcome.status === 'hashed') {
      expect(Object.keys(outcome.hashes).sort()).toEqual(['md5', 'mode', 'sha1']);
    }
  });
});
