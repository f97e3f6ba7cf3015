// What the hashlists service surfaces for a person: entries the circuit breaker suspended, and
// quarantines flagged because the entries they rested on were withdrawn. Decisions are recorded
// with actor and reason and written to the audit log. Reinstating an entry puts its set-aside
// retro candidates back, so re-running that version's retro-match records them; confirming keeps
// it suspended for good. A flag is never a release: releasing goes through the audited
// quarantine release, which the flag only points at.

import { appendAudit, withTransaction, type Pool } from '@vigil/db';

export interface Suspension {
  id: string;
  listId: string;
  algorithm: string;
  entryId: string | null;
  listVersion: number;
  hits: number;
  limit: number;
  baseline: number;
  status: 'suspended' | 'reinstated' | 'confirmed';
  createdAt: string;
}

export interface QuarantineFlag {
  id: string;
  quarantineId: string;
  matchId: string;
  object: string;
  listId: string;
  listVersion: number;
  reason: string;
  status: 'open' | 'kept' | 'released';
  createdAt: string;
}

export async function listSuspensions(pool: Pool, options: { all?: boolean } = {}): Promise<Suspension[]> {
  const { rows } = await pool.query(
    `SELECT id, list_id, algorithm, entry_id, list_version, hits, hit_limit, baseline, status, created_at FROM entry_suspensions
      WHERE $1 OR status = 'suspended' ORDER BY created_at DESC, id DESC`,
    [options.all ?? false],
  );
  return rows.map((r) => ({
    id: String(r.id), listId: r.list_id, algorithm: r.algorithm, entryId: r.entry_id, listVersion: r.list_version, hits: r.hits, limit: r.hit_limit,
    baseline: r.baseline, status: r.status, createdAt: new Date(r.created_at).toISOString(),
  }));
}

export async function listFlags(pool: Pool, options: { all?: boolean } = {}): Promise<QuarantineFlag[]> {
  const { rows } = await pool.query(
    `SELECT f.id, f.quarantine_id, f.match_id, q.bucket, q.object_key, f.list_id, f.list_version, f.reason, f.status, f.created_at
       FROM quarantine_flags f JOIN quarantine_records q ON q.id = f.quarantine_id
      WHERE $1 OR (f.status = 'open' AND q.status <> 'released') ORDER BY f.created_at DESC, f.id`,
    [options.all ?? false],
  );
  return rows.map((r) => ({
    id: r.id, quarantineId: r.quarantine_id, matchId: r.match_id, object: `${r.bucket}/${r.object_key}`, listId: r.list_id, listVersion: r.list_version,
    reason: r.reason, status: r.status, createdAt: new Date(r.created_at).toISOString(),
  }));
}

export class ReviewError extends Error {
  override readonly name = 'ReviewError';
}

/**
 * Decides a suspension. `reinstate`: the entry acts again, and its retro candidates of the
 * version that tripped the breaker go back to pending (the caller re-runs that version's
 * retro-match to record them). `confirm`: it stays suspended (a poisoned or mistaken entry).
 */
export async function decideSuspension(
  pool: Pool,
  id: string,
  decision: { outcome: 'reinstate' | 'confirm'; actor: string; reason: string },
): Promise<{ listId: string; listVersion: number }> {
  if (!decision.reason.trim()) throw new ReviewError('a decision needs a reason');
  return withTransaction(pool, async (client) => {
    const { rows } = await client.query<{ list_id: string; list_version: number; hash: Buffer }>(
      `UPDATE entry_suspensions SET status = $2, decided_at = now(), decided_by = $3, decision_reason = $4
        WHERE id = $1 AND status = 'suspended' RETURNING list_id, list_version, hash`,
      [id, decision.outcome === 'reinstate' ? 'reinstated' : 'confirmed', decision.actor, decision.reason],
    );
    const row = rows[0];
    if (!row) throw new ReviewError(`no open suspension ${id}`);
    if (decision.outcome === 'reinstate') {
      const reopened = await client.query(
        `UPDATE retro_candidates SET outcome = NULL WHERE list_id = $1 AND version = $2 AND entry_hash = $3 AND outcome = 'suspended'`,
        [row.list_id, row.list_version, row.hash],
      );
      if ((reopened.rowCount ?? 0) > 0) {
        await client.query(`UPDATE retro_runs SET status = 'recording', finished_at = NULL WHERE list_id = $1 AND version = $2`, [row.list_id, row.list_version]);
      }
    }
    await appendAudit(client, {
      actor: decision.actor,
      action: decision.outcome === 'reinstate' ? 'hashlist.entry_reinstated' : 'hashlist.entry_suspension_confirmed',
      subjectType: 'hash_list',
      subjectId: row.list_id,
      details: { suspensionId: id, listVersion: row.list_version, reason: decision.reason },
    });
    return { listId: row.list_id, listVersion: row.list_version };
  });
}

/** Keeps a flagged quarantine (a person checked it is still right to hold). Releasing is `vigil quarantine release`. */
export async function keepFlagged(pool: Pool, id: string, decision: { actor: string; reason: string }): Promise<void> {
  if (!decision.reason.trim()) throw new ReviewError('a decision needs a reason');
  await withTransaction(pool, async (client) => {
    const { rows } = await client.query<{ quarantine_id: string }>(
      `UPDATE quarantine_flags SET status = 'kept', decided_at = now(), decided_by = $2, decision_reason = $3 WHERE id = $1 AND status = 'open' RETURNING quarantine_id`,
      [id, decision.actor, decision.reason],
    );
    if (!rows[0]) throw new ReviewError(`no open flag ${id}`);
    await appendAudit(client, { actor: decision.actor, action: 'quarantine.flag_kept', subjectType: 'quarantine', subjectId: rows[0].quarantine_id, details: { flagId: id, reason: decision.reason } });
  });
}
