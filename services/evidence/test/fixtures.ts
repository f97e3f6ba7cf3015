// Test helpers: a migrated database and an FsObjectStore (which enforces Object Lock) per test
// file; a match seeded in SQL and quarantined by the real actioner, whose outbox then holds the
// evidence.requested and report.requested events the services consume. Object bytes are random:
// nothing here decodes images.

import { createHash, randomBytes, randomUUID } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createActioner } from '@vigil/actioner';
import { createPool, migrate, silentLogger, type Pool } from '@vigil/db';
import { createEvent, type Event, type EventType } from '@vigil/events';
import { FsObjectStore } from '@vigil/storage';
import { resolvePostgres } from '@vigil/testkit/services';

export const postgres = await resolvePostgres('@vigil/evidence integration tests');

export const PUBLIC_BUCKET = 'public-uploads';
export const QUARANTINE_BUCKET = 'vigil-quarantine';
export const EVIDENCE_BUCKET = 'vigil-evidence';
export const UPLOADER_IP = '203.0.113.77';

export interface Harness {
  pool: Pool;
  store: FsObjectStore;
  /** The store's clock: advance it to pass Object Lock dates. */
  clock: { now: Date };
  close(): Promise<void>;
}

export async function openHarness(): Promise<Harness> {
  if (!postgres.available) throw new Error('postgres unavailable');
  const pool = createPool(await postgres.service.createDatabase(), { applicationName: 'vigil-evidence-test' });
  await migrate(pool);
  const root = await mkdtemp(join(tmpdir(), 'vigil-evidence-'));
  const clock = { now: new Date() };
  const store = new FsObjectStore({ root, fsync: false, now: () => clock.now });
  await store.ensureBucket(PUBLIC_BUCKET, { versioning: true });
  await store.ensureBucket(QUARANTINE_BUCKET);
  await store.ensureBucket(EVIDENCE_BUCKET, { objectLock: true });
  await pool.query(
    `INSERT INTO hash_lists (id, name, algorithm, action, threshold, category, source) VALUES ('demo-list', 'Demo list', 'pdq', 'quarantine', 31, 'csam', 'test')`,
  );
  await pool.query(`INSERT INTO list_versions (list_id, version, status) VALUES ('demo-list', 1, 'active')`);
  return {
    pool,
    store,
    clock,
    async close() {
      await store.close();
      await pool.end();
      await rm(root, { recursive: true, force: true });
    },
  };
}

export const sha256Hex = (bytes: Uint8Array): string => createHash('sha256').update(bytes).digest('hex');

export interface Quarantined {
  matchId: string;
  bytes: Uint8Array;
  evidenceRequested: Event<'evidence.requested.v1'>;
  reportRequested: Event<'report.requested.v1'>;
}

export interface MatchOptions {
  name: string;
  accountId?: string;
  category?: string | null;
  detectedAt?: Date;
  bytes?: Uint8Array;
}

/**
 * Seeds scan, match, hits and content hashes for a random object in the public bucket, runs the
 * actioner on its match.found, and returns the follow-up events from the outbox.
 */
