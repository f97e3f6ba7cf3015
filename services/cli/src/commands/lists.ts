// `vigil lists import|ls|diff`: hash lists, their versions and what each version changed.
// A file with any parse error is refused whole (never half-imported). Output names counts and
// external ids, never hash values: lists are sensitive.

import { createHash } from 'node:crypto';
import {
  diffListVersions,
  isPerceptual,
  parseList,
  type ListAction,
  type ListAlgorithm,
  type ListFormat,
  type ParseIssue,
} from '@vigil/matching';
import { LIST_NAME, type ListManifest, type ListStore, type ListVersionRecord, type StoredEntry } from '@vigil/lists';

/** Per-algorithm default thresholds: Meta's PDQ recommendation; blockhash's point of image FPR <= 1e-3 on the dev corpus. */
export const DEFAULT_THRESHOLDS: Record<ListAlgorithm, number> = { pdq: 31, blockhash: 8, md5: 0, sha1: 0, sha256: 0 };

export interface ImportRequest {
  name: string;
  algorithm: ListAlgorithm;
  format: ListFormat;
  threshold?: number;
  action?: ListAction;
  dihedral?: boolean;
  source: string;
}

export type ImportOutcome =
  | { status: 'imported'; manifest: ListManifest; version: ListVersionRecord; warnings: ParseIssue[] }
  | { status: 'refused'; reason: string; errors: ParseIssue[]; warnings: ParseIssue[] };

export async function importList(bytes: Uint8Array, request: ImportRequest, store: ListStore, now: () => Date): Promise<ImportOutcome> {
  if (!LIST_NAME.test(request.name)) {
    return refused(`list name must match ${LIST_NAME.source} (a lowercase storage key)`);
  }
  const existing = await store.get(request.name);
  if (existing && existing.algorithm !== request.algorithm) {
    return refused(`list ${request.name} holds ${existing.algorithm} hashes, not ${request.algorithm}`);
  }
  const text = new TextDecoder('utf-8').decode(bytes);
  const parsed = parseList(text, { format: request.format, algorithm: request.algorithm });
  const entries: StoredEntry[] = parsed.entries
    .filter((entry) => entry.algorithm === request.algorithm)
    .map(({ hash, externalId, category }) => ({ hash, ...(externalId && { externalId }), ...(category && { category }) }));
  if (parsed.errors.length > 0) {
    return { status: 'refused', reason: `${parsed.errors.length} line(s) with errors: nothing imported`, errors: parsed.errors, warnings: parsed.warnings };
  }
  if (entries.length === 0) return refused(`the file has no ${request.algorithm} entries`, parsed.warnings);

  const previous = existing ? await store.entries(existing.name) : [];
  const withAlgorithm = (e: StoredEntry) => ({ ...e, algorithm: request.algorithm });
  const diff = diffListVersions(previous.map(withAlgorithm), entries.map(withAlgorithm));
  const record: ListVersionRecord = {
    version: (existing?.versions.at(-1)?.version ?? 0) + 1,
    importedAt: now().toISOString(),
    format: request.format,
    sourceSha256: createHash('sha256').update(bytes).digest('hex'),
    entries: entries.length,
    added: diff.added.length,
    removed: diff.removed.length,
    changed: diff.changed.length,
  };
  const manifest: ListManifest = {
    name: request.name,
    algorithm: request.algorithm,
    threshold: request.threshold ?? existing?.threshold ?? DEFAULT_THRESHOLDS[request.algorithm],
    action: request.action ?? existing?.action ?? 'quarantine',
    dihedral: isPerceptual(request.algorithm) && (request.dihedral ?? existing?.dihedral ?? request.algorithm === 'pdq'),
    source: request.source,
    versions: [...(existing?.versions ?? []), record],
  };
  const removed = diff.removed.map(({ hash, externalId, category }) => ({ hash, ...(externalId && { externalId }), ...(category && { category }) }));
  await store.putVersion(manifest, entries, removed);
  return { status: 'imported', manifest, version: record, warnings: parsed.warnings };
}

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

function refused(reason: string, warnings: ParseIssue[] = []): ImportOutcome {
  return { status: 'refused', reason, errors: [], warnings };
}
