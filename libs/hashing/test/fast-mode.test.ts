// Fast mode (one shrink-on-load decode feeds every hash) against the reference values: within 10
// bits on every PDQ vector of quality >= 80 and on every 256-bit blockhash vector.
import { afterAll, describe, expect, it } from 'vitest';
import {
  blockhashShrinkFactor,
  createImageHasher,
  createSharpDecoder,
  FAST_FULL_RESOLUTION_MAX_PIXELS,
  fastShrinkFactor,
  hammingDistanceHex,
} from '../src/index.ts';
import { readExpected, readVector, type BlockhashVector, type PdqVector } from './vectors.ts';

const TOLERANCE_BITS = 10;
const hash = createImageHasher(createSharpDecoder());
const distances: Record<'pdq' | 'blockhash', number[]> = { pdq: [], blockhash: [] };

describe('fast mode stays close to the reference', () => {
  it.each(readExpected<PdqVector>('pdq').filter((v) => v.quality >= 80).map((v) => [v.file, v] as const))(
    'PDQ %s',
    async (_file, vector) => {
      const outcome = await hash(readVector('pdq', vector.file), { mode: 'fast', algorithms: ['pdq'] });
      if (outcome.status !== 'hashed') throw new Error(outcome.message);
      const distance = hammingDistanceHex(outcome.hashes.pdq!, vector.hash);
      distances.pdq.push(distance);
      expect(distance).toBeLessThanOrEqual(TOLERANCE_BITS);
      expect(outcome.hashes.pdqQuality).toBeGreaterThanOrEqual(80);
    },
  );

  it.each(
    readExpected<BlockhashVector>('blockhash')
      .filter((v) => v.bits === 16 && v.method === 2)
      .map((v) => [v.file, v] as const),
  )('blockhash %s', async (_file, vector) => {
    const outcome = await hash(readVector('blockhash', vector.file), { mode: 'fast', algorithms: ['blockhash'] });
    if (outcome.status !== 'hashed') throw new Error(outcome.message);
    const distance = hammingDistanceHex(outcome.hashes.blockhash!, vector.hash);
    distances.blockhash.push(distance);
    expect(distance).toBeLessThanOrEqual(TOLERANCE_BITS);
  });

  afterAll(() => {
    for (const [algorithm, values] of Object.entries(distances)) {
      const mean = values.reduce((a, b) => a + b, 0) / Math.max(1, values.length);
      console.log(`fast vs reference ${algorithm}: n=${values.length} max=${Math.max(...values)} mean=${mean.toFixed(2)} bits`);
    }
  });
});

describe('fastShrinkFactor', () => {
  it.each([
    [1920, 1080, 8],
    [4000, 3000, 16],
    [1600, 1004, 4],
    [1280, 960, 4],
    [1024, 1024, 1],
    [1024, 768, 1],
    [512, 512, 1],
    [60000, 300, 2],
    [5000, 250, 1],
  ])('%dx%d shrinks by %d', (width, height, expected) => {
    expect(fastShrinkFactor(width, height)).toBe(expected);
  });

  it('never shrinks the shorter side below 128 pixels, nor at or below a megapixel', () => {
    for (let side = 1; side < 5000; side += 37) {
      const factor = fastShrinkFactor(side * 2, side);
      expect(factor === 1 || side / factor >= 128).toBe(true);
      if (side * side * 2 <= FAST_FULL_RESOLUTION_MAX_PIXELS) expect(factor).toBe(1);
    }
  });

  it('blockhash gets a copy with the shorter side kept at 256 pixels or more', () => {
    expect(blockhashShrinkFactor(1024, 1024)).toBe(4);
    expect(blockhashShrinkFactor(768, 512)).toBe(2);
    expect(blockhashShrinkFactor(384, 256)).toBe(1);
    expect(blockhashShrinkFactor(100, 50)).toBe(1);
  });
});

describe('fast mode at or below a megapixel', () => {
  it('gives the reference PDQ exactly (full-resolution decode)', async () => {
    for (const vector of readExpected<PdqVector>('pdq').filter((v) => v.width * v.height <= FAST_FULL_RESOLUTION_MAX_PIXELS)) {
      const outcome = await hash(readVector('pdq', vector.file), { mode: 'fast', algorithms: ['pdq'] });
      expect(outcome.status === 'hashed' && outcome.hashes.pdq, vector.file).toBe(vector.hash);
    }
  });
});
