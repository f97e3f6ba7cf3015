// A pool of hashing worker threads (piscina) that spreads decodes across cores and enforces a
// hard deadline per task: a decode stuck in native code is ended by terminating its thread, and
// the caller still gets a typed `timeout` outcome, never a hang or an exception.

import { availableParallelism } from 'node:os';
import { Piscina } from 'piscina';
import { DEFAULT_DECODE_LIMITS, restrictSharpLoaders, type DecodeLimits } from './decode-sharp.ts';
import type { HashOutcome, HashRequest } from './hash-image.ts';
import type { HashTask, TimedHashOutcome } from './hash-worker.ts';

export interface HashPoolOptions {
  /** Worker threads; defaults to the number of cores. */
  threads?: number;
  limits?: Partial<DecodeLimits>;
  /** Hard deadline per task, after which the worker is terminated; defaults to 2x the decode timeout. */
  taskTimeoutMs?: number;
  /** V8 heap cap per worker, MiB (pixel buffers live outside it, bounded by the pixel limit). */
  maxHeapMb?: number;
  /**
   * Images in flight per thread (default 2): one hashes in JS while the other waits on its libvips
   * decode, so no core idles at the hand-offs. 1 gives one-image-at-a-time workers.
   */
  tasksPerThread?: number;
}

export interface HashPool {
  /** Never rejects for bad input: unscannable, timed-out and crashed tasks are outcomes (with timings when the worker finished). */
  hash(bytes: Uint8Array, request?: HashRequest): Promise<TimedHashOutcome>;
  readonly threads: number;
  /** Waits for queued tasks, then stops the threads. */
  close(): Promise<void>;
}

// The worker is TypeScript when this module runs from source (tests, Node type stripping), JS in dist.
const WORKER_URL = new URL(`./hash-worker${import.meta.url.endsWith('.ts') ? '.ts' : '.js'}`, import.meta.url);

export function createHashPool(options: HashPoolOptions = {}): HashPool {
  const limits = { ...DEFAULT_DECODE_LIMITS, ...options.limits };
  const threads = Math.max(1, options.threads ?? availableParallelism());
  const taskTimeoutMs = options.taskTimeoutMs ?? limits.timeoutMs * 2;
  // Process-wide, so here, before any worker decodes: the workers then only unblock their formats.
  restrictSharpLoaders(limits.formats);
  const pool = new Piscina<HashTask, TimedHashOutcome>({
    filename: WORKER_URL.href,
    minThreads: threads,
    maxThreads: threads,
    idleTimeout: 60_000,
    concurrentTasksPerWorker: options.tasksPerThread ?? 2,
    // Tasks are async (they await libvips): a worker must not block its event loop waiting for work.
    atomics: 'disabled',
    workerData: { ...limits, formats: [...limits.formats] },
    resourceLimits: { maxOldGenerationSizeMb: options.maxHeapMb ?? 256 },
  });

  return {
    threads,
    async hash(bytes, request = {}) {
      try {
        return await pool.run({ bytes, request }, { signal: AbortSignal.timeout(taskTimeoutMs) });
      } catch (err) {
        const aborted = err instanceof Error && (err.name === 'AbortError' || err.name === 'TimeoutError');
        return {
          status: 'unscannable',
          reason: aborted ? 'timeout' : 'decode_error',
          message: aborted
            ? `hashing did not finish within ${taskTimeoutMs} ms; the worker was stopped`
            : `hashing worker failed: ${err instanceof Error ? err.message : String(err)}`,
          exact: {},
        };
      }
    },
    close: () => pool.close(),
  };
}
