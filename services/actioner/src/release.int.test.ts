// Release against real Postgres and an FsObjectStore: the object goes back with the same bytes,
// the record and audit log say who and why, the quarantine copy stays; and every refusal.

import { quarantineKey } from '@vigil/storage';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  captureLogger,
  FIXED_NOW,
  openHarness,
  outboxRows,
  postgres,
  PUBLIC_BUCKET,
  QUARANTINE_BUCKET,
  randomBytesOf,
  readBytes,
  seedMatch,
  sha256Hex,
  withNewId,
  type Harness,
} from '../test/fixtures.ts';
import { createActioner, type Actioner } from './actioner.ts';
import { quarantineIdFor } from './ids.ts';
import { getQuarantine, listQuarantine } from './quarantine-records.ts';
import { releaseQuarantine, ReleaseError, type ReleaseErrorCode } from './release.ts';

describe.skipIf(!postgres.available)('releaseQuarantine', () => {
  let h: Harness;
  let actioner: Actioner;
  const releasedAt = new Date(Date.UTC(2025, 5, 2, 9, 30));
  beforeAll(async () => {
    h = await openHarness();
    actioner = createActioner({ pool: h.pool, store: h.store, quarantineBucket: QUARANTINE_BUCKET, logger: captureLogger().logger, now: () => FIXED_NOW });
  });
  afterAll(async () => {
    await h?.close();
  });

  const deps = () => ({ pool: h.pool, store: h.store, now: () => releasedAt });

  /** A stored object quarantined through the actioner. */
  async function quarantined(name: string, tenantId = 'tenant-a') {
    const bytes = randomBytesOf(2500);
    const key = `uploads/${name}/photo.jpg`;
    const put = await h.store.put({ bucket: PUBLIC_BUCKET, key }, bytes, { contentType: 'image/webp', metadata: { 'app-id': name } });
    const seeded = await seedMatch(h.pool, { name, bytes, versionId: put.versionId!, tenantId });
    expect(await actioner.handle(seeded.event)).toEqual({ kind: 'done' });
    return { ...seeded, bytes, quarantineId: quarantineIdFor(seeded.matchId) };
  }

  async function refusal(promise: Promise<unknown>): Promise<ReleaseErrorCode> {
    const err = await promise.then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(err).toBeInstanceOf(ReleaseError);
    return (err as ReleaseError).code;
  }

  it('restores the same bytes to the original location, audited, and keeps the quarantine copy', async () => {
    const q = await quarantined('release-ok');
    expect(await h.store.head({ bucket: PUBLIC_BUCKET, key: q.key })).toBeNull();

    const record = await releaseQuarantine(deps(), { quarantineId: q.quarantineId, actor: 'user:alice', reason: 'false positive confirmed by review #12' });

    const restored = (await h.store.head({ bucket: PUBLIC_BUCKET, key: q.key }))!;
    expect(await readBytes(h.store, PUBLIC_BUCKET, q.key)).toEqual(q.bytes);
    expect(restored.contentType).toBe('image/webp');
    expect(restored.metadata).toEqual({ 'app-id': 'release-ok' });
    expect(record).toMatchObject({
      id: q.quarantineId,
      status: 'released',
      releasedAt,
      releasedBy: 'user:alice',
      releaseReason: 'false positive confirmed by review #12',
      restoredVersionId: restored.versionId,
    });
    expect(await getQuarantine(h.pool, q.quarantineId)).toEqual(record);
    // Never destroyed: the copy stays where it was.
    expect(await readBytes(h.store, QUARANTINE_BUCKET, quarantineKey(q.tenantId, q.matchId))).toEqual(q.bytes);

    const audit = await h.pool.query(`SELECT actor, action, details FROM audit_log WHERE action = 'quarantine.release' AND subject_id = $1`, [q.quarantineId]);
    expect(audit.rows).toEqual([
      {
        actor: 'user:alice',
        action: 'quarantine.release',
        details: {
          matchId: q.matchId,
          reason: 'false positive confirmed by review #12',
          original: { tenantId: 'tenant-a', bucket: PUBLIC_BUCKET, key: q.key, versionId: q.event.payload.object.versionId },
          restoredVersionId: restored.versionId,
        },
      },
    ]);
    expect(JSON.stringify(audit.rows)).not.toContain(sha256Hex(q.bytes));

    // Releasing again is refused with its own code; a new match.found for it does nothing.
    expect(await refusal(releaseQuarantine(deps(), { quarantineId: q.quarantineId, actor: 'user:alice', reason: 'again' }))).toBe('VIGIL_ERR_ALREADY_RELEASED');
    expect(await actioner.handle(withNewId(q.event))).toEqual({ kind: 'done' });
    expect(await readBytes(h.store, PUBLIC_BUCKET, q.key)).toEqual(q.bytes);
    expect(await outboxRows(h.pool, q.matchId)).toHaveLength(3);
  });

  it('refuses without an actor or a reason, and changes nothing', async () => {
    const q = await quarantined('release-unreasoned');
    for (const request of [
      { actor: '', reason: 'ok' },
      { actor: '   ', reason: 'ok' },
      { actor: 'user:bob', reason: '' },
      { actor: 'user:bob', reason: ' \n ' },
    ]) {
      expect(await refusal(releaseQuarantine(deps(), { quarantineId: q.quarantineId, ...request }))).toBe('VIGIL_ERR_INVALID_ARGUMENT');
    }
    expect((await getQuarantine(h.pool, q.quarantineId))!.status).toBe('applied');
    expect(await h.store.head({ bucket: PUBLIC_BUCKET, key: q.key })).toBeNull();
    expect((await h.pool.query(`SELECT 1 FROM audit_log WHERE action = 'quarantine.release' AND subject_id = $1`, [q.quarantineId])).rowCount).toBe(0);
  });

  it('refuses a record that is not applied, and an unknown id', async () => {
    const seeded = await seedMatch(h.pool, { name: 'release-failed', bytes: randomBytesOf(500) });
    expect(await actioner.handle(seeded.event)).toEqual({ kind: 'done' }); // source_missing -> failed
    const id = quarantineIdFor(seeded.matchId);
    expect((await getQuarantine(h.pool, id))!.status).toBe('failed');

    expect(await refusal(releaseQuarantine(deps(), { quarantineId: id, actor: 'user:carol', reason: 'why not' }))).toBe('VIGIL_ERR_NOT_APPLIED');
    expect(await refusal(releaseQuarantine(deps(), { quarantineId: 'qr_nope', actor: 'user:carol', reason: 'why not' }))).toBe('VIGIL_ERR_NOT_FOUND');
  });

  it('refuses to restore a quarantine copy that no longer matches its record', async () => {
    const q = await quarantined('release-tampered');
    // Overwrite in place, as if the copy had been altered (versioned bucket: the record names a version).
    await h.pool.query(`UPDATE quarantine_records SET quarantine_version_id = NULL WHERE id = $1`, [q.quarantineId]);
    await h.store.put({ bucket: QUARANTINE_BUCKET, key: quarantineKey(q.tenantId, q.matchId) }, randomBytesOf(2500));

    expect(await refusal(releaseQuarantine(deps(), { quarantineId: q.quarantineId, actor: 'user:dave', reason: 'restore' }))).toBe('VIGIL_ERR_COPY_MISMATCH');
    expect(await h.store.head({ bucket: PUBLIC_BUCKET, key: q.key })).toBeNull();
    expect((await getQuarantine(h.pool, q.quarantineId))!.status).toBe('applied');
  });

  it('lists records by status and tenant', async () => {
    const a = await quarantined('list-a', 'tenant-list');
    const b = await quarantined('list-b', 'tenant-list');
    await releaseQuarantine(deps(), { quarantineId: b.quarantineId, actor: 'user:erin', reason: 'cleared' });

    const all = await listQuarantine(h.pool, { tenantId: 'tenant-list' });
    expect(all.map((r) => r.id).sort()).toEqual([a.quarantineId, b.quarantineId].sort());
    expect((await listQuarantine(h.pool, { tenantId: 'tenant-list', status: 'applied' })).map((r) => r.id)).toEqual([a.quarantineId]);
    expect((await listQuarantine(h.pool, { tenantId: 'tenant-list', status: 'released' })).map((r) => r.id)).toEqual([b.quarantineId]);
    expect(await listQuarantine(h.pool, { tenantId: 'tenant-list', limit: 1 })).toHaveLength(1);
    expect(await listQuarantine(h.pool, { tenantId: 'nobody' })).toEqual([]);
  });
});
