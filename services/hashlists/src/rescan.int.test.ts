// Full rescans against Postgres and the filesystem store: every object announced once on the
// bulk lane, a run killed midway resumed without skipping or repeating, the throttle, and the
// `all` source (every object Vigil holds content hashes for, once, newest bytes).

import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Pool } from '@vigil/db';
import { FsObjectStore } from '@vigil/storage';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openPool, postgres, randomHash, storeContent } from '../test/support.ts';
import { parseSource, RescanError, runRescan, type RescanProgress } from './rescan.ts';

describe.skipIf(!postgres.available)('rescan', () => {
  let pool: Pool;
  let store: FsObjectStore;
  let root: string;
  beforeAll(async () => {
    pool = await openPool();
    root = await mkdtemp(join(tmpdir(), 'vigil-rescan-'));
    store = new FsObjectStore({ root, fsync: false });
    await store.ensureBucket('media');
    for (let i = 0; i < 23; i++) await store.put({ bucket: 'media', key: `photos/${String(i).padStart(3, '0')}.jpg` }, Buffer.from(`object ${i}`));
    await store.put({ bucket: 'media', key: 'other/skip.jpg' }, Buffer.from('not under the prefix'));
  });
  afterAll(async () => {
    await store?.close();
    await pool?.end();
    await rm(root, { recursive: true, force: true });
  });

  const announced = async (runId: string) =>
    (await pool.query(`SELECT event->'payload'->'object'->>'key' AS key FROM outbox WHERE type = 'rescan.requested.v1' AND event->'payload'->>'rescanId' = $1 ORDER BY id`, [runId])).rows.map((r) => r.key as string);

  it('announces every object under the prefix once, and a run killed midway resumes after the last committed object', async () => {
    const progress: RescanProgress[] = [];
    const request = { source: parseSource('s3://media/photos/'), tenantId: 't1', reason: 'hashing_changed' as const, requestedBy: 'test', batchSize: 5 };
    let runId = '';
    const killed = runRescan(
      {
        pool, store,
        onProgress: (p) => void (runId = p.runId),
        afterBatch: (published) => {
          if (published === 10) throw new Error('killed');
        },
      },
      request,
    );
    await expect(killed).rejects.toThrow('killed');
    const { rows: [row] } = await pool.query(`SELECT id, published, total, status, position FROM rescan_runs`);
    expect(row).toMatchObject({ published: '10', total: '23', status: 'running', position: 'photos/009.jpg' });
    runId = row.id;
    expect(await announced(runId)).toHaveLength(10);

    await expect(runRescan({ pool, store }, { ...request, runId, source: parseSource('s3://media/elsewhere') })).rejects.toThrow(RescanError);
    const resumed = await runRescan({ pool, store, onProgress: (p) => progress.push(p) }, { ...request, runId });
    expect(resumed).toEqual({ runId, status: 'done', published: 23, total: 23 });
    const keys = await announced(runId);
    expect(keys).toEqual(Array.from({ length: 23 }, (_, i) => `photos/${String(i).padStart(3, '0')}.jpg`));
    expect(progress.at(-1)).toMatchObject({ published: 23, total: 23, etaSeconds: 0 });
    const { rows: [event] } = await pool.query(`SELECT event FROM outbox WHERE type = 'rescan.requested.v1' LIMIT 1`);
    expect(event.event.payload).toMatchObject({ rescanId: runId, reason: 'hashing_changed', requestedBy: 'test', object: { tenantId: 't1', bucket: 'media' } });
    // Done is done: running it again announces nothing.
    expect(await runRescan({ pool, store }, { ...request, runId })).toMatchObject({ status: 'done', published: 23 });
    expect(await announced(runId)).toHaveLength(23);
  });

  it('keeps to the rate asked for', async () => {
    // 23 objects at 10 a second: batches of 10, each released no earlier than its time (>= 2.3 s).
    const started = performance.now();
    const result = await runRescan({ pool, store }, { source: parseSource('s3://media/photos/'), tenantId: 't1', reason: 'operator', requestedBy: 'test', rate: 10 });
    expect(result.published).toBe(23);
    expect((performance.now() - started) / 1000).toBeGreaterThanOrEqual(2);
  });

  it('enumerates every object Vigil holds content hashes for, once each', async () => {
    for (let i = 0; i < 7; i++) await storeContent(pool, { key: `known/${i}.jpg`, pdq: randomHash() });
    await storeContent(pool, { key: 'known/0.jpg', pdq: randomHash() }); // overwritten with new bytes: one object still
    const result = await runRescan({ pool, store }, { source: { kind: 'all' }, tenantId: 'ignored', reason: 'never_hashed', requestedBy: 'test', batchSize: 3 });
    expect(result).toMatchObject({ status: 'done', published: 7, total: 7 });
    expect((await announced(result.runId)).sort()).toEqual(Array.from({ length: 7 }, (_, i) => `known/${i}.jpg`));
  });
});
