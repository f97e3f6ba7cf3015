import { encode, naturalScene, randomBytes } from '@vigil/testkit';
import sharp from 'sharp';
import { afterAll, describe, expect, it } from 'vitest';
import { createSharpDecoder } from './decode-sharp.ts';
import { createImageHasher } from './hash-image.ts';
import { createHashPool } from './hash-pool.ts';

const pool = createHashPool({ threads: 2 });
afterAll(() => pool.close());

describe('hash pool', () => {
  it('returns what the in-process hasher returns, for many images at once', async () => {
    const images = await Promise.all([1, 2, 3, 4, 5, 6].map(async (seed) => encode(await naturalScene(400, 300, seed), 'jpeg')));
    const local = createImageHasher(createSharpDecoder());
    const pooled = await Promise.all(images.map((bytes) => pool.hash(bytes)));
    for (const [i, bytes] of images.entries()) {
      const { timings, ...outcome } = pooled[i]!;
      expect(outcome).toEqual(await local(bytes));
      // Measured in the worker: a real decode takes time, and the split covers both stages.
      expect(timings!.decodeMs).toBeGreaterThan(0);
      expect(timings!.hashMs).toBeGreaterThan(0);
    }
    expect(new Set(pooled.map((o) => o.status === 'hashed' && o.hashes.pdq)).size).toBe(6);
  });

  it('answers bad input with its outcome', async () => {
    const outcome = await pool.hash(randomBytes(64));
    expect(outcome).toMatchObject({ status: 'unscannable', reason: 'unsupported_format' });
  });

  it('stops a task past its hard deadline, answers timeout, and keeps serving', async () => {
    const hurried = createHashPool({ threads: 1, taskTimeoutMs: 5 });
    try {
      const big = await sharp({ create: { width: 5000, height: 4000, channels: 3, background: '#345' } }).png({ compressionLevel: 0 }).toBuffer();
      const outcome = await hurried.hash(big, { mode: 'reference' });
      expect(outcome).toMatchObject({ status: 'unscannable', reason: 'timeout' });
    } finally {
      await hurried.close();
    }
    const after = await pool.hash(await encode(await naturalScene(200, 200, 1), 'png'));
    expect(after.status).toBe('hashed');
  });
});
