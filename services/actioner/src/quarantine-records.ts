// quarantine_records: one row per match that was (or is being) quarantined. Owns the queries and
// the row-to-record mapping; never touches object storage. Status moves pending -> applied ->
// released, or pending -> failed (and failed -> applied when a later event for the match succeeds);
// every transition is guarded in SQL so two writers cannot both win it.

import type { Client, Pool } from '@vigil/db';

export type QuarantineStatus = 'pending' | 'applied' | 'released' | 'failed';

/** Why a quarantine could not be applied. */
export type QuarantineFailure =
  /** The object's bytes no longer hash to what the scanner matched (overwritten since). */
  | 'content_changed'
  /** The public object is gone and no copy of it was ever made. */
  | 'source_missing'
  /** The object is larger than the actioner reads to verify a copy. */
  | 'too_large';

export interface QuarantineRecord {
  id: string;
  matchId: string;
  tenantId: string;
  /** The original (public) location. */
  bucket: string;
  key: string;
  versionId: string | null;
  status: QuarantineStatus;
  quarantineBucket: string | null;
  quarantineKey: string | null;
  quarantineVersionId: string | null;
  /** Hex SHA-256 of the quarantined content (the scanned content's hash, verified on the copy). */
  sha256: string | null;
  size: number | null;
  /** Public version ids removed (as far as the store names them; see quarantine.ts). */
  removedVersions: string[];
  /** The failure reason while status is 'failed'. */
  reason: string | null;
  createdAt: Date;
  appliedAt: Date | null;
  releasedAt: Date | null;
  releasedBy: string | null;
  releaseReason: string | null;
  restoredVersionId: string | null;
}

type Db = Client | Pool;

interface Row {
  id: string;
  match_id: string;
  tenant_id: string;
  bucket: string;
  object_key: string;
  version_id: string | null;
  status: QuarantineStatus;
  quarantine_bucket: string | null;
  quarantine_key: string | null;
  quarantine_version_id: string | null;
  sha256: Buffer | null;
  size: string | null;
  removed_versions: string[];
  reason: string | null;
  created_at: Date;
  applied_at: Date | null;
  released_at: Date | null;
  released_by: string | null;
  release_reason: string | null;
  restored_version_id: string | null;
}

function toRecord(row: Row): QuarantineRecord {
  return {
    id: row.id,
    matchId: row.match_id,
    tenantId: row.tenant_id,
    bucket: row.bucket,
    key: row.object_key,
    versionId: row.version_id,
    status: row.status,
    quarantineBucket: row.quarantine_bucket,
    quarantineKey: row.quarantine_key,
    quarantineVersionId: row.quarantine_version_id,
    sha256: row.sha256 === null ? null : row.sha256.toString('hex'),
    size: row.size === null ? null : Number(row.size),
    removedVersions: row.removed_versions,
    reason: row.reason,
    createdAt: row.created_at,
    appliedAt: row.applied_at,
    releasedAt: row.released_at,
    releasedBy: row.released_by,
    releaseReason: row.release_reason,
    restoredVersionId: row.restored_version_id,
  };
}

export interface NewQuarantineRecord {
  id: string;
  matchId: string;
  tenantId: string;
  bucket: string;
  key: string;
  versionId: string | null;
}

/**
 * Inserts the match's record as 'pending' unless one exists (match_id is unique), and returns
 * whatever is there now: a second event for the match sees the first one's progress.
 */
export async function ensureQuarantineRecord(db: Db, record: NewQuarantineRecord): Promise<QuarantineRecord> {
  await db.query(
    `INSERT INTO quarantine_records (id, match_id, tenant_id, bucket, object_key, version_id)
     VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT DO NOTHING`,
    [record.id, record.matchId, record.tenantId, record.bucket, record.key, record.versionId],
  );
  const { rows } = await db.query<Row>('SELECT * FROM quarantine_records WHERE match_id = $1', [record.matchId]);
  return toRecord(rows[0]!);
}

