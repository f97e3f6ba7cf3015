// The retro-match corpus read compactly: content_hashes in id order, a page at a time, each page
// one row of packed bytea (ids as int8, hashes back to back, the 7 stored dihedral variants) so
// ten million hashes cross the wire as a few hundred buffers instead of ten million rows. Keyset
// pages (id > after): no long-held cursor or snapshot. Read-only; never logs hashes.

import type { Pool } from '@vigil/db';
import { PDQ_QUALITY_FLOOR } from '@vigil/hashing';

export const HASH_BYTES = 32;
/** The seven non-canonical PDQ variants, as content_hashes.pdq_dihedral packs them. */
export const STORED_VARIANT_COUNT = 7;

export interface CorpusPage {
  /** Rows in the page. */
  count: number;
  /** content_hashes.id of each row, big-endian int8. */
  ids: Buffer;
  /** The perceptual hash of each row (pdq or blockhash), 32 bytes each. */
  hashes: Buffer;
  /** With `dihedral`: 7 x 32 bytes per row (zeros where absent), and which rows have them. */
  dihedral: Buffer | null;
  hasDihedral: Buffer | null;
  /** The last id in the page: the checkpoint once the page is matched. */
  lastId: bigint;
}

export interface CorpusPageOptions {
  algorithm: 'pdq' | 'blockhash';
  dihedral: boolean;
  after: bigint;
  limit: number;
  /** Only rows seen since then (the catch-up pass for rows committed behind the checkpoint). */
  seenSince?: Date;
  /** Stop at this id (inclusive). */
  upTo?: bigint;
}

export function idAt(page: CorpusPage, row: number): bigint {
  return page.ids.readBigInt64BE(row * 8);
}

/**
 * One page, or null past the end. PDQ below Meta's quality floor (50) is left out, as at scan
 * time: such hashes are unstable and cause PDQ's worst false positives.
 */
export async function readCorpusPage(pool: Pool, options: CorpusPageOptions): Promise<CorpusPage | null> {
  const column = options.algorithm;
  const filters = [`id > $1`, `${column} IS NOT NULL`];
  const params: unknown[] = [options.after.toString(), options.limit];
  if (column === 'pdq') filters.push(`pdq_quality >= ${PDQ_QUALITY_FLOOR}`);
  if (options.seenSince) {
    params.push(options.seenSince);
    filters.push(`last_seen_at >= $${params.length}`);
  }
  if (options.upTo !== undefined) {
    params.push(options.upTo.toString());
    filters.push(`id <= $${params.length}`);
  }
  const dihedral = options.dihedral && column === 'pdq';
  const { rows } = await pool.query<{ n: number; ids: Buffer | null; hashes: Buffer | null; dihedral: Buffer | null; has_dihedral: Buffer | null }>(
    `SELECT count(*)::int AS n,
            string_agg(int8send(id), ''::bytea ORDER BY id) AS ids,
            string_agg(${column}, ''::bytea ORDER BY id) AS hashes
            ${dihedral ? `, string_agg(coalesce(pdq_dihedral, decode(repeat('00', 224), 'hex')), ''::bytea ORDER BY id) AS dihedral,
               string_agg(CASE WHEN pdq_dihedral IS NULL THEN '\\x00'::bytea ELSE '\\x01'::bytea END, ''::bytea ORDER BY id) AS has_dihedral` : ''}
       FROM (SELECT id, ${column}${dihedral ? ', pdq_dihedral' : ''} FROM content_hashes
              WHERE ${filters.join(' AND ')} ORDER BY id LIMIT $2) AS page`,
    params,
  );
  const row = rows[0]!;
  if (row.n === 0 || !row.ids || !row.hashes) return null;
  return {
    count: row.n,
    ids: row.ids,
    hashes: row.hashes,
    dihedral: dihedral ? row.dihedral : null,
    hasDihedral: dihedral ? row.has_dihedral : null,
    lastId: row.ids.readBigInt64BE((row.n - 1) * 8),
  };
}
