// SQL for the evidence vault: the rows preservation reads (quarantine, scan, hashes, lists,
// report receipts) and the evidence_items rows it writes and lists. No business rules here; the
// database trigger guards retention whatever calls this.

import type { Client, Pool } from '@vigil/db';
import type { RetentionBasis } from './retention.ts';

type Db = Client | Pool;

export interface EvidenceRecord {
  id: string;
  evidenceRequestId: string;
  matchId: string;
  quarantineId: string | null;
  tenantId: string;
  bucket: string;
  key: string;
  versionId: string | null;
  location: { bucket: string; key: string; versionId: string | null };
  manifestKey: string;
  manifestVersionId: string | null;
  manifestSha256: string;
  sha256: string;
  size: number;
  retainUntil: Date;
  retentionBasis: RetentionBasis;
  legalHold: boolean;
  legalHoldReason: string | null;
  reportId: string | null;
  externalReportId: string | null;
  reportedAt: Date | null;
  uploaderAccount: string | null;
  preservedAt: Date;
}

const COLUMNS = `id, evidence_request_id, match_id, quarantine_id, tenant_id, bucket, object_key, version_id,
  location_bucket, location_key, location_version_id, manifest_key, manifest_version_id, manifest_sha256, sha256, size,
  retain_until, retention_basis, legal_hold, legal_hold_reason, report_id, external_report_id, reported_at,
  uploader_account, preserved_at`;

interface Row {
  id: string;
  evidence_request_id: string;
  match_id: string;
  quarantine_id: string | null;
  tenant_id: string;
  bucket: string;
  object_key: string;
  version_id: string | null;
  location_bucket: string;
  location_key: string;
  location_version_id: string | null;
  manifest_key: string;
  manifest_version_id: string | null;
  manifest_sha256: Buffer;
  sha256: Buffer;
  size: string;
  retain_until: Date;
  retention_basis: RetentionBasis;
  legal_hold: boolean;
  legal_hold_reason: string | null;
  report_id: string | null;
  external_report_id: string | null;
  reported_at: Date | null;
  uploader_account: string | null;
  preserved_at: Date;
}

function toRecord(row: Row): EvidenceRecord {
  return {
    id: row.id,
    evidenceRequestId: row.evidence_request_id,
    matchId: row.match_id,
    quarantineId: row.quarantine_id,
    tenantId: row.tenant_id,
    bucket: row.bucket,
    key: row.object_key,
    versionId: row.version_id,
    location: { bucket: row.location_bucket, key: row.location_key, versionId: row.location_version_id },
    manifestKey: row.manifest_key,
    manifestVersionId: row.manifest_version_id,
    manifestSha256: row.manifest_sha256.toString('hex'),
    sha256: row.sha256.toString('hex'),
    size: Number(row.size),
    retainUntil: row.retain_until,
    retentionBasis: row.retention_basis,
    legalHold: row.legal_hold,
    legalHoldReason: row.legal_hold_reason,
    reportId: row.report_id,
    externalReportId: row.external_report_id,
    reportedAt: row.reported_at,
    uploaderAccount: row.uploader_account,
    preservedAt: row.preserved_at,
  };
}

export async function getEvidence(db: Db, id: string, options: { forUpdate?: boolean } = {}): Promise<EvidenceRecord | null> {
  const { rows } = await db.query<Row>(`SELECT ${COLUMNS} FROM evidence_items WHERE id = $1${options.forUpdate ? ' FOR UPDATE' : ''}`, [id]);
  return rows[0] ? toRecord(rows[0]) : null;
}

export async function getEvidenceByRequest(db: Db, evidenceRequestId: string): Promise<EvidenceRecord | null> {
  const { rows } = await db.query<Row>(`SELECT ${COLUMNS} FROM evidence_items WHERE evidence_request_id = $1`, [evidenceRequestId]);
  return rows[0] ? toRecord(rows[0]) : null;
}

