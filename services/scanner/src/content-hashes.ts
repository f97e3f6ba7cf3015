// The hashes of one piece of content as the scanner keeps them: what the hashing pool computed,
// what content_hashes stores (the retro-match corpus), and what a re-upload of the same bytes
// (same SHA-256) is answered from without decoding again. Pure conversions plus a bounded
// in-memory layer over the table.

import { DIHEDRAL_NAMES, PDQ_QUALITY_FLOOR, type DihedralName, type ImageHashes } from '@vigil/hashing';
import type { QueryHashes } from '@vigil/matching';
import type { Pool } from '@vigil/db';

export interface StoredHashes {
  sha256: string;
  sha1?: string;
  md5?: string;
  pdq?: string;
  pdqQuality?: number;
  /** The 8 dihedral PDQ hashes (orig included). */
  pdqDihedral?: Record<DihedralName, string>;
  blockhash?: string;
}

/** The seven non-canonical variants, in the order content_hashes.pdq_dihedral stores them. */
const STORED_VARIANTS = DIHEDRAL_NAMES.filter((name) => name !== 'orig');

export function fromImageHashes(hashes: ImageHashes & { sha256: string }): StoredHashes {
  return {
    sha256: hashes.sha256,
    ...(hashes.sha1 && { sha1: hashes.sha1 }),
    ...(hashes.md5 && { md5: hashes.md5 }),
    ...(hashes.pdq && { pdq: hashes.pdq, pdqQuality: hashes.pdqQuality ?? 0 }),
    ...(hashes.pdqDihedral && { pdqDihedral: { ...hashes.pdqDihedral } }),
    ...(hashes.blockhash && { blockhash: hashes.blockhash }),
  };
}

/**
 * What is matched against the lists. PDQ below Meta's quality floor (50) is left out: such hashes
 * (flat, featureless images) are unstable and cause PDQ's worst false positives. Exact digests
 * and blockhash always run.
 */
export function toQuery(hashes: StoredHashes): QueryHashes {
  const trustedPdq = hashes.pdq !== undefined && (hashes.pdqQuality ?? 0) >= PDQ_QUALITY_FLOOR;
  return {
    sha256: hashes.sha256,
    ...(hashes.sha1 && { sha1: hashes.sha1 }),
    ...(hashes.md5 && { md5: hashes.md5 }),
    ...(trustedPdq && { pdq: hashes.pdq! }),
    ...(trustedPdq && hashes.pdqDihedral && { pdqDihedral: hashes.pdqDihedral }),
    ...(hashes.blockhash && { blockhash: hashes.blockhash }),
  };
}

export function packDihedral(dihedral: Record<DihedralName, string> | undefined): Buffer | null {
  if (!dihedral) return null;
  return Buffer.from(STORED_VARIANTS.map((name) => dihedral[name]).join(''), 'hex');
}

export function unpackDihedral(pdq: string, packed: Buffer): Record<DihedralName, string> {
  const out = { orig: pdq } as Record<DihedralName, string>;
  STORED_VARIANTS.forEach((name, i) => (out[name] = packed.subarray(i * 32, i * 32 + 32).toString('hex')));
  return out;
}

/**
 * Hashes already computed for some bytes, by SHA-256: a bounded LRU in front of content_hashes.
 * Only perceptually hashed content is kept (an unscannable file is decoded again, cheaply refused).
 */
export class ContentHashCache {
  readonly #pool: Pool;
  readonly #capacity: number;
  readonly #memory = new Map<string, StoredHashes>();

  constructor(pool: Pool, capacity = 50_000) {
    this.#pool = pool;
    this.#capacity = capacity;
  }

  async get(sha256: string): Promise<StoredHashes | null> {
    const cached = this.#memory.get(sha256);
    if (cached) {
      this.#memory.delete(sha256);
      this.#memory.set(sha256, cached);
      return cached;
    }
    const { rows } = await this.#pool.query<{ sha1: Buffer | null; md5: Buffer | null; pdq: Buffer | null; pdq_quality: number | null; pdq_dihedral: Buffer | null; blockhash: Buffer | null }>(
      `SELECT sha1, md5, pdq, pdq_quality, pdq_dihedral, blockhash FROM content_hashes
        WHERE sha256 = $1 AND (pdq IS NOT NULL OR blockhash IS NOT NULL)
        ORDER BY last_seen_at DESC LIMIT 1`,
      [Buffer.from(sha256, 'hex')],
    );
    const row = rows[0];
    if (!row) return null;
    const pdq = row.pdq?.toString('hex');
    const hashes: StoredHashes = {
      sha256,
      ...(row.sha1 && { sha1: row.sha1.toString('hex') }),
      ...(row.md5 && { md5: row.md5.toString('hex') }),
      ...(pdq && { pdq, pdqQuality: row.pdq_quality ?? 0 }),
      ...(pdq && row.pdq_dihedral && { pdqDihedral: unpackDihedral(pdq, row.pdq_dihedral) }),
      ...(row.blockhash && { blockhash: row.blockhash.toString('hex') }),
    };
    this.remember(hashes);
    return hashes;
  }

  remember(hashes: StoredHashes): void {
    if (!hashes.pdq && !hashes.blockhash) return;
    this.#memory.delete(hashes.sha256);
    this.#memory.set(hashes.sha256, hashes);
    if (this.#memory.size > this.#capacity) this.#memory.delete(this.#memory.keys().next().value!);
  }
}
