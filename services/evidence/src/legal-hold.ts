// Legal holds: a law-enforcement preservation request keeps evidence past its retention date
// without limit, until lifted. The vault objects get an Object Lock legal hold, the row its
// reason, and the audit log who and why. Lifting never shortens retain_until.

import { appendAudit, withTransaction, type Pool } from '@vigil/db';
import { isObjectStoreError, type ObjectStore } from '@vigil/storage';
import { getEvidence, type EvidenceRecord } from './evidence-records.ts';
import { EvidenceAccessError } from './read-evidence.ts';

export interface HoldRequest {
  evidenceId: string;
  actor: string;
  reason: string;
}

export async function setLegalHold(deps: { pool: Pool; store: ObjectStore }, request: HoldRequest, on: boolean): Promise<{ record: EvidenceRecord; objectLock: 'applied' | 'refused' }> {
  if (!request.actor?.trim()) throw new EvidenceAccessError('actor_required', 'a legal hold change requires an actor');
  if (!request.reason?.trim()) throw new EvidenceAccessError('reason_required', 'a legal hold change requires a reason');
  const found = await getEvidence(deps.pool, request.evidenceId);
  if (found === null) throw new EvidenceAccessError('not_found', `no evidence ${request.evidenceId}`);
  let objectLock: 'applied' | 'refused' = 'applied';
  for (const ref of [
    { bucket: found.location.bucket, key: found.location.key, ...(found.location.versionId ? { versionId: found.location.versionId } : {}) },
    { bucket: found.location.bucket, key: found.manifestKey, ...(found.manifestVersionId ? { versionId: found.manifestVersionId } : {}) },
  ]) {
    try {
      await deps.store.putLegalHold(ref, on);
    } catch (err) {
      if (!isObjectStoreError(err, 'invalid')) throw err;
      objectLock = 'refused';
    }
  }
  const record = await withTransaction(deps.pool, async (client) => {
    await client.query('UPDATE evidence_items SET legal_hold = $2, legal_hold_reason = $3 WHERE id = $1', [found.id, on, on ? request.reason.trim() : null]);
    await appendAudit(client, {
      actor: request.actor.trim(),
      action: on ? 'evidence.hold_placed' : 'evidence.hold_lifted',
      subjectType: 'evidence',
      subjectId: found.id,
      details: { reason: request.reason.trim(), matchId: found.matchId, objectLock },
    });
    return (await getEvidence(client, found.id))!;
  });
  return { record, objectLock };
}