export async function evidenceForMatch(db: Db, matchId: string, options: { forUpdate?: boolean } = {}): Promise<EvidenceRecord[]> {
  const { rows } = await db.query<Row>(`SELECT ${COLUMNS} FROM evidence_items WHERE match_id = $1 ORDER BY id${options.forUpdate ? ' FOR UPDATE' : ''}`, [matchId]);
  return rows.map(toRecord);
}

export interface ListEvidenceOptions {
  tenantId?: string;
  matchId?: string;
  limit?: number;
}

/** Newest first. */
export async function listEvidence(db: Db, options: ListEvidenceOptions = {}): Promise<EvidenceRecord[]> {
  const { rows } = await db.query<Row>(
    `SELECT ${COLUMNS} FROM evidence_items
      WHERE ($1::text IS NULL OR tenant_id = $1) AND ($2::text IS NULL OR match_id = $2)
      ORDER BY preserved_at DESC, id LIMIT $3`,
    [options.tenantId ?? null, options.matchId ?? null, options.limit ?? 1000],
  );
  return rows.map(toRecord);
}

/** A record as first written: no hold yet; the report receipt, if already known, comes whole. */
export type NewEvidence = Omit<EvidenceRecord, 'quarantineId' | 'legalHold' | 'legalHoldReason' | 'reportId' | 'externalReportId' | 'reportedAt' | 'uploaderAccount'> & {
  quarantineId: string;
  reportReceipt: { reportId: string; externalReportId: string | null; receivedAt: Date } | null;
  uploader: { accountId: string; ip: string | null; userAgent: string | null } | null;
  uploadedAt: Date | null;
  detectedAt: Date;
};

/** Inserts once per evidence request; null when a concurrent delivery already did. */
export async function insertEvidence(client: Client, e: NewEvidence): Promise<EvidenceRecord | null> {
  const { rows } = await client.query<Row>(
    `INSERT INTO evidence_items (id, evidence_request_id, match_id, quarantine_id, tenant_id, bucket, object_key, version_id,
       location_bucket, location_key, location_version_id, manifest_key, manifest_version_id, manifest_sha256, sha256, size,
       retain_until, retention_basis, report_id, external_report_id, reported_at,
       uploader_account, uploader_ip, uploader_user_agent, uploaded_at, detected_at, preserved_at)
     VALUES ($1,$2,$3,$4,$5,$6,$7,$8,$9,$10,$11,$12,$13,$14,$15,$16,$17,$18,$19,$20,$21,$22,$23,$24,$25,$26,$27)
     ON CONFLICT (evidence_request_id) DO NOTHING
     RETURNING ${COLUMNS}`,
    [
      e.id, e.evidenceRequestId, e.matchId, e.quarantineId, e.tenantId, e.bucket, e.key, e.versionId,
      e.location.bucket, e.location.key, e.location.versionId, e.manifestKey, e.manifestVersionId, Buffer.from(e.manifestSha256, 'hex'),
      Buffer.from(e.sha256, 'hex'), e.size, e.retainUntil, e.retentionBasis, e.reportReceipt?.reportId ?? null,
      e.reportReceipt?.externalReportId ?? null, e.reportReceipt?.receivedAt ?? null,
      e.uploader?.accountId ?? null, e.uploader?.ip ?? null, e.uploader?.userAgent ?? null, e.uploadedAt, e.detectedAt, e.preservedAt,
    ],
  );
  return rows[0] ? toRecord(rows[0]) : null;
}

export interface QuarantineCopy {
  status: string;
  bucket: string | null;
  key: string | null;
  versionId: string | null;
  sha256: string | null;
  size: number | null;
  appliedAt: Date | null;
}

