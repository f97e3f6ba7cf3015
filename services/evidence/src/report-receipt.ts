// report.filed.v1 to retention: the report's receipt starts the statutory clock (18 U.S.C.
// 2258A(h)), so every evidence item of the reported files is kept until receipt + policy days.
// Object Lock first (extend-only, idempotent), then the row, the receipt and an audit entry in
// one transaction. A receipt for evidence not yet preserved is remembered; preservation reads it.
// Never shortens anything.

import { appendAudit, handleOnce, type Client, type Logger, type Pool } from '@vigil/db';
import type { Event } from '@vigil/events';
import { isObjectStoreError, type ObjectStore, type Retention } from '@vigil/storage';
import { evidenceForMatch, type EvidenceRecord } from './evidence-records.ts';
import { retentionFromReceipt, type RetentionPolicy } from './retention.ts';

export const RECEIPT_CONSUMER = 'evidence-receipts';

export interface ReceiptContext {
  pool: Pool;
  store: ObjectStore;
  retention: RetentionPolicy;
  log: Logger;
  producer: string;
}

export type ReceiptOutcome =
  | { kind: 'extended'; evidence: Array<{ id: string; retainUntil: Date; objectLock: ObjectLockResult }> }
  /** Not a filing (held, failed), or no file of ours: nothing to start. */
  | { kind: 'ignored'; reason: string }
  | { kind: 'duplicate' }
  | { kind: 'retry'; reason: string };

/** applied: the vault now locks until the new date; refused: the bucket has no Object Lock. */
export type ObjectLockResult = 'applied' | 'refused';

export async function applyReportReceipt(ctx: ReceiptContext, event: Event<'report.filed.v1'>): Promise<ReceiptOutcome> {
  const p = event.payload;
  if (p.status !== 'filed') {
    await handleOnce(ctx.pool, RECEIPT_CONSUMER, event.id, async () => {});
    return { kind: 'ignored', reason: `report ${p.status}` };
  }
  const { rows } = await ctx.pool.query<{ match_id: string }>('SELECT match_id FROM report_files WHERE report_request_id = $1', [p.reportRequestId]);
  const matchId = rows[0]?.match_id;
  if (matchId === undefined) {
    await handleOnce(ctx.pool, RECEIPT_CONSUMER, event.id, async () => {});
    return { kind: 'ignored', reason: 'no report file for the request' };
  }
  const receivedAt = new Date(p.at);
  const items = await evidenceForMatch(ctx.pool, matchId);
  const locks = new Map<string, ObjectLockResult>();
  for (const item of items) {
    const target = retentionFromReceipt(ctx.retention, item.retainUntil, receivedAt);
    try {
      locks.set(item.id, await extendObjectLock(ctx.store, item, { mode: 'COMPLIANCE', retainUntil: target }));
    } catch (err) {
      if (isObjectStoreError(err) && err.retriable) return { kind: 'retry', reason: `storage_unavailable: ${err.operation ?? 'putRetention'}` };
      throw err;
    }
    if (locks.get(item.id) === 'refused') {
      ctx.log.error({ evidenceId: item.id, bucket: item.location.bucket }, 'vault bucket refused Object Lock retention: the database still holds the date; fix the bucket');
    }
  }
  const result = await handleOnce(ctx.pool, RECEIPT_CONSUMER, event.id, async (client) => {
    await client.query(
      `INSERT INTO evidence_report_receipts (match_id, report_id, external_report_id, received_at) VALUES ($1, $2, $3, $4)
       ON CONFLICT (match_id, report_id) DO UPDATE SET external_report_id = EXCLUDED.external_report_id,
         received_at = GREATEST(evidence_report_receipts.received_at, EXCLUDED.received_at)`,
      [matchId, p.reportId, p.externalReportId ?? null, receivedAt],
    );
    const extended: Array<{ id: string; retainUntil: Date; objectLock: ObjectLockResult }> = [];
    for (const item of await evidenceForMatch(client, matchId, { forUpdate: true })) {
      const next = await recordReceipt(client, item, ctx.retention, p.reportId, p.externalReportId ?? null, receivedAt);
      const objectLock = locks.get(item.id) ?? 'applied';
      await appendAudit(client, {
        actor: `service:${ctx.producer}`,
        action: 'evidence.retention_extended',
        subjectType: 'evidence',
        subjectId: item.id,
        details: { reportId: p.reportId, externalReportId: p.externalReportId ?? null, receivedAt: p.at, from: item.retainUntil.toISOString(), to: next.toISOString(), objectLock },
      });
      extended.push({ id: item.id, retainUntil: next, objectLock });
    }
    return extended;
  });
  if (!result.applied) return { kind: 'duplicate' };
  return { kind: 'extended', evidence: result.value };
}

async function recordReceipt(client: Client, item: EvidenceRecord, policy: RetentionPolicy, reportId: string, externalReportId: string | null, receivedAt: Date): Promise<Date> {
  const next = retentionFromReceipt(policy, item.retainUntil, receivedAt);
  // The first receipt is the one recorded (an outbox placeholder gives way to the confirmed
  // receipt of the same report); a later report of the same file only extends.
  await client.query(
    `UPDATE evidence_items SET retain_until = GREATEST(retain_until, $2), retention_basis = 'report_receipt',
            report_id = COALESCE(report_id, $3),
            external_report_id = CASE WHEN external_report_id IS NULL OR (external_report_id LIKE 'outbox:%' AND report_id = $3) THEN $4 ELSE external_report_id END,
            reported_at = CASE WHEN reported_at IS NULL OR (external_report_id LIKE 'outbox:%' AND report_id = $3) THEN GREATEST(reported_at, $5) ELSE reported_at END
      WHERE id = $1`,
    [item.id, next, reportId, externalReportId, receivedAt],
  );
  return next;
}

/**
 * Extends the lock on the content and the manifest. A backend without Object Lock on the bucket
 * answers `invalid`: reported as refused (the caller logs it loudly), not retried forever.
 */
export async function extendObjectLock(store: ObjectStore, item: EvidenceRecord, retention: Retention): Promise<ObjectLockResult> {
  const refs = [
    { bucket: item.location.bucket, key: item.location.key, ...(item.location.versionId ? { versionId: item.location.versionId } : {}) },
    { bucket: item.location.bucket, key: item.manifestKey, ...(item.manifestVersionId ? { versionId: item.manifestVersionId } : {}) },
  ];
  let refused = false;
  for (const ref of refs) {
    try {
      await store.putRetention(ref, retention);
    } catch (err) {
      if (isObjectStoreError(err, 'invalid')) refused = true;
      // `locked`: the object already holds a later date (extend-only): nothing to do.
      else if (!isObjectStoreError(err, 'locked')) throw err;
    }
  }
  return refused ? 'refused' : 'applied';
}
