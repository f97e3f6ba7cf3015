// The one way to read evidence bytes: an actor, a scope and a reason are required, and the read
// is written to the hash-chained audit log (committed) before a byte is returned. The bytes are
// checked against the recorded SHA-256 on the way out. Never logs bytes, never caches them.

import { appendAudit, type Pool } from '@vigil/db';
import type { ObjectStore } from '@vigil/storage';
import { digestBytes } from './digests.ts';
import { getEvidence, type EvidenceRecord } from './evidence-records.ts';

export type EvidenceAccessErrorCode = 'actor_required' | 'scope_required' | 'reason_required' | 'not_found' | 'integrity_failed';

export class EvidenceAccessError extends Error {
  override readonly name = 'EvidenceAccessError';
  readonly code: EvidenceAccessErrorCode;
  constructor(code: EvidenceAccessErrorCode, message: string) {
    super(message);
    this.code = code;
  }
}

export interface EvidenceReadRequest {
  evidenceId: string;
  /** `service:reporter`, `user:<id>`, `cli:<user>`. */
  actor: string;
  /** What the read serves: `report:<id>`, `legal:<case>`, `integrity-check`. */
  scope: string;
  /** Why, in words an auditor can follow. */
  reason: string;
  /** `file`: the preserved bytes (default); `manifest`: the manifest document. */
  part?: 'file' | 'manifest';
  maxBytes?: number;
}

export interface EvidenceRead {
  record: EvidenceRecord;
  bytes: Uint8Array;
  contentType: string;
  auditSeq: number;
}

const DEFAULT_MAX_BYTES = 512 * 1024 * 1024;

/** Person actors: whoever is not a service. Their reads count as "viewed by the ESP" in reports. */
export function isPersonActor(actor: string): boolean {
  return !actor.startsWith('service:');
}

export async function readEvidence(deps: { pool: Pool; store: ObjectStore }, request: EvidenceReadRequest): Promise<EvidenceRead> {
  const actor = request.actor?.trim() ?? '';
  const scope = request.scope?.trim() ?? '';
  const reason = request.reason?.trim() ?? '';
  if (actor === '') throw new EvidenceAccessError('actor_required', 'reading evidence requires an actor');
  if (scope === '') throw new EvidenceAccessError('scope_required', 'reading evidence requires a scope (what the read serves)');
  if (reason === '') throw new EvidenceAccessError('reason_required', 'reading evidence requires a reason');
  const record = await getEvidence(deps.pool, request.evidenceId);
  if (record === null) throw new EvidenceAccessError('not_found', `no evidence ${request.evidenceId}`);
  const part = request.part ?? 'file';
  const audit = await appendAudit(deps.pool, {
    actor,
    action: 'evidence.read',
    subjectType: 'evidence',
    subjectId: record.id,
    details: { scope, reason, part, matchId: record.matchId, sha256: record.sha256 },
  });
  const ref =
    part === 'file'
      ? { bucket: record.location.bucket, key: record.location.key, ...(record.location.versionId ? { versionId: record.location.versionId } : {}) }
      : { bucket: record.location.bucket, key: record.manifestKey, ...(record.manifestVersionId ? { versionId: record.manifestVersionId } : {}) };
  const { info, bytes } = await deps.store.getBytes(ref, { maxBytes: request.maxBytes ?? DEFAULT_MAX_BYTES });
  const expected = part === 'file' ? record.sha256 : record.manifestSha256;
  if (digestBytes(bytes).sha256 !== expected) {
    throw new EvidenceAccessError('integrity_failed', `evidence ${record.id} ${part} does not match its recorded sha256`);
  }
  return { record, bytes, contentType: info.contentType, auditSeq: audit.seq };
}
