// Release: the only way a quarantined object goes back to its original location. A named person
// with a stated reason; the copy is verified before and after it is restored, and the record and
// the audit entry are written in one transaction. The quarantine copy is kept: never destroyed.

import { appendAudit, silentLogger, withTransaction, type Logger, type Pool } from '@vigil/db';
import type { ObjectStore } from '@vigil/storage';
import { restoredMetadata } from './copy-metadata.ts';
import { DEFAULT_MAX_VERIFY_BYTES, digestObject, versionRef } from './digest.ts';
import { getQuarantine, markReleased, type QuarantineRecord } from './quarantine-records.ts';

export interface ReleaseDeps {
  pool: Pool;
  store: ObjectStore;
  logger?: Logger;
  now?: () => Date;
  /** The most bytes read to verify a copy (default 512 MiB). */
  maxVerifyBytes?: number;
}

export interface ReleaseRequest {
  quarantineId: string;
  /** Who releases: `user:<id>`, `cli:<user>`. Required. */
  actor: string;
  /** Why, in words an auditor can follow. Required. */
  reason: string;
}

export type ReleaseErrorCode =
  | 'VIGIL_ERR_INVALID_ARGUMENT'
  | 'VIGIL_ERR_NOT_FOUND'
  | 'VIGIL_ERR_ALREADY_RELEASED'
  /** Pending or failed: nothing was quarantined, so there is nothing to release. */
  | 'VIGIL_ERR_NOT_APPLIED'
  /** The quarantine copy, or the restored object, is not the recorded content. */
  | 'VIGIL_ERR_COPY_MISMATCH';

const STATUS: Record<ReleaseErrorCode, number> = {
  VIGIL_ERR_INVALID_ARGUMENT: 400,
  VIGIL_ERR_NOT_FOUND: 404,
  VIGIL_ERR_ALREADY_RELEASED: 409,
  VIGIL_ERR_NOT_APPLIED: 409,
  VIGIL_ERR_COPY_MISMATCH: 500,
};

export class ReleaseError extends Error {
  override readonly name = 'ReleaseError';
  readonly code: ReleaseErrorCode;
  /** The HTTP status an API answers with. */
  readonly status: number;

  constructor(code: ReleaseErrorCode, message: string) {
    super(message);
    this.code = code;
    this.status = STATUS[code];
  }
}

const MAX_ACTOR = 200;
const MAX_REASON = 2000;

/**
 * Restores the quarantined object to its original bucket and key (a new current version there)
 * and marks the record released. Throws ReleaseError for a request that cannot be honoured, and
 * ObjectStoreError from the store (nothing is marked released then; calling again is safe).
 */
export async function releaseQuarantine(deps: ReleaseDeps, request: ReleaseRequest): Promise<QuarantineRecord> {
  const actor = request.actor?.trim() ?? '';
  const reason = request.reason?.trim() ?? '';
  if (actor === '' || actor.length > MAX_ACTOR) throw new ReleaseError('VIGIL_ERR_INVALID_ARGUMENT', `actor is required (1-${MAX_ACTOR} characters)`);
  if (reason === '' || reason.length > MAX_REASON) throw new ReleaseError('VIGIL_ERR_INVALID_ARGUMENT', `reason is required (1-${MAX_REASON} characters)`);

  const record = await getQuarantine(deps.pool, request.quarantineId);
  if (record === null) throw new ReleaseError('VIGIL_ERR_NOT_FOUND', `no quarantine record ${request.quarantineId}`);
  if (record.status === 'released') throw new ReleaseError('VIGIL_ERR_ALREADY_RELEASED', `quarantine ${record.id} was already released`);
  if (record.status !== 'applied' || record.quarantineBucket === null || record.quarantineKey === null || record.sha256 === null) {
    throw new ReleaseError('VIGIL_ERR_NOT_APPLIED', `quarantine ${record.id} is ${record.status}, not applied`);
  }
  const log = (deps.logger ?? silentLogger).child({ quarantineId: record.id, matchId: record.matchId, tenantId: record.tenantId, bucket: record.bucket });
  const maxBytes = deps.maxVerifyBytes ?? DEFAULT_MAX_VERIFY_BYTES;

  // Restore only what was quarantined: a copy that no longer hashes right is an integrity
  // problem for a person, not something to publish.
  const quarantined = versionRef({ bucket: record.quarantineBucket, key: record.quarantineKey }, record.quarantineVersionId);
  const before = await digestObject(deps.store, quarantined, maxBytes);
  if (before.sha256 !== record.sha256) {
    log.error({}, 'quarantine copy does not match its record; release refused');
    throw new ReleaseError('VIGIL_ERR_COPY_MISMATCH', `quarantine copy of ${record.id} does not match the recorded content`);
  }
  const original = { bucket: record.bucket, key: record.key };
  const written = await deps.store.copy(quarantined, original, {
    metadata: restoredMetadata(before.info.metadata),
    contentType: before.info.contentType,
  });
  const after = await digestObject(deps.store, versionRef(original, written.versionId), maxBytes);
  if (after.sha256 !== record.sha256) {
    log.error({}, 'restored object does not match the quarantined content; record left applied');
    throw new ReleaseError('VIGIL_ERR_COPY_MISMATCH', `restored object of ${record.id} does not match the recorded content`);
  }

  const releasedAt = (deps.now ?? (() => new Date()))();
  const released = await withTransaction(deps.pool, async (client) => {
    const updated = await markReleased(client, record.id, { releasedAt, releasedBy: actor, releaseReason: reason, restoredVersionId: written.versionId });
    if (updated === null) return null;
    await appendAudit(client, {
      actor,
      action: 'quarantine.release',
      subjectType: 'quarantine',
      subjectId: record.id,
      details: {
        matchId: record.matchId,
        reason,
        original: { tenantId: record.tenantId, bucket: record.bucket, key: record.key, versionId: record.versionId },
        restoredVersionId: written.versionId,
      },
    });
    return updated;
  });
  // A concurrent release committed first; the object it restored is the same content.
  if (released === null) throw new ReleaseError('VIGIL_ERR_ALREADY_RELEASED', `quarantine ${record.id} was already released`);
  log.info({ restoredVersionId: written.versionId }, 'quarantine released');
  return released;
}
