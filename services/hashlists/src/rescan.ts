// Full rescans, for when the hashing itself changes (a new algorithm or mode) or content was
// never hashed: enumerates objects (a bucket prefix in the store, or every object Vigil has
// content hashes for), publishes rescan.requested.v1 for each on the bulk lane at a throttled
// rate, and checkpoints its position in the same transaction as the events it enqueued. A crash
// loses at most the batch in flight (rolled back with its checkpoint), and a resumed run starts
// right after the last committed object: nothing skipped, nothing announced twice (event ids are
// derived from run and object, so even a replayed batch is deduplicated by the outbox).

import { createHash, randomUUID } from 'node:crypto';
import { setTimeout as delay } from 'node:timers/promises';
import { enqueue, withTransaction, type Pool } from '@vigil/db';
import { createEvent, type Event, type Payload } from '@vigil/events';
import type { ObjectStore } from '@vigil/storage';

export type RescanSource = { kind: 'store'; bucket: string; prefix: string } | { kind: 'all' };
export type RescanReason = Payload<'rescan.requested.v1'>['reason'];

export interface RescanRequest {
  /** Resume this run; a new run otherwise. */
  runId?: string;
  source?: RescanSource;
  /** The tenant objects listed from the store belong to (content hashes carry their own). */
  tenantId: string;
  reason: RescanReason;
  requestedBy: string;
  /** Objects announced per second at most; unthrottled when absent. */
  rate?: number;
  /** Objects per transaction (default 500, and at most the rate). */
  batchSize?: number;
}

export interface RescanProgress {
  runId: string;
  published: number;
  total: number | null;
  /** Objects per second since this process started the run. */
  rate: number;
  etaSeconds: number | null;
}

export interface RescanDeps {
  pool: Pool;
  store: ObjectStore;
  signal?: AbortSignal;
  onProgress?: (progress: RescanProgress) => void;
  /** Called after each committed batch (tests inject a crash here). */
  afterBatch?: (published: number) => void | Promise<void>;
}

export interface RescanResult {
  runId: string;
  status: 'done' | 'stopped';
  published: number;
  total: number | null;
}

export class RescanError extends Error {
  override readonly name = 'RescanError';
}

interface RunRow {
  id: string;
  source: string;
  tenant_id: string;
  reason: RescanReason;
  requested_by: string;
  rate: number | null;
  status: 'running' | 'done';
  position: string | null;
  published: string;
  total: string | null;
}

type ObjectRef = Payload<'rescan.requested.v1'>['object'];

export function describeSource(source: RescanSource): string {
  return source.kind === 'all' ? 'all' : `s3://${source.bucket}/${source.prefix}`;
}

export function parseSource(text: string): RescanSource {
  if (text === 'all') return { kind: 'all' };
  const match = /^s3:\/\/([^/]+)\/?(.*)$/.exec(text);
  if (!match) throw new RescanError(`expected s3://bucket/prefix or all, got ${JSON.stringify(text)}`);
  return { kind: 'store', bucket: match[1]!, prefix: match[2]! };
}

export async function runRescan(deps: RescanDeps, request: RescanRequest): Promise<RescanResult> {
  const run = await openRun(deps, request);
  const source = parseSource(run.source);
  const rate = request.rate ?? run.rate ?? undefined;
  const batchSize = Math.max(1, Math.min(request.batchSize ?? 500, rate ? Math.max(1, Math.floor(rate)) : Infinity));
  let position = run.position;
  let published = Number(run.published);
  const total = run.total === null ? null : Number(run.total);
  const startedAt = performance.now();
  let publishedHere = 0;
  if (run.status === 'done') return { runId: run.id, status: 'done', published, total };

  for (;;) {
    if (deps.signal?.aborted) return { runId: run.id, status: 'stopped', published, total };
    const batch = await nextBatch(deps, source, run.tenant_id, position, batchSize);
    if (batch.objects.length === 0) break;
    const events: Event[] = batch.objects.map((object) =>
      createEvent(
        'rescan.requested.v1',
        { rescanId: run.id, object, reason: run.reason, requestedBy: run.requested_by, requestedAt: new Date().toISOString() },
        { producer: 'hashlists', traceId: run.id, id: rescanEventId(run.id, object) },
      ),
    );
    await withTransaction(deps.pool, async (client) => {
      // The position guard makes two processes resuming one run fail instead of both publishing.
      const moved = await client.query(
        `UPDATE rescan_runs SET position = $2, published = published + $3, updated_at = now() WHERE id = $1 AND position IS NOT DISTINCT FROM $4`,
        [run.id, batch.position, events.length, position],
      );
      if (moved.rowCount !== 1) throw new RescanError(`rescan ${run.id} moved under us: another process is running it`);
      await enqueue(client, events);
    });
    position = batch.position;
    published += events.length;
    publishedHere += events.length;
    await deps.afterBatch?.(published);
    const elapsed = (performance.now() - startedAt) / 1000;
    if (rate) {
      // Throttle: never ahead of rate x elapsed, so the bulk lane fills at the pace asked for.
      const due = publishedHere / rate - elapsed;
      if (due > 0) await delay(due * 1000, undefined, deps.signal ? { signal: deps.signal } : {}).catch(() => undefined);
    }
    const seconds = (performance.now() - startedAt) / 1000;
    const observed = seconds > 0 ? publishedHere / seconds : 0;
    deps.onProgress?.({
      runId: run.id,
      published,
      total,
      rate: Math.round(observed * 10) / 10,
      etaSeconds: total !== null && observed > 0 ? Math.max(0, Math.round((total - published) / observed)) : null,
    });
  }
  await deps.pool.query(`UPDATE rescan_runs SET status = 'done', finished_at = now(), updated_at = now() WHERE id = $1`, [run.id]);
  return { runId: run.id, status: 'done', published, total };
}

