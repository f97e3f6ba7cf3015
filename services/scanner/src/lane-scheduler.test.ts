import type { HashOutcome } from '@vigil/hashing';
import { describe, expect, it } from 'vitest';
import { createLaneScheduler } from './lane-scheduler.ts';

/** A pool whose tasks finish when the test says so, recording the order they started in. */
function manualPool(threads: number) {
  const started: string[] = [];
  const finishers: Array<() => void> = [];
  return {
    started,
    finishOne: () => finishers.shift()!(),
    pool: {
      threads,
      hash: (bytes: Uint8Array) =>
        new Promise<HashOutcome>((resolve) => {
          started.push(new TextDecoder().decode(bytes));
          finishers.push(() => resolve({ status: 'unscannable', reason: 'empty', message: '', exact: { sha256: '', sha1: '', md5: '' } }));
        }),
    },
  };
}

const text = (s: string) => new TextEncoder().encode(s);

describe('createLaneScheduler', () => {
  it('keeps the pool at capacity and starts waiting live work before any waiting bulk work', async () => {
    const { pool, started, finishOne } = manualPool(1);
    const scheduler = createLaneScheduler(pool, 2);
    const all = ['b1', 'b2', 'b3', 'b4'].map((b) => scheduler.hash(text(b), 'bulk'));
    expect(started).toEqual(['b1', 'b2']);
    all.push(scheduler.hash(text('l1'), 'live'), scheduler.hash(text('l2'), 'live'));
    expect(scheduler.queued()).toEqual({ live: 2, bulk: 2 });
    finishOne();
    await new Promise((r) => setImmediate(r));
    expect(started).toEqual(['b1', 'b2', 'l1']);
    for (let i = 0; i < 5; i++) {
      finishOne();
      await new Promise((r) => setImmediate(r));
    }
    expect(started).toEqual(['b1', 'b2', 'l1', 'l2', 'b3', 'b4']);
    await Promise.all(all);
    expect(scheduler.queued()).toEqual({ live: 0, bulk: 0 });
  });
});
