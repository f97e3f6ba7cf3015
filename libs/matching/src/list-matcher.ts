// One hash list loaded for matching: perceptual lists (PDQ, blockhash) in the exact Hamming
// index under the list's own threshold, exact-digest lists (MD5, SHA-1, SHA-256) in a map.
// A match carries its provenance: list and version, entry, algorithm, distance, threshold and the
// dihedral variant that matched. Pure: no I/O, and never logs list contents.

import { HASH_BYTES } from './hamming-kernel.ts';
import { DigestTable } from './digest-table.ts';
import { EntryMetadata } from './entry-metadata.ts';
import { HammingIndex, type IndexStats } from './hamming-index.ts';

export const LIST_ACTIONS = ['block', 'quarantine', 'review', 'allow'] as const;
/** `allow` lists are negative lists: their matches suppress false positives, never act. */
export type ListAction = (typeof LIST_ACTIONS)[number];

export const PERCEPTUAL_ALGORITHMS = ['pdq', 'blockhash'] as const;
export const EXACT_ALGORITHMS = ['md5', 'sha1', 'sha256'] as const;
type ExactAlgorithm = (typeof EXACT_ALGORITHMS)[number];
export type MatchAlgorithm = (typeof PERCEPTUAL_ALGORITHMS)[number] | ExactAlgorithm;
const DIGEST_BYTES: Record<ExactAlgorithm, number> = { md5: 16, sha1: 20, sha256: 32 };
const HEX = /^[0-9a-fA-F]*$/;

/** The PDQ dihedral variants, named as the hashing library and the PDQ reference name them. */
export const DIHEDRAL_VARIANTS = ['orig', 'rot90', 'rot180', 'rot270', 'flipx', 'flipy', 'flipplus1', 'flipminus1'] as const;
export type DihedralVariant = (typeof DIHEDRAL_VARIANTS)[number];
/** Which query hash matched: a dihedral variant, or `exact` for digest lists. */
export type MatchVariant = DihedralVariant | 'exact';

/**
 * Extra queries: hashes of views derived from the content, matched besides its canonical hashes.
 * `region`: the content region inside a frame (borders, letterboxing, screenshot chrome);
 * `uncrop-N`: PDQ of the content re-expanded as the centre of an original cropped by N percent;
 * `upscale-N`: PDQ of a small image as if N times larger (a downscaled copy at its original's size);
 * `overlay`: PDQ with overlaid caption text (a watermark) left out;
 * `watermark`: PDQ with a faint watermark over the whole picture unblended.
 */
export type ExtraQuerySource = 'region' | `uncrop-${number}` | `upscale-${number}` | 'overlay' | 'watermark';

export interface ExtraQuery {
  source: ExtraQuerySource;
  pdq?: string;
  /** Its PDQ is below the quality floor (a flat view): its PDQ hits say so (`unstable`), for the decision to weigh. */
  unstable?: true;
  blockhash?: string;
}

export interface ListDescriptor {
  id: string;
  version: number;
  algorithm: MatchAlgorithm;
  /** Largest Hamming distance that counts as a match (0 for exact lists). Per list, not per deployment. */
  threshold: number;
  action: ListAction;
  /** Also match the query's rotated and flipped PDQ hashes (PDQ lists only). */
  dihedral: boolean;
}

export interface ListEntryInput {
  /** Lowercase hex: 64 characters for PDQ and blockhash, 32/40/64 for MD5/SHA-1/SHA-256. */
  hash: string;
  externalId?: string;
  category?: string;
}

/** What a verdict (and later a court) needs to know about why content matched. */
export interface Match {
  listId: string;
  listVersion: number;
  action: ListAction;
  algorithm: MatchAlgorithm;
  entryId: string | null;
  category: string | null;
  distance: number;
  threshold: number;
  variant: MatchVariant;
  /** Set when an extra query matched, not the canonical hashes. */
  query?: ExtraQuerySource;
  /**
   * Beyond the list's threshold, within the `nearMiss` margin the query asked for: not a match on
   * its own, evidence a fused decision may count when another algorithm corroborates it.
   */
  nearMiss?: true;
  /** Set by a fused decision: this hit counts because the other perceptual algorithm hit the same entry. */
  corroborated?: true;
  /** A PDQ hit of an extra query whose hash is below the quality floor (`ExtraQuery.unstable`). */
  unstable?: true;
}

