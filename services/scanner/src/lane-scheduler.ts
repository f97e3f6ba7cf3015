// Puts the live lane ahead of the bulk lane on the one hashing pool. The pool takes a bounded
// number of images at once (threads x images per thread); everything else waits here, live
// first, so a rescan of millions queued behind the pool never delays an upload verdict or a
// synchronous check by more than the images already being hashed.

import type { HashPool, HashRequest, TimedHashOutcome } from '@vigil/hashing';

export type Lane = 'live' | 'bulk';

export interface LaneScheduler {
  hash(bytes: Uint8Array, lane: Lane, request?: HashRequest): Promise<TimedHashOutcome>;
  /** Waiting (not yet in the pool) per lane. */
  queued(): Record<Lane, number>;
}

export function createLaneScheduler(pool: Pick<HashPool, 'hash' | 'threads'>, inFlightPerThread = 2): LaneScheduler {
  const capacity = Math.max(1, pool.threads * inFlightPerThread);
  const waiting: Record<Lane, Array<() => void>> = { live: [], bulk: [] };
  let running = 0;

  const next = (): void => {
    while (running < capacity) {
      const start = waiting.live.shift() ?? waiting.bulk.shift();
      if (!start) return;
      running++;
      start();
    }
  };

  return {
    hash(bytes, lane, request) {
      return new Promise<TimedHashOutcome>((resolve, reject) => {
        waiting[lane].push(() => {
          pool
            .hash(bytes, request)
            .then(resolve, reject)
            .finally(() => {
              running--;
              next();
            });
        });
        next();
      });
    },
    queued: () => ({ live: waiting.live.length, bulk: waiting.bulk.length }),
  };
}
