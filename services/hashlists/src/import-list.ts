// Importing a list file as the next version of a list: the one path the CLI (`vigil lists
// import`), the HTTP admin API and the list sources share. A file with any parse error is
// refused whole (never half-imported); the version and its hashlist.updated.v1 commit together
// (PgListStore). Outcomes name counts, lines and external ids, never hash values.

import { createHash } from 'node:crypto';
import { appendAudit, type Pool } from '@vigil/db';
import { diffListVersions, isPerceptual, parseList, type ListAction, type ListAlgorithm, type ListFormat, type ParseIssue } from '@vigil/matching';
import { LIST_NAME, PgListStore, type ListManifest, type ListStore, type ListVersionRecord, type StoredEntry } from '@vigil/lists';

/**
 * Per-algorithm default thresholds: Meta's PDQ recommendation; blockhash at 2, the detection
 * rule's operating point (no dev-corpus distractor flagged; its false positives come from
 * gradients and flat textures, matched even at distance 0): docs/detection-quality.md.
 */
export const DEFAULT_THRESHOLDS: Record<ListAlgorithm, number> = { pdq: 31, blockhash: 2, md5: 0, sha1: 0, sha256: 0 };

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
  // The store's record: the version number and counts as written (recomputed from the database).
  const stored = await store.putVersion(manifest, entries, removed);
  return { status: 'imported', manifest: stored, version: stored.versions.at(-1) ?? record, warnings: parsed.warnings };
}


/**
 * The gateway's list-admin port: imports through `importList` and writes the import to the
 * audit log under the caller's identity (who changed what a scanner blocks is evidence too).
 */
export function createListsAdmin(pool: Pool) {
  return {
    async importVersion(bytes: Uint8Array, request: ImportRequest, actor: string) {
      const outcome = await importList(bytes, request, new PgListStore(pool), () => new Date());
      if (outcome.status === 'refused') return { status: 'refused' as const, reason: outcome.reason, errors: outcome.errors };
      const written = outcome.version;
      await appendAudit(pool, {
        actor,
        action: 'hashlist.version_imported',
        subjectType: 'hash_list',
        subjectId: request.name,
        details: { version: written.version, entries: written.entries, added: written.added, removed: written.removed, changed: written.changed, sourceSha256: written.sourceSha256 },
      });
      return { status: 'imported' as const, list: request.name, version: written.version, entries: written.entries, added: written.added, removed: written.removed, changed: written.changed };
    },
  };
}

function refused(reason: string, warnings: ParseIssue[] = []): ImportOutcome {
  return { status: 'refused', reason, errors: [], warnings };
}
