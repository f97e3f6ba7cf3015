// Worker-thread entry for the hashing pool: one decoder per thread, configured from workerData.
// Runs untrusted decodes off the main thread; a hung or crashed worker is the pool's to replace.

import { workerData } from 'node:worker_threads';
import sharp from 'sharp';
import { createSharpDecoder, type DecodeLimits } from './decode-sharp.ts';
import { createImageHasher, type HashOutcome, type HashRequest } from './hash-image.ts';

export interface HashTask {
  bytes: Uint8Array;
  request: HashRequest;
}

// Parallelism comes from the pool's threads; one libvips thread each keeps CPU and memory bounded.
sharp.concurrency(1);
const hash = createImageHasher(createSharpDecoder((workerData ?? {}) as Partial<DecodeLimits>));

export default function run(task: HashTask): Promise<HashOutcome> {
  return hash(task.bytes, task.request);
}
