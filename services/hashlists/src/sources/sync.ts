// Syncing a list from its source: fetch the next delivery after the stored checkpoint, turn it
// into the list's next version (a delta is applied to the current entries), write the version
// (which publishes hashlist.updated.v1 through the outbox), then store the checkpoint. A crash
// between the two re-fetches the same delivery; its digest matches the version already written,
// so it is not imported twice. Never logs entries.

import { isPerceptual, type ListAction } from '@vigil/matching';
import type { Pool } from '@vigil/db';
import type { ListManifest, ListStore, ListVersionRecord, StoredEntry } from '@vigil/lists';
import type { Checkpoint, Delivery, HashListSource } from './source.ts';
import { DEFAULT_THRESHOLDS } from '../import-list.ts';

export interface SyncTarget {
  /** The list the source feeds. */
  name: string;
  threshold?: number;
  action?: ListAction;
  dihedral?: boolean;
}

export interface SyncedVersion {
  version: number;
  label: string;
  entries: number;
  added: number;
  removed: number;
  changed: number;
}


export async function loadCheckpoint(pool: Pool, sourceId: string): Promise<Checkpoint | null> {
  const { rows } = await pool.query<{ checkpoint: Checkpoint }>('SELECT checkpoint FROM hashlist_source_checkpoints WHERE source_id = $1', [sourceId]);
  return rows[0]?.checkpoint ?? null;
}

async function saveCheckpoint(pool: Pool, source: HashListSource, listId: string, checkpoint: Checkpoint): Promise<void> {
  await pool.query(
    `INSERT INTO hashlist_source_checkpoints (source_id, list_id, kind, checkpoint) VALUES ($1, $2, $3, $4)
     ON CONFLICT (source_id) DO UPDATE SET checkpoint = EXCLUDED.checkpoint, list_id = EXCLUDED.list_id, updated_at = now()`,
    [source.id, listId, source.kind, checkpoint],
  );
}

/** The entries the list holds after a delivery: a snapshot as is, a delta applied to `current`. */
export function applyDelivery(current: readonly StoredEntry[], delivery: Delivery): StoredEntry[] {
  if (delivery.kind === 'snapshot') return [...delivery.entries];
  const goneHashes = new Set(delivery.removed.flatMap((r) => (r.hash ? [r.hash.toLowerCase()] : [])));
  const goneIds = new Set(delivery.removed.flatMap((r) => (r.externalId ? [r.externalId] : [])));
  const addedHashes = new Set(delivery.added.map((e) => e.hash.toLowerCase()));
  const kept = current.filter((e) => !goneHashes.has(e.hash) && !(e.externalId && goneIds.has(e.externalId)) && !addedHashes.has(e.hash));
  return [...kept, ...delivery.added];
}

/**
 * Imports every delivery the source has after its checkpoint; returns the versions written.
 * Throws at the first delivery that cannot be used (a SourceError), after the ones before it.
 */
export async function syncSource(
  deps: { pool: Pool; store: ListStore; now?: () => Date; onVersion?: (version: SyncedVersion) => void },
  source: HashListSource,
  target: SyncTarget,
  signal?: AbortSignal,
): Promise<SyncedVersion[]> {
  const written: SyncedVersion[] = [];
  for (;;) {
    if (signal?.aborted) return written;
    const checkpoint = await loadCheckpoint(deps.pool, source.id);
    const delivery = await source.fetch(checkpoint, signal);
    if (!delivery) return written;
    const existing = await deps.store.get(target.name);
    if (existing && existing.algorithm !== source.algorithm) throw new Error(`list ${target.name} holds ${existing.algorithm} hashes, not ${source.algorithm}`);
    const latest = existing?.versions.at(-1);
    if (latest?.sourceSha256 !== delivery.sha256) {
      const entries = applyDelivery(existing ? await deps.store.entries(target.name) : [], delivery);
      const record: ListVersionRecord = {
        version: (latest?.version ?? 0) + 1,
        importedAt: (deps.now?.() ?? new Date()).toISOString(),
        format: delivery.format,
        sourceSha256: delivery.sha256,
        entries: entries.length,
        added: 0,
        removed: 0,
        changed: 0,
      };
      const manifest: ListManifest = {
        name: target.name,
        algorithm: source.algorithm,
        threshold: target.threshold ?? existing?.threshold ?? DEFAULT_THRESHOLDS[source.algorithm],
        action: target.action ?? existing?.action ?? 'quarantine',
        dihedral: isPerceptual(source.algorithm) && (target.dihedral ?? existing?.dihedral ?? source.algorithm === 'pdq'),
        source: `${source.kind}:${source.id}`,
        versions: [...(existing?.versions ?? []), record],
      };
      const stored = await deps.store.putVersion(manifest, entries, []);
      const v = stored.versions.at(-1)!;
      const synced = { version: v.version, label: delivery.label, entries: v.entries, added: v.added, removed: v.removed, changed: v.changed };
      written.push(synced);
      // Reported as written: a later delivery that fails must not hide the versions before it.
      deps.onVersion?.(synced);
    }
    await saveCheckpoint(deps.pool, source, target.name, delivery.checkpoint);
  }
}
