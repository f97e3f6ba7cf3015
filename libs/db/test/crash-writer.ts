// Child process of crash.int.test.ts: in one transaction, records scans for three objects and
// enqueues their scan.completed and match.found events; after COMMIT it tells the parent (one
// line on stdout) and waits to be SIGKILLed, so nothing is ever published from here.
// Run: node --conditions=@vigil/source test/crash-writer.ts <database-url>

import { createEvent, type Event } from '@vigil/events';
import { createPool, enqueue, withTransaction } from '@vigil/db';

const url = process.argv[2];
if (!url) throw new Error('usage: crash-writer.ts <database-url>');

const pool = createPool(url, { applicationName: 'vigil-crash-writer' });
const context = { producer: 'crash-writer', traceId: 'crash-test' };
const now = new Date().toISOString();
const provenance = {
  listId: 'demo',
  listVersion: 1,
  action: 'quarantine' as const,
  algorithm: 'pdq' as const,
  entryId: null,
  category: null,
  distance: 4,
  threshold: 31,
  variant: 'orig' as const,
};

const events: Event[] = [];
const scanIds: string[] = [];
await withTransaction(pool, async (client) => {
  for (const n of [1, 2, 3]) {
    const object = { tenantId: 'tenant-a', bucket: 'uploads', key: `photos/${n}.jpg`, size: 1000 * n };
    const sha256 = String(n).repeat(64);
    const scanId = `scan-crash-${n}`;
    const completed = createEvent(
      'scan.completed.v1',
      { scanId, object, verdict: 'matched', blocked: true, hashes: { sha256 }, mode: 'fast', lists: [{ listId: 'demo', version: 1 }], matches: [provenance], scannedAt: now },
      context,
    );
    const found = createEvent(
      'match.found.v1',
      { matchId: `match-crash-${n}`, scanId, trigger: 'upload', action: 'quarantine', object, hashes: { sha256 }, matches: [provenance], detectedAt: now },
      context,
    );
    await client.query(
      `INSERT INTO scans (id, event_id, tenant_id, bucket, object_key, sha256, verdict, blocked, mode, lists, algorithm, threshold, distance, scanned_at)
       VALUES ($1, $2, $3, $4, $5, decode($6, 'hex'), 'matched', true, 'fast', '[{"listId":"demo","version":1}]', 'pdq', 31, 4, $7)`,
      [scanId, completed.id, object.tenantId, object.bucket, object.key, sha256, now],
    );
    await enqueue(client, [completed, found]);
    events.push(completed, found);
    scanIds.push(scanId);
  }
});

process.stdout.write(`COMMITTED ${JSON.stringify({ scanIds, eventIds: events.map((e) => e.id) })}\n`);
// Stay alive (pool open, nothing published) until the parent kills us.
setInterval(() => {}, 60_000);
