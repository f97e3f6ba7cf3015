// Small-rotation compensation on generated scenes: a picture turned a few degrees onto a filled
// canvas is found, its angle and size recovered, and its upright resampling hashes near the
// original; pictures that are not turned are left alone.
import { encode, naturalScene, type RawImage } from '@vigil/testkit';
import sharp from 'sharp';
import { beforeAll, describe, expect, it } from 'vitest';
import { createSharpDecoder, type PixelFrame } from './decode-sharp.ts';
import { findContentRegion } from './framing.ts';
import { hammingDistanceHex } from './hash256.ts';
import { createImageHasher } from './hash-image.ts';
import { findRotatedContent, unrotate } from './rotation.ts';

const decode = createSharpDecoder();
const hasher = createImageHasher(decode);
const raw = (image: RawImage) => sharp(image.data, { raw: { width: image.width, height: image.height, channels: image.channels } });

async function frameOf(bytes: Buffer): Promise<PixelFrame> {
  const outcome = await decode(bytes, { mode: 'fast' });
  if (!outcome.ok) throw new Error(outcome.message);
  return outcome.image.frames[0]!;
}

/** sharp turns clockwise for positive angles and expands the canvas, filling it with `background`. */
const turned = (scene: RawImage, clockwise: number, background = { r: 255, g: 255, b: 255 }) =>
  raw(scene).rotate(clockwise, { background }).jpeg({ quality: 92 }).toBuffer();

describe('findRotatedContent', () => {
  let scene: RawImage;
  let original: string;
  beforeAll(async () => {
    scene = await naturalScene(400, 300, 11);
    const hashed = await hasher(await encode(scene, 'png'), {});
    if (hashed.status !== 'hashed') throw new Error('not hashed');
    original = hashed.hashes.pdq!;
  });

  it.each([
    [5, 'white', { r: 255, g: 255, b: 255 }],
    [-5, 'white', { r: 255, g: 255, b: 255 }],
    [12, 'black', { r: 0, g: 0, b: 0 }],
    [-2, 'grey', { r: 128, g: 128, b: 128 }],
  ])('recovers a picture turned %d degrees clockwise on %s', async (clockwise, _name, background) => {
    const frame = await frameOf(await turned(scene, clockwise, background));
    const rect = findRotatedContent(frame);
    expect(rect).not.toBeNull();
    expect(rect!.angle).toBeCloseTo(-clockwise, 0);
    expect(Math.abs(rect!.angle + clockwise)).toBeLessThan(0.3);
    expect(Math.abs(rect!.width - 400)).toBeLessThanOrEqual(3);
    expect(Math.abs(rect!.height - 300)).toBeLessThanOrEqual(3);
    expect(Math.abs(rect!.centreX - frame.width / 2)).toBeLessThanOrEqual(2);
    expect(Math.abs(rect!.centreY - frame.height / 2)).toBeLessThanOrEqual(2);
  });

  it('hashes the upright picture near the original, the turned canvas far from it', async () => {
    const copy = await hasher(await turned(scene, -5), { framing: true });
    if (copy.status !== 'hashed') throw new Error('not hashed');
    expect(hammingDistanceHex(original, copy.hashes.pdq!)).toBeGreaterThan(50);
    expect(copy.hashes.contentRegion?.kind).toBe('rotated');
    expect(copy.hashes.contentRegion?.angle).toBeCloseTo(5, 0);
    expect(hammingDistanceHex(original, copy.hashes.contentRegion!.pdq!)).toBeLessThanOrEqual(16);
  });

  it('finds a turned picture whose own edges are the fill colour from the canvas size (an expanded rotation is its bounding box)', async () => {
    // White rows on top (a page header, a sky): the two vertices at the picture's top corners cannot be seen on white.
    const pale = { ...scene, data: Uint8Array.from(scene.data) };
    pale.data.fill(255, 0, 45 * 400 * scene.channels);
    const hashed = await hasher(await encode(pale, 'png'), {});
    if (hashed.status !== 'hashed') throw new Error('not hashed');
    for (const clockwise of [5, -4]) {
      const bytes = await turned(pale, clockwise);
      const rect = findRotatedContent(await frameOf(bytes));
      expect(rect, `${clockwise} degrees`).not.toBeNull();
      expect(Math.abs(rect!.angle + clockwise)).toBeLessThan(0.3);
      expect(Math.abs(rect!.width - 400)).toBeLessThanOrEqual(4);
      expect(Math.abs(rect!.height - 300)).toBeLessThanOrEqual(4);
      const copy = await hasher(bytes, { framing: true });
      if (copy.status !== 'hashed') throw new Error('not hashed');
      expect(copy.hashes.contentRegion?.kind).toBe('rotated');
      expect(hammingDistanceHex(hashed.hashes.pdq!, copy.hashes.contentRegion!.pdq!)).toBeLessThanOrEqual(16);
    }
  });

  it('takes no picture with rounded corners on white for a turned one', async () => {
    const radius = 40;
    const rounded = { ...scene, data: Uint8Array.from(scene.data) };
    for (let y = 0; y < 300; y++) {
      for (let x = 0; x < 400; x++) {
        const dx = Math.max(0, radius - x, x - (399 - radius));
        const dy = Math.max(0, radius - y, y - (299 - radius));
        if (Math.hypot(dx, dy) > radius) rounded.data.set([255, 255, 255], (y * 400 + x) * scene.channels);
      }
    }
    expect(findRotatedContent(await frameOf(await encode(rounded, 'png')))).toBeNull();
  });

  it('resamples an upright rectangle unchanged', async () => {
    const frame = await frameOf(await encode(scene, 'png'));
    const same = unrotate(frame, { centreX: 199.5, centreY: 149.5, width: 400, height: 300, angle: 0 });
    expect(Buffer.from(same.data).equals(Buffer.from(frame.data))).toBe(true);
  });

  it('leaves alone a picture that is not turned, a bordered one, and a 90-degree turn', async () => {
    expect(findRotatedContent(await frameOf(await encode(scene, 'jpeg', { quality: 90 })))).toBeNull();
    const bordered = await raw(scene).extend({ top: 20, bottom: 20, left: 20, right: 20, background: { r: 255, g: 255, b: 255 } }).png().toBuffer();
    expect(findRotatedContent(await frameOf(bordered))).toBeNull();
    expect(findContentRegion(await frameOf(bordered))?.kind).toBe('border');
    expect(findRotatedContent(await frameOf(await raw(scene).rotate(90).png().toBuffer()))).toBeNull();
  });

  it('wants fill in all four corners: a disc on white is no turned picture', async () => {
    // A disc touches every side at a single point, like a square turned 45 degrees: too far turned to be a small rotation.
    const size = 300;
    const data = new Uint8Array(size * size * 4).fill(255);
    for (let y = 0; y < size; y++) {
      for (let x = 0; x < size; x++) {
        if (Math.hypot(x - 149.5, y - 149.5) <= 149.5) data.set([85, 85, 85, 255], (y * size + x) * 4);
      }
    }
    expect(findRotatedContent({ data, width: size, height: size })).toBeNull();
  });
});
