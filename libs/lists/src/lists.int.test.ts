// PgListStore and ListRegistry against real Postgres: versions by interval, diffs applied in
// place to a live registry, the version a match names, and hashlist.updated.v1 in the outbox.

import { createPool, migrate } from '@vigil/db';
import { resolvePostgres } from '@vigil/testkit/services';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ListRegistry } from './list-registry.ts';
import type { ListManifest, StoredEntry } from './list-store.ts';
import { PgListStore } from './pg-list-store.ts';

const postgres = await resolvePostgres('list store integration tests');
const url = postgres.available ? await postgres.service.createDatabase() : '';
const pool = postgres.available ? createPool(url) : (null as never);

/** Synthetic 256-bit values, never real list content. */
const h = (n: number) => n.toString(16).padStart(64, '0');
/** h(n) with its top `bits` bits set. */
const near = (n: number, bits: number) => (BigInt(`0x${h(n)}`) | (((1n << BigInt(bits)) - 1n) << BigInt(256 - bits))).toString(16).padStart(64, '0');

function manifest(name: string, version: number, extra: Partial<ListManifest> = {}): ListManifest {
  return {
    name,
    algorithm: 'pdq',
    threshold: 10,
    action: 'quarantine',
    dihedral: true,
    source: 'test',
    versions: [{ version, importedAt: new Date().toISOString(), format: 'plain', sourceSha256: 'ab'.repeat(32), entries: 0, added: 0, removed: 0, changed: 0 }],
    ...extra,
  };
}

