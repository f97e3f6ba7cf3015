import sharp from 'sharp';
import { describe, expect, it } from 'vitest';
import { animatedGif, jpegWithHugeExif, pngWithDeclaredSize, zipArchive } from './hostile.ts';
import { encode, naturalScene, seededRandom } from './images.ts';

describe('image generators', () => {
  it('seededRandom is deterministic and spread over [0, 1)', () => {
    const a = seededRandom(42);
    const b = seededRandom(42);
    const values = Array.from({ length: 1000 }, () => a());
    expect(values).toEqual(Array.from({ length: 1000 }, () => b()));
    expect(Math.min(...values)).toBeGreaterThanOrEqual(0);
    expect(Math.max(...values)).toBeLessThan(1);
    expect(values.reduce((s, v) => s + v, 0) / 1000).toBeCloseTo(0.5, 1);
  });

  it('naturalScene is deterministic per seed and different across seeds', async () => {
    const one = await naturalScene(64, 48, 1);
    expect(one).toMatchObject({ width: 64, height: 48, channels: 3 });
    expect((await naturalScene(64, 48, 1)).data).toEqual(one.data);
    expect((await naturalScene(64, 48, 2)).data).not.toEqual(one.data);
  });

  it('naturalScene compresses like a photograph, not like a flat or noise image', async () => {
    const jpeg = await encode(await naturalScene(640, 480, 3), 'jpeg', { quality: 85 });
    const bitsPerPixel = (jpeg.length * 8) / (640 * 480);
    expect(bitsPerPixel).toBeGreaterThan(0.5);
    expect(bitsPerPixel).toBeLessThan(6);
  });
});

describe('hostile builders', () => {
  it('pngWithDeclaredSize declares the size it is asked for', async () => {
    const meta = await sharp(pngWithDeclaredSize(50000, 40000), { limitInputPixels: false }).metadata();
    expect([meta.format, meta.width, meta.height]).toEqual(['png', 50000, 40000]);
  });

  it('animatedGif has the requested number of frames', async () => {
    const meta = await sharp(await animatedGif(40)).metadata();
    expect([meta.format, meta.pages, meta.height]).toEqual(['gif', 40, 16]);
  });

  it('jpegWithHugeExif adds the segments and stays a decodable JPEG', async () => {
    const jpeg = await encode(await naturalScene(64, 48, 1), 'jpeg');
    const hostile = jpegWithHugeExif(jpeg, 3);
    expect(hostile.length).toBe(jpeg.length + 3 * 65537);
    expect((await sharp(hostile).metadata()).format).toBe('jpeg');
  });

  it('zipArchive writes the local, central and end records', () => {
    const zip = zipArchive('a.txt', 'hello');
    expect(zip.readUInt32LE(0)).toBe(0x04034b50);
    expect(zip.readUInt32LE(zip.length - 22)).toBe(0x06054b50);
    expect(zip.toString('latin1')).toContain('hello');
  });
});
