// The expiry job: removes evidence only after its retention ended and no legal hold remains, and
// logs each removal (evidence_disposals, append-only, plus the audit log). The database trigger
// refuses anything earlier whatever this code does; Object Lock refuses it in the vault too, so
// an object still locked (a longer lock than the row) is skipped, not forced.

import { appendAudit, withTransaction, type Logger, type Pool } from '@vigil/db';
import { isObjectStoreError, type ObjectStore } from '@vigil/storage';
import { getEvidence } from './evidence-records.ts';

export interface ExpireOptions {
  actor: string;
  now?: Date;
  limit?: number;
  dryRun?: boolean;
  log?: Logger;
}

export interface ExpireResult {
  /** Due for removal (retention over, no hold). */
  due: number;
  removed: string[];
  skipped: Array<{ id: string; reason: string }>;
}

export async function expireEvidence(deps: { pool: Pool; store: ObjectStore }, options: ExpireOptions): Promise<ExpireResult> {
  const now = options.now ?? new Date();
  const { rows } = await deps.pool.query<{ id: string }>(
    'SELECT id FROM evidence_items WHERE retain_until <= $1 AND retain_until <= now() AND NOT legal_hold ORDER BY retain_until LIMIT $2',
    [now, options.limit ?? 500],
  );
  const result: ExpireResult = { due: rows.length, removed: [], skipped: [] };
  if (options.dryRun) return result;
  for (const { id } of rows) {
    const item = await getEvidence(deps.pool, id);
    if (item === null || item.legalHold || item.retainUntil > now) continue;
    let removedObjects = 0;
    try {
      for (const key of [item.location.key, item.manifestKey]) removedObjects += await deleteVersions(deps.store, item.location.bucket, key);
    } catch (err) {
      const reason = isObjectStoreError(err, 'locked') ? 'object_still_locked' : `storage_error: ${(err as Error).message}`;
      result.skipped.push({ id, reason });
      options.log?.warn({ evidenceId: id, reason }, 'evidence expiry skipped');
      continue;
    }
    await withTransaction(deps.pool, async (client) => {
      await client.query(
        `INSERT INTO evidence_disposals (evidence_id, match_id, tenant_id, location_bucket, location_key, manifest_key, sha256, retain_until, disposed_at, disposed_by, removed_objects)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, now(), $9, $10) ON CONFLICT DO NOTHING`,
        [item.id, item.matchId, item.tenantId, item.location.bucket, item.location.key, item.manifestKey, Buffer.from(item.sha256, 'hex'), item.retainUntil, options.actor, removedObjects],
      );
      await appendAudit(client, {
        actor: options.actor,
        action: 'evidence.disposed',
        subjectType: 'evidence',
        subjectId: item.id,
        details: { matchId: item.matchId, retainUntil: item.retainUntil.toISOString(), sha256: item.sha256, removedObjects },
      });
      await client.query('DELETE FROM evidence_items WHERE id = $1', [item.id]);
    });
    result.removed.push(id);
    options.log?.info({ evidenceId: id, removedObjects }, 'evidence removed after retention');
  }
  return result;
}

/** Every version of the key (a plain bucket: the object). */
async function deleteVersions(store: ObjectStore, bucket: string, key: string): Promise<number> {
  try {
    return await store.deleteAllVersions(bucket, key);
  } catch (err) {
    if (isObjectStoreError(err, 'not_found')) return 0;
    throw err;
  }
}
