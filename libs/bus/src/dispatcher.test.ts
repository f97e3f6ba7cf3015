import { createEvent } from '@vigil/events';
import { describe, expect, it } from 'vitest';
import { done, retry, DEFAULT_RETRY, type DeadLetter, type Handler, type Outcome } from './bus.ts';
import { backoffMs, dispatchBatch, type DispatchOptions, type RawRecord } from './dispatcher.ts';
import { silentLogger } from './logger.ts';

const TOPIC = 'upload.received.v1';

function record(offset: number, key: string, n = offset): RawRecord {
  const event = createEvent(
    TOPIC,
    {
      uploadId: `u${n}`,
      source: 'stream',
      object: { tenantId: 't', bucket: 'b', key, size: 1 },
      uploader: { accountId: 'a' },
      uploadedAt: '2026-11-21T00:00:00.000Z',
      mode: 'async',
    },
    { producer: 'test', traceId: 'tr', id: `00000000-0000-4000-8000-${String(n).padStart(12, '0')}` },
  );
  return { partition: 0, offset: String(offset), key, value: new TextEncoder().encode(JSON.stringify(event)) };
}

function options(handler: Handler<typeof TOPIC>, overrides: Partial<DispatchOptions<typeof TOPIC>> = {}) {
  const progress: string[] = [];
  const letters: DeadLetter[] = [];
  const sleeps: number[] = [];
  const opts: DispatchOptions<typeof TOPIC> = {
    topic: TOPIC,
    group: 'g',
    handler,
    concurrency: 4,
    retry: { ...DEFAULT_RETRY, maxAttempts: 3 },
    deadLetter: async (letter) => void letters.push(letter),
    onProgress: (next) => void progress.push(next),
    signal: new AbortController().signal,
    log: silentLogger,
    sleep: async (ms) => void sleeps.push(ms),
    random: () => 0.5,
    now: () => new Date('2026-11-21T12:00:00Z'),
    ...overrides,
  };
  return { opts, progress, letters, sleeps };
}

const uploadNumber = (id: string): number => Number(id.slice(-12));