describe.skipIf(!postgres.available)('lists in Postgres', () => {
  const store = postgres.available ? new PgListStore(pool) : (null as never);
  beforeAll(async () => void (await migrate(pool)));
  afterAll(async () => void (await pool?.end()));

  it('writes versions as diffs, counts them from the database, and announces each in the outbox', async () => {
    const v1: StoredEntry[] = [{ hash: h(1), externalId: 'E-1' }, { hash: h(2), externalId: 'E-2' }, { hash: h(3), externalId: 'E-3' }];
    const first = await store.putVersion(manifest('a', 1), v1, []);
    expect(first.versions.at(-1)).toMatchObject({ version: 1, entries: 3, added: 3, removed: 0, changed: 0 });
    const v2: StoredEntry[] = [{ hash: h(2), externalId: 'E-2' }, { hash: h(3), externalId: 'E-3', category: 'csam' }, { hash: h(4), externalId: 'E-4' }];
    const second = await store.putVersion(manifest('a', 2), v2, []);
    expect(second.versions.at(-1)).toMatchObject({ version: 2, entries: 3, added: 1, removed: 1, changed: 1 });

    expect((await store.entries('a', 1)).map((e) => e.externalId)).toEqual(['E-1', 'E-2', 'E-3']);
    expect((await store.entries('a')).map((e) => [e.externalId, e.category])).toEqual([['E-2', undefined], ['E-3', 'csam'], ['E-4', undefined]].map(([id, c]) => [id, c]));
    expect((await store.removed('a', 2)).map((e) => e.externalId)).toEqual(['E-1']);
    expect((await store.get('a'))!.versions.map((v) => v.version)).toEqual([1, 2]);

    const { rows } = await pool.query(`SELECT event->'payload' AS p FROM outbox WHERE type = 'hashlist.updated.v1' AND key = $1 ORDER BY id`, [JSON.stringify(['hashlist', 'a'])]);
    expect(rows.map((r) => r.p)).toMatchObject([
      { listId: 'a', version: 1, previousVersion: null, added: 3, removed: 0 },
      { listId: 'a', version: 2, previousVersion: 1, added: 1, removed: 1 },
    ]);
    expect(JSON.stringify(rows)).not.toContain(h(1));
  });

  it('keeps a running registry current by applying diffs in place, and names the version used', async () => {
    // Pairwise at least 15 bits apart, so each query finds one entry.
    const [A, B, C] = [h(0x10), h(0xff00ff), h(0xf0f0f0f000)];
    await store.putVersion(manifest('r', 1), [{ hash: A, externalId: 'R-10' }, { hash: B, externalId: 'R-11' }], []);
    const registry = new ListRegistry({ pool });
    expect(registry.ready).toBe(false);
    expect(await registry.refresh()).toMatchObject({ loaded: expect.arrayContaining(['r']) });
    expect(registry.ready).toBe(true);

    const hit = registry.match({ pdq: near(0x10, 5) });
    expect(hit.matches.filter((m) => m.listId === 'r')).toEqual([expect.objectContaining({ listId: 'r', listVersion: 1, entryId: 'R-10', distance: 5, variant: 'orig' })]);
    expect(hit.lists).toContainEqual({ listId: 'r', version: 1 });

    await store.putVersion(manifest('r', 2, { threshold: 4 }), [{ hash: B, externalId: 'R-11' }, { hash: C, externalId: 'R-12' }], []);
    const refreshed = await registry.refresh();
    expect(refreshed.updated).toEqual([{ listId: 'r', from: 1, to: 2, added: 1, removed: 1 }]);
    expect(refreshed.loaded).not.toContain('r');
    expect(registry.match({ pdq: A }).matches.filter((m) => m.listId === 'r')).toEqual([]);
    expect(registry.match({ pdq: C }).matches.filter((m) => m.listId === 'r')).toEqual([expect.objectContaining({ listVersion: 2, entryId: 'R-12', distance: 0 })]);
    // The new threshold (4) applies without a reload.
    expect(registry.match({ pdq: near(0xff00ff, 5) }).matches.filter((m) => m.listId === 'r')).toEqual([]);
    expect(registry.loaded().find((l) => l.listId === 'r')).toMatchObject({ version: 2, entries: 2, threshold: 4 });
    expect(registry.loaded().find((l) => l.listId === 'r')!.indexBytes).toBeGreaterThan(0);

    await pool.query(`UPDATE hash_lists SET enabled = false WHERE id = 'r'`);
    expect((await registry.refresh()).dropped).toEqual(['r']);
    expect(registry.match({ pdq: C }).lists.map((l) => l.listId)).not.toContain('r');
  });

  it('holds entries the circuit breaker suspended out of matching until a person reinstates them', async () => {
    const [A, B] = [h(0x5a5a), h(0xa5a5a5a5a5)];
    await store.putVersion(manifest('s', 1), [{ hash: A, externalId: 'S-1', category: 'csam' }, { hash: B, externalId: 'S-2' }], []);
    const running = new ListRegistry({ pool });
    await running.refresh();
    const hits = (registry: ListRegistry, pdq: string) => registry.match({ pdq }).matches.filter((m) => m.listId === 's').map((m) => m.entryId);
    expect(hits(running, A)).toEqual(['S-1']);

    const { rows } = await pool.query<{ id: string }>(
      `INSERT INTO entry_suspensions (list_id, algorithm, hash, entry_id, list_version, hits, baseline, hit_limit)
       VALUES ('s', 'pdq', decode($1, 'hex'), 'S-1', 1, 400, 2, 50) RETURNING id`,
      [A],
    );
    // A running scanner drops it at its next refresh; a scanner starting now never loads it.
    expect((await running.refresh()).suspended).toEqual([{ listId: 's', hashes: 1 }]);
    expect(hits(running, A)).toEqual([]);
    expect(hits(running, near(0x5a5a, 3))).toEqual([]);
    expect(hits(running, B)).toEqual(['S-2']);
    expect(running.loaded().find((l) => l.listId === 's')).toMatchObject({ entries: 1, suspended: 1 });
    const starting = new ListRegistry({ pool });
    await starting.refresh();
    expect(hits(starting, A)).toEqual([]);

    // A new version that keeps the entry does not bring it back while it is suspended.
    await store.putVersion(manifest('s', 2), [{ hash: A, externalId: 'S-1', category: 'csam' }, { hash: B, externalId: 'S-2b' }], []);
    await running.refresh();
    expect(hits(running, A)).toEqual([]);
    expect(hits(running, B)).toEqual(['S-2b']);

    await pool.query(
      `UPDATE entry_suspensions SET status = 'reinstated', decided_at = now(), decided_by = 'reviewer', decision_reason = 'verified' WHERE id = $1`,
      [rows[0]!.id],
    );
    expect((await running.refresh()).reinstated).toEqual([{ listId: 's', hashes: 1 }]);
    expect(running.match({ pdq: A }).matches.filter((m) => m.listId === 's')).toEqual([expect.objectContaining({ entryId: 'S-1', category: 'csam', listVersion: 2 })]);
    expect(running.loaded().find((l) => l.listId === 's')).toMatchObject({ entries: 2, suspended: 0 });
  });

  it('matches exact-digest lists and takes the list category for entries without one', async () => {
    await store.putVersion(manifest('md5s', 1, { algorithm: 'md5', threshold: 0, dihedral: false }), [{ hash: 'a'.repeat(32), externalId: 'M-1' }], []);
    await pool.query(`UPDATE hash_lists SET category = 'csam' WHERE id = 'md5s'`);
    const registry = new ListRegistry({ pool });
    await registry.refresh();
    expect(registry.match({ md5: 'A'.repeat(32) }).matches).toEqual([expect.objectContaining({ listId: 'md5s', variant: 'exact', distance: 0, category: 'csam', entryId: 'M-1' })]);
  });
});