export async function quarantineMatch(h: Harness, options: MatchOptions): Promise<Quarantined> {
  const bytes = options.bytes ?? new Uint8Array(randomBytes(3000));
  const sha256 = sha256Hex(bytes);
  const md5 = createHash('md5').update(bytes).digest('hex');
  const sha1 = createHash('sha1').update(bytes).digest('hex');
  const key = `uploads/${options.name}/photo.jpg`;
  const matchId = `match-${options.name}`;
  const scanId = `scan-${options.name}`;
  const at = options.detectedAt ?? new Date();
  const category = options.category === undefined ? 'csam-A1' : options.category;
  await h.store.put({ bucket: PUBLIC_BUCKET, key }, bytes, { contentType: 'image/jpeg', metadata: { 'camera-note': 'benign test bytes' } });
  await h.pool.query(
    `INSERT INTO scans (id, event_id, tenant_id, bucket, object_key, sha256, verdict, blocked, mode, lists, algorithm, threshold, distance, scanned_at, match_id)
     VALUES ($1, $2, 'tenant-a', $3, $4, decode($5, 'hex'), 'matched', true, 'fast', '[{"listId":"demo-list","version":1}]', 'pdq', 31, 4, $6, $7)`,
    [scanId, randomUUID(), PUBLIC_BUCKET, key, sha256, at, matchId],
  );
  await h.pool.query(
    `INSERT INTO content_hashes (tenant_id, bucket, object_key, size, content_type, sha256, md5, sha1, pdq, pdq_quality, blockhash, last_scan_id)
     VALUES ('tenant-a', $1, $2, $3, 'image/jpeg', decode($4, 'hex'), decode($5, 'hex'), decode($6, 'hex'), decode($7, 'hex'), 90, decode($8, 'hex'), $9)`,
    [PUBLIC_BUCKET, key, bytes.length, sha256, md5, sha1, 'ab'.repeat(32), 'cd'.repeat(32), scanId],
  );
  await h.pool.query(
    `INSERT INTO matches (id, scan_id, trigger, action, tenant_id, bucket, object_key, sha256, detected_at)
     VALUES ($1, $2, 'upload', 'quarantine', 'tenant-a', $3, $4, decode($5, 'hex'), $6)`,
    [matchId, scanId, PUBLIC_BUCKET, key, sha256, at],
  );
  const hit = { listId: 'demo-list', listVersion: 1, action: 'quarantine' as const, algorithm: 'pdq' as const, entryId: 'entry-1', category, distance: 4, threshold: 31, variant: 'orig' as const };
  await h.pool.query(
    `INSERT INTO match_hits (match_id, ordinal, list_id, list_version, action, algorithm, entry_id, category, distance, threshold, variant)
     VALUES ($1, 0, 'demo-list', 1, 'quarantine', 'pdq', 'entry-1', $2, 4, 31, 'orig')`,
    [matchId, category],
  );
  const event = createEvent(
    'match.found.v1',
    {
      matchId, scanId, trigger: 'upload', action: 'quarantine',
      object: { tenantId: 'tenant-a', bucket: PUBLIC_BUCKET, key, size: bytes.length, contentType: 'image/jpeg' },
      hashes: { sha256, pdq: 'ab'.repeat(32), pdqQuality: 90 },
      matches: [hit],
      uploader: { accountId: options.accountId ?? 'account-42', ip: UPLOADER_IP, userAgent: 'test-agent/1.0' },
      uploadedAt: at.toISOString(),
      detectedAt: at.toISOString(),
    },
    { producer: 'scanner', traceId: `trace-${matchId}` },
  );
  const actioner = createActioner({ pool: h.pool, store: h.store, quarantineBucket: QUARANTINE_BUCKET, logger: silentLogger });
  const outcome = await actioner.handle(event);
  if (outcome.kind !== 'done') throw new Error(`actioner did not quarantine: ${JSON.stringify(outcome)}`);
  return {
    matchId,
    bytes,
    evidenceRequested: await outboxEvent(h.pool, 'evidence.requested.v1', matchId),
    reportRequested: await outboxEvent(h.pool, 'report.requested.v1', matchId),
  };
}

export async function outboxEvent<T extends EventType>(pool: Pool, type: T, matchId: string): Promise<Event<T>> {
  const { rows } = await pool.query<{ event: Event<T> }>(`SELECT event FROM outbox WHERE type = $1 AND event->'payload'->>'matchId' = $2`, [type, matchId]);
  if (!rows[0]) throw new Error(`no ${type} for ${matchId} in the outbox`);
  return rows[0].event;
}

/** Every outbox event of a type (newest last). */
export async function outboxEvents<T extends EventType>(pool: Pool, type: T): Promise<Array<Event<T>>> {
  const { rows } = await pool.query<{ event: Event<T> }>('SELECT event FROM outbox WHERE type = $1 ORDER BY id', [type]);
  return rows.map((r) => r.event);
}
