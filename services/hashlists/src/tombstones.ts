// Withdrawn entries (a list version's tombstones): quarantines that rested only on them are
// flagged for a person to review and release. Never released here: a withdrawal may be a
// list-maintenance mistake, and releasing known-illegal content silently is the worse failure.
// A quarantine still supported by any live entry of any list is left alone. Logs ids only.

import { randomUUID } from 'node:crypto';
import { appendAudit, silentLogger, withTransaction, type Logger, type Pool } from '@vigil/db';
import { DIHEDRAL_NAMES } from '@vigil/hashing';

export interface FlagOutcome {
  listId: string;
  version: number;
  /** Quarantines (pending or applied) not yet flagged for this version that had a hit on the list before it. */
  examined: number;
  /** Every flag this version raised, by this call or an earlier one (another process may have got there first). */
  flagged: Array<{ flagId: string; quarantineId: string; matchId: string }>;
  /** How many of them this call created. */
  created: number;
}

interface QuarantineRow {
  quarantine_id: string;
  match_id: string;
  sha256: Buffer;
  md5: Buffer | null;
  sha1: Buffer | null;
  pdq: Buffer | null;
  pdq_dihedral: Buffer | null;
  blockhash: Buffer | null;
  hits: Array<{ listId: string; algorithm: string; variant: string }>;
}

/**
 * Flags the quarantines whose every hit is no longer supported once `version` of `listId` is
 * current: each hit's list is re-checked for a live entry within its threshold (exact digests by
 * equality, perceptual hashes by Hamming distance over the variant that matched). Idempotent.
 */
export async function flagWithdrawn(pool: Pool, listId: string, version: number, logger: Logger = silentLogger): Promise<FlagOutcome> {
  const removed = await pool.query('SELECT 1 FROM list_entries WHERE list_id = $1 AND removed_in_version = $2 LIMIT 1', [listId, version]);
  const outcome: FlagOutcome = { listId, version, examined: 0, flagged: [], created: 0 };
  if (removed.rowCount === 0) return outcome;
  const { rows } = await pool.query<QuarantineRow>(
    `SELECT q.id AS quarantine_id, m.id AS match_id, c.sha256, c.md5, c.sha1, c.pdq, c.pdq_dihedral, c.blockhash,
            (SELECT json_agg(json_build_object('listId', h.list_id, 'algorithm', h.algorithm, 'variant', h.variant)) FROM match_hits h WHERE h.match_id = m.id) AS hits
       FROM quarantine_records q JOIN matches m ON m.id = q.match_id
       JOIN LATERAL (SELECT * FROM content_hashes c WHERE c.sha256 = m.sha256 ORDER BY (c.pdq IS NULL), c.last_seen_at DESC LIMIT 1) c ON true
      WHERE q.status IN ('pending', 'applied')
        AND EXISTS (SELECT 1 FROM match_hits h WHERE h.match_id = m.id AND h.list_id = $1 AND h.list_version < $2)
        AND NOT EXISTS (SELECT 1 FROM quarantine_flags f WHERE f.quarantine_id = q.id AND f.list_id = $1 AND f.list_version = $2)`,
    [listId, version],
  );
  outcome.examined = rows.length;
  for (const row of rows) {
    // Supported if any live entry of any enabled list still matches the bytes: the lists the
    // match named first, then every other (a list imported later may cover it too).
    const named = [...new Set(row.hits.map((h) => h.listId))];
    const others = (await pool.query<{ id: string }>(`SELECT id FROM hash_lists WHERE enabled AND action <> 'allow' AND current_version IS NOT NULL ORDER BY id`)).rows
      .map((r) => r.id)
      .filter((id) => !named.includes(id));
    let supported = false;
    for (const listId of [...named, ...others]) {
      if (await stillSupported(pool, row, listId)) {
        supported = true;
        break;
      }
    }
    if (supported) continue;
    const flagId = `flag_${randomUUID()}`;
    await withTransaction(pool, async (client) => {
      const inserted = await client.query(
        `INSERT INTO quarantine_flags (id, quarantine_id, match_id, list_id, list_version, reason) VALUES ($1, $2, $3, $4, $5, 'entries_withdrawn')
         ON CONFLICT (quarantine_id, list_id, list_version) DO NOTHING`,
        [flagId, row.quarantine_id, row.match_id, listId, version],
      );
      if (inserted.rowCount === 0) return;
      await appendAudit(client, {
        actor: 'service:hashlists',
        action: 'quarantine.flagged',
        subjectType: 'quarantine',
        subjectId: row.quarantine_id,
        details: { flagId, matchId: row.match_id, listId, version, reason: 'entries_withdrawn' },
      });
      outcome.created++;
    });
  }
  const { rows: flags } = await pool.query<{ id: string; quarantine_id: string; match_id: string }>(
    'SELECT id, quarantine_id, match_id FROM quarantine_flags WHERE list_id = $1 AND list_version = $2 ORDER BY created_at, id',
    [listId, version],
  );
  outcome.flagged = flags.map((f) => ({ flagId: f.id, quarantineId: f.quarantine_id, matchId: f.match_id }));
  if (outcome.created > 0) logger.warn({ listId, version, flagged: outcome.created }, 'quarantines resting only on withdrawn entries: flagged for review');
  return outcome;
}

/** Whether a live entry of the list (if enabled) still matches the content. */
async function stillSupported(pool: Pool, row: QuarantineRow, listId: string): Promise<boolean> {
  const { rows: lists } = await pool.query<{ threshold: number; enabled: boolean; dihedral: boolean; algorithm: string }>(
    'SELECT threshold, enabled, dihedral, algorithm FROM hash_lists WHERE id = $1',
    [listId],
  );
  const list = lists[0];
  if (!list?.enabled) return false;
  const hit = { listId, algorithm: list.algorithm };
  const values = queryValues(row, hit.algorithm, list.dihedral);
  if (values.length === 0) return false;
  if (hit.algorithm === 'pdq' || hit.algorithm === 'blockhash') {
    const { rowCount } = await pool.query(
      `SELECT 1 FROM list_entries e WHERE e.list_id = $1 AND e.algorithm = $2 AND e.removed_in_version IS NULL
          AND EXISTS (SELECT 1 FROM unnest($3::text[]) AS v WHERE bit_count(('x' || encode(e.hash, 'hex'))::bit(256) # ('x' || v)::bit(256)) <= $4)
        LIMIT 1`,
      [hit.listId, hit.algorithm, values.map((v) => v.toString('hex')), list.threshold],
    );
    return (rowCount ?? 0) > 0;
  }
  const { rowCount } = await pool.query('SELECT 1 FROM list_entries WHERE list_id = $1 AND algorithm = $2 AND hash = $3 AND removed_in_version IS NULL LIMIT 1', [hit.listId, hit.algorithm, values[0]]);
  return (rowCount ?? 0) > 0;
}

/** The content's hashes a list of `algorithm` compares (PDQ's stored variants when the list allows them). */
function queryValues(row: QuarantineRow, algorithm: string, dihedral: boolean): Buffer[] {
  const one = (value: Buffer | null) => (value ? [value] : []);
  switch (algorithm) {
    case 'sha256':
      return one(row.sha256);
    case 'sha1':
      return one(row.sha1);
    case 'md5':
      return one(row.md5);
    case 'blockhash':
      return one(row.blockhash);
    case 'pdq': {
      const variants = dihedral && row.pdq_dihedral ? DIHEDRAL_NAMES.slice(1).map((_, i) => row.pdq_dihedral!.subarray(i * 32, i * 32 + 32)) : [];
      return [...one(row.pdq), ...variants];
    }
    default:
      return [];
  }
}
