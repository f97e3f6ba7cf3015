// `vigil lists import|ls|diff`: hash lists, their versions and what each version changed.
// A file with any parse error is refused whole (never half-imported). Output names counts and
// external ids, never hash values: lists are sensitive.

import { diffListVersions } from '@vigil/matching';
import type { ListStore, StoredEntry } from '@vigil/lists';

export { DEFAULT_THRESHOLDS, importList, type ImportOutcome, type ImportRequest } from '@vigil/hashlists';

export interface ListDiffReport {
  name: string;
  version: number;
  previous: number | null;
  added: number;
  removed: number;
  changed: number;
  /** External ids, only when asked for: never hash values. */
  addedIds?: string[];
  removedIds?: string[];
}

/** What version `version` (the latest by default) changed against the one before. */
export async function diffList(store: ListStore, name: string, version: number | undefined, withIds: boolean): Promise<ListDiffReport | null> {
  const manifest = await store.get(name);
  const record = version === undefined ? manifest?.versions.at(-1) : manifest?.versions.find((v) => v.version === version);
  if (!manifest || !record) return null;
  const report: ListDiffReport = {
    name,
    version: record.version,
    previous: record.version > 1 ? record.version - 1 : null,
    added: record.added,
    removed: record.removed,
    changed: record.changed,
  };
  if (withIds) {
    const idsOf = (entries: StoredEntry[]) => entries.map((e) => e.externalId ?? '(no id)');
    const previous = report.previous === null ? [] : await store.entries(name, report.previous);
    const withAlgorithm = (e: StoredEntry) => ({ ...e, algorithm: manifest.algorithm });
    const diff = diffListVersions(previous.map(withAlgorithm), (await store.entries(name, record.version)).map(withAlgorithm));
    report.addedIds = idsOf(diff.added);
    report.removedIds = idsOf(await store.removed(name, record.version));
  }
  return report;
}
