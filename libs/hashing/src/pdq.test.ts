import { naturalScene } from '@vigil/testkit';
import { describe, expect, it } from 'vitest';
import { hammingDistanceHex } from './hash256.ts';
import { DIHEDRAL_NAMES, lumaFromPixels, orientLuma, pdqFromLuma, pdqFromPixels, pdqFromShrunkLuma, type LumaImage } from './pdq.ts';

const ZERO = '0'.repeat(64);

function texture(width: number, height: number, seed = 1): LumaImage {
  const data = new Float32Array(width * height);
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) {
      data[y * width + x] =
        128 + 60 * Math.sin((x * (3 + seed)) / width + y / 17) + 40 * Math.cos((y * 7) / height - x / 23) + ((x * y * seed) % 13);
    }
  }
  return { data, width, height };
}

describe('pdqFromLuma', () => {
  it('gives the all-zero hash and quality 0 below 5 pixels on a side, like the reference', () => {
    const result = pdqFromLuma(texture(4, 300));
    expect(result).toMatchObject({ hash: ZERO, quality: 0 });
    for (const name of DIHEDRAL_NAMES) expect(result.dihedral[name]).toBe(ZERO);
  });

  it('sets exactly the bits above the median: 128 of 256 for distinct coefficients', () => {
    const { hash } = pdqFromLuma(texture(300, 200));
    const ones = [...hash].reduce((n, hex) => n + parseInt(hex, 16).toString(2).replaceAll('0', '').length, 0);
    expect(ones).toBe(128);
  });

  it('scores a flat image quality 0 and a textured one 100', () => {
    const flat = { data: new Float32Array(200 * 200).fill(77), width: 200, height: 200 };
    expect(pdqFromLuma(flat).quality).toBe(0);
    expect(pdqFromLuma(texture(200, 200)).quality).toBe(100);
  });

  it('does not modify its input', () => {
    const luma = texture(130, 90);
    const copy = luma.data.slice();
    pdqFromLuma(luma);
    expect(luma.data).toEqual(copy);
  });

  it('is deterministic and sensitive to content', () => {
    expect(pdqFromLuma(texture(256, 256, 1)).hash).toBe(pdqFromLuma(texture(256, 256, 1)).hash);
    expect(hammingDistanceHex(pdqFromLuma(texture(256, 256, 1)).hash, pdqFromLuma(texture(256, 256, 5)).hash)).toBeGreaterThan(40);
  });

  it('dihedral hashes match hashing the transformed pixels (64x64: no filter, exact)', () => {
    const luma = texture(64, 64, 3);
    const { dihedral } = pdqFromLuma(luma);
    // EXIF orientation -> the dihedral variant that equals hashing the displayed image.
    const byOrientation = { 2: 'flipy', 3: 'rot180', 4: 'flipx', 5: 'flipplus1', 6: 'rot270', 7: 'flipminus1', 8: 'rot90' } as const;
    for (const [orientation, name] of Object.entries(byOrientation)) {
      expect(pdqFromLuma(orientLuma(luma, Number(orientation))).hash, name).toBe(dihedral[name]);
    }
  });
});

describe('orientLuma', () => {
  const luma: LumaImage = { data: Float32Array.from([1, 2, 3, 4, 5, 6]), width: 3, height: 2 };
  it.each([
    [1, 3, 2, [1, 2, 3, 4, 5, 6]],
    [2, 3, 2, [3, 2, 1, 6, 5, 4]],
    [3, 3, 2, [6, 5, 4, 3, 2, 1]],
    [4, 3, 2, [4, 5, 6, 1, 2, 3]],
    [5, 2, 3, [1, 4, 2, 5, 3, 6]],
    [6, 2, 3, [4, 1, 5, 2, 6, 3]],
    [7, 2, 3, [6, 3, 5, 2, 4, 1]],
    [8, 2, 3, [3, 6, 2, 5, 1, 4]],
  ])('orientation %d', (orientation, width, height, expected) => {
    const out = orientLuma(luma, orientation);
    expect([out.width, out.height]).toEqual([width, height]);
    expect([...out.data]).toEqual(expected);
  });
});

