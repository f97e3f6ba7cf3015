// The retro-match corpus read compactly: content_hashes in id order, a page at a time, each page
// one row of packed bytea (ids as int8, hashes back to back, the 7 stored dihedral variants, the
// derived views' hashes) so ten million hashes cross the wire as a few hundred buffers instead
// of ten million rows. Keyset pages (id > after): no long-held cursor or snapshot. Read-only;
// never logs hashes.

import type { Pool } from '@vigil/db';

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
  /** With `views`: the derived views' hashes that count within the list threshold (view_pdq, view_blockhash). */
  views: PackedViews | null;
  /** With `views`, PDQ only: the crop-compensated and text-free hashes, which count past it (compensated_pdq). */
  compensated: PackedViews | null;
  /** The last id in the page: the checkpoint once the page is matched. */
  lastId: bigint;
}

/** View hashes of a page, 32 bytes each back to back, and the page row each belongs to. */
export interface PackedViews {
  hashes: Buffer;
  rows: Int32Array;
}

export interface CorpusPageOptions {
  algorithm: 'pdq' | 'blockhash';
  dihedral: boolean;
  /** Also the derived views' hashes (migration 0016). */
  views?: boolean;
  /** Leave out rows whose canonical PDQ is below this quality. */
  minPdqQuality?: number;
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

/** One page, or null past the end. */
export async function readCorpusPage(pool: Pool, options: CorpusPageOptions): Promise<CorpusPage | null> {
  const column = options.algorithm;
  const filters = [`id > $1`, `${column} IS NOT NULL`];
  const params: unknown[] = [options.after.toString(), options.limit];
  if (column === 'pdq' && options.minPdqQuality !== undefined) filters.push(`pdq_quality >= ${Math.trunc(options.minPdqQuality)}`);
  if (options.seenSince) {
    params.push(options.seenSince);
    filters.push(`last_seen_at >= $${params.length}`);
  }
  if (options.upTo !== undefined) {
    params.push(options.upTo.toString());
    filters.push(`id <= $${params.length}`);
  }
  const dihedral = options.dihedral && column === 'pdq';
  const viewColumns = options.views ? [`view_${column}`, ...(column === 'pdq' ? ['compensated_pdq'] : [])] : [];
  const packed = (name: string) => `, string_agg(coalesce(${name}, ''::bytea), ''::bytea ORDER BY id) AS ${name},
               string_agg(int4send(coalesce(octet_length(${name}), 0) / ${HASH_BYTES}), ''::bytea ORDER BY id) AS ${name}_counts`;
  const { rows } = await pool.query<Record<string, Buffer | null> & { n: number; ids: Buffer | null; hashes: Buffer | null; dihedral: Buffer | null; has_dihedral: Buffer | null }>(
    `SELECT count(*)::int AS n,
            string_agg(int8send(id), ''::bytea ORDER BY id) AS ids,
            string_agg(${column}, ''::bytea ORDER BY id) AS hashes
            ${dihedral ? `, string_agg(coalesce(pdq_dihedral, decode(repeat('00', 224), 'hex')), ''::bytea ORDER BY id) AS dihedral,
               string_agg(CASE WHEN pdq_dihedral IS NULL THEN '\\x00'::bytea ELSE '\\x01'::bytea END, ''::bytea ORDER BY id) AS has_dihedral` : ''}
            ${viewColumns.map(packed).join('')}
       FROM (SELECT id, ${[column, ...(dihedral ? ['pdq_dihedral'] : []), ...viewColumns].join(', ')} FROM content_hashes
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
    views: options.views ? packedViews(row[`view_${column}`], row[`view_${column}_counts`]) : null,
    compensated: options.views && column === 'pdq' ? packedViews(row.compensated_pdq, row.compensated_pdq_counts) : null,
    lastId: row.ids.readBigInt64BE((row.n - 1) * 8),
  };
}

/** A packed view column of a page and, for each hash, the page row it belongs to (null: none in the page). */
function packedViews(hashes: Buffer | null | undefined, counts: Buffer | null | undefined): PackedViews | null {
  if (!hashes || !counts || hashes.length === 0) return null;
  const rows = new Int32Array(hashes.length / HASH_BYTES);
  let at = 0;
  for (let row = 0; row < counts.length / 4; row++) {
    for (let n = counts.readInt32BE(row * 4); n > 0; n--) rows[at++] = row;
  }
  return { hashes, rows };
}
