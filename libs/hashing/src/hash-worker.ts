// Worker-thread entry for the hashing pool: one decoder per thread, configured from workerData.
// Runs untrusted decodes off the main thread; a hung or crashed worker is the pool's to replace.

import { workerData } from 'node:worker_threads';
import sharp from 'sharp';
import { createSharpDecoder, type DecodeLimits, type Decoder } from './decode-sharp.ts';
import { createImageHasher, type HashOutcome, type HashRequest } from './hash-image.ts';

export interface HashTask {
  bytes: Uint8Array;
  request: HashRequest;
}

/** Where a task's time went, measured in the worker (queueing for a thread excluded). */
export interface HashTimings {
  /** Decoding the bytes to pixels (libvips). */
  decodeMs: number;
  /** Everything else: digests, PDQ, blockhash, derived views. */
  hashMs: number;
}

export type TimedHashOutcome = HashOutcome & { timings?: HashTimings };

// Parallelism comes from the pool's threads; one libvips thread each keeps CPU and memory bounded.
sharp.concurrency(1);
const decode: Decoder = createSharpDecoder((workerData ?? {}) as Partial<DecodeLimits>);

export default async function run(task: HashTask): Promise<TimedHashOutcome> {
  // A hasher per task around a timed decoder: tasks interleave on a thread, so no shared clock.
  let decodeMs = 0;
  const hash = createImageHasher(async (bytes, request) => {
    const started = performance.now();
    try {
      return await decode(bytes, request);
    } finally {
      decodeMs += performance.now() - started;
    }
  });
  const started = performance.now();
  const outcome = await hash(task.bytes, task.request);
  const totalMs = performance.now() - started;
  return { ...outcome, timings: { decodeMs, hashMs: Math.max(0, totalMs - decodeMs) } };
}