describe('lumaFromPixels', () => {
  it('uses Rec. 601 weights in float32 and reads grey directly', () => {
    const rgb = lumaFromPixels(Uint8Array.from([255, 0, 0, 9, 0, 255, 0, 9, 0, 0, 255, 9]), 3, 1, 4);
    const f = Math.fround;
    expect([...rgb.data]).toEqual([f(f(0.299) * 255), f(f(0.587) * 255), f(f(0.114) * 255)]);
    expect([...lumaFromPixels(Uint8Array.from([7, 200]), 2, 1, 1).data]).toEqual([7, 200]);
  });

  it('rejects a buffer too short for its dimensions', () => {
    expect(() => lumaFromPixels(new Uint8Array(10), 3, 3, 4)).toThrow(RangeError);
  });
});

describe('pdqFromShrunkLuma', () => {
  it('is the reference when nothing was shrunk', () => {
    const luma = texture(200, 150);
    expect(pdqFromShrunkLuma(luma, 200, 150)).toEqual(pdqFromLuma(luma));
  });

  it('stays close to the full-resolution hash for 4x and 8x box-shrunk natural scenes', async () => {
    for (const [seed, factor] of [[1, 4], [2, 4], [3, 8], [4, 8]] as const) {
      const scene = await naturalScene(1600, 1200, seed);
      const full = lumaFromPixels(scene.data, 1600, 1200, 3);
      const distance = hammingDistanceHex(pdqFromShrunkLuma(boxShrink(full, factor), 1600, 1200).hash, pdqFromLuma(full).hash);
      expect(distance, `seed ${seed}, 1/${factor}`).toBeLessThanOrEqual(10);
    }
  });
});

function boxShrink(luma: LumaImage, factor: number): LumaImage {
  const width = luma.width / factor;
  const height = luma.height / factor;
  const data = new Float32Array(width * height);
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) {
      let sum = 0;
      for (let dy = 0; dy < factor; dy++) {
        for (let dx = 0; dx < factor; dx++) sum += luma.data[(y * factor + dy) * luma.width + x * factor + dx]!;
      }
      data[y * width + x] = sum / (factor * factor);
    }
  }
  return { data, width, height };
}

describe('pdqFromPixels', () => {
  it('equals luma conversion followed by pdqFromLuma', () => {
    const pixels = new Uint8Array(40 * 30 * 3).map((_, i) => (i * 31) % 251);
    expect(pdqFromPixels(pixels, 40, 30, 3)).toEqual(pdqFromLuma(lumaFromPixels(pixels, 40, 30, 3)));
  });

  it('exact dihedral hashes equal hashing the flipped and rotated pixels, where the DCT shortcut drifts', async () => {
    const byOrientation = { 2: 'flipy', 3: 'rot180', 4: 'flipx', 5: 'flipplus1', 6: 'rot270', 7: 'flipminus1', 8: 'rot90' } as const;
    let shortcutTotal = 0;
    // 512 and 768 wide: even Jarosz windows (4 and 6), where mirrors shift; 558: an odd one.
    for (const [width, height, seed] of [[512, 512, 4], [768, 432, 7], [558, 560, 9]] as const) {
      const scene = await naturalScene(width, height, seed);
      const luma = lumaFromPixels(scene.data, scene.width, scene.height, scene.channels);
      const exact = pdqFromLuma(luma, { exactDihedral: true }).dihedral;
      const shortcut = pdqFromLuma(luma).dihedral;
      expect(exact.orig).toBe(shortcut.orig);
      for (const [orientation, name] of Object.entries(byOrientation)) {
        const actual = pdqFromLuma(orientLuma(luma, Number(orientation))).hash;
        expect(hammingDistanceHex(exact[name], actual), `${width}x${height} ${name}`).toBeLessThanOrEqual(6);
        shortcutTotal += hammingDistanceHex(shortcut[name], actual);
      }
    }
    expect(shortcutTotal).toBeGreaterThan(0);
  });
});
