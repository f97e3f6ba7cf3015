// One hash list loaded for matching: perceptual lists (PDQ, blockhash) in the exact Hamming
// index under the list's own threshold, exact-digest lists (MD5, SHA-1, SHA-256) in a map.
// A match carries its provenance: list and version, entry, algorithm, distance, threshold and the
// dihedral variant that matched. Pure: no I/O, and never logs list contents.

import { HASH_BYTES } from './hamming-kernel.ts';
import { HammingIndex, type IndexStats } from './hamming-index.ts';

export const LIST_ACTIONS = ['block', 'quarantine', 'review', 'allow'] as const;
/** `allow` lists are negative lists: their matches suppress false positives, never act. */
export type ListAction = (typeof LIST_ACTIONS)[number];

export const PERCEPTUAL_ALGORITHMS = ['pdq', 'blockhash'] as const;
export const EXACT_ALGORITHMS = ['md5', 'sha1', 'sha256'] as const;
export type MatchAlgorithm = (typeof PERCEPTUAL_ALGORITHMS)[number] | (typeof EXACT_ALGORITHMS)[number];

/** The PDQ dihedral variants, named as the hashing library and the PDQ reference name them. */
export const DIHEDRAL_VARIANTS = ['orig', 'rot90', 'rot180', 'rot270', 'flipx', 'flipy', 'flipplus1', 'flipminus1'] as const;
export type DihedralVariant = (typeof DIHEDRAL_VARIANTS)[number];
/** Which query hash matched: a dihedral variant, or `exact` for digest lists. */
export type MatchVariant = DihedralVariant | 'exact';

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
}

/** The hashes of one piece of content, as the hashing library reports them. */
export interface QueryHashes {
  pdq?: string;
  pdqDihedral?: Partial<Record<DihedralVariant, string>>;
  blockhash?: string;
  md5?: string;
  sha1?: string;
  sha256?: string;
}

export class ListMatcher {
  readonly descriptor: ListDescriptor;
  readonly #index: HammingIndex | null;
  readonly #exact: Map<string, number[]> | null;
  /** Entry metadata by index id (perceptual) or by position (exact). */
  readonly #entries: Array<{ externalId: string | null; category: string | null }> = [];
  /** Live ids per hash, so entries can be removed by hash (a list diff's tombstones). */
  readonly #idsByHash = new Map<string, number[]>();
  #live = 0;

  constructor(descriptor: ListDescriptor, expectedSize = 0) {
    if (!Number.isInteger(descriptor.threshold) || descriptor.threshold < 0) throw new RangeError('threshold must be a non-negative integer');
    this.descriptor = { ...descriptor };
    const perceptual = isPerceptual(descriptor.algorithm);
    this.#index = perceptual ? new HammingIndex({ expectedSize, designRadius: descriptor.threshold }) : null;
    this.#exact = perceptual ? null : new Map();
  }

  get size(): number {
    return this.#live;
  }

  /** Adds entries; for perceptual lists call `compact()` after a bulk load to build the tables. */
  add(entries: Iterable<ListEntryInput>): void {
    for (const entry of entries) {
      const hash = entry.hash.toLowerCase();
      const id = this.#index ? this.#index.add(hexToBytes(hash)) : this.#entries.length;
      this.#entries[id] = { externalId: entry.externalId ?? null, category: entry.category ?? null };
      if (this.#exact) appendTo(this.#exact, hash, id);
      appendTo(this.#idsByHash, hash, id);
      this.#live++;
    }
  }

  /** Removes every live entry with one of these hashes; returns how many were removed. */
  remove(hashes: Iterable<string>): number {
    let removed = 0;
    for (const raw of hashes) {
      const hash = raw.toLowerCase();
      const ids = this.#idsByHash.get(hash);
      if (!ids) continue;
      for (const id of ids) this.#index?.remove(id);
      removed += ids.length;
      this.#live -= ids.length;
      this.#idsByHash.delete(hash);
      this.#exact?.delete(hash);
    }
    return removed;
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
   * Matches of one piece of content against this list: at most one per entry, the closest variant
   * (the original wins ties), ordered by distance.
   */
  match(query: QueryHashes): Match[] {
    const { algorithm } = this.descriptor;
    if (this.#exact) {
      const value = query[algorithm as (typeof EXACT_ALGORITHMS)[number]];
      const ids = value === undefined ? undefined : this.#exact.get(value.toLowerCase());
      return (ids ?? []).map((id) => this.#match(id, 0, 'exact'));
    }
    const best = new Map<number, { distance: number; variant: DihedralVariant }>();
    for (const [variant, hex] of this.#queryVariants(query)) {
      for (const { id, distance } of this.#index!.search(hexToBytes(hex), this.descriptor.threshold)) {
        const seen = best.get(id);
        if (!seen || distance < seen.distance) best.set(id, { distance, variant });
      }
    }
    return [...best]
      .map(([id, { distance, variant }]) => this.#match(id, distance, variant))
      .sort((a, b) => a.distance - b.distance);
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
    const entry = this.#entries[id]!;
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
  if (!/^[0-9a-fA-F]{64}$/.test(hex)) throw new RangeError('expected 64 hex characters');
  const bytes = new Uint8Array(HASH_BYTES);
  for (let i = 0; i < HASH_BYTES; i++) bytes[i] = parseInt(hex.slice(i * 2, i * 2 + 2), 16);
  return bytes;
}

/** 32 bytes back to 64 lowercase hex characters, in text order (the inverse of hexToBytes). */
export function bytesToHex(bytes: Uint8Array, offset = 0): string {
  let hex = '';
  for (let i = offset; i < offset + HASH_BYTES; i++) hex += bytes[i]!.toString(16).padStart(2, '0');
  return hex;
}

function appendTo(map: Map<string, number[]>, key: string, id: number): void {
  const ids = map.get(key);
  if (ids) ids.push(id);
  else map.set(key, [id]);
}