async function openRun(deps: RescanDeps, request: RescanRequest): Promise<RunRow> {
  if (request.runId) {
    const { rows } = await deps.pool.query<RunRow>('SELECT * FROM rescan_runs WHERE id = $1', [request.runId]);
    if (!rows[0]) throw new RescanError(`no rescan run ${request.runId}`);
    if (request.source && describeSource(request.source) !== rows[0].source) {
      throw new RescanError(`rescan ${request.runId} enumerates ${rows[0].source}, not ${describeSource(request.source)}`);
    }
    return rows[0];
  }
  if (!request.source) throw new RescanError('a new rescan needs a source (s3://bucket/prefix or all)');
  const id = `rescan_${randomUUID()}`;
  const total = await countObjects(deps, request.source);
  const { rows } = await deps.pool.query<RunRow>(
    `INSERT INTO rescan_runs (id, source, tenant_id, reason, requested_by, rate, total) VALUES ($1, $2, $3, $4, $5, $6, $7) RETURNING *`,
    [id, describeSource(request.source), request.tenantId, request.reason, request.requestedBy, request.rate ?? null, total],
  );
  return rows[0]!;
}

/** How many objects the run will announce (for progress and ETA). */
async function countObjects(deps: RescanDeps, source: RescanSource): Promise<number> {
  if (source.kind === 'all') {
    const { rows } = await deps.pool.query<{ n: string }>(`SELECT count(DISTINCT (tenant_id, bucket, object_key, version_id))::bigint AS n FROM content_hashes`);
    return Number(rows[0]!.n);
  }
  let n = 0;
  for await (const _ of deps.store.list(source.bucket, source.prefix ? { prefix: source.prefix } : {})) n++;
  return n;
}

/** The next objects after `position`, in a stable order (key order, or content id order). */
async function nextBatch(deps: RescanDeps, source: RescanSource, tenantId: string, position: string | null, limit: number): Promise<{ objects: ObjectRef[]; position: string | null }> {
  const objects: ObjectRef[] = [];
  if (source.kind === 'store') {
    let last = position;
    for await (const o of deps.store.list(source.bucket, { ...(source.prefix && { prefix: source.prefix }), ...(position !== null && { startAfter: position }), pageSize: Math.min(1000, limit) })) {
      objects.push({ tenantId, bucket: o.bucket, key: o.key, size: o.size, ...(o.etag && { etag: o.etag }) });
      last = o.key;
      if (objects.length >= limit) break;
    }
    return { objects, position: last };
  }
  // Every object identity once: its newest content row (the bytes it holds now).
  const { rows } = await deps.pool.query<{ id: string; tenant_id: string; bucket: string; object_key: string; version_id: string | null; size: string | null; content_type: string | null }>(
    `SELECT c.id, c.tenant_id, c.bucket, c.object_key, c.version_id, c.size, c.content_type FROM content_hashes c
      WHERE c.id > $1 AND NOT EXISTS (SELECT 1 FROM content_hashes n WHERE n.tenant_id = c.tenant_id AND n.bucket = c.bucket
                                       AND n.object_key = c.object_key AND n.version_id IS NOT DISTINCT FROM c.version_id AND n.id > c.id)
      ORDER BY c.id LIMIT $2`,
    [position ?? '0', limit],
  );
  for (const r of rows) {
    objects.push({
      tenantId: r.tenant_id, bucket: r.bucket, key: r.object_key, size: Number(r.size ?? 0),
      ...(r.version_id !== null && { versionId: r.version_id }), ...(r.content_type !== null && { contentType: r.content_type }),
    });
  }
  return { objects, position: rows.at(-1)?.id ?? position };
}

/** Fixed by (run, object): a batch replayed after a crash is deduplicated by the outbox and the scanner. */
export function rescanEventId(runId: string, object: ObjectRef): string {
  const hex = createHash('sha256').update(JSON.stringify([runId, object.tenantId, object.bucket, object.key, object.versionId ?? null])).digest('hex');
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-8${hex.slice(13, 16)}-${((parseInt(hex[16]!, 16) & 0x3) | 0x8).toString(16)}${hex.slice(17, 20)}-${hex.slice(20, 32)}`;
}
