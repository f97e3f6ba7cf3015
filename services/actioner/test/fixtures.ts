// Test helpers: a migrated database and an FsObjectStore in a temp dir per test file; the rows a
// match.found depends on (list, version, scan, match, hits) inserted in SQL; valid match.found
// events; a store that counts calls and can fail on cue; a logger that keeps what it was told.
// Object bytes are random: the actioner never decodes them.

import { createHash, randomBytes, randomUUID } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createPool, migrate, type Logger, type Pool } from '@vigil/db';
import { createEvent, type Event, type Payload } from '@vigil/events';
import { FsObjectStore, ObjectStoreError, type ObjectStore } from '@vigil/storage';
import { resolvePostgres } from '@vigil/testkit/services';

export const postgres = await resolvePostgres('@vigil/actioner integration tests');

export const PUBLIC_BUCKET = 'public-uploads';
export const QUARANTINE_BUCKET = 'vigil-quarantine';
export const UPLOADER_IP = '203.0.113.77';
export const FIXED_NOW = new Date(Date.UTC(2025, 5, 1, 12, 0, 0));

export interface Harness {
  pool: Pool;
  store: FsObjectStore;
  root: string;
  close(): Promise<void>;
}

/** A fresh migrated database and a store with a versioned public and quarantine bucket. */
export async function openHarness(): Promise<Harness> {
  if (!postgres.available) throw new Error('postgres unavailable');
  const pool = createPool(await postgres.service.createDatabase(), { applicationName: 'vigil-actioner-test' });
  await migrate(pool);
  const root = await mkdtemp(join(tmpdir(), 'vigil-actioner-'));
  const store = new FsObjectStore({ root, fsync: false });
  await store.ensureBucket(PUBLIC_BUCKET, { versioning: true });
  await store.ensureBucket(QUARANTINE_BUCKET, { versioning: true });
  return {
    pool,
    store,
    root,
    async close() {
      await store.close();
      await pool.end();
      await rm(root, { recursive: true, force: true });
    },
  };
}

export const sha256Hex = (bytes: Uint8Array): string => createHash('sha256').update(bytes).digest('hex');

type Action = Payload<'match.found.v1'>['action'];
type Hit = Payload<'match.found.v1'>['matches'][number];

export interface MatchSpec {
  /** Unique per test: ids and the object key derive from it. */
  name: string;
  bytes: Uint8Array;
  action?: Action;
  tenantId?: string;
  versionId?: string;
  categories?: (string | null)[];
  /** Leave the matches row out (an inconsistent event). */
  skipMatchRow?: boolean;
}

export interface SeededMatch {
  matchId: string;
  scanId: string;
  tenantId: string;
  key: string;
  event: Event<'match.found.v1'>;
}

const lists = new WeakMap<Pool, Promise<void>>();

/** One list and version per database. */
function ensureList(pool: Pool): Promise<void> {
  const ready =
    lists.get(pool) ??
    (async () => {
    await pool.query(
      `INSERT INTO hash_lists (id, name, algorithm, action, threshold, category, source)
       VALUES ('demo-list', 'Demo list', 'pdq', 'quarantine', 31, 'csam', 'test') ON CONFLICT DO NOTHING`,
    );
    await pool.query(`INSERT INTO list_versions (list_id, version, status) VALUES ('demo-list', 1, 'active') ON CONFLICT DO NOTHING`);
    })();
  lists.set(pool, ready);
  return ready;
}

/** Writes the scan, match and hits rows for `spec` and builds its match.found event. */
export async function seedMatch(pool: Pool, spec: MatchSpec): Promise<SeededMatch> {
  await ensureList(pool);
  const tenantId = spec.tenantId ?? 'tenant-a';
  const matchId = `match-${spec.name}`;
  const scanId = `scan-${spec.name}`;
  const key = `uploads/${spec.name}/photo.jpg`;
  const sha256 = sha256Hex(spec.bytes);
  const action = spec.action ?? 'quarantine';
  const categories = spec.categories ?? ['csam'];
  const hits: Hit[] = categories.map((category, i) => ({
    listId: 'demo-list',
    listVersion: 1,
    action,
    algorithm: 'pdq',
    entryId: `entry-${i}`,
    category,
    distance: 3 + i,
    threshold: 31,
    variant: 'orig',
  }));
  await pool.query(
    `INSERT INTO scans (id, event_id, tenant_id, bucket, object_key, version_id, sha256, verdict, blocked, mode, algorithm, threshold, distance, scanned_at)
     VALUES ($1, $2, $3, $4, $5, $6, decode($7, 'hex'), 'matched', true, 'fast', 'pdq', 31, 3, $8)`,
    [scanId, randomUUID(), tenantId, PUBLIC_BUCKET, key, spec.versionId ?? null, sha256, FIXED_NOW],
  );
  if (!spec.skipMatchRow) {
    await pool.query(
      `INSERT INTO matches (id, scan_id, trigger, action, tenant_id, bucket, object_key, version_id, sha256, detected_at)
       VALUES ($1, $2, 'upload', $3, $4, $5, $6, $7, decode($8, 'hex'), $9)`,
      [matchId, scanId, action, tenantId, PUBLIC_BUCKET, key, spec.versionId ?? null, sha256, FIXED_NOW],
    );
    for (const [ordinal, hit] of hits.entries()) {
      await pool.query(
        `INSERT INTO match_hits (match_id, ordinal, list_id, list_version, action, algorithm, entry_id, category, distance, threshold, variant)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)`,
        [matchId, ordinal, hit.listId, hit.listVersion, hit.action, hit.algorithm, hit.entryId, hit.category, hit.distance, hit.threshold, hit.variant],
      );
    }
  }
  const event = matchFoundEvent({ matchId, scanId, tenantId, key, action, hits, bytes: spec.bytes, versionId: spec.versionId });
  return { matchId, scanId, tenantId, key, event };
}

