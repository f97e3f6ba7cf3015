// Downscale compensation: the composite weights give exactly the PDQ of the image bilinearly
// upscaled, and on generated scenes a half-size copy hashed as if twice as large lands nearer its
// original than its plain hash does.
import { encode, naturalScene } from '@vigil/testkit';
import sharp from 'sharp';
import { describe, expect, it } from 'vitest';
import { createSharpDecoder } from './decode-sharp.ts';
import { hammingDistanceHex } from './hash256.ts';
import { createImageHasher } from './hash-image.ts';
import { lumaFromPixels, pdqFromLuma, pdqFromTaps, type LumaImage } from './pdq.ts';
import { uncroppedPdq } from './uncrop.ts';
import { UPSCALE_MAX_SIDE, upscaledPdq, upscaledTaps } from './upscale.ts';

const hasher = createImageHasher(createSharpDecoder());

/** The upscale the weights stand for, built pixel by pixel: bilinear, edges clamped. */
function bilinearUpscale(luma: LumaImage, factor: number): LumaImage {
  const width = Math.round(luma.width * factor);
  const height = Math.round(luma.height * factor);
  const at = (o: number, size: number, upscaled: number) => {
    const x = ((o + 0.5) * size) / upscaled - 0.5;
    const i = Math.floor(x);
    return [Math.min(size - 1, Math.max(0, i)), Math.min(size - 1, Math.max(0, i + 1)), x - i] as const;
  };
  const data = new Float32Array(width * height);
  for (let y = 0; y < height; y++) {
    const [y0, y1, fy] = at(y, luma.height, height);
    for (let x = 0; x < width; x++) {
      const [x0, x1, fx] = at(x, luma.width, width);
      const top = luma.data[y0 * luma.width + x0]! * (1 - fx) + luma.data[y0 * luma.width + x1]! * fx;
      const bottom = luma.data[y1 * luma.width + x0]! * (1 - fx) + luma.data[y1 * luma.width + x1]! * fx;
      data[y * width + x] = top * (1 - fy) + bottom * fy;
    }
  }
  return { data, width, height };
}

async function lumaOf(width: number, height: number, seed: number): Promise<LumaImage> {
  const scene = await naturalScene(width, height, seed);
  return lumaFromPixels(scene.data, width, height, scene.channels);
}

describe('upscaledTaps', () => {
  it('gives 64 normalised sets of weights inside the line', () => {
    for (const [size, upscaled] of [[90, 180], [137, 548], [300, 600], [64, 128]] as const) {
      const taps = upscaledTaps(size, upscaled);
      expect(taps).toHaveLength(64);
      for (const { first, weights } of taps) {
        expect(first).toBeGreaterThanOrEqual(0);
        expect(first + weights.length).toBeLessThanOrEqual(size);
        expect(weights.reduce((a, b) => a + b, 0)).toBeCloseTo(1, 5);
        expect(Math.min(...weights)).toBeGreaterThanOrEqual(0);
      }
    }
  });

  it('hashes exactly like the image upscaled pixel by pixel and hashed by the reference', async () => {
    for (const [width, height, factor] of [[150, 110, 2], [97, 130, 4], [240, 180, 2], [120, 90, 3]] as const) {
      const luma = await lumaOf(width, height, width);
      const [upscaled] = upscaledPdq(luma, width, height, [factor]);
      const explicit = pdqFromLuma(bilinearUpscale(luma, factor));
      expect(hammingDistanceHex(upscaled!.pdq, explicit.hash)).toBeLessThanOrEqual(1);
      expect(Math.abs(upscaled!.pdqQuality - explicit.quality)).toBeLessThanOrEqual(1);
    }
  });
});

describe('upscaledPdq', () => {
  it('hashes only at factors that keep the longer side within UPSCALE_MAX_SIDE', async () => {
    const luma = await lumaOf(300, 200, 3);
    expect(upscaledPdq(luma, 300, 200, [2, 4]).map((u) => u.factor)).toEqual([2]);
    expect(UPSCALE_MAX_SIDE).toBe(1024);
    const small = await lumaOf(200, 120, 3);
    expect(upscaledPdq(small, 200, 120, [2, 4]).map((u) => u.factor)).toEqual([2, 4]);
    expect(upscaledPdq(await lumaOf(600, 400, 3), 600, 400, [2, 4])).toEqual([]);
    expect(upscaledPdq({ data: new Float32Array(12), width: 4, height: 3 }, 4, 3, [2])).toEqual([]);
    expect(() => upscaledPdq(small, 200, 120, [1])).toThrow(RangeError);
  });

  it('brings a half-size copy nearer its original than its plain hash', async () => {
    const gains: number[] = [];
    for (const [width, height] of [[200, 200], [300, 220]] as const) {
      for (let seed = 1; seed <= 6; seed++) {
        const png = await encode(await naturalScene(width, height, seed), 'png');
        const original = await hasher(png, {});
        const half = await sharp(png).resize(width / 2, Math.round(height / 2), { kernel: 'lanczos3' }).jpeg({ quality: 92 }).toBuffer();
        const copy = await hasher(half, { upscale: [2] });
        if (original.status !== 'hashed' || copy.status !== 'hashed') throw new Error('not hashed');
        const plain = hammingDistanceHex(copy.hashes.pdq!, original.hashes.pdq!);
        const upscaled = hammingDistanceHex(copy.hashes.upscaled![0]!.pdq, original.hashes.pdq!);
        expect(upscaled, `${width}x${height} seed ${seed}`).toBeLessThan(plain);
        gains.push(plain - upscaled);
      }
    }
    // Measured: 6 to 26 bits nearer, 15 on average.
    expect(gains.reduce((a, b) => a + b, 0) / gains.length).toBeGreaterThanOrEqual(10);
  });
});

describe('uncroppedPdq with upscale', () => {
  it('adds each re-expanded image as if larger, where it stays within UPSCALE_MAX_SIDE', async () => {
    const small = await lumaOf(200, 150, 5);
    const hashes = uncroppedPdq(small, 200, 150, [0.9, 0.8], [2, 4]);
    expect(hashes.map(({ kept, upscale }) => [kept, upscale])).toEqual([[0.9, undefined], [0.9, 2], [0.9, 4], [0.8, undefined], [0.8, 2], [0.8, 4]]);
    expect(new Set(hashes.map((h) => h.pdq)).size).toBe(6);
    // 500 px re-expanded to 556 (kept 0.9): twice that is past 1024.
    expect(uncroppedPdq(await lumaOf(500, 400, 5), 500, 400, [0.9], [2]).map((h) => h.upscale)).toEqual([undefined]);
  });
});

describe('pdqFromTaps', () => {
  it('refuses weights that reach past the image or a grid that is not 64 a side', () => {
    const luma = { data: new Float32Array(100 * 80), width: 100, height: 80 };
    const inside = upscaledTaps(100, 200);
    expect(() => pdqFromTaps(luma, inside, upscaledTaps(100, 200))).toThrow(RangeError);
    expect(() => pdqFromTaps(luma, inside.slice(1), upscaledTaps(80, 160))).toThrow(RangeError);
    expect(pdqFromTaps(luma, inside, upscaledTaps(80, 160)).hash).toMatch(/^[0-9a-f]{64}$/);
  });
});
