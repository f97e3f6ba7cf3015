// `vigil lookup`: which entries of one list lie within the threshold of each query hash. Reads a
// stored list or a list file directly, so it works before any database exists. Prints only the
// entries that matched, never the list.

import { HASH_BYTES, HammingIndex, HEX_LENGTH, hexToBytes, isPerceptual, type ListAlgorithm } from '@vigil/matching';
import type { StoredEntry } from '@vigil/lists';

export interface LookupMatch {
  id: string | null;
  hash: string;
  distance: number;
}

export type LookupLine = { query: string; matches: LookupMatch[] } | { query: string; error: string };

/** Builds the lookup for one list: a Hamming index for perceptual algorithms, a map for digests. */
export function createLookup(entries: readonly StoredEntry[], algorithm: ListAlgorithm, threshold: number): (query: string) => LookupLine {
  const hexLength = HEX_LENGTH[algorithm];
  if (isPerceptual(algorithm)) {
    const index = new HammingIndex({ expectedSize: entries.length, designRadius: threshold });
    const packed = new Uint8Array(entries.length * HASH_BYTES);
    entries.forEach((entry, i) => packed.set(hexToBytes(entry.hash), i * HASH_BYTES));
    index.addAll(packed, entries.length);
    index.compact();
    return (query) => {
      const problem = invalidQuery(query, hexLength, algorithm);
      if (problem) return { query, error: problem };
      const matches = index.search(hexToBytes(query), threshold).map(({ id, distance }) => toMatch(entries[id]!, distance));
      return { query, matches: matches.sort((a, b) => a.distance - b.distance) };
    };
  }
  const byHash = new Map<string, StoredEntry[]>();
  for (const entry of entries) byHash.set(entry.hash, [...(byHash.get(entry.hash) ?? []), entry]);
  return (query) => {
    const problem = invalidQuery(query, hexLength, algorithm);
    if (problem) return { query, error: problem };
    return { query, matches: (byHash.get(query.toLowerCase()) ?? []).map((entry) => toMatch(entry, 0)) };
  };
}

function toMatch(entry: StoredEntry, distance: number): LookupMatch {
  return { id: entry.externalId ?? null, hash: entry.hash, distance };
}

function invalidQuery(query: string, hexLength: number, algorithm: ListAlgorithm): string | null {
  if (query.length !== hexLength || !/^[0-9a-fA-F]+$/.test(query)) return `expected ${hexLength} hex characters for ${algorithm}`;
  return null;
}
