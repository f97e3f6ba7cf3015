// Versions of a hash list: what importing version v+1 adds and removes relative to version v.
// Removed entries are returned (not dropped) so callers keep them as tombstones: a withdrawn hash
// may have justified a past quarantine. Pure: entries in, diff out.

import type { ListAlgorithm } from './list-formats.ts';

export interface VersionedEntry {
  algorithm: ListAlgorithm;
  /** Lowercase hex. */
  hash: string;
  externalId?: string;
  category?: string;
}

export interface ListDiff<E extends VersionedEntry = VersionedEntry> {
  added: E[];
  removed: E[];
  /** Same hash in both versions whose id or category changed (kept, metadata from the new version). */
  changed: E[];
  unchanged: number;
}

/** An entry's identity within a list: its algorithm and hash value. */
export function entryKey(entry: VersionedEntry): string {
  return `${entry.algorithm}:${entry.hash.toLowerCase()}`;
}

export function diffListVersions<E extends VersionedEntry>(previous: Iterable<E>, next: Iterable<E>): ListDiff<E> {
  const before = new Map<string, E>();
  for (const entry of previous) before.set(entryKey(entry), entry);
  const added: E[] = [];
  const changed: E[] = [];
  let unchanged = 0;
  const seen = new Set<string>();
  for (const entry of next) {
    const key = entryKey(entry);
    if (seen.has(key)) continue;
    seen.add(key);
    const old = before.get(key);
    if (!old) added.push(entry);
    else if ((old.externalId ?? null) !== (entry.externalId ?? null) || (old.category ?? null) !== (entry.category ?? null)) changed.push(entry);
    else unchanged++;
  }
  const removed = [...before].filter(([key]) => !seen.has(key)).map(([, entry]) => entry);
  return { added, removed, changed, unchanged };
}