/**
 * Adds version ids about to be removed, before removing them: if the process dies between the
 * removal and the commit, the redo (which finds nothing left to remove) still records them.
 */
export async function noteRemovedVersions(db: Db, id: string, versionIds: readonly string[]): Promise<string[]> {
  const { rows } = await db.query<{ removed_versions: string[] }>(
    `UPDATE quarantine_records
     SET removed_versions = ARRAY(SELECT DISTINCT v FROM unnest(removed_versions || $2::text[]) AS v ORDER BY v)
     WHERE id = $1 RETURNING removed_versions`,
    [id, versionIds],
  );
  return rows[0]?.removed_versions ?? [];
}

export interface AppliedFields {
  quarantineBucket: string;
  quarantineKey: string;
  quarantineVersionId: string | null;
  sha256: string;
  size: number;
  removedVersions: readonly string[];
  appliedAt: Date;
}

/** pending/failed -> applied. Null when another writer got there first (already applied or released). */
export async function markApplied(db: Db, id: string, fields: AppliedFields): Promise<QuarantineRecord | null> {
  const { rows } = await db.query<Row>(
    `UPDATE quarantine_records
     SET status = 'applied', quarantine_bucket = $2, quarantine_key = $3, quarantine_version_id = $4,
         sha256 = decode($5, 'hex'), size = $6, removed_versions = $7, applied_at = $8, reason = NULL
     WHERE id = $1 AND status IN ('pending', 'failed') RETURNING *`,
    [id, fields.quarantineBucket, fields.quarantineKey, fields.quarantineVersionId, fields.sha256, fields.size, [...fields.removedVersions], fields.appliedAt],
  );
  return rows[0] === undefined ? null : toRecord(rows[0]);
}

/** pending/failed -> failed with the reason; an applied or released record is left alone. */
export async function markFailed(db: Db, id: string, reason: QuarantineFailure): Promise<void> {
  await db.query(`UPDATE quarantine_records SET status = 'failed', reason = $2 WHERE id = $1 AND status IN ('pending', 'failed')`, [id, reason]);
}

export interface ReleasedFields {
  releasedAt: Date;
  releasedBy: string;
  releaseReason: string;
  restoredVersionId: string | null;
}

/** applied -> released. Null when the record was not 'applied' any more (a concurrent release). */
export async function markReleased(db: Db, id: string, fields: ReleasedFields): Promise<QuarantineRecord | null> {
  const { rows } = await db.query<Row>(
    `UPDATE quarantine_records
     SET status = 'released', released_at = $2, released_by = $3, release_reason = $4, restored_version_id = $5
     WHERE id = $1 AND status = 'applied' RETURNING *`,
    [id, fields.releasedAt, fields.releasedBy, fields.releaseReason, fields.restoredVersionId],
  );
  return rows[0] === undefined ? null : toRecord(rows[0]);
}

export async function getQuarantine(db: Db, id: string): Promise<QuarantineRecord | null> {
  const { rows } = await db.query<Row>('SELECT * FROM quarantine_records WHERE id = $1', [id]);
  return rows[0] === undefined ? null : toRecord(rows[0]);
}

export interface ListQuarantineOptions {
  status?: QuarantineStatus;
  tenantId?: string;
  /** Default 100, at most 1000. */
  limit?: number;
}

/** Newest first. */
export async function listQuarantine(db: Db, options: ListQuarantineOptions = {}): Promise<QuarantineRecord[]> {
  const limit = Math.min(1000, Math.max(1, Math.floor(options.limit ?? 100)));
  const { rows } = await db.query<Row>(
    `SELECT * FROM quarantine_records
     WHERE ($1::text IS NULL OR status = $1) AND ($2::text IS NULL OR tenant_id = $2)
     ORDER BY created_at DESC, id LIMIT $3`,
    [options.status ?? null, options.tenantId ?? null, limit],
  );
  return rows.map(toRecord);
}
