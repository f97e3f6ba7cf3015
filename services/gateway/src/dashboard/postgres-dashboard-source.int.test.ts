// The Postgres dashboard source against a real migrated database: scans and matches written
// through record_scan (the scanner's and the gateway's write path), the rest of the pipeline's
// rows as its services leave them, and the snapshot's numbers asserted exactly. Also: timings
// once scans.timings exists, the bus's lag (answering, failing, hanging), and the cost of a
// snapshot over 1e5 scans.

import { randomUUID } from 'node:crypto';
import { createPool, migrate, type Pool } from '@vigil/db';
import { resolvePostgres } from '@vigil/testkit/services';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { PostgresDashboardSource } from './postgres-dashboard-source.ts';
import { dashboardSnapshotSchema } from './snapshot.ts';

const postgres = await resolvePostgres('@vigil/gateway dashboard integration tests');
const MINUTE = 60_000;

async function freshDatabase(): Promise<Pool> {
  if (!postgres.available) throw new Error('postgres unavailable');
  const pool = createPool(await postgres.service.createDatabase(), { applicationName: 'vigil-dashboard-test' });
  await migrate(pool);
  return pool;
}

async function hasTimingsColumn(pool: Pool): Promise<boolean> {
  const { rows } = await pool.query(`SELECT 1 FROM information_schema.columns WHERE table_name = 'scans' AND column_name = 'timings'`);
  return rows.length > 0;
}

async function createList(pool: Pool, id: string, action: string, entries: number, options: { algorithm?: string; threshold?: number } = {}): Promise<void> {
  const algorithm = options.algorithm ?? 'pdq';
  await pool.query('BEGIN');
  await pool.query(`INSERT INTO hash_lists (id, name, algorithm, action, threshold, source, current_version) VALUES ($1, $2, $3, $4, $5, 'test', 1)`,
    [id, `List ${id}`, algorithm, action, options.threshold ?? (algorithm === 'pdq' ? 31 : 0)]);
  await pool.query(`INSERT INTO list_versions (list_id, version, status, entry_count, added, activated_at) VALUES ($1, 1, 'active', $2, $2, now())`, [id, entries]);
  await pool.query('COMMIT');
}

const hex = (n: number, bytes = 32) => `\\x${n.toString(16).padStart(bytes * 2, '0')}`;
let seq = 0;

interface ScanSpec {
  at: Date;
  verdict: 'clean' | 'matched' | 'unscannable';
  lane?: string;
  reason?: string;
  review?: boolean;
  /** For matched scans: the hits, first decides. */
  hits?: Array<{ list: string; action: string; distance: number; algorithm?: string }>;
  matchAction?: string;
  trigger?: string;
  /** scans.timings (migration 0010). */
  timings?: Record<string, unknown>;
}

/** One scan through record_scan, as recordScan() in services/scanner calls it. */
async function recordScan(pool: Pool, spec: ScanSpec): Promise<{ scanId: string; matchId: string | null }> {
  seq += 1;
  const scanId = `scan_t${seq}`;
  const matchId = spec.verdict === 'matched' ? `match_t${seq}` : null;
  const object = { tenant_id: 'tenant-a', bucket: 'uploads', object_key: `photos/${seq}.jpg`, version_id: null };
  const first = spec.hits?.[0];
  const scan = {
    id: scanId, event_id: randomUUID(), ...object, sha256: hex(seq), verdict: spec.verdict,
    unscannable_reason: spec.verdict === 'unscannable' ? (spec.reason ?? 'truncated') : null,
    blocked: spec.verdict !== 'clean' && !spec.review, mode: 'fast', lists: [{ listId: 'demo-pdq', version: 1 }],
    algorithm: first?.algorithm ?? (first ? 'pdq' : null), threshold: first ? 31 : null, distance: first?.distance ?? null,
    scanned_at: spec.at.toISOString(), lane: spec.lane ?? 'live', source: 'workers', review: spec.review ?? false, reused: false, match_id: matchId,
    ...(spec.timings && { timings: spec.timings }),
  };
  const match = matchId && {
    id: matchId, scan_id: scanId, trigger: spec.trigger ?? 'upload', action: spec.matchAction ?? first?.action ?? 'quarantine', ...object,
    sha256: hex(seq), detected_at: spec.at.toISOString(),
  };
  const hits = (spec.hits ?? []).map((h) => ({
    listId: h.list, listVersion: 1, action: h.action, algorithm: h.algorithm ?? 'pdq', distance: h.distance,
    threshold: h.algorithm && h.algorithm !== 'pdq' ? 0 : 31, variant: h.algorithm && h.algorithm !== 'pdq' ? 'exact' : 'orig',
  }));
  const { rows } = await pool.query(`SELECT * FROM record_scan($1::jsonb, NULL, $2::jsonb, $3::jsonb, '[]'::jsonb)`,
    [JSON.stringify(scan), match ? JSON.stringify(match) : null, JSON.stringify(hits)]);
  expect(rows[0]).toMatchObject({ recorded: true, scan_id: scanId });
  return { scanId, matchId };
}

