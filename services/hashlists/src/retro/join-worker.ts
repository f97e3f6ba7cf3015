// Worker-thread entry of the retro-match: one join kernel over the delta, pages in, raw hits
// out. Pure computation: no database, no store.

import { parentPort, workerData } from 'node:worker_threads';
import { DeltaJoin } from './delta-join.ts';
import { joinPage } from './delta-index.ts';

const { hashes, count, radius } = workerData as { hashes: Uint8Array; count: number; radius: number };
const join = new DeltaJoin(hashes, count, radius);

parentPort!.on('message', ({ task, queries, count: rows, variants }: { task: number; queries: Uint32Array; count: number; variants: Uint32Array | null }) => {
  const hits = joinPage(join, queries, rows, variants);
  parentPort!.postMessage({ task, hits }, [hits.buffer as ArrayBuffer]);
});
