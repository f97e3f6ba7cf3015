// The trusted-reporter corpus lookup: exact digests and near PDQ (rotated copies too) answered
// from stored hashes with each object's state, limited to the caller's tenants, never a byte
// read, and every query in the audit log.

import type { Pool } from '@vigil/db';
import type { ObjectRef, ObjectInfo } from '@vigil/storage';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { flip, openPool, postgres, putList, quarantineMatch, randomHash, storeContent } from '../test/support.ts';
import { createCorpusLookup } from './corpus-lookup.ts';
import { hitLimit, trippedEntries } from './retro/breaker.ts';
import { runRetroMatch } from './retro/retro-match.ts';

describe('circuit breaker rule', () => {
  it('trips only entries above max(minHits, factor x baseline)', () => {
    expect(hitLimit(1, { minHits: 50, factor: 20 })).toBe(50);
    expect(hitLimit(4, { minHits: 50, factor: 20 })).toBe(80);
    expect(hitLimit(Number.NaN, { minHits: 3, factor: 2 })).toBe(3);
    const hits = new Map([['a', 81], ['b', 80], ['c', 500]]);
    expect(trippedEntries(hits, 4, { minHits: 50, factor: 20 })).toEqual([{ key: 'c', hits: 500, limit: 80 }, { key: 'a', hits: 81, limit: 80 }]);
  });
});

describe.skipIf(!postgres.available)('corpus lookup', () => {
  let pool: Pool;
  beforeAll(async () => void (pool = await openPool()));
  afterAll(async () => void (await pool?.end()));

  it('answers which objects match and their state, per query, within the caller tenants, and audits it', async () => {
    const listed = randomHash();
    const md5 = randomHash().slice(0, 32);
    const rotated = Array.from({ length: 7 }, randomHash);
    rotated[1] = flip(listed, 3); // rot180
    await storeContent(pool, { key: 'q/quarantined.jpg', pdq: listed });
    await storeContent(pool, { key: 'q/rotated.jpg', pdq: randomHash(), dihedral: rotated });
    await storeContent(pool, { key: 'q/gone.jpg', pdq: flip(listed, 8) });
    await storeContent(pool, { key: 'q/other-tenant.jpg', tenantId: 'tenant-b', pdq: listed });
    await storeContent(pool, { key: 'q/digest.bin', md5 });
    const v = await putList(pool, 'corpus-list', [{ hash: listed }]);
    await runRetroMatch({ pool }, { listId: 'corpus-list', ...v });
    const { rows: [match] } = await pool.query(`SELECT id FROM matches WHERE object_key = 'q/quarantined.jpg'`);
    await quarantineMatch(pool, match.id);

    const heads: ObjectRef[] = [];
    const store = {
      async head(ref: ObjectRef): Promise<ObjectInfo | null> {
        heads.push(ref);
        return ref.key === 'q/gone.jpg' ? null : ({ bucket: ref.bucket, key: ref.key, size: 1000 } as ObjectInfo);
      },
    };
    const lookup = createCorpusLookup({ pool, store });
    const results = await lookup([{ pdq: listed }, { md5 }, { sha256: randomHash() }], { actor: 'token:arachnid', requestId: 'req-1', tenants: ['tenant-a'] });
    expect(results[0]!.objects.map((o) => [o.key, o.state, o.distance, o.variant])).toEqual([
      ['q/quarantined.jpg', 'quarantined', 0, 'orig'],
      ['q/rotated.jpg', 'live', 3, 'rot180'],
      ['q/gone.jpg', 'removed', 8, 'orig'],
    ]);
    expect(results[1]!.objects).toEqual([expect.objectContaining({ key: 'q/digest.bin', state: 'live', algorithm: 'md5', distance: 0 })]);
    expect(results[2]!.objects).toEqual([]);
    expect(heads.map((h) => h.key).sort()).toEqual(['q/digest.bin', 'q/gone.jpg', 'q/rotated.jpg']);

    const { rows: audit } = await pool.query(`SELECT actor, subject_id, details FROM audit_log WHERE action = 'corpus.lookup'`);
    expect(audit).toEqual([{ actor: 'token:arachnid', subject_id: 'req-1', details: expect.objectContaining({ queries: 3, matchedObjects: 4 }) }]);
    expect(JSON.stringify(audit)).not.toContain(listed);

    const everyone = await lookup([{ pdq: listed }], { actor: 'token:iwf', requestId: 'req-2', tenants: '*' });
    expect(everyone[0]!.objects.map((o) => o.tenantId).sort()).toEqual(['tenant-a', 'tenant-a', 'tenant-a', 'tenant-b']);
  });
});