async function applyQuarantine(pool: Pool, matchId: string, status = 'applied'): Promise<void> {
  await pool.query(
    `INSERT INTO quarantine_records (id, match_id, tenant_id, bucket, object_key, status, quarantine_bucket, quarantine_key, sha256, applied_at)
     VALUES ($1, $2, 'tenant-a', 'uploads', 'k', $3, 'vigil-quarantine', $2, $4, now())`,
    [`q_${matchId}`, matchId, status, hex(1)],
  );
}

async function preserveEvidence(pool: Pool, matchId: string, options: { legalHold?: boolean; retainDays?: number } = {}): Promise<void> {
  await pool.query(
    `INSERT INTO evidence_items (id, evidence_request_id, match_id, quarantine_id, tenant_id, bucket, object_key, location_bucket, location_key,
       manifest_key, manifest_sha256, sha256, size, retain_until, legal_hold, legal_hold_reason, preserved_at)
     VALUES ($1, $1, $2, $3, 'tenant-a', 'uploads', 'k', 'vault', $2, $2 || '.json', $4, $4, 10, now() + make_interval(days => $5), $6, $7, now())`,
    [`ev_${matchId}`, matchId, `q_${matchId}`, hex(2), options.retainDays ?? 365, options.legalHold ?? false, options.legalHold ? 'case 12' : null],
  );
}

async function queueReport(pool: Pool, matchId: string, status: string, options: { heldReason?: string; filedAt?: Date; createdAt?: Date } = {}): Promise<void> {
  await pool.query(
    `INSERT INTO reports (id, report_request_id, match_id, dedupe_key, priority, tenant_id, bucket, object_key, status, held_reason,
       external_report_id, filed_at, created_at)
     VALUES ($1, $1, $2, $1, 'csam', 'tenant-a', 'uploads', 'k', $3, $4, $5, $6, $7)`,
    [`r_${matchId}`, matchId, status, options.heldReason ?? null, status === 'filed' ? `ext-${matchId}` : null,
     options.filedAt?.toISOString() ?? null, (options.createdAt ?? new Date()).toISOString()],
  );
}

