// The trusted-reporter lookup (C3P's Project Arachnid, IWF): a batch of hashes in, which hosted
// objects match and their current state (live, quarantined, removed) out, answered from the
// stored content hashes: never the bytes, never a fetch. Every query is written to the audit log
// with who asked and what was found. Exact digests go through the content_hashes indexes; PDQ
// and blockhash queries are indexed (the small side) and the stored corpus streamed past them.

import { appendAudit, type Pool } from '@vigil/db';
import { PDQ_QUALITY_FLOOR } from '@vigil/hashing';
import type { ObjectStore } from '@vigil/storage';
import { readCorpusPage } from './retro/corpus-pages.ts';
import { DeltaIndex, type DeltaEntry } from './retro/delta-index.ts';
import type { CorpusLookupContext, CorpusObjectView, ObjectState } from '@vigil/gateway';

export interface CorpusQuery {
  pdq?: string;
  blockhash?: string;
  md5?: string;
  sha1?: string;
  sha256?: string;
}

// The gateway's port types: this is its implementation, so the shapes are defined once, there.
export type { CorpusLookupContext, ObjectState };
export type CorpusObject = CorpusObjectView;

export interface CorpusLookupDeps {
  pool: Pool;
  /** Checks whether a matched object still exists (metadata only; bytes are never read). */
  store?: Pick<ObjectStore, 'head'>;
  /** Hamming radius per perceptual algorithm (defaults: PDQ 31, blockhash 8). */
  radius?: { pdq?: number; blockhash?: number };
  pageSize?: number;
}

export type CorpusLookup = (queries: CorpusQuery[], context: CorpusLookupContext) => Promise<Array<{ objects: CorpusObject[] }>>;

const EXACT = ['sha256', 'sha1', 'md5'] as const;

interface Hit {
  query: number;
  contentId: string;
  algorithm: string;
  distance: number;
  variant: string;
}

export function createCorpusLookup(deps: CorpusLookupDeps): CorpusLookup {
  return async (queries, context) => {
    const hits: Hit[] = [];
    for (const algorithm of EXACT) {
      const asked = queries.map((q, i) => [i, q[algorithm]] as const).filter((pair): pair is readonly [number, string] => pair[1] !== undefined);
      if (asked.length === 0) continue;
      const { rows } = await deps.pool.query<{ id: string; value: string }>(
        `SELECT id, encode(${algorithm}, 'hex') AS value FROM content_hashes WHERE ${algorithm} = ANY($1::bytea[])`,
        [asked.map(([, hex]) => Buffer.from(hex, 'hex'))],
      );
      for (const row of rows) {
        for (const [i, hex] of asked) if (hex.toLowerCase() === row.value) hits.push({ query: i, contentId: row.id, algorithm, distance: 0, variant: 'exact' });
      }
    }
    for (const algorithm of ['pdq', 'blockhash'] as const) {
      const asked = queries.map((q, i) => [i, q[algorithm]] as const).filter((pair): pair is readonly [number, string] => pair[1] !== undefined);
      if (asked.length === 0) continue;
      const entries: DeltaEntry[] = asked.map(([, hex]) => ({ hash: hex.toLowerCase() }));
      const radius = deps.radius?.[algorithm] ?? (algorithm === 'pdq' ? 31 : 8);
      const index = new DeltaIndex(entries, { radius, dihedral: algorithm === 'pdq' });
      let after = 0n;
      try {
        for (;;) {
          const page = await readCorpusPage(deps.pool, { algorithm, dihedral: index.dihedral, minPdqQuality: PDQ_QUALITY_FLOOR, after, limit: deps.pageSize ?? 50_000 });
          if (!page) break;
          after = page.lastId;
          for (const hit of await index.matchPage(page)) {
            hits.push({ query: asked[hit.entry]![0], contentId: hit.contentId.toString(), algorithm, distance: hit.distance, variant: hit.variant });
          }
        }
      } finally {
        await index.close();
      }
    }

    const objects = await describeObjects(deps, [...new Set(hits.map((h) => h.contentId))], context.tenants);
    const results = queries.map(() => ({ objects: [] as CorpusObject[] }));
    for (const hit of hits.sort((a, b) => a.distance - b.distance)) {
      const object = objects.get(hit.contentId);
      if (!object) continue;
      const list = results[hit.query]!.objects;
      const same = list.find((o) => o.tenantId === object.tenantId && o.bucket === object.bucket && o.key === object.key && o.versionId === object.versionId);
      if (!same) list.push({ ...object, algorithm: hit.algorithm, distance: hit.distance, variant: hit.variant });
    }
    const matched = results.flatMap((r) => r.objects);
    await appendAudit(deps.pool, {
      actor: context.actor,
      action: 'corpus.lookup',
      subjectType: 'corpus_lookup',
      subjectId: context.requestId,
      details: {
        queries: queries.length,
        algorithms: Object.fromEntries([...EXACT, 'pdq', 'blockhash'].map((a) => [a, queries.filter((q) => q[a as keyof CorpusQuery] !== undefined).length])),
        matchedObjects: matched.length,
        objects: matched.slice(0, 200).map((o) => ({ tenantId: o.tenantId, bucket: o.bucket, key: o.key, state: o.state })),
      },
    });
    return results;
  };
}

/** Object identity and current state per content row, limited to the caller's tenants. */
async function describeObjects(deps: CorpusLookupDeps, ids: string[], tenants: readonly string[] | '*'): Promise<Map<string, Omit<CorpusObject, 'algorithm' | 'distance' | 'variant'>>> {
  const out = new Map<string, Omit<CorpusObject, 'algorithm' | 'distance' | 'variant'>>();
  if (ids.length === 0) return out;
  const { rows } = await deps.pool.query<{ id: string; tenant_id: string; bucket: string; object_key: string; version_id: string | null; last_seen_at: Date; quarantined: boolean }>(
    `SELECT c.id, c.tenant_id, c.bucket, c.object_key, c.version_id, c.last_seen_at,
            EXISTS (SELECT 1 FROM matches m JOIN quarantine_records q ON q.match_id = m.id
                     WHERE m.tenant_id = c.tenant_id AND m.bucket = c.bucket AND m.object_key = c.object_key AND m.sha256 = c.sha256
                       AND q.status IN ('pending', 'applied')) AS quarantined
       FROM content_hashes c WHERE c.id = ANY($1::bigint[]) AND ($2::text[] IS NULL OR c.tenant_id = ANY($2::text[]))`,
    [ids, tenants === '*' ? null : [...tenants]],
  );
  for (const row of rows) {
    let state: ObjectState = row.quarantined ? 'quarantined' : 'live';
    if (state === 'live' && deps.store) {
      const head = await deps.store.head({ bucket: row.bucket, key: row.object_key, ...(row.version_id !== null && { versionId: row.version_id }) }).catch(() => null);
      if (head === null) state = 'removed';
    }
    out.set(row.id, {
      tenantId: row.tenant_id,
      bucket: row.bucket,
      key: row.object_key,
      ...(row.version_id !== null && { versionId: row.version_id }),
      state,
      lastSeenAt: row.last_seen_at.toISOString(),
    });
  }
  return out;
}
