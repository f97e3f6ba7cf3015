// ListStore on Postgres (the 0001 schema): entries are versioned by interval, so a new version
// writes only its diff, set-based in SQL (a million-entry list imports without a million
// round trips), and every past version stays rebuildable. A version, its entries and the
// `hashlist.updated.v1` announcing it commit together (the outbox). Never logs entries.

import { createEvent } from '@vigil/events';
import { enqueue, withTransaction, type Client, type Pool } from '@vigil/db';
import type { ListAlgorithm, ListFormat } from '@vigil/matching';
import { LIST_NAME, type ListManifest, type ListStore, type ListVersionRecord, type StoredEntry } from './list-store.ts';

/** Rows per INSERT into the staging table: bounded parameter arrays, steady memory. */
const STAGE_BATCH = 20_000;

export interface PgListStoreOptions {
  /** Producer name on `hashlist.updated.v1`. */
  producer?: string;
  now?: () => Date;
}

export class PgListStore implements ListStore {
  readonly #pool: Pool;
  readonly #producer: string;
  readonly #now: () => Date;

  constructor(pool: Pool, options: PgListStoreOptions = {}) {
    this.#pool = pool;
    this.#producer = options.producer ?? 'hashlists';
    this.#now = options.now ?? (() => new Date());
  }

  async list(): Promise<ListManifest[]> {
    return this.#manifests(null);
  }

  async get(name: string): Promise<ListManifest | null> {
    if (!LIST_NAME.test(name)) return null;
    return (await this.#manifests(name))[0] ?? null;
  }

  async entries(name: string, version?: number): Promise<StoredEntry[]> {
    const at = version ?? (await this.get(name))?.versions.at(-1)?.version;
    if (at === undefined) return [];
    const { rows } = await this.#pool.query<EntryRow>(
      `SELECT encode(hash, 'hex') AS hash, entry_id, category FROM list_entries
        WHERE list_id = $1 AND added_in_version <= $2 AND (removed_in_version IS NULL OR removed_in_version > $2)
        ORDER BY id`,
      [name, at],
    );
    return rows.map(toEntry);
  }