export function matchFoundEvent(options: {
  matchId: string;
  scanId: string;
  tenantId: string;
  key: string;
  action: Action;
  hits: Hit[];
  bytes: Uint8Array;
  versionId?: string | undefined;
  id?: string;
}): Event<'match.found.v1'> {
  return createEvent(
    'match.found.v1',
    {
      matchId: options.matchId,
      scanId: options.scanId,
      trigger: 'upload',
      action: options.action,
      object: {
        tenantId: options.tenantId,
        bucket: PUBLIC_BUCKET,
        key: options.key,
        ...(options.versionId !== undefined ? { versionId: options.versionId } : {}),
        size: options.bytes.length,
        contentType: 'image/jpeg',
      },
      hashes: { sha256: sha256Hex(options.bytes), pdq: 'ab'.repeat(32), pdqQuality: 90 },
      matches: options.hits,
      uploader: { accountId: 'account-42', ip: UPLOADER_IP, userAgent: 'test-agent' },
      uploadedAt: FIXED_NOW.toISOString(),
      detectedAt: FIXED_NOW.toISOString(),
    },
    { producer: 'scanner', traceId: `trace-${options.matchId}`, ...(options.id !== undefined ? { id: options.id } : {}) },
  );
}

/** The same event under a new id: another delivery path for the same match. */
export function withNewId(event: Event<'match.found.v1'>): Event<'match.found.v1'> {
  return { ...event, id: randomUUID() };
}

export const randomBytesOf = (size: number): Uint8Array => new Uint8Array(randomBytes(size));

export type StoreMethod = 'head' | 'get' | 'getBytes' | 'copy' | 'delete' | 'deleteAllVersions' | 'put';

export interface Fault {
  method: StoreMethod;
  /** 'before': fail without doing it; 'after': do it, then fail (the answer was lost). */
  when: 'before' | 'after';
}

/** Wraps a store: counts calls per method and throws a retriable error once per queued fault. */
export function instrument(inner: ObjectStore): { store: ObjectStore; calls: Map<string, number>; total(): number; fail(fault: Fault): void } {
  const calls = new Map<string, number>();
  const faults: Fault[] = [];
  const store = new Proxy(inner, {
    get(target, property, receiver) {
      const value = Reflect.get(target, property, receiver);
      if (typeof value !== 'function') return value;
      const name = String(property);
      return async (...args: unknown[]) => {
        calls.set(name, (calls.get(name) ?? 0) + 1);
        const index = faults.findIndex((fault) => fault.method === name);
        const fault = index === -1 ? undefined : faults.splice(index, 1)[0];
        const unavailable = () => new ObjectStoreError('unavailable', `${name}: injected fault`, { operation: name });
        if (fault?.when === 'before') throw unavailable();
        const result = await (value as (...a: unknown[]) => unknown).apply(target, args);
        if (fault?.when === 'after') throw unavailable();
        return result;
      };
    },
  });
  return {
    store,
    calls,
    total: () => [...calls.values()].reduce((a, b) => a + b, 0),
    fail: (fault) => void faults.push(fault),
  };
}

/** A Logger that records every entry with its bindings, for asserting what logs may carry. */
export function captureLogger(): { logger: Logger; entries: Record<string, unknown>[] } {
  const entries: Record<string, unknown>[] = [];
  const make = (bindings: Record<string, unknown>): Logger => {
    const at =
      (level: string) =>
      (object: object, message?: string): void =>
        void entries.push({ level, ...bindings, ...object, msg: message });
    return { debug: at('debug'), info: at('info'), warn: at('warn'), error: at('error'), child: (more) => make({ ...bindings, ...more }) };
  };
  return { logger: make({}), entries };
}

export async function outboxRows(pool: Pool, matchId: string): Promise<{ type: string; event_id: string; event: Event }[]> {
  const { rows } = await pool.query<{ type: string; event_id: string; event: Event }>(
    `SELECT type, event_id, event FROM outbox WHERE event->'payload'->>'matchId' = $1 ORDER BY id`,
    [matchId],
  );
  return rows;
}

export async function readBytes(store: ObjectStore, bucket: string, key: string, versionId?: string): Promise<Uint8Array | null> {
  const ref = versionId === undefined ? { bucket, key } : { bucket, key, versionId };
  if ((await store.head(ref)) === null) return null;
  return (await store.getBytes(ref, { maxBytes: 1 << 24 })).bytes;
}