export async function loadQuarantineCopy(db: Db, quarantineId: string): Promise<QuarantineCopy | null> {
  const { rows } = await db.query<{
    status: string; quarantine_bucket: string | null; quarantine_key: string | null; quarantine_version_id: string | null;
    sha256: Buffer | null; size: string | null; applied_at: Date | null;
  }>('SELECT status, quarantine_bucket, quarantine_key, quarantine_version_id, sha256, size, applied_at FROM quarantine_records WHERE id = $1', [quarantineId]);
  const row = rows[0];
  if (!row) return null;
  return {
    status: row.status,
    bucket: row.quarantine_bucket,
    key: row.quarantine_key,
    versionId: row.quarantine_version_id,
    sha256: row.sha256?.toString('hex') ?? null,
    size: row.size === null ? null : Number(row.size),
    appliedAt: row.applied_at,
  };
}

export interface ScanContext {
  scanId: string;
  trigger: string;
  mode: string;
  lists: Array<{ listId: string; version: number }>;
  scannedAt: Date;
}

export async function loadScanContext(db: Db, matchId: string): Promise<ScanContext | null> {
  const { rows } = await db.query<{ scan_id: string; trigger: string; mode: string; lists: Array<{ listId: string; version: number }>; scanned_at: Date }>(
    'SELECT m.scan_id, m.trigger, s.mode, s.lists, s.scanned_at FROM matches m JOIN scans s ON s.id = m.scan_id WHERE m.id = $1',
    [matchId],
  );
  const row = rows[0];
  return row ? { scanId: row.scan_id, trigger: row.trigger, mode: row.mode, lists: row.lists, scannedAt: row.scanned_at } : null;
}

export interface StoredHashes {
  sha1: string | null;
  md5: string | null;
  pdq: string | null;
  pdqQuality: number | null;
  blockhash: string | null;
}

/** The scanner's content_hashes row for these bytes at this object (any version). */
export async function loadStoredHashes(db: Db, object: { tenantId: string; bucket: string; key: string }, sha256: string): Promise<StoredHashes | null> {
  const { rows } = await db.query<{ sha1: Buffer | null; md5: Buffer | null; pdq: Buffer | null; pdq_quality: number | null; blockhash: Buffer | null }>(
    `SELECT sha1, md5, pdq, pdq_quality, blockhash FROM content_hashes
      WHERE tenant_id = $1 AND bucket = $2 AND object_key = $3 AND sha256 = $4 ORDER BY last_seen_at DESC LIMIT 1`,
    [object.tenantId, object.bucket, object.key, Buffer.from(sha256, 'hex')],
  );
  const row = rows[0];
  if (!row) return null;
  return {
    sha1: row.sha1?.toString('hex') ?? null,
    md5: row.md5?.toString('hex') ?? null,
    pdq: row.pdq?.toString('hex') ?? null,
    pdqQuality: row.pdq_quality,
    blockhash: row.blockhash?.toString('hex') ?? null,
  };
}

export async function loadListNames(db: Db, listIds: readonly string[]): Promise<Map<string, string>> {
  const { rows } = await db.query<{ id: string; name: string }>('SELECT id, name FROM hash_lists WHERE id = ANY($1::text[])', [[...new Set(listIds)]]);
  return new Map(rows.map((r) => [r.id, r.name]));
}

/** The latest report receipt recorded for a match (the longest retention wins). */
export async function latestReceipt(db: Db, matchId: string): Promise<{ reportId: string; externalReportId: string | null; receivedAt: Date } | null> {
  const { rows } = await db.query<{ report_id: string; external_report_id: string | null; received_at: Date }>(
    'SELECT report_id, external_report_id, received_at FROM evidence_report_receipts WHERE match_id = $1 ORDER BY received_at DESC LIMIT 1',
    [matchId],
  );
  const row = rows[0];
  return row ? { reportId: row.report_id, externalReportId: row.external_report_id, receivedAt: row.received_at } : null;
}

export async function auditHead(db: Db): Promise<{ seq: number; hash: string }> {
  const { rows } = await db.query<{ seq: string; row_hash: Buffer }>('SELECT seq, row_hash FROM audit_head');
  const row = rows[0]!;
  return { seq: Number(row.seq), hash: row.row_hash.toString('hex') };
}
