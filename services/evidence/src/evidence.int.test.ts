// The evidence vault against Postgres and the filesystem store (which enforces Object Lock):
// preservation with a verified copy and manifest, the database guard, the audited read, the
// retention clock from the report receipt, legal holds and expiry.

import { createHash } from 'node:crypto';
import { createEvent } from '@vigil/events';
import { silentLogger, SqlState, verifyAuditChain } from '@vigil/db';
import { ObjectStoreError } from '@vigil/storage';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { outboxEvents, EVIDENCE_BUCKET, openHarness, postgres, quarantineMatch, UPLOADER_IP, type Harness } from '../test/fixtures.ts';
import { createEvidenceHandlers } from './evidence-service.ts';
import { expireEvidence } from './expire.ts';
import { getEvidence } from './evidence-records.ts';
import { setLegalHold } from './legal-hold.ts';
import { manifestMismatches, type EvidenceManifest } from './manifest.ts';
import { preserveEvidence, type PreserveContext } from './preserve.ts';
import { EvidenceAccessError, readEvidence } from './read-evidence.ts';
import { addDays } from './retention.ts';

const DAY = 24 * 60 * 60 * 1000;

describe.skipIf(!postgres.available)('evidence vault', () => {
  let h: Harness;
  let handlers: ReturnType<typeof createEvidenceHandlers>;
  const ctx = (now: () => Date): PreserveContext => ({
    pool: h.pool, store: h.store, evidenceBucket: EVIDENCE_BUCKET, retention: { days: 365 }, log: silentLogger, producer: 'evidence', now, maxBytes: 1 << 20,
  });

  beforeAll(async () => {
    h = await openHarness();
    handlers = createEvidenceHandlers({ pool: h.pool, store: h.store, evidenceBucket: EVIDENCE_BUCKET, retention: { days: 365 }, logger: silentLogger });
  });
  afterAll(async () => h?.close());

  it('preserves a locked, verified copy with a manifest whose digests and provenance check out, once', async () => {
    const q = await quarantineMatch(h, { name: 'preserve' });
    const before = Date.now();
    expect(await handlers.handleRequested(q.evidenceRequested)).toEqual({ kind: 'done' });
    // Redelivered, and delivered again under a new event id: still one item.
    expect(await handlers.handleRequested(q.evidenceRequested)).toEqual({ kind: 'done' });
    expect(await handlers.handleRequested({ ...q.evidenceRequested, id: crypto.randomUUID() })).toEqual({ kind: 'done' });
    const { rows } = await h.pool.query('SELECT * FROM evidence_items WHERE match_id = $1', [q.matchId]);
    expect(rows).toHaveLength(1);
    const row = rows[0];
    expect(row.uploader_ip).toBe(UPLOADER_IP);
    expect(row.uploader_user_agent).toBe('test-agent/1.0');
    expect(row.retention_basis).toBe('provisional');
    const retainUntil: Date = row.retain_until;
    expect(retainUntil.getTime()).toBeGreaterThanOrEqual(before + 365 * DAY - 1000);
    expect(retainUntil.getTime()).toBeLessThanOrEqual(Date.now() + 365 * DAY);

    // The vault copy: the scanned bytes, under COMPLIANCE lock until the row's date.
    const content = await h.store.getBytes({ bucket: EVIDENCE_BUCKET, key: row.location_key }, { maxBytes: 1 << 20 });
    expect(Buffer.from(content.bytes).equals(Buffer.from(q.bytes))).toBe(true);
    expect(content.info.retention).toEqual({ mode: 'COMPLIANCE', retainUntil });
    await expect(h.store.delete({ bucket: EVIDENCE_BUCKET, key: row.location_key, versionId: content.info.versionId! })).rejects.toMatchObject({ code: 'locked' });

    // The manifest: its own sha256 is the row's; its digests verify against the vault bytes.
    const manifestRead = await h.store.getBytes({ bucket: EVIDENCE_BUCKET, key: row.manifest_key }, { maxBytes: 1 << 20 });
    expect(createHash('sha256').update(manifestRead.bytes).digest()).toEqual(row.manifest_sha256);
    expect(manifestRead.info.retention?.mode).toBe('COMPLIANCE');
    const manifest = JSON.parse(Buffer.from(manifestRead.bytes).toString('utf8')) as EvidenceManifest;
    const digests = {
      size: content.bytes.length,
      sha256: createHash('sha256').update(content.bytes).digest('hex'),
      sha1: createHash('sha1').update(content.bytes).digest('hex'),
      md5: createHash('md5').update(content.bytes).digest('hex'),
    };
    expect(manifestMismatches(manifest, digests)).toEqual([]);
    expect(manifest.content.perceptual).toEqual({ pdq: 'ab'.repeat(32), pdqQuality: 90, blockhash: 'cd'.repeat(32) });
    expect(manifest.provenance).toMatchObject({
      scanId: 'scan-preserve', trigger: 'upload', mode: 'fast', listsConsulted: [{ listId: 'demo-list', version: 1 }],
      hits: [{ listId: 'demo-list', listName: 'Demo list', listVersion: 1, algorithm: 'pdq', threshold: 31, distance: 4, variant: 'orig' }],
    });
    expect(manifest.uploader).toEqual({ accountId: 'account-42', ip: UPLOADER_IP, userAgent: 'test-agent/1.0' });
    expect(manifest.original).toMatchObject({ bucket: 'public-uploads', key: 'uploads/preserve/photo.jpg', metadata: { 'camera-note': 'benign test bytes' } });
    expect(manifest.retention).toMatchObject({ mode: 'COMPLIANCE', retainUntil: retainUntil.toISOString(), basis: 'provisional', policyDays: 365 });
    expect(manifest.auditAnchor.seq).toBeGreaterThan(0);

    // evidence.preserved.v1 went to the outbox with the same facts, and the audit log has the act.
    const preserved = (await outboxEvents(h.pool, 'evidence.preserved.v1')).filter((e) => e.payload.matchId === q.matchId);
    expect(preserved).toHaveLength(1);
    expect(preserved[0]!.payload).toMatchObject({ evidenceId: row.id, manifestSha256: row.manifest_sha256.toString('hex'), retainUntil: retainUntil.toISOString() });
    const audit = await h.pool.query(`SELECT actor FROM audit_log WHERE action = 'evidence.preserved' AND subject_id = $1`, [row.id]);
    expect(audit.rows).toEqual([{ actor: 'service:evidence' }]);
  });

  it('refuses to delete or shorten a retained row in the database', async () => {
    const q = await quarantineMatch(h, { name: 'guard' });
    await handlers.handleRequested(q.evidenceRequested);
    await expect(h.pool.query('DELETE FROM evidence_items WHERE match_id = $1', [q.matchId])).rejects.toMatchObject({ code: SqlState.evidenceRetained });
    await expect(h.pool.query(`UPDATE evidence_items SET retain_until = now() + interval '1 day' WHERE match_id = $1`, [q.matchId])).rejects.toMatchObject({
      code: SqlState.evidenceRetained,
    });
    await expect(h.pool.query(`UPDATE evidence_items SET sha256 = decode(repeat('00', 32), 'hex') WHERE match_id = $1`, [q.matchId])).rejects.toMatchObject({
      code: SqlState.evidenceRetained,
    });
    expect((await h.pool.query('SELECT count(*)::int AS n FROM evidence_items WHERE match_id = $1', [q.matchId])).rows[0].n).toBe(1);
  });

  it('reads bytes only with an actor, a scope and a reason, and audits each read', async () => {
    const q = await quarantineMatch(h, { name: 'read' });
    await handlers.handleRequested(q.evidenceRequested);
    const id = (await h.pool.query('SELECT id FROM evidence_items WHERE match_id = $1', [q.matchId])).rows[0].id as string;
    const reads = () => h.pool.query(`SELECT actor, details FROM audit_log WHERE action = 'evidence.read' AND subject_id = $1`, [id]).then((r) => r.rows);
    const deps = { pool: h.pool, store: h.store };
    await expect(readEvidence(deps, { evidenceId: id, actor: 'cli:alice', scope: 'legal:case-7', reason: '' })).rejects.toMatchObject({ code: 'reason_required' });
    await expect(readEvidence(deps, { evidenceId: id, actor: 'cli:alice', scope: '', reason: 'subpoena' })).rejects.toBeInstanceOf(EvidenceAccessError);
    await expect(readEvidence(deps, { evidenceId: id, actor: ' ', scope: 'legal:case-7', reason: 'subpoena' })).rejects.toMatchObject({ code: 'actor_required' });
    expect(await reads()).toEqual([]);
    const read = await readEvidence(deps, { evidenceId: id, actor: 'cli:alice', scope: 'legal:case-7', reason: 'law enforcement request 7' });
    expect(Buffer.from(read.bytes).equals(Buffer.from(q.bytes))).toBe(true);
    expect(await reads()).toEqual([{ actor: 'cli:alice', details: expect.objectContaining({ scope: 'legal:case-7', reason: 'law enforcement request 7', part: 'file' }) }]);
    expect((await verifyAuditChain(h.pool)).ok).toBe(true);
  });

  it('counts retention from the report receipt, on the row and the Object Lock, whichever comes first', async () => {
    const q = await quarantineMatch(h, { name: 'receipt' });
    await handlers.handleRequested(q.evidenceRequested);
    await h.pool.query(
      `INSERT INTO reports (id, report_request_id, match_id, dedupe_key, priority, tenant_id, bucket, object_key) VALUES ('rp-1', $1, $2, 'k1', 'csam', 'tenant-a', 'b', 'k')`,
      [q.reportRequested.payload.reportRequestId, q.matchId],
    );
    await h.pool.query(`INSERT INTO report_files (report_request_id, report_id, match_id, content_key, priority, request, detected_at) VALUES ($1, 'rp-1', $2, 'c1', 'csam', '{}', now())`, [
      q.reportRequested.payload.reportRequestId, q.matchId,
    ]);
    const receivedAt = new Date(Date.now() + 3 * DAY);
    const filed = createEvent(
      'report.filed.v1',
      { reportId: 'rp-1', reportRequestId: q.reportRequested.payload.reportRequestId, dedupeKey: 'k1', object: q.reportRequested.payload.object, status: 'filed', externalReportId: '98765', at: receivedAt.toISOString() },
      { producer: 'reporter', traceId: 't' },
    );
    expect(await handlers.handleFiled(filed)).toEqual({ kind: 'done' });
    expect(await handlers.handleFiled(filed)).toEqual({ kind: 'done' });
    const item = (await getEvidence(h.pool, (await h.pool.query('SELECT id FROM evidence_items WHERE match_id = $1', [q.matchId])).rows[0].id))!;
    expect(item.retainUntil.toISOString()).toBe(addDays(receivedAt, 365).toISOString());
    expect(item).toMatchObject({ retentionBasis: 'report_receipt', reportId: 'rp-1', externalReportId: '98765' });
    const info = await h.store.head({ bucket: EVIDENCE_BUCKET, key: item.location.key });
    expect(info?.retention?.retainUntil.toISOString()).toBe(item.retainUntil.toISOString());
    const manifestInfo = await h.store.head({ bucket: EVIDENCE_BUCKET, key: item.manifestKey });
    expect(manifestInfo?.retention?.retainUntil.toISOString()).toBe(item.retainUntil.toISOString());
    const audits = await h.pool.query(`SELECT count(*)::int AS n FROM audit_log WHERE action = 'evidence.retention_extended' AND subject_id = $1`, [item.id]);
    expect(audits.rows[0].n).toBe(1);
    // The receipt is recorded once: nobody rewrites which report or when.
    await expect(h.pool.query(`UPDATE evidence_items SET external_report_id = 'other' WHERE id = $1`, [item.id])).rejects.toMatchObject({ code: SqlState.evidenceRetained });
    await expect(h.pool.query(`UPDATE evidence_items SET reported_at = reported_at - interval '1 day' WHERE id = $1`, [item.id])).rejects.toMatchObject({ code: SqlState.evidenceRetained });

    // A receipt that arrives before the evidence is preserved is applied at preservation.
    const early = await quarantineMatch(h, { name: 'early-receipt' });
    await h.pool.query(`INSERT INTO report_files (report_request_id, report_id, match_id, content_key, priority, request, detected_at) VALUES ($1, 'rp-1', $2, 'c2', 'csam', '{}', now())`, [
      early.reportRequested.payload.reportRequestId, early.matchId,
    ]);
    const earlyReceipt = new Date(Date.now() + 10 * DAY);
    await handlers.handleFiled(createEvent('report.filed.v1', { ...filed.payload, reportRequestId: early.reportRequested.payload.reportRequestId, at: earlyReceipt.toISOString() }, { producer: 'reporter', traceId: 't' }));
    await handlers.handleRequested(early.evidenceRequested);
    const earlyRow = (await h.pool.query('SELECT retain_until, retention_basis, external_report_id FROM evidence_items WHERE match_id = $1', [early.matchId])).rows[0];
    expect(earlyRow).toEqual({ retain_until: addDays(earlyReceipt, 365), retention_basis: 'report_receipt', external_report_id: '98765' });
  });

  it('resumes after a crash between the copy and the manifest without copying again', async () => {
    const q = await quarantineMatch(h, { name: 'crash' });
    let failPut = true;
    const flaky = new Proxy(h.store, {
      get(target, property, receiver) {
        const value = Reflect.get(target, property, receiver);
        if (property === 'put') {
          return async (...args: Parameters<typeof target.put>) => {
            if (failPut) {
              failPut = false;
              throw new ObjectStoreError('unavailable', 'put: injected fault');
            }
            return target.put(...args);
          };
        }
        return typeof value === 'function' ? value.bind(target) : value;
      },
    });
    const flakyCtx = { ...ctx(() => new Date()), store: flaky };
    await expect(preserveEvidence(flakyCtx, q.evidenceRequested)).rejects.toMatchObject({ code: 'unavailable' });
    expect((await h.pool.query('SELECT count(*)::int AS n FROM evidence_items WHERE match_id = $1', [q.matchId])).rows[0].n).toBe(0);
    const again = await preserveEvidence(flakyCtx, q.evidenceRequested);
    expect(again).toMatchObject({ kind: 'preserved', copied: false });
    const record = (again as { record: { retainUntil: Date; location: { key: string } } }).record;
    expect((await h.store.head({ bucket: EVIDENCE_BUCKET, key: record.location.key }))?.retention?.retainUntil).toEqual(record.retainUntil);
  });

  it('refuses a quarantine copy that is not the scanned content', async () => {
    const q = await quarantineMatch(h, { name: 'tampered' });
    const record = (await h.pool.query('SELECT quarantine_bucket, quarantine_key FROM quarantine_records WHERE match_id = $1', [q.matchId])).rows[0];
    await h.store.put({ bucket: record.quarantine_bucket, key: record.quarantine_key }, new Uint8Array(q.bytes.length).fill(1));
    const outcome = await handlers.handleRequested(q.evidenceRequested);
    expect(outcome).toMatchObject({ kind: 'dead_letter', reason: expect.stringContaining('evidence_mismatch') });
    expect((await h.pool.query('SELECT count(*)::int AS n FROM evidence_items WHERE match_id = $1', [q.matchId])).rows[0].n).toBe(0);
  });

  it('expires items only after retention and without a hold, logging each removal', async () => {
    // Preserved "800 days ago": its year is over. A second one is under a legal hold.
    const longAgo = new Date(Date.now() - 800 * DAY);
    h.clock.now = longAgo;
    const old = await quarantineMatch(h, { name: 'old' });
    const held = await quarantineMatch(h, { name: 'old-held' });
    expect((await preserveEvidence(ctx(() => longAgo), old.evidenceRequested)).kind).toBe('preserved');
    expect((await preserveEvidence(ctx(() => longAgo), held.evidenceRequested)).kind).toBe('preserved');
    h.clock.now = new Date();
    const heldId = (await h.pool.query('SELECT id FROM evidence_items WHERE match_id = $1', [held.matchId])).rows[0].id;
    const hold = await setLegalHold({ pool: h.pool, store: h.store }, { evidenceId: heldId, actor: 'cli:counsel', reason: 'preservation request 2024-17' }, true);
    expect(hold).toMatchObject({ objectLock: 'applied', record: { legalHold: true, legalHoldReason: 'preservation request 2024-17' } });
    expect((await h.store.head({ bucket: EVIDENCE_BUCKET, key: hold.record.location.key }))?.legalHold).toBe(true);
    await expect(h.pool.query('DELETE FROM evidence_items WHERE id = $1', [heldId])).rejects.toMatchObject({ code: SqlState.evidenceRetained });

    const result = await expireEvidence({ pool: h.pool, store: h.store }, { actor: 'service:evidence' });
    const oldId = (await h.pool.query('SELECT evidence_id FROM evidence_disposals WHERE match_id = $1', [old.matchId])).rows[0]?.evidence_id;
    expect(result.removed).toEqual([oldId]);
    expect(oldId).toBeDefined();
    expect((await h.pool.query('SELECT count(*)::int AS n FROM evidence_items WHERE match_id = $1', [old.matchId])).rows[0].n).toBe(0);
    expect((await h.pool.query('SELECT count(*)::int AS n FROM evidence_items WHERE match_id = $1', [held.matchId])).rows[0].n).toBe(1);
    expect(await h.store.head({ bucket: EVIDENCE_BUCKET, key: `tenant-a/${old.matchId}/content` })).toBeNull();
    expect((await h.pool.query(`SELECT count(*)::int AS n FROM audit_log WHERE action = 'evidence.disposed' AND subject_id = $1`, [oldId])).rows[0].n).toBe(1);
    await expect(h.pool.query('DELETE FROM evidence_disposals')).rejects.toMatchObject({ code: SqlState.appendOnly });

    // Lifted: the held item's year is also over, so the next pass removes it.
    await setLegalHold({ pool: h.pool, store: h.store }, { evidenceId: heldId, actor: 'cli:counsel', reason: 'case closed' }, false);
    expect((await expireEvidence({ pool: h.pool, store: h.store }, { actor: 'service:evidence' })).removed).toEqual([heldId]);
  });
});
