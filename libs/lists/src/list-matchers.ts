// A list version as a ListMatcher: its descriptor from the list's settings, its entries streamed
// in and indexed. The scanners' registry and retro-matching (partner and allow lists, and a
// version's delta) build their matchers the same way. Reads entries; never logs them.

import type { Pool } from '@vigil/db';
import { ListMatcher, type ListDescriptor } from '@vigil/matching';
import { streamListEntries, type ListHead } from './list-queries.ts';
import type { StoredEntry } from './list-store.ts';

/** What a matcher of `head` at `version` reports on its hits (dihedral for PDQ lists only). */
export function listDescriptor(head: ListHead, version: number): ListDescriptor {
  return { id: head.id, version, algorithm: head.algorithm, threshold: head.threshold, action: head.action, dihedral: head.dihedral && head.algorithm === 'pdq' };
}

/** The list at its current version, every live entry indexed (entries without a category take the list's). */
export async function loadListMatcher(pool: Pool, head: ListHead & { currentVersion: number }): Promise<ListMatcher> {
  const matcher = new ListMatcher(listDescriptor(head, head.currentVersion), head.entryCount);
  for await (const page of streamListEntries(pool, head.id, head.currentVersion)) matcher.add(page.map((e) => withListCategory(e, head)));
  matcher.compact();
  return matcher;
}

/** An entry without its own category takes its list's (what a report's classification needs). */
export function withListCategory(entry: StoredEntry, head: ListHead): StoredEntry {
  const category = entry.category ?? head.category;
  return category === null || category === undefined ? entry : { ...entry, category };
}
