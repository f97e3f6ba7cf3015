// The actioner against real Postgres and an FsObjectStore: quarantine applied end to end, every
// kind of repeat (replay, second event, crash and redo), the gateway's pre-stored copy, the
// failures that must leave the public object alone, review holds and inconsistent events.

import { createMetrics } from '@vigil/observability';
import { quarantineKey, type ObjectStore } from '@vigil/storage';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  captureLogger,
  FIXED_NOW,
  instrument,
  openHarness,
  outboxRows,
  postgres,
  PUBLIC_BUCKET,
  QUARANTINE_BUCKET,
  randomBytesOf,
  readBytes,
  seedMatch,
  sha256Hex,
  UPLOADER_IP,
  withNewId,
  type Harness,
} from '../test/fixtures.ts';
import { createActioner } from './actioner.ts';
import { eventIdFor, quarantineIdFor, reviewIdFor } from './ids.ts';
import { getQuarantine } from './quarantine-records.ts';

describe.skipIf(!postgres.available)('actioner', () => {
  let h: Harness;
  beforeAll(async () => {
    h = await openHarness();
  });
  afterAll(async () => {
    await h?.close();
  });

  function actionerOn(store: ObjectStore, options: { quarantineBucket?: string } = {}) {
    const { logger, entries } = captureLogger();
    const metrics = createMetrics({ processMetrics: false });
    const actioner = createActioner({
      pool: h.pool,
      store,
      quarantineBucket: options.quarantineBucket ?? QUARANTINE_BUCKET,
      logger,
      now: () => FIXED_NOW,
      metrics,
    });
    return { actioner, logs: entries, metrics };
  }

  /** An older version, then the matched content as the current version of the key. */
  async function storeTwoVersions(key: string) {
    const older = randomBytesOf(3000);
    const matched = randomBytesOf(4096);
    const v1 = await h.store.put({ bucket: PUBLIC_BUCKET, key }, older, { contentType: 'image/jpeg', metadata: { 'app-id': 'photo-7' } });
    const v2 = await h.store.put({ bucket: PUBLIC_BUCKET, key }, matched, { contentType: 'image/jpeg', metadata: { 'app-id': 'photo-7' } });
    return { older, matched, v1: v1.versionId!, v2: v2.versionId! };
  }

  async function count(sql: string, params: unknown[]): Promise<number> {
    return (await h.pool.query<{ n: number }>(`SELECT count(*)::int AS n FROM ${sql}`, params)).rows[0]!.n;
  }

  it('quarantines: verified copy, every public version gone, record applied, three events in the outbox', async () => {
    const key = 'uploads/applied/photo.jpg';
    const { matched, v1, v2 } = await storeTwoVersions(key);
    const seeded = await seedMatch(h.pool, { name: 'applied', bytes: matched, versionId: v2, categories: ['csam', 'terrorism'] });
    const { actioner, logs } = actionerOn(h.store);

    expect(await actioner.handle(seeded.event)).toEqual({ kind: 'done' });

    // The copy: same bytes, at the match's key, saying where it came from.
    const qkey = quarantineKey(seeded.tenantId, seeded.matchId);
    expect(await readBytes(h.store, QUARANTINE_BUCKET, qkey)).toEqual(matched);
    const copyInfo = (await h.store.head({ bucket: QUARANTINE_BUCKET, key: qkey }))!;
    expect(copyInfo.metadata).toMatchObject({ 'vigil-match-id': seeded.matchId, 'vigil-original-bucket': PUBLIC_BUCKET, 'app-id': 'photo-7' });
    expect(decodeURIComponent(copyInfo.metadata['vigil-original-key']!)).toBe(key);
    expect(copyInfo.contentType).toBe('image/jpeg');

    // Public: neither version nor any delete marker is left.
    expect(await h.store.head({ bucket: PUBLIC_BUCKET, key })).toBeNull();
    expect(await h.store.head({ bucket: PUBLIC_BUCKET, key, versionId: v1 })).toBeNull();
    expect(await h.store.head({ bucket: PUBLIC_BUCKET, key, versionId: v2 })).toBeNull();
    expect(await h.store.deleteAllVersions(PUBLIC_BUCKET, key)).toBe(0);

    const record = (await getQuarantine(h.pool, quarantineIdFor(seeded.matchId)))!;
    expect(record).toMatchObject({
      id: `qr_${seeded.matchId}`,
      matchId: seeded.matchId,
      status: 'applied',
      bucket: PUBLIC_BUCKET,
      key,
      versionId: v2,
      quarantineBucket: QUARANTINE_BUCKET,
      quarantineKey: qkey,
      quarantineVersionId: copyInfo.versionId,
      sha256: sha256Hex(matched),
      size: matched.length,
      removedVersions: [v2],
      reason: null,
      appliedAt: FIXED_NOW,
    });

    const rows = await outboxRows(h.pool, seeded.matchId);
    expect(rows.map((row) => row.type)).toEqual(['quarantine.applied.v1', 'evidence.requested.v1', 'report.requested.v1']);
    expect(rows.map((row) => row.event_id)).toEqual(rows.map((row) => eventIdFor(row.type, seeded.matchId)));
    for (const row of rows) {
      expect(row.event.traceId).toBe(seeded.event.traceId);
      expect(row.event.producer).toBe('actioner');
      expect(row.event.key).toBe(seeded.event.key);
    }
    const [applied, evidence, report] = rows.map((row) => row.event.payload as Record<string, unknown>);
    expect(applied).toEqual({
      quarantineId: record.id,
      matchId: seeded.matchId,
      original: seeded.event.payload.object,
      quarantined: { bucket: QUARANTINE_BUCKET, key: qkey, versionId: copyInfo.versionId },
      sha256: sha256Hex(matched),
      size: matched.length,
      removedVersions: [v2],
      appliedAt: FIXED_NOW.toISOString(),
    });
    expect(evidence).toMatchObject({
      evidenceRequestId: `er_${seeded.matchId}`,
      matchId: seeded.matchId,
      quarantineId: record.id,
      object: seeded.event.payload.object,
      hashes: seeded.event.payload.hashes,
      matches: seeded.event.payload.matches,
      uploader: seeded.event.payload.uploader,
      uploadedAt: seeded.event.payload.uploadedAt,
      detectedAt: seeded.event.payload.detectedAt,
    });
    expect(report).toMatchObject({
      reportRequestId: `rr_${seeded.matchId}`,
      matchId: seeded.matchId,
      dedupeKey: `tenant-a:account-42:${sha256Hex(matched)}`,
      // One CSAM hit among them puts the report at the front.
      priority: 'csam',
      category: 'csam',
      uploader: seeded.event.payload.uploader,
    });

    const audit = await h.pool.query(`SELECT actor, action, details FROM audit_log WHERE subject_type = 'quarantine' AND subject_id = $1`, [record.id]);
    expect(audit.rows).toEqual([expect.objectContaining({ actor: 'service:actioner', action: 'quarantine.applied' })]);
    expect(JSON.stringify(audit.rows[0].details)).not.toContain(sha256Hex(matched));

    // Ids only in logs: never the uploader's IP, never hashes.
    const logged = JSON.stringify(logs);
    expect(logs.some((entry) => entry.msg === 'quarantine applied' && entry.quarantineId === record.id)).toBe(true);
    expect(logged).not.toContain(UPLOADER_IP);
    expect(logged).not.toContain(sha256Hex(matched));
    expect(logged).not.toContain('ab'.repeat(32));
  });

  it('does nothing on a replay of the same event: no storage call, no new rows', async () => {
    const key = 'uploads/replay/photo.jpg';
    const { matched, v2 } = await storeTwoVersions(key);
    const seeded = await seedMatch(h.pool, { name: 'replay', bytes: matched, versionId: v2 });
    const first = actionerOn(h.store);
    expect(await first.actioner.handle(seeded.event)).toEqual({ kind: 'done' });
    expect((await first.metrics.quarantine.get()).values).toEqual([{ labels: { outcome: 'applied' }, value: 1 }]);
    const record = await getQuarantine(h.pool, quarantineIdFor(seeded.matchId));
    const audits = await count('audit_log', []);

    const counted = instrument(h.store);
    const replay = actionerOn(counted.store);
    expect(await replay.actioner.handle(seeded.event)).toEqual({ kind: 'done' });
    expect(counted.total()).toBe(0);
    // A replay is not an operation: nothing counted.
    expect((await replay.metrics.quarantine.get()).values).toEqual([]);
    expect(await outboxRows(h.pool, seeded.matchId)).toHaveLength(3);
    expect(await getQuarantine(h.pool, quarantineIdFor(seeded.matchId))).toEqual(record);
    expect(await count('audit_log', [])).toBe(audits);
  });

  it('does not act twice on a second match.found for the same match', async () => {
    const key = 'uploads/second/photo.jpg';
    const { matched, v2 } = await storeTwoVersions(key);
    const seeded = await seedMatch(h.pool, { name: 'second', bytes: matched, versionId: v2 });
    expect(await actionerOn(h.store).actioner.handle(seeded.event)).toEqual({ kind: 'done' });
    const record = await getQuarantine(h.pool, quarantineIdFor(seeded.matchId));

    const again = withNewId(seeded.event);
    const counted = instrument(h.store);
    expect(await actionerOn(counted.store).actioner.handle(again)).toEqual({ kind: 'done' });
    expect(counted.total()).toBe(0);
    expect(await outboxRows(h.pool, seeded.matchId)).toHaveLength(3);
    expect(await getQuarantine(h.pool, quarantineIdFor(seeded.matchId))).toEqual(record);
    // The second event is remembered, so its own redeliveries stop at the inbox.
    expect(await count(`inbox WHERE consumer = 'actioner' AND event_id = $1`, [again.id])).toBe(1);
  });

  it('redoes after a crash between copy and removal: applied once, one set of events, one copy', async () => {
    const key = 'uploads/crash-before-removal/photo.jpg';
    const { matched, v2 } = await storeTwoVersions(key);
    const seeded = await seedMatch(h.pool, { name: 'crash-before-removal', bytes: matched, versionId: v2 });
    const counted = instrument(h.store);
    const { actioner } = actionerOn(counted.store);

    counted.fail({ method: 'deleteAllVersions', when: 'before' });
    const first = await actioner.handle(seeded.event);
    expect(first.kind).toBe('retry');
    // The copy is there, the public object untouched, nothing committed.
    const qkey = quarantineKey(seeded.tenantId, seeded.matchId);
    expect(await readBytes(h.store, QUARANTINE_BUCKET, qkey)).toEqual(matched);
    expect(await readBytes(h.store, PUBLIC_BUCKET, key)).toEqual(matched);
    expect(await outboxRows(h.pool, seeded.matchId)).toHaveLength(0);
    expect((await getQuarantine(h.pool, quarantineIdFor(seeded.matchId)))!.status).toBe('pending');

    expect(await actioner.handle(seeded.event)).toEqual({ kind: 'done' });
    expect(counted.calls.get('copy')).toBe(1); // the verified copy was reused
    expect(await h.store.head({ bucket: PUBLIC_BUCKET, key })).toBeNull();
    expect(await outboxRows(h.pool, seeded.matchId)).toHaveLength(3);
    expect((await getQuarantine(h.pool, quarantineIdFor(seeded.matchId)))!.status).toBe('applied');

    // And a replay after that changes nothing.
    expect(await actioner.handle(seeded.event)).toEqual({ kind: 'done' });
    expect(await outboxRows(h.pool, seeded.matchId)).toHaveLength(3);
  });

  it('redoes after a crash between removal and commit: the removed versions are still recorded', async () => {
    const key = 'uploads/crash-after-removal/photo.jpg';
    const { matched, v2 } = await storeTwoVersions(key);
    const seeded = await seedMatch(h.pool, { name: 'crash-after-removal', bytes: matched, versionId: v2 });
    const counted = instrument(h.store);
    const { actioner } = actionerOn(counted.store);

    counted.fail({ method: 'deleteAllVersions', when: 'after' });
    expect((await actioner.handle(seeded.event)).kind).toBe('retry');
    expect(await h.store.head({ bucket: PUBLIC_BUCKET, key })).toBeNull();
    expect(await outboxRows(h.pool, seeded.matchId)).toHaveLength(0);

    expect(await actioner.handle(seeded.event)).toEqual({ kind: 'done' });
    const record = (await getQuarantine(h.pool, quarantineIdFor(seeded.matchId)))!;
    expect(record.status).toBe('applied');
    expect(record.removedVersions).toEqual([v2]);
    const rows = await outboxRows(h.pool, seeded.matchId);
    expect(rows).toHaveLength(3);
    expect((rows[0]!.event.payload as { removedVersions: string[] }).removedVersions).toEqual([v2]);
    expect(counted.calls.get('copy')).toBe(1);
  });

  it('uses the copy the gateway already stored when the object was never public', async () => {
    const bytes = randomBytesOf(2048);
    const seeded = await seedMatch(h.pool, { name: 'gateway', bytes });
    const qkey = quarantineKey(seeded.tenantId, seeded.matchId);
    const gatewayCopy = await h.store.put({ bucket: QUARANTINE_BUCKET, key: qkey }, bytes, { contentType: 'image/png' });
    const counted = instrument(h.store);

    expect(await actionerOn(counted.store).actioner.handle(seeded.event)).toEqual({ kind: 'done' });
    expect(counted.calls.get('copy') ?? 0).toBe(0);
    expect(counted.calls.get('put') ?? 0).toBe(0);
    const record = (await getQuarantine(h.pool, quarantineIdFor(seeded.matchId)))!;
    expect(record).toMatchObject({ status: 'applied', removedVersions: [], quarantineVersionId: gatewayCopy.versionId, sha256: sha256Hex(bytes) });
    expect((await h.store.head({ bucket: QUARANTINE_BUCKET, key: qkey }))!.versionId).toBe(gatewayCopy.versionId);
    const rows = await outboxRows(h.pool, seeded.matchId);
    expect(rows.map((row) => row.type)).toEqual(['quarantine.applied.v1', 'evidence.requested.v1', 'report.requested.v1']);
    expect((rows[0]!.event.payload as { removedVersions: string[] }).removedVersions).toEqual([]);
  });

  it('fails with content_changed when the object was overwritten (same size) and leaves it public', async () => {
    const key = 'uploads/changed/photo.jpg';
    const scanned = randomBytesOf(1500);
    const v1 = (await h.store.put({ bucket: PUBLIC_BUCKET, key }, scanned)).versionId!;
    const seeded = await seedMatch(h.pool, { name: 'changed', bytes: scanned }); // no version id: "the current object"
    const replacement = randomBytesOf(1500);
    await h.store.put({ bucket: PUBLIC_BUCKET, key }, replacement);
    const { actioner, logs } = actionerOn(h.store);

    expect(await actioner.handle(seeded.event)).toEqual({ kind: 'done' });
    expect(await readBytes(h.store, PUBLIC_BUCKET, key)).toEqual(replacement);
    expect(await readBytes(h.store, PUBLIC_BUCKET, key, v1)).toEqual(scanned);
    const record = (await getQuarantine(h.pool, quarantineIdFor(seeded.matchId)))!;
    expect(record).toMatchObject({ status: 'failed', reason: 'content_changed', appliedAt: null });
    expect(await outboxRows(h.pool, seeded.matchId)).toHaveLength(0);
    expect(logs.some((entry) => entry.level === 'warn' && entry.reason === 'content_changed')).toBe(true);

    // A redelivery of the same event is recorded as handled: nothing runs again.
    const counted = instrument(h.store);
    expect(await actionerOn(counted.store).actioner.handle(seeded.event)).toEqual({ kind: 'done' });
    expect(counted.total()).toBe(0);
  });

  it('fails with content_changed without copying when the size already differs', async () => {
    const key = 'uploads/changed-size/photo.jpg';
    const scanned = randomBytesOf(1500);
    await h.store.put({ bucket: PUBLIC_BUCKET, key }, scanned);
    const seeded = await seedMatch(h.pool, { name: 'changed-size', bytes: scanned });
    const replacement = randomBytesOf(1700);
    await h.store.put({ bucket: PUBLIC_BUCKET, key }, replacement);
    const counted = instrument(h.store);

    expect(await actionerOn(counted.store).actioner.handle(seeded.event)).toEqual({ kind: 'done' });
    expect(counted.calls.get('copy') ?? 0).toBe(0);
    expect(counted.calls.get('deleteAllVersions') ?? 0).toBe(0);
    expect(await readBytes(h.store, PUBLIC_BUCKET, key)).toEqual(replacement);
    expect((await getQuarantine(h.pool, quarantineIdFor(seeded.matchId)))!).toMatchObject({ status: 'failed', reason: 'content_changed' });
  });

  it('fails with source_missing when the object is gone and no copy exists', async () => {
    const seeded = await seedMatch(h.pool, { name: 'missing-source', bytes: randomBytesOf(1000) });
    const counted = instrument(h.store);

    expect(await actionerOn(counted.store).actioner.handle(seeded.event)).toEqual({ kind: 'done' });
    expect(counted.calls.get('copy') ?? 0).toBe(0);
    expect(counted.calls.get('deleteAllVersions') ?? 0).toBe(0);
    expect((await getQuarantine(h.pool, quarantineIdFor(seeded.matchId)))!).toMatchObject({ status: 'failed', reason: 'source_missing' });
    expect(await outboxRows(h.pool, seeded.matchId)).toHaveLength(0);
  });

  it('applies a later event for a match whose earlier attempt failed, once the content is back', async () => {
    const key = 'uploads/late/photo.jpg';
    const bytes = randomBytesOf(900);
    const seeded = await seedMatch(h.pool, { name: 'late', bytes });
    const { actioner } = actionerOn(h.store);
    expect(await actioner.handle(seeded.event)).toEqual({ kind: 'done' });
    expect((await getQuarantine(h.pool, quarantineIdFor(seeded.matchId)))!.status).toBe('failed');

    await h.store.put({ bucket: PUBLIC_BUCKET, key }, bytes);
    expect(await actioner.handle(withNewId(seeded.event))).toEqual({ kind: 'done' });
    expect((await getQuarantine(h.pool, quarantineIdFor(seeded.matchId)))!).toMatchObject({ status: 'applied', reason: null });
    expect(await h.store.head({ bucket: PUBLIC_BUCKET, key })).toBeNull();
    expect(await outboxRows(h.pool, seeded.matchId)).toHaveLength(3);
  });

  it('block acts like quarantine', async () => {
    const key = 'uploads/block/photo.jpg';
    const { matched, v2 } = await storeTwoVersions(key);
    const seeded = await seedMatch(h.pool, { name: 'block', bytes: matched, versionId: v2, action: 'block', categories: ['terrorism'] });

    expect(await actionerOn(h.store).actioner.handle(seeded.event)).toEqual({ kind: 'done' });
    expect(await h.store.head({ bucket: PUBLIC_BUCKET, key })).toBeNull();
    expect((await getQuarantine(h.pool, quarantineIdFor(seeded.matchId)))!.status).toBe('applied');
    const rows = await outboxRows(h.pool, seeded.matchId);
    expect(rows[2]!.event.payload).toMatchObject({ priority: 'other', category: 'terrorism' });
  });

  it('holds a review match: a reviews row, no bytes moved, no events', async () => {
    const key = 'uploads/review/photo.jpg';
    const bytes = randomBytesOf(800);
    await h.store.put({ bucket: PUBLIC_BUCKET, key }, bytes);
    const seeded = await seedMatch(h.pool, { name: 'review', bytes, action: 'review' });
    const counted = instrument(h.store);
    const { actioner } = actionerOn(counted.store);

    expect(await actioner.handle(seeded.event)).toEqual({ kind: 'done' });
    expect(await actioner.handle(withNewId(seeded.event))).toEqual({ kind: 'done' });
    expect(counted.total()).toBe(0);
    const reviews = await h.pool.query(`SELECT id, match_id, scan_id, tenant_id, bucket, object_key, status FROM reviews WHERE match_id = $1`, [seeded.matchId]);
    expect(reviews.rows).toEqual([
      { id: reviewIdFor(seeded.matchId), match_id: seeded.matchId, scan_id: seeded.scanId, tenant_id: 'tenant-a', bucket: PUBLIC_BUCKET, object_key: key, status: 'pending' },
    ]);
    expect(await readBytes(h.store, PUBLIC_BUCKET, key)).toEqual(bytes);
    expect(await getQuarantine(h.pool, quarantineIdFor(seeded.matchId))).toBeNull();
    expect(await outboxRows(h.pool, seeded.matchId)).toHaveLength(0);
  });

  it('dead-letters a match.found whose matches row does not exist, touching nothing', async () => {
    const key = 'uploads/no-row/photo.jpg';
    const bytes = randomBytesOf(700);
    await h.store.put({ bucket: PUBLIC_BUCKET, key }, bytes);
    const seeded = await seedMatch(h.pool, { name: 'no-row', bytes, skipMatchRow: true });
    const counted = instrument(h.store);

    const outcome = await actionerOn(counted.store).actioner.handle(seeded.event);
    expect(outcome).toEqual({ kind: 'dead_letter', reason: expect.stringContaining('match_missing') });
    expect(counted.total()).toBe(0);
    expect(await readBytes(h.store, PUBLIC_BUCKET, key)).toEqual(bytes);
    expect(await count(`quarantine_records WHERE match_id = $1`, [seeded.matchId])).toBe(0);
    expect(await count(`inbox WHERE event_id = $1`, [seeded.event.id])).toBe(0);
  });

  it('dead-letters a match.found that names another object than its matches row', async () => {
    const bytes = randomBytesOf(700);
    const seeded = await seedMatch(h.pool, { name: 'mismatch', bytes });
    const event = { ...seeded.event, payload: { ...seeded.event.payload, object: { ...seeded.event.payload.object, key: 'uploads/someone-else.jpg' } } };
    const counted = instrument(h.store);

    expect(await actionerOn(counted.store).actioner.handle(event)).toEqual({ kind: 'dead_letter', reason: expect.stringContaining('match_mismatch: key') });
    expect(counted.total()).toBe(0);
  });

  it('retries, loudly and without touching the public object, when the quarantine bucket is missing', async () => {
    const key = 'uploads/no-bucket/photo.jpg';
    const bytes = randomBytesOf(600);
    await h.store.put({ bucket: PUBLIC_BUCKET, key }, bytes);
    const seeded = await seedMatch(h.pool, { name: 'no-bucket', bytes });
    const { actioner, logs } = actionerOn(h.store, { quarantineBucket: 'missing-quarantine' });

    const outcome = await actioner.handle(seeded.event);
    expect(outcome).toMatchObject({ kind: 'retry', reason: expect.stringContaining('quarantine_bucket_missing') });
    expect(logs.some((entry) => entry.level === 'error' && entry.quarantineBucket === 'missing-quarantine')).toBe(true);
    expect(await readBytes(h.store, PUBLIC_BUCKET, key)).toEqual(bytes);
    expect((await getQuarantine(h.pool, quarantineIdFor(seeded.matchId)))!.status).toBe('pending');
    expect(await count(`inbox WHERE event_id = $1`, [seeded.event.id])).toBe(0);

    // Once configured, the same event goes through.
    expect(await actionerOn(h.store).actioner.handle(seeded.event)).toEqual({ kind: 'done' });
    expect((await getQuarantine(h.pool, quarantineIdFor(seeded.matchId)))!.status).toBe('applied');
  });

  it('retries on a retriable storage error during the copy, then applies', async () => {
    const key = 'uploads/flaky/photo.jpg';
    const bytes = randomBytesOf(600);
    await h.store.put({ bucket: PUBLIC_BUCKET, key }, bytes);
    const seeded = await seedMatch(h.pool, { name: 'flaky', bytes });
    const counted = instrument(h.store);
    const { actioner } = actionerOn(counted.store);

    counted.fail({ method: 'copy', when: 'before' });
    expect(await actioner.handle(seeded.event)).toMatchObject({ kind: 'retry', reason: expect.stringContaining('storage_unavailable') });
    expect(await readBytes(h.store, PUBLIC_BUCKET, key)).toEqual(bytes);
    expect(await actioner.handle(seeded.event)).toEqual({ kind: 'done' });
    expect((await getQuarantine(h.pool, quarantineIdFor(seeded.matchId)))!.status).toBe('applied');
  });
});