/** The hashes of one piece of content, as the hashing library reports them. */
export interface QueryHashes {
  pdq?: string;
  pdqDihedral?: Partial<Record<DihedralVariant, string>>;
  blockhash?: string;
  md5?: string;
  sha1?: string;
  sha256?: string;
  /** Hashes of derived views (perceptual lists only), reported with their `query` source. */
  extra?: readonly ExtraQuery[];
  /** Also report hits up to this many bits beyond each perceptual list's threshold, as `nearMiss`. */
  nearMiss?: Partial<Record<(typeof PERCEPTUAL_ALGORITHMS)[number], number>>;
}

export class ListMatcher {
  readonly descriptor: ListDescriptor;
  readonly #index: HammingIndex | null;
  readonly #exact: DigestTable | null;
  /** Entry metadata by id: the index's id (perceptual) or the digest table's (exact). */
  readonly #meta = new EntryMetadata();
  #live = 0;

  constructor(descriptor: ListDescriptor, expectedSize = 0) {
    if (!Number.isInteger(descriptor.threshold) || descriptor.threshold < 0) throw new RangeError('threshold must be a non-negative integer');
    this.descriptor = { ...descriptor };
    const perceptual = isPerceptual(descriptor.algorithm);
    this.#index = perceptual ? new HammingIndex({ expectedSize, designRadius: descriptor.threshold }) : null;
    this.#exact = perceptual ? null : new DigestTable(DIGEST_BYTES[descriptor.algorithm as ExactAlgorithm], expectedSize);
  }

  get size(): number {
    return this.#live;
  }

  /** Adds entries; for perceptual lists call `compact()` after a bulk load to build the tables. */
  add(entries: Iterable<ListEntryInput>): void {
    for (const entry of entries) {
      const id = this.#index ? this.#index.add(hexToBytes(entry.hash)) : this.#exact!.add(this.#digest(entry.hash));
      this.#meta.append(id, entry.externalId, entry.category);
      this.#live++;
    }
  }