describe.skipIf(!postgres.available)('PostgresDashboardSource', () => {
  let pool: Pool;
  beforeAll(async () => {
    pool = await freshDatabase();
  });
  afterAll(async () => {
    await pool?.end();
  });

  it('on a fresh database: empty, every series zero-filled, and says why latency and lag are missing', async () => {
    const empty = await freshDatabase();
    try {
      const snapshot = dashboardSnapshotSchema.parse(await new PostgresDashboardSource({ db: empty }).snapshot());
      expect(snapshot.empty).toBe(true);
      expect(snapshot.throughput.minutes).toHaveLength(60);
      expect(snapshot.throughput.lastHour.total).toBe(0);
      expect(snapshot.throughput.last24h.total).toBe(0);
      expect(snapshot.latency.status).toBe((await hasTimingsColumn(empty)) ? 'no_samples' : 'no_timing_column');
      expect(snapshot.lag).toEqual({ status: 'not_configured', groups: [], deadLetters: null });
      expect(snapshot.matches.byList).toEqual([]);
      expect(snapshot.unscannable.byReason).toEqual([]);
      expect(snapshot.reports).toMatchObject({ queued: 0, held: 0, filed: 0, oldestQueuedAt: null });
      expect(snapshot.evidence).toEqual({ preserved: 0, pending: 0, failed: null, legalHold: 0, expiringWithin30d: 0 });
      expect(snapshot.outbox).toEqual({ backlog: 0, oldestAt: null });
      expect(snapshot.lists).toEqual([]);
      expect(snapshot.recent).toEqual([]);
    } finally {
      await empty.end();
    }
  });

  it('counts what the pipeline recorded: verdicts per minute, matches per list, reasons, reports, evidence, lists, recent decisions', async () => {
    const now = new Date();
    const ago = (minutes: number) => new Date(now.getTime() - minutes * MINUTE);
    await createList(pool, 'demo-pdq', 'quarantine', 40);
    await createList(pool, 'demo-md5', 'block', 3, { algorithm: 'md5' });
    await pool.query(`INSERT INTO retro_runs (list_id, version, status, matched, candidates, started_at, finished_at)
                      VALUES ('demo-pdq', 1, 'done', 2, 5, now() - interval '10 minutes', now() - interval '9 minutes')`);

    for (let i = 0; i < 5; i++) await recordScan(pool, { at: ago(1), verdict: 'clean', lane: 'check' });
    await recordScan(pool, { at: ago(30), verdict: 'clean' });
    await recordScan(pool, { at: ago(120), verdict: 'clean' }); // in the day, not the hour
    await recordScan(pool, { at: ago(60 * 25), verdict: 'clean' }); // outside every window
    const m1 = await recordScan(pool, { at: ago(2), verdict: 'matched', hits: [{ list: 'demo-pdq', action: 'quarantine', distance: 6 }] });
    const m2 = await recordScan(pool, { at: ago(3), verdict: 'matched', lane: 'check', hits: [{ list: 'demo-pdq', action: 'quarantine', distance: 0 }, { list: 'demo-md5', action: 'block', distance: 0, algorithm: 'md5' }] });
    const m3 = await recordScan(pool, { at: ago(90), verdict: 'matched', trigger: 'retro', lane: 'retro', hits: [{ list: 'demo-pdq', action: 'quarantine', distance: 12 }] });
    const u1 = await recordScan(pool, { at: ago(0), verdict: 'unscannable', reason: 'truncated' });
    await recordScan(pool, { at: ago(5), verdict: 'unscannable', reason: 'too_large', lane: 'check' });
    await recordScan(pool, { at: ago(6), verdict: 'unscannable', reason: 'truncated', review: true });

    for (const m of [m1, m2, m3]) await applyQuarantine(pool, m.matchId!);
    await preserveEvidence(pool, m1.matchId!, { legalHold: true });
    await preserveEvidence(pool, m2.matchId!, { retainDays: 10 });
    await queueReport(pool, m1.matchId!, 'held', { heldReason: 'reporter_incomplete: set the reporting person\'s email (VIGIL_REPORTER_*)' });
    await queueReport(pool, m2.matchId!, 'queued', { createdAt: ago(4) });
    await queueReport(pool, m3.matchId!, 'filed', { filedAt: ago(1) });
    await pool.query(`SELECT outbox_enqueue($1::jsonb, false)`, [JSON.stringify([{ id: randomUUID(), type: 'scan.completed.v1', key: 'k' }])]);

    const source = new PostgresDashboardSource({ db: pool, now: () => now });
    const snapshot = dashboardSnapshotSchema.parse(await source.snapshot());

    expect(snapshot.empty).toBe(false);
    expect(snapshot.generatedAt).toBe(now.toISOString());
    expect(snapshot.throughput.lastHour).toEqual({ total: 11, clean: 6, matched: 2, unscannable: 3, blocked: 4, review: 1 });
    expect(snapshot.throughput.last24h).toEqual({ total: 13, clean: 7, matched: 3, unscannable: 3, blocked: 5, review: 1 });
    expect(snapshot.throughput.lanes24h).toEqual([{ lane: 'check', count: 7 }, { lane: 'live', count: 5 }, { lane: 'retro', count: 1 }]);
    const minute = (at: Date) => snapshot.throughput.minutes.find((m) => m.at === new Date(Math.floor(at.getTime() / MINUTE) * MINUTE).toISOString());
    expect(minute(ago(1))).toMatchObject({ clean: 5 });
    expect(minute(ago(0))).toMatchObject({ unscannable: 1 });
    expect(snapshot.throughput.minutes.reduce((sum, m) => sum + m.clean + m.matched + m.unscannable, 0)).toBe(11);
    expect(snapshot.throughput.minutes.at(-1)!.at).toBe(new Date(Math.floor(now.getTime() / MINUTE) * MINUTE).toISOString());

    // Every hit counts for its list: m2 hit both lists.
    expect(snapshot.matches.byList).toEqual([
      { list: 'demo-pdq', action: 'quarantine', trigger: 'upload', count: 2 },
      { list: 'demo-md5', action: 'block', trigger: 'upload', count: 1 },
      { list: 'demo-pdq', action: 'quarantine', trigger: 'retro', count: 1 },
    ]);
    expect(snapshot.unscannable.byReason).toEqual([{ reason: 'truncated', count: 2 }, { reason: 'too_large', count: 1 }]);
    expect(snapshot.quarantine).toEqual({ pending: 0, applied: 3, released: 0, failed: 0 });
    expect(snapshot.evidence).toEqual({ preserved: 2, pending: 1, failed: null, legalHold: 1, expiringWithin30d: 1 });
    expect(snapshot.reports).toEqual({
      queued: 1, submitting: 0, held: 1, heldByReason: [{ reason: 'reporter_incomplete', count: 1 }], filed: 1, failed: 0, filedLast24h: 1,
      oldestQueuedAt: expect.any(String),
    });
    expect(Math.abs(Date.parse(snapshot.reports.oldestQueuedAt!) - ago(4).getTime())).toBeLessThan(1000);
    expect(snapshot.outbox.backlog).toBe(1);
    expect(snapshot.lists).toEqual([
      { list: 'demo-md5', name: 'List demo-md5', algorithm: 'md5', action: 'block', enabled: true, version: 1, entries: 3, suspended: 0, activatedAt: expect.any(String), lastRetro: null },
      {
        list: 'demo-pdq', name: 'List demo-pdq', algorithm: 'pdq', action: 'quarantine', enabled: true, version: 1, entries: 40, suspended: 0, activatedAt: expect.any(String),
        lastRetro: { version: 1, status: 'done', matched: 2, candidates: 5, pass: 1, passes: null, startedAt: expect.any(String), finishedAt: expect.any(String) },
      },
    ]);

    // Newest first; clean scans are not decisions worth a row; the deciding (first) hit names the list.
    expect(snapshot.recent.map((r) => r.scanId)).toEqual([u1.scanId, m1.scanId, m2.scanId, expect.any(String), expect.any(String), m3.scanId]);
    expect(snapshot.recent[1]).toEqual({
      scanId: m1.scanId, matchId: m1.matchId, list: 'demo-pdq', listVersion: 1, algorithm: 'pdq', distance: 6, action: 'quarantine',
      verdict: 'matched', reason: null, lane: 'live', blocked: true, review: false, at: ago(2).toISOString(),
    });
    expect(snapshot.recent[0]).toMatchObject({ verdict: 'unscannable', reason: 'truncated', matchId: null, list: null, action: null, blocked: true });
    expect(snapshot.recent[4]).toMatchObject({ verdict: 'unscannable', review: true, blocked: false });
    // Ids and names only: nothing from a hash, a key or a report payload.
    const text = JSON.stringify(snapshot);
    expect(text).not.toMatch(/photos\/|uploads|\\\\x|vigil-quarantine|VIGIL_REPORTER|tenant-a/);
  });

  it('reports per-stage percentiles once scans carry timings (migration 0010)', async () => {
    const now = new Date();
    for (const [i, hashMs] of [10, 20, 30, 40].entries()) {
      await recordScan(pool, { at: new Date(now.getTime() - i * MINUTE), verdict: 'clean', timings: { hashMs, matchMs: 1, endToEndMs: hashMs * 10, bogusMs: 5 } });
    }
    // Too old for the 15-minute window, and a malformed value: both ignored.
    await recordScan(pool, { at: new Date(now.getTime() - 20 * MINUTE), verdict: 'clean', timings: { hashMs: 9999 } });
    await recordScan(pool, { at: now, verdict: 'clean', timings: { hashMs: 'fast' } });

    const snapshot = dashboardSnapshotSchema.parse(await new PostgresDashboardSource({ db: pool, now: () => now }).snapshot());
    expect(snapshot.latency.status).toBe('ok');
    expect(snapshot.latency.stages).toEqual([
      { stage: 'hash', samples: 4, p50Ms: 25, p95Ms: 38.5, p99Ms: 39.7 },
      { stage: 'match', samples: 4, p50Ms: 1, p95Ms: 1, p99Ms: 1 },
      { stage: 'endToEnd', samples: 4, p50Ms: 250, p95Ms: 385, p99Ms: 397 },
    ]);
  });

  it('shows the bus lag and dead letters it is given, and "unavailable" when the bus fails or hangs', async () => {
    const lag = async () => [
      { topic: 'upload.received.v1', group: 'scanner', lag: 2 },
      { topic: 'match.found.v1', group: 'actioner', lag: 9 },
    ];
    const deadLetters = async () => [{ topic: 'evidence.requested.v1', depth: 1 }, { topic: 'upload.received.v1', depth: 3 }];
    const ok = await new PostgresDashboardSource({ db: pool, lag, deadLetters }).snapshot();
    expect(ok.lag).toEqual({
      status: 'ok',
      groups: [{ topic: 'match.found.v1', group: 'actioner', lag: 9 }, { topic: 'upload.received.v1', group: 'scanner', lag: 2 }],
      deadLetters: [{ topic: 'evidence.requested.v1', depth: 1 }, { topic: 'upload.received.v1', depth: 3 }],
    });
    expect(ok.evidence.failed).toBe(1);

    const failing = await new PostgresDashboardSource({ db: pool, lag: async () => { throw new Error('broker down'); } }).snapshot();
    expect(failing.lag).toEqual({ status: 'unavailable', groups: [], deadLetters: null });
    const started = Date.now();
    const hanging = await new PostgresDashboardSource({ db: pool, lag: () => new Promise(() => {}), busTimeoutMs: 200 }).snapshot();
    expect(hanging.lag.status).toBe('unavailable');
    expect(Date.now() - started).toBeLessThan(2000);
    expect(hanging.throughput.last24h.total).toBeGreaterThan(0);
  });
});

