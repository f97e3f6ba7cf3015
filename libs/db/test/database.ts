// Test helpers: a fresh database per test file on the run's Postgres (see @vigil/testkit's
// postgres-global-setup), pools that are closed after the file, and valid events.

import { createEvent, type Event } from '@vigil/events';
import { resolvePostgres } from '@vigil/testkit/services';
import { afterAll } from 'vitest';
import { createPool, type Pool, type PoolOptions } from '../src/index.ts';

export const postgres = await resolvePostgres('@vigil/db integration tests');

const pools: Pool[] = [];
afterAll(async () => {
  await Promise.all(pools.splice(0).map((pool) => pool.end()));
});

/** A new empty database on the run's server; pools made with `pool()` end after the file. */
export async function freshDatabase(): Promise<{ url: string; pool: (options?: PoolOptions) => Pool }> {
  if (!postgres.available) throw new Error('postgres unavailable');
  const url = await postgres.service.createDatabase();
  return {
    url,
    pool: (options = {}) => {
      const pool = createPool(url, { applicationName: 'vigil-db-test', ...options });
      pools.push(pool);
      return pool;
    },
  };
}

/** Polls until the condition holds or the deadline passes (no fixed sleeps). */
export async function waitFor(condition: () => boolean | Promise<boolean>, timeoutMs = 10_000, what = 'condition'): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await condition())) {
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

/** A valid rescan.requested event for one object (the key is the object's identity). */
export function rescanEvent(objectKey: string, n: number): Event {
  return createEvent(
    'rescan.requested.v1',
    {
      rescanId: `rescan-${objectKey}-${n}`,
      object: { tenantId: 'tenant-a', bucket: 'uploads', key: objectKey, size: 1000 + n },
      reason: 'operator',
      requestedBy: 'test',
      requestedAt: new Date(Date.UTC(2025, 0, 1)).toISOString(),
    },
    { producer: 'db-test', traceId: `trace-${n}` },
  );
}

/** Inserts a scan and a match for an object (the parents evidence and reports need). */
export async function seedMatch(pool: Pool, id: string): Promise<{ scanId: string; matchId: string }> {
  const scanId = `scan-${id}`;
  const matchId = `match-${id}`;
  const sha = Buffer.alloc(32, 7);
  await pool.query(
    `INSERT INTO scans (id, event_id, tenant_id, bucket, object_key, sha256, verdict, blocked, mode, lists, algorithm, threshold, distance, scanned_at)
     VALUES ($1, gen_random_uuid(), 't', 'uploads', $2, $3, 'matched', true, 'fast', '[{"listId":"demo","version":1}]', 'pdq', 31, 4, now())`,
    [scanId, `obj-${id}`, sha],
  );
  await pool.query(
    `INSERT INTO matches (id, scan_id, trigger, action, tenant_id, bucket, object_key, sha256, detected_at)
     VALUES ($1, $2, 'upload', 'quarantine', 't', 'uploads', $3, $4, now())`,
    [matchId, scanId, `obj-${id}`, sha],
  );
  return { scanId, matchId };
}