  /** Removes every live entry with one of these hashes; returns how many were removed. */
  remove(hashes: Iterable<string>): number {
    let removed = 0;
    for (const hash of hashes) {
      const bytes = parseDigest(hash, this.#exact?.digestBytes ?? HASH_BYTES);
      if (!bytes) continue; // not a hash of this list's kind: nothing to remove
      if (this.#exact) {
        removed += this.#exact.remove(bytes).length;
        continue;
      }
      // The index itself finds the entries with this exact hash: radius 0 probes one table.
      for (const { id } of this.#index!.search(bytes, 0)) if (this.#index!.remove(id)) removed++;
    }
    this.#live -= removed;
    return removed;
  }

  /** Bytes held by the loaded list: index (hashes, tables) or digest table, plus entry metadata. */
  byteLength(): number {
    const stats = this.#index?.stats();
    const index = stats ? Math.round(stats.bytesPerHash * (stats.size + stats.removed)) : this.#exact!.byteLength();
    return index + this.#meta.byteLength();
  }

  #digest(hex: string): Uint8Array {
    const bytes = parseDigest(hex, this.#exact!.digestBytes);
    if (!bytes) throw new RangeError(`expected ${this.#exact!.digestBytes * 2} hex characters for ${this.descriptor.algorithm}`);
    return bytes;
  }

  /**
   * Moves the list to a new version or settings after its diff was applied (add/remove), so
   * matches name the version they were found under. Entries are untouched.
   */
  reconfigure(changes: Partial<Pick<ListDescriptor, 'version' | 'threshold' | 'action' | 'dihedral'>>): void {
    if (changes.threshold !== undefined && (!Number.isInteger(changes.threshold) || changes.threshold < 0)) {
      throw new RangeError('threshold must be a non-negative integer');
    }
    Object.assign(this.descriptor, changes);
  }

  /** Index statistics (perceptual lists): `pending` entries are scanned by brute force until `compact()`. */
  indexStats(): IndexStats | null {
    return this.#index?.stats() ?? null;
  }

  /** Rebuilds the index tables over everything added so far (perceptual lists). */
  compact(): void {
    this.#index?.compact();
  }

  /**
   * Matches of one piece of content against this list: at most one per entry and query source
   * (canonical, or each extra query), the closest variant (the original wins ties), ordered by
   * distance. Without `extra` and `nearMiss` in the query: at most one per entry, all within the
   * threshold.
   */
  match(query: QueryHashes): Match[] {
    const { algorithm, threshold } = this.descriptor;
    if (this.#exact) {
      const value = query[algorithm as ExactAlgorithm];
      const digest = value === undefined ? null : parseDigest(value, this.#exact.digestBytes);
      return digest ? this.#exact.lookup(digest).map((id) => this.#match(id, 0, 'exact')) : [];
    }
    const margin = query.nearMiss?.[algorithm as (typeof PERCEPTUAL_ALGORITHMS)[number]] ?? 0;
    if (!Number.isInteger(margin) || margin < 0) throw new RangeError('nearMiss must be a non-negative integer');
    const radius = threshold + margin;
    const out = this.#closest(this.#queryVariants(query), radius).map(([id, { distance, variant }]) => this.#match(id, distance, variant));
    for (const extra of query.extra ?? []) {
      const hex = algorithm === 'pdq' ? extra.pdq : extra.blockhash;
      if (!hex) continue;
      const unstable = algorithm === 'pdq' && extra.unstable;
      for (const [id, { distance }] of this.#closest([['orig', hex]], radius)) {
        out.push({ ...this.#match(id, distance, 'orig'), query: extra.source, ...(unstable && { unstable: true as const }) });
      }
    }
    for (const m of out) if (m.distance > threshold) m.nearMiss = true;
    return out.sort((a, b) => a.distance - b.distance);
  }

  #closest(variants: Array<[DihedralVariant, string]>, radius: number): Array<[number, { distance: number; variant: DihedralVariant }]> {
    const best = new Map<number, { distance: number; variant: DihedralVariant }>();
    for (const [variant, hex] of variants) {
      for (const { id, distance } of this.#index!.search(hexToBytes(hex), radius)) {
        const seen = best.get(id);
        if (!seen || distance < seen.distance) best.set(id, { distance, variant });
      }
    }
    return [...best];
  }

  #queryVariants(query: QueryHashes): Array<[DihedralVariant, string]> {
    if (this.descriptor.algorithm === 'blockhash') return query.blockhash ? [['orig', query.blockhash]] : [];
    const variants: Array<[DihedralVariant, string]> = query.pdq ? [['orig', query.pdq]] : [];
    if (this.descriptor.dihedral && query.pdqDihedral) {
      for (const name of DIHEDRAL_VARIANTS) {
        const hex = query.pdqDihedral[name];
        if (name !== 'orig' && hex) variants.push([name, hex]);
      }
    }
    return variants;
  }

  #match(id: number, distance: number, variant: MatchVariant): Match {
    const { id: listId, version, action, algorithm, threshold } = this.descriptor;
    const entry = this.#meta.get(id);
    return {
      listId,
      listVersion: version,
      action,
      algorithm,
      entryId: entry.externalId,
      category: entry.category,
      distance,
      threshold,
      variant,
    };
  }
}

export function isPerceptual(algorithm: MatchAlgorithm): algorithm is (typeof PERCEPTUAL_ALGORITHMS)[number] {
  return (PERCEPTUAL_ALGORITHMS as readonly string[]).includes(algorithm);
}

/** 64 hex characters to 32 bytes in text order. Throws on anything else (callers validate input). */
export function hexToBytes(hex: string): Uint8Array {
  if (hex.length !== HASH_BYTES * 2 || !HEX.test(hex)) throw new RangeError('expected 64 hex characters');
  return Buffer.from(hex, 'hex');
}

/** 32 bytes back to 64 lowercase hex characters, in text order (the inverse of hexToBytes). */
export function bytesToHex(bytes: Uint8Array, offset = 0): string {
  let hex = '';
  for (let i = offset; i < offset + HASH_BYTES; i++) hex += bytes[i]!.toString(16).padStart(2, '0');
  return hex;
}

/** Hex digest to bytes; null unless exactly `bytes` bytes of hex (a query may carry anything). */
function parseDigest(hex: string, bytes: number): Uint8Array | null {
  if (hex.length !== bytes * 2 || !HEX.test(hex)) return null;
  return Buffer.from(hex, 'hex');
}