describe.skipIf(!postgres.available)('PostgresDashboardSource at 1e5 scans', () => {
  let pool: Pool;
  beforeAll(async () => {
    pool = await freshDatabase();
    await createList(pool, 'bench-pdq', 'quarantine', 1000);
    // A month of traffic (1e5 scans, 1 in 50 matched, 1 in 100 unscannable), a busy last hour included.
    await pool.query(`
      INSERT INTO scans (id, event_id, tenant_id, bucket, object_key, verdict, unscannable_reason, blocked, mode, scanned_at, lane, match_id, algorithm, distance)
      SELECT 's' || g, gen_random_uuid(), 'bench', 'uploads', 'k' || g,
             CASE WHEN g % 50 = 0 THEN 'matched' WHEN g % 100 = 1 THEN 'unscannable' ELSE 'clean' END,
             CASE WHEN g % 100 = 1 THEN 'truncated' END, g % 50 = 0 OR g % 100 = 1, 'fast',
             now() - CASE WHEN g <= 5000 THEN (g % 3600) * interval '1 second' ELSE ((g - 5000) * 27) * interval '1 second' END,
             'live', CASE WHEN g % 50 = 0 THEN 'm' || g END, CASE WHEN g % 50 = 0 THEN 'pdq' END, CASE WHEN g % 50 = 0 THEN g % 30 END
        FROM generate_series(1, 100000) AS g`);
    await pool.query(`
      INSERT INTO matches (id, scan_id, trigger, action, tenant_id, bucket, object_key, sha256, detected_at)
      SELECT 'm' || substr(id, 2), id, 'upload', 'quarantine', 'bench', 'uploads', object_key, sha256(id::bytea), scanned_at FROM scans WHERE verdict = 'matched'`);
    await pool.query(`
      INSERT INTO match_hits (match_id, ordinal, list_id, list_version, action, algorithm, distance, threshold, variant)
      SELECT id, 0, 'bench-pdq', 1, 'quarantine', 'pdq', 3, 31, 'orig' FROM matches`);
    await pool.query('ANALYZE');
  }, 120_000);
  afterAll(async () => {
    await pool?.end();
  });

  it('takes a snapshot in well under the 2 s poll, walking indexes rather than the whole table', async () => {
    const source = new PostgresDashboardSource({ db: pool });
    await source.snapshot();
    const times: number[] = [];
    let snapshot;
    for (let i = 0; i < 7; i++) {
      const started = performance.now();
      snapshot = await source.snapshot();
      times.push(performance.now() - started);
    }
    times.sort((a, b) => a - b);
    console.info(`dashboard snapshot over 1e5 scans: median ${times[3]!.toFixed(1)} ms, max ${times[6]!.toFixed(1)} ms`);
    expect(snapshot!.throughput.last24h.total).toBeGreaterThan(5000);
    expect(snapshot!.throughput.lastHour.total).toBeGreaterThanOrEqual(5000);
    expect(snapshot!.recent).toHaveLength(25);
    // The 50 ms target is for an idle machine; this bound catches a lost index (a seq scan of the
    // whole table per panel), not scheduling noise on a shared runner.
    expect(times[3]).toBeLessThan(250);

    const plan = async (sql: string, values: unknown[]) =>
      JSON.stringify((await pool.query(`EXPLAIN (FORMAT JSON) ${sql}`, values)).rows[0]['QUERY PLAN']);
    expect(await plan(`SELECT id FROM scans WHERE verdict <> 'clean' OR review ORDER BY scanned_at DESC LIMIT $1`, [25])).toContain('scans_recent_decisions');
    expect(await plan(`SELECT count(*) FROM matches WHERE detected_at >= now() - interval '24 hours'`, [])).toContain('matches_detected_at');
  });
});
