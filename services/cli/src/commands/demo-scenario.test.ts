// The demo's planted images: seeded (the same bytes every run, so the demo's outcome is stable),
// shifted by the offset a kept home uses, and each copy really transformed from its original.
import { createHash } from 'node:crypto';
import sharp from 'sharp';
import { describe, expect, it } from 'vitest';
import { buildScenario, DEMO_HEIGHT, DEMO_WIDTH, MISS_REASONS } from './demo-scenario.ts';

const sha = (bytes: Uint8Array) => createHash('sha256').update(bytes).digest('hex');

describe('buildScenario', () => {
  it('plants the same bytes for the same offset and other scenes for another', async () => {
    const [first, again, shifted] = await Promise.all([buildScenario(0), buildScenario(0), buildScenario(100)]);
    expect(first.uploads.map((u) => sha(u.bytes))).toEqual(again.uploads.map((u) => sha(u.bytes)));
    const shiftedHashes = new Set(shifted.uploads.map((u) => sha(u.bytes)));
    expect(first.uploads.filter((u) => shiftedHashes.has(sha(u.bytes)))).toEqual([]);

    // Every upload has a distinct content; copies name a listed original and a transform with a known limit.
    expect(new Set(first.uploads.map((u) => sha(u.bytes))).size).toBe(first.uploads.length);
    const listedNames = new Set(first.listed.map((l) => l.name));
    for (const copy of first.uploads.filter((u) => u.role === 'copy')) {
      expect(listedNames.has(copy.of!), copy.name).toBe(true);
      expect(MISS_REASONS[copy.transform!], copy.name).toBeTruthy();
    }
    // The listed exact uploads are byte-identical to the list's originals.
    for (const exact of first.uploads.filter((u) => u.role === 'listed')) {
      expect(sha(exact.bytes)).toBe(sha(first.listed.find((l) => l.name === exact.name)!.bytes));
    }
    // The retro target is uploaded as is; the list gets its own encoding of the same scene.
    const target = first.uploads.find((u) => u.name === first.retro.target)!;
    expect(target.role).toBe('unrelated');
    expect(sha(first.retro.bytes)).not.toBe(sha(target.bytes));
  });

  it('makes the transforms it describes, at modest sizes', async () => {
    const { uploads } = await buildScenario(0);
    const meta = async (name: string) => sharp(uploads.find((u) => u.name === name)!.bytes).metadata();
    expect(await meta('listed-a.jpg')).toMatchObject({ width: DEMO_WIDTH, height: DEMO_HEIGHT, format: 'jpeg' });
    expect(await meta('a-resized.jpg')).toMatchObject({ width: DEMO_WIDTH * 0.75, height: DEMO_HEIGHT * 0.75 });
    expect(await meta('b-rotated.jpg')).toMatchObject({ width: DEMO_HEIGHT, height: DEMO_WIDTH });
    expect(await meta('d-cropped.jpg')).toMatchObject({ width: DEMO_WIDTH * 0.95, height: DEMO_HEIGHT * 0.95 });
    expect(await meta('d-cropped-corner.jpg')).toMatchObject({ width: DEMO_WIDTH * 0.6, height: DEMO_HEIGHT * 0.6 });
    // The mirror image: the left column of the flipped copy is the right column of the original.
    const raw = async (bytes: Buffer) => sharp(bytes).resize(48, 36, { fit: 'fill' }).greyscale().raw().toBuffer();
    const original = await raw((await buildScenario(0)).listed.find((l) => l.name === 'listed-c.jpg')!.bytes);
    const flipped = await raw(uploads.find((u) => u.name === 'c-flipped.jpg')!.bytes);
    let same = 0;
    let mirrored = 0;
    for (let y = 0; y < 36; y++) {
      for (let x = 0; x < 48; x++) {
        same += Math.abs(original[y * 48 + x]! - flipped[y * 48 + x]!);
        mirrored += Math.abs(original[y * 48 + (47 - x)]! - flipped[y * 48 + x]!);
      }
    }
    expect(mirrored).toBeLessThan(same / 3);
    const truncated = uploads.find((u) => u.name === 'truncated.jpg')!;
    expect(truncated.bytes.length).toBe(3000);
    expect(Math.max(...uploads.map((u) => u.bytes.length))).toBeLessThan(100_000);
  });
});
