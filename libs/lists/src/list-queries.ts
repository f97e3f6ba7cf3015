// Reads a scanner needs to keep its in-memory lists current: the list heads (settings and
// current version), a version's entries in id-ordered pages, and the changes between two
// versions. Read-only; never logs entries.

import type { Pool } from '@vigil/db';
import type { ListAction, MatchAlgorithm } from '@vigil/matching';
import type { StoredEntry } from './list-store.ts';

export interface ListHead {
  id: string;
  algorithm: MatchAlgorithm;
  action: ListAction;
  threshold: number;
  dihedral: boolean;
  enabled: boolean;
  category: string | null;
  /** Null until a first version is active. */
  currentVersion: number | null;
  entryCount: number;
}

export async function loadListHeads(pool: Pool): Promise<ListHead[]> {
  const { rows } = await pool.query<ListHead>(
    `SELECT l.id, l.algorithm, l.action, l.threshold, l.dihedral, l.enabled, l.category,
            l.current_version AS "currentVersion", coalesce(v.entry_count, 0) AS "entryCount"
       FROM hash_lists l LEFT JOIN list_versions v ON v.list_id = l.id AND v.version = l.current_version
      ORDER BY l.id`,
  );
  return rows;
}

/** A version's entries, `pageSize` at a time (keyset pages: no long-held cursor or snapshot). */
export async function* streamListEntries(pool: Pool, listId: string, version: number, pageSize = 50_000): AsyncGenerator<StoredEntry[]> {
  let after = 0n;
  for (;;) {
    const { rows } = await pool.query<{ id: string; hash: string; entry_id: string | null; category: string | null }>(
      `SELECT id, encode(hash, 'hex') AS hash, entry_id, category FROM list_entries
        WHERE list_id = $1 AND id > $2 AND added_in_version <= $3 AND (removed_in_version IS NULL OR removed_in_version > $3)
        ORDER BY id LIMIT $4`,
      [listId, after.toString(), version, pageSize],
    );
    if (rows.length === 0) return;
    after = BigInt(rows.at(-1)!.id);
    yield rows.map(entry);
    if (rows.length < pageSize) return;
  }
}

/**
 * Hashes the circuit breaker has suspended, by list: while suspended an entry matches nothing,
 * at upload time as in retro-matching, until a person reinstates or confirms it.
 */
export async function loadSuspendedHashes(pool: Pool): Promise<Map<string, Set<string>>> {
  const { rows } = await pool.query<{ list_id: string; hash: string }>(
    `SELECT list_id, encode(hash, 'hex') AS hash FROM entry_suspensions WHERE status = 'suspended'`,
  );
  const byList = new Map<string, Set<string>>();
  for (const { list_id, hash } of rows) {
    const hashes = byList.get(list_id) ?? new Set<string>();
    hashes.add(hash);
    byList.set(list_id, hashes);
  }
  return byList;
}

/** The entries of `hashes` live at `version` (a reinstated entry goes back with its metadata). */
export async function loadLiveEntries(pool: Pool, listId: string, version: number, hashes: readonly string[]): Promise<StoredEntry[]> {
  const { rows } = await pool.query<{ hash: string; entry_id: string | null; category: string | null }>(
    `SELECT encode(hash, 'hex') AS hash, entry_id, category FROM list_entries
      WHERE list_id = $1 AND hash = ANY($2::bytea[]) AND added_in_version <= $3 AND (removed_in_version IS NULL OR removed_in_version > $3)
      ORDER BY id`,
    [listId, hashes.map((hash) => Buffer.from(hash, 'hex')), version],
  );
  return rows.map(entry);
}

export interface ListChanges {
  /** Entries live at `to` that were not live at `from`. */
  added: StoredEntry[];
  /** Hashes live at `from` whose entry is gone at `to` (removed, or re-added with new metadata). */
  removed: string[];
}

/** What turns version `from` into version `to`: removals first, then additions, in that order. */
export async function loadListChanges(pool: Pool, listId: string, from: number, to: number): Promise<ListChanges> {
  const [added, removed] = await Promise.all([
    pool.query<{ hash: string; entry_id: string | null; category: string | null }>(
      `SELECT encode(hash, 'hex') AS hash, entry_id, category FROM list_entries
        WHERE list_id = $1 AND added_in_version > $2 AND added_in_version <= $3 AND (removed_in_version IS NULL OR removed_in_version > $3)
        ORDER BY id`,
      [listId, from, to],
    ),
    pool.query<{ hash: string }>(
      `SELECT DISTINCT encode(hash, 'hex') AS hash FROM list_entries
        WHERE list_id = $1 AND added_in_version <= $2 AND removed_in_version > $2 AND removed_in_version <= $3`,
      [listId, from, to],
    ),
  ]);
  return { added: added.rows.map(entry), removed: removed.rows.map((row) => row.hash) };
}

function entry(row: { hash: string; entry_id: string | null; category: string | null }): StoredEntry {
  return { hash: row.hash, ...(row.entry_id !== null && { externalId: row.entry_id }), ...(row.category !== null && { category: row.category }) };
}