describe('dispatchBatch', () => {
  it('runs lanes concurrently but each key strictly in offset order, committing contiguous prefixes', async () => {
    const started: number[] = [];
    const running = new Set<string>();
    let overlap = false;
    let peak = 0;
    const handler: Handler<typeof TOPIC> = async (event) => {
      const key = event.payload.object.key;
      if (running.has(key)) overlap = true;
      running.add(key);
      peak = Math.max(peak, running.size);
      started.push(uploadNumber(event.id));
      await new Promise((resolve) => setTimeout(resolve, key === 'slow' ? 20 : 1));
      running.delete(key);
      return done;
    };
    const records = [record(10, 'slow'), record(11, 'a'), record(12, 'slow'), record(13, 'b'), record(14, 'a'), record(15, 'c')];
    const { opts, progress } = options(handler);
    const result = await dispatchBatch(records, opts);
    expect(result).toEqual({ complete: true, nextOffset: '16' });
    expect(overlap).toBe(false);
    expect(peak).toBeGreaterThan(1);
    expect(started.filter((n) => n === 10 || n === 12)).toEqual([10, 12]);
    expect(started.indexOf(11)).toBeLessThan(started.indexOf(14));
    // Progress only moves forward, and never past an unfinished record.
    expect(progress.map(Number)).toEqual([...progress.map(Number)].sort((x, y) => x - y));
    expect(progress.at(-1)).toBe('16');
  });

  it('honours a concurrency of 1: one handler at a time', async () => {
    let running = 0;
    let peak = 0;
    const { opts } = options(async () => {
      peak = Math.max(peak, ++running);
      await new Promise((resolve) => setTimeout(resolve, 2));
      running--;
      return done;
    }, { concurrency: 1 });
    await dispatchBatch([record(0, 'a'), record(1, 'b'), record(2, 'c')], opts);
    expect(peak).toBe(1);
  });

  it('retries with exponential backoff, then dead-letters as retries_exhausted and moves on', async () => {
    const calls: number[] = [];
    const { opts, letters, sleeps, progress } = options(async (event, delivery) => {
      calls.push(delivery.attempt);
      return uploadNumber(event.id) === 0 ? retry('storage unavailable') : done;
    }, { retry: { maxAttempts: 3, initialDelayMs: 100, maxDelayMs: 1000, multiplier: 2 } });
    const result = await dispatchBatch([record(0, 'a'), record(1, 'a')], opts);
    expect(result.complete).toBe(true);
    expect(calls).toEqual([1, 2, 3, 1]);
    expect(sleeps).toEqual([75, 150]); // equal jitter at random 0.5: 3/4 of 100, then of 200
    expect(letters).toHaveLength(1);
    expect(letters[0]).toMatchObject({ reason: 'retries_exhausted', attempts: 3, message: 'storage unavailable', offset: '0', group: 'g', key: 'a' });
    expect(progress.at(-1)).toBe('2');
  });

  it('treats a thrown error as a retry and honours a handler-given delay', async () => {
    let attempt = 0;
    const { opts, sleeps } = options(async () => {
      attempt++;
      if (attempt === 1) throw new Error('boom');
      if (attempt === 2) return retry('wait', 1234);
      return done;
    });
    await dispatchBatch([record(0, 'a')], opts);
    expect(attempt).toBe(3);
    expect(sleeps).toEqual([150, 1234]); // default policy: 3/4 of 200 ms at random 0.5
  });

  it('dead-letters poison without calling the handler, keeping the original bytes', async () => {
    let calls = 0;
    const poison: RawRecord = { partition: 0, offset: '5', key: 'k', value: new TextEncoder().encode('{oops') };
    const empty: RawRecord = { partition: 0, offset: '6', key: 'k', value: null };
    const { opts, letters } = options(async () => (calls++, done));
    const result = await dispatchBatch([poison, empty, record(7, 'k')], opts);
    expect(result).toEqual({ complete: true, nextOffset: '8' });
    expect(calls).toBe(1);
    expect(letters.map((l) => l.reason)).toEqual(['bad_json', 'bad_json']);
    expect(new TextDecoder().decode(letters[0]!.value!)).toBe('{oops');
  });

  it('keeps trying a dead-letter write that fails, so a dead letter is never lost', async () => {
    let failures = 2;
    const letters: DeadLetter[] = [];
    const { opts } = options(async () => ({ kind: 'dead_letter', reason: 'bad reference' }) as Outcome, {
      deadLetter: async (letter) => {
        if (failures-- > 0) throw new Error('dlq unavailable');
        letters.push(letter);
      },
    });
    const result = await dispatchBatch([record(0, 'a')], opts);
    expect(result.complete).toBe(true);
    expect(letters).toHaveLength(1);
    expect(letters[0]!.reason).toBe('rejected');
  });

  it('on abort: finishes running handlers, abandons backoffs, commits only the finished prefix', async () => {
    const controller = new AbortController();
    const { opts, progress } = options(async (event) => {
      const n = uploadNumber(event.id);
      if (n === 1) {
        controller.abort();
        return retry('later');
      }
      return done;
    }, { signal: controller.signal, concurrency: 1, sleep: async () => {} });
    const result = await dispatchBatch([record(0, 'a'), record(1, 'b'), record(2, 'c')], opts);
    expect(result).toEqual({ complete: false, nextOffset: '1' });
    expect(progress).toEqual(['1']);
  });

  it('backoff grows exponentially, stays within [step/2, step] and under the cap', () => {
    const policy = { maxAttempts: 10, initialDelayMs: 100, maxDelayMs: 1000, multiplier: 2 };
    expect(backoffMs(policy, 1, () => 0)).toBe(50);
    expect(backoffMs(policy, 1, () => 1)).toBe(100);
    expect(backoffMs(policy, 3, () => 0)).toBe(200);
    expect(backoffMs(policy, 9, () => 1)).toBe(1000);
  });
});