  /** Tombstones of `version`: entries it dropped, not those it re-added with new metadata. */
  async removed(name: string, version: number): Promise<StoredEntry[]> {
    const { rows } = await this.#pool.query<EntryRow>(
      `SELECT encode(e.hash, 'hex') AS hash, e.entry_id, e.category FROM list_entries e
        WHERE e.list_id = $1 AND e.removed_in_version = $2
          AND NOT EXISTS (SELECT 1 FROM list_entries n WHERE n.list_id = e.list_id AND n.hash = e.hash AND n.added_in_version = $2)
        ORDER BY e.id`,
      [name, version],
    );
    return rows.map(toEntry);
  }

  /**
   * Writes the version in one transaction: the list row (created or reconfigured), the version
   * row, tombstones for live entries absent from `entries` (or present with new metadata), rows
   * for new ones, the list's current version, and `hashlist.updated.v1`. The counts are
   * recomputed here from the database, so the record always says what was written.
   */
  async putVersion(manifest: ListManifest, entries: readonly StoredEntry[], _removed: readonly StoredEntry[]): Promise<ListManifest> {
    const record = manifest.versions.at(-1);
    if (!record) throw new Error('a manifest to put needs its new version');
    return withTransaction(this.#pool, async (client) => {
      // The list row is locked first: concurrent imports of one list serialise here.
      const { rows: current } = await client.query<{ current_version: number | null }>(
        `INSERT INTO hash_lists (id, name, algorithm, action, threshold, dihedral, source)
         VALUES ($1, $1, $2, $3, $4, $5, $6)
         ON CONFLICT (id) DO UPDATE SET action = $3, threshold = $4, dihedral = $5, source = $6, updated_at = now()
         RETURNING current_version`,
        [manifest.name, manifest.algorithm, manifest.action, manifest.threshold, manifest.dihedral, manifest.source],
      );
      const previous = current[0]?.current_version ?? null;
      const version = (previous ?? 0) + 1;
      await client.query(
        `INSERT INTO list_versions (list_id, version, previous_version, source_sha256, format, status, created_at)
         VALUES ($1, $2, $3, decode($4, 'hex'), $5, 'importing', $6)`,
        [manifest.name, version, previous, record.sourceSha256, record.format, new Date(record.importedAt)],
      );
      await stage(client, entries);
      const { rowCount: dropped } = await client.query(
        `UPDATE list_entries e SET removed_in_version = $2
          WHERE e.list_id = $1 AND e.removed_in_version IS NULL
            AND NOT EXISTS (SELECT 1 FROM staged_entries s
                             WHERE s.hash = e.hash AND s.entry_id IS NOT DISTINCT FROM e.entry_id AND s.category IS NOT DISTINCT FROM e.category)`,
        [manifest.name, version],
      );
      const { rowCount: inserted } = await client.query(
        `INSERT INTO list_entries (list_id, algorithm, hash, entry_id, category, added_in_version)
         SELECT $1, $2::text, s.hash, s.entry_id, s.category, $3 FROM staged_entries s
          WHERE NOT EXISTS (SELECT 1 FROM list_entries e WHERE e.list_id = $1 AND e.algorithm = $2::text AND e.hash = s.hash AND e.removed_in_version IS NULL)`,
        [manifest.name, manifest.algorithm, version],
      );
      const changed = await scalar(client, `SELECT count(*)::int FROM list_entries WHERE list_id = $1 AND removed_in_version = $2 AND hash IN (SELECT hash FROM list_entries WHERE list_id = $1 AND added_in_version = $2)`, [manifest.name, version]);
      const total = await scalar(client, `SELECT count(*)::int FROM list_entries WHERE list_id = $1 AND removed_in_version IS NULL`, [manifest.name]);
      const added = (inserted ?? 0) - changed;
      const removed = (dropped ?? 0) - changed;
      await client.query(
        `UPDATE list_versions SET status = 'active', activated_at = now(), entry_count = $3, added = $4, removed = $5, changed = $6
          WHERE list_id = $1 AND version = $2`,
        [manifest.name, version, total, added, removed, changed],
      );
      await client.query('UPDATE hash_lists SET current_version = $2 WHERE id = $1', [manifest.name, version]);
      await enqueue(client, [
        createEvent(
          'hashlist.updated.v1',
          { listId: manifest.name, version, previousVersion: previous, algorithm: manifest.algorithm, added, removed, updatedAt: this.#now().toISOString() },
          { producer: this.#producer, traceId: crypto.randomUUID() },
        ),
      ]);
      const written: ListVersionRecord = { ...record, version, entries: total, added, removed, changed };
      return { ...manifest, versions: [...manifest.versions.slice(0, -1), written] };
    });
  }

  async #manifests(name: string | null): Promise<ListManifest[]> {
    const { rows } = await this.#pool.query<ManifestRow>(
      `SELECT l.id, l.algorithm, l.threshold, l.action, l.dihedral, l.source,
              coalesce(json_agg(json_build_object(
                'version', v.version, 'importedAt', v.created_at, 'format', v.format, 'sourceSha256', encode(v.source_sha256, 'hex'),
                'entries', v.entry_count, 'added', v.added, 'removed', v.removed, 'changed', v.changed) ORDER BY v.version)
                FILTER (WHERE v.version IS NOT NULL), '[]') AS versions
         FROM hash_lists l LEFT JOIN list_versions v ON v.list_id = l.id AND v.status = 'active'
        WHERE $1::text IS NULL OR l.id = $1
        GROUP BY l.id ORDER BY l.id`,
      [name],
    );
    return rows
      .filter((row) => row.versions.length > 0)
      .map((row) => ({
        name: row.id,
        algorithm: row.algorithm,
        threshold: row.threshold,
        action: row.action,
        dihedral: row.dihedral,
        source: row.source,
        versions: row.versions.map((v) => ({ ...v, importedAt: new Date(v.importedAt).toISOString() })),
      }));
  }
}

interface EntryRow {
  hash: string;
  entry_id: string | null;
  category: string | null;
}

interface ManifestRow {
  id: string;
  algorithm: ListAlgorithm;
  threshold: number;
  action: ListManifest['action'];
  dihedral: boolean;
  source: string;
  versions: Array<Omit<ListVersionRecord, 'format'> & { format: ListFormat }>;
}

function toEntry(row: EntryRow): StoredEntry {
  return { hash: row.hash, ...(row.entry_id !== null && { externalId: row.entry_id }), ...(row.category !== null && { category: row.category }) };
}

/** The new version's entries in a transaction-scoped table, one row per hash (the first wins). */
async function stage(client: Client, entries: readonly StoredEntry[]): Promise<void> {
  await client.query('CREATE TEMPORARY TABLE staged_entries (hash bytea PRIMARY KEY, entry_id text, category text) ON COMMIT DROP');
  for (let i = 0; i < entries.length; i += STAGE_BATCH) {
    const batch = entries.slice(i, i + STAGE_BATCH);
    await client.query(
      `INSERT INTO staged_entries (hash, entry_id, category)
       SELECT decode(h, 'hex'), e, c FROM unnest($1::text[], $2::text[], $3::text[]) AS t(h, e, c)
       ON CONFLICT (hash) DO NOTHING`,
      [batch.map((e) => e.hash.toLowerCase()), batch.map((e) => e.externalId ?? null), batch.map((e) => e.category ?? null)],
    );
  }
  await client.query('ANALYZE staged_entries');
}

async function scalar(client: Client, sql: string, params: unknown[]): Promise<number> {
  const { rows } = await client.query<{ count: number }>(sql, params);
  return rows[0]!.count;
}
