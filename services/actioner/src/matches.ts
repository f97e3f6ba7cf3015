// Reads the matches row a match.found refers to: the scanner writes it in the same transaction
// that enqueues the event, so an event without its row is inconsistent, never early. Read-only.

import type { Client, Pool } from '@vigil/db';

export interface MatchRow {
  id: string;
  scanId: string;
  tenantId: string;
  bucket: string;
  key: string;
  versionId: string | null;
  /** Hex SHA-256 of the matched content. */
  sha256: string;
}

export async function loadMatch(db: Client | Pool, matchId: string): Promise<MatchRow | null> {
  const { rows } = await db.query<{
    id: string;
    scan_id: string;
    tenant_id: string;
    bucket: string;
    object_key: string;
    version_id: string | null;
    sha256: Buffer;
  }>('SELECT id, scan_id, tenant_id, bucket, object_key, version_id, sha256 FROM matches WHERE id = $1', [matchId]);
  const row = rows[0];
  if (row === undefined) return null;
  return {
    id: row.id,
    scanId: row.scan_id,
    tenantId: row.tenant_id,
    bucket: row.bucket,
    key: row.object_key,
    versionId: row.version_id,
    sha256: row.sha256.toString('hex'),
  };
}

/** Whether the consumer already applied the event (committed): the cheap check before any work. */
export async function inboxHas(db: Client | Pool, consumer: string, eventId: string): Promise<boolean> {
  const { rowCount } = await db.query('SELECT 1 FROM inbox WHERE consumer = $1 AND event_id = $2', [consumer, eventId]);
  return (rowCount ?? 0) > 0;
}
