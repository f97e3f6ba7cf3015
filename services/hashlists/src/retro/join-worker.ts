// Worker-thread entry of the retro-match: the join kernels over the delta (one per radius), pages
// in, raw hits out. Pure computation: no database, no store.

import { parentPort, workerData } from 'node:worker_threads';
import { joinPage, pageJoins, type PageViews } from './delta-index.ts';

const { hashes, count, radius, compensatedRadius } = workerData as { hashes: Uint8Array; count: number; radius: number; compensatedRadius: number };
const joins = pageJoins(hashes, count, radius, compensatedRadius);

interface Task {
  task: number;
  queries: Uint32Array;
  count: number;
  variants: Uint32Array | null;
  views: PageViews | null;
  compensated: PageViews | null;
}

parentPort!.on('message', ({ task, queries, count: rows, variants, views, compensated }: Task) => {
  const hits = joinPage(joins, queries, rows, variants, views, compensated);
  parentPort!.postMessage({ task, hits }, [hits.buffer as ArrayBuffer]);
});
