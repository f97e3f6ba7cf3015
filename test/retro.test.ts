// Hash-list updates end to end on the embedded default's adapters (PostgresBus, FsObjectStore,
// Postgres): benign generated images are uploaded and scanned clean; then `vigil lists import`
// adds the hashes of two of them, and the retro-match finds exactly those two and their
// transformed copies (rotated, resized and recompressed, framed: found through the content
// region the scan stored, as a scan would find it) from the stored hashes, without a single
// read from the object store, and the actioner quarantines them (trigger `retro`, the
// list version named). A later version withdrawing one hash flags exactly its quarantines for
// review (nothing released). A rescan killed midway resumes without skipping or repeating.

import { createHash, randomUUID } from 'node:crypto';
import { mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadRuntimeConfig, main, startRuntime, type Runtime } from '@vigil/cli';
import { silentLogger } from '@vigil/db';
import { createEvent } from '@vigil/events';
import { createHashPool } from '@vigil/hashing';
import { FsObjectStore, type ObjectStore } from '@vigil/storage';
import { encode, naturalScene } from '@vigil/testkit';
import { resolvePostgres } from '@vigil/testkit/services';
import sharp from 'sharp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { waitFor } from './wait-for.ts';

const postgres = await resolvePostgres('retro-matching end-to-end tests');
const REPORTER_SECRET = 'trusted-reporter-secret-for-tests-only';
const ADMIN_SECRET = 'list-admin-secret-for-tests-only';
const sha256hex = (text: string) => createHash('sha256').update(text).digest('hex');

/** Every get/getBytes the services make, by bucket and key: the retro-match must make none. */
function countingStore(inner: ObjectStore): { store: ObjectStore; reads: Array<{ bucket: string; key: string }> } {
  const reads: Array<{ bucket: string; key: string }> = [];
  const store = new Proxy(inner, {
    get(target, prop) {
      const value = Reflect.get(target, prop, target) as unknown;
      if (typeof value !== 'function') return value;
      if (prop === 'get' || prop === 'getBytes') {
        return (ref: { bucket: string; key: string }, ...rest: unknown[]) => {
          reads.push({ bucket: ref.bucket, key: ref.key });
          return (value as (...args: unknown[]) => unknown).call(target, ref, ...rest);
        };
      }
      return (value as (...args: unknown[]) => unknown).bind(target);
    },
  });
  return { store, reads };
}

describe.skipIf(!postgres.available)('hash-list updates: retro-matching, withdrawals and rescans (embedded)', () => {
  let runtime: Runtime;
  let env: NodeJS.ProcessEnv;
  let dir: string;
  let reads: Array<{ bucket: string; key: string }>;
  const bucket = `public-${randomUUID().slice(0, 8)}`;
  const hashes: Record<string, string> = {};
  const quarantineOf = new Map<string, string>();

  const vigil = async (...args: string[]) => {
    const out: string[] = [];
    const err: string[] = [];
    const code = await main(['node', 'vigil', ...args], env, { write: (t) => void out.push(t), writeError: (t) => void err.push(t) });
    return { code, lines: out.join('').split('\n').filter(Boolean), stderr: err.join('') };
  };
  const pool = () => runtime.database.pool;

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'vigil-retro-'));
    env = {
      VIGIL_HOME: dir,
      DATABASE_URL: postgres.available ? await postgres.service.createDatabase() : '',
      VIGIL_HASH_THREADS: '2',
      VIGIL_LIST_REFRESH_MS: '500',
      VIGIL_GATEWAY_PORT: '0',
      VIGIL_METRICS_PORT: '0',
      VIGIL_GATEWAY_TOKENS: JSON.stringify([
        { id: 'arachnid', sha256: sha256hex(REPORTER_SECRET), scopes: ['trusted:lookup'], tenants: ['tenant-e2e'] },
        { id: 'list-admin', sha256: sha256hex(ADMIN_SECRET), scopes: ['lists:admin'], tenants: '*' },
      ]),
    };
    const images: Record<string, Buffer> = {};
    for (const [name, seed] of [['a', 301], ['b', 302], ['c', 303], ['d', 304]] as const) images[name] = await encode(await naturalScene(640, 480, seed), 'jpeg', { quality: 88 });
    images['a-rotated'] = await sharp(images.a!).rotate(90).jpeg({ quality: 85 }).toBuffer();
    images['b-small'] = await sharp(images.b!).resize(320).jpeg({ quality: 70 }).toBuffer();
    // A white frame moves the canonical PDQ about 120 bits: only the content region's hash finds it.
    images['b-framed'] = await sharp(images.b!).extend({ top: 48, bottom: 48, left: 64, right: 64, background: '#ffffff' }).jpeg({ quality: 85 }).toBuffer();
    const hashPool = createHashPool({ threads: 1 });
    for (const name of ['a', 'b', 'c']) {
      const hashed = await hashPool.hash(images[name]!, { mode: 'fast' });
      if (hashed.status !== 'hashed') throw new Error(`image ${name} did not hash: ${JSON.stringify(hashed).slice(0, 300)}`);
      hashes[name] = hashed.hashes.pdq!;
    }
    await hashPool.close();

    const counted = countingStore(new FsObjectStore({ root: join(dir, 'objects'), fsync: false }));
    reads = counted.reads;
    runtime = await startRuntime(loadRuntimeConfig(env), ['scanner', 'actioner', 'hashlists', 'gateway'], env, silentLogger, { store: counted.store });
    await runtime.store.ensureBucket(bucket);
    // Months ago: every image uploaded and scanned, clean (no list knows them yet).
    const events = [];
    for (const name of ['a', 'a-rotated', 'b', 'b-small', 'b-framed', 'd']) {
      const key = `photos/${name}.jpg`;
      await runtime.store.put({ bucket, key }, images[name]!, { contentType: 'image/jpeg' });
      events.push(createEvent(
        'upload.received.v1',
        {
          uploadId: `up-${name}`, source: 'workers', mode: 'async', uploadedAt: new Date().toISOString(),
          object: { tenantId: 'tenant-e2e', bucket, key, size: images[name]!.length, contentType: 'image/jpeg' }, uploader: { accountId: 'acct-e2e' },
        },
        { producer: 'e2e', traceId: randomUUID() },
      ));
    }
    await runtime.bus.publish(events);
    await waitFor(async () => (await pool().query(`SELECT count(*)::int AS n FROM scans WHERE bucket = $1 AND verdict = 'clean'`, [bucket])).rows[0].n === 6, 60_000, 'the six clean scans');
  }, 180_000);

  afterAll(async () => {
    await runtime?.close();
  });

  it('quarantines exactly the listed images and their transformed copies, from stored hashes, with no object read', async () => {
    reads.length = 0;
    const list = join(dir, 'v1.csv');
    // c was never uploaded: its entry finds nothing.
    await writeFile(list, `hash,id,category\n${hashes.a},E2E-A,csam\n${hashes.b},E2E-B,csam\n${hashes.c},E2E-C,csam\n`);
    const imported = await vigil('lists', 'import', list, '--name', 'retro-e2e', '--algo', 'pdq', '--json');
    expect(imported.code).toBe(0);
    const [outcome, ...retroLines] = imported.lines.map((line) => JSON.parse(line));
    expect(outcome).toMatchObject({ status: 'imported', version: { version: 1, added: 3 } });
    expect(retroLines.map((l) => l.object).sort()).toEqual(['a-rotated', 'a', 'b-framed', 'b-small', 'b'].map((n) => `${bucket}/photos/${n}.jpg`).sort());
    for (const line of retroLines) {
      expect(Object.keys(line)).toEqual(['object', 'list', 'version', 'distance']);
      expect(line).toMatchObject({ list: 'retro-e2e', version: 1 });
      expect(line.distance).toBeLessThanOrEqual(31);
    }
    // The retro-match read nothing from the store. (The actioner, running meanwhile, may already
    // be verifying its quarantine copies: those reads are of the quarantine bucket only.)
    expect(reads.filter((r) => r.bucket !== 'vigil-quarantine')).toEqual([]);
    for (const hash of Object.values(hashes)) expect(imported.lines.join('\n') + imported.stderr).not.toContain(hash);

    const records = await waitFor(async () => {
      const { rows } = await pool().query(
        `SELECT q.id, q.object_key, q.status, m.trigger, h.list_version, h.variant, h.query FROM quarantine_records q JOIN matches m ON m.id = q.match_id
           JOIN match_hits h ON h.match_id = m.id AND h.ordinal = 0 WHERE q.bucket = $1 ORDER BY q.object_key`,
        [bucket],
      );
      return rows.length === 5 && rows.every((r) => r.status === 'applied') && rows;
    }, 60_000, 'five applied quarantines');
    expect(records.map((r) => [r.object_key, r.trigger, r.list_version])).toEqual(
      ['a-rotated', 'a', 'b-framed', 'b-small', 'b'].map((n) => [`photos/${n}.jpg`, 'retro', 1]),
    );
    expect(records.find((r) => r.object_key === 'photos/a-rotated.jpg')!.variant).not.toBe('orig');
    expect(records.find((r) => r.object_key === 'photos/b-framed.jpg')!.query).toBe('region');
    for (const r of records) quarantineOf.set(r.object_key, r.id);
    // Each retro match names who uploaded the object months ago (kept with its scan), for the report.
    const { rows: found } = await pool().query(
      `SELECT event->'payload'->'uploader' AS uploader, event->'payload'->>'uploadedAt' AS "uploadedAt" FROM outbox
        WHERE type = 'match.found.v1' AND event->'payload'->'object'->>'bucket' = $1`,
      [bucket],
    );
    expect(found).toHaveLength(5);
    for (const row of found) expect(row).toMatchObject({ uploader: { accountId: 'acct-e2e' }, uploadedAt: expect.any(String) });
    for (const name of ['a', 'a-rotated', 'b', 'b-small', 'b-framed']) expect(await runtime.store.head({ bucket, key: `photos/${name}.jpg` }), name).toBeNull();
    expect(await runtime.store.head({ bucket, key: 'photos/d.jpg' })).not.toBeNull();
    // Nothing was fetched from the public bucket again: the quarantine is a server-side copy,
    // verified by reading the copy itself (the only reads: one per quarantine copy).
    expect(reads.filter((r) => r.bucket === bucket)).toEqual([]);
    const { rows: copies } = await pool().query(`SELECT quarantine_key FROM quarantine_records WHERE bucket = $1`, [bucket]);
    expect(new Set(reads.map((r) => `${r.bucket}/${r.key}`))).toEqual(new Set(copies.map((c) => `vigil-quarantine/${c.quarantine_key}`)));
    // The hashlists role saw the same list version announced and found the run done: one match per object.
    await waitFor(async () => (await pool().query(`SELECT 1 FROM inbox WHERE consumer = 'hashlists-retro'`)).rowCount === 1, 30_000, 'the hashlists consumer');
    expect((await pool().query(`SELECT count(*)::int AS n FROM matches WHERE bucket = $1`, [bucket])).rows[0].n).toBe(5);
  });

  it('flags for review the quarantines resting only on a withdrawn entry, and releases nothing', async () => {
    const list = join(dir, 'v2.csv');
    await writeFile(list, `hash,id,category\n${hashes.a},E2E-A,csam\n${hashes.c},E2E-C,csam\n`);
    const imported = await vigil('lists', 'import', list, '--name', 'retro-e2e', '--algo', 'pdq');
    expect(imported.code).toBe(0);
    expect(imported.lines[0]).toBe('list retro-e2e version 2: 2 entries (against version 1: +0 added, -1 removed, 0 changed)');
    expect(imported.lines[1]).toContain('3 quarantine(s) flagged for review');
    const { rows: flags } = await pool().query(`SELECT quarantine_id, list_version, status FROM quarantine_flags ORDER BY quarantine_id`);
    expect(flags.map((f) => f.quarantine_id).sort()).toEqual(['b', 'b-small', 'b-framed'].map((n) => quarantineOf.get(`photos/${n}.jpg`)).sort());
    expect(flags.every((f) => f.list_version === 2 && f.status === 'open')).toBe(true);
    const { rows: statuses } = await pool().query(`SELECT DISTINCT status FROM quarantine_records WHERE bucket = $1`, [bucket]);
    expect(statuses).toEqual([{ status: 'applied' }]);
    // Surfaced for a person, who keeps one; the other stays open.
    const review = (await vigil('lists', 'review', '--json')).lines.map((l) => JSON.parse(l));
    expect(review.map((r) => [r.kind, r.object, r.status]).sort()).toEqual([
      ['flag', `${bucket}/photos/b-framed.jpg`, 'open'], ['flag', `${bucket}/photos/b-small.jpg`, 'open'], ['flag', `${bucket}/photos/b.jpg`, 'open'],
    ]);
    expect((await vigil('lists', 'flag', review[0].id, '--keep', '--reason', 'checked by a reviewer: still illegal')).code).toBe(0);
    expect((await vigil('lists', 'review', '--json')).lines).toHaveLength(2);
  });

  it('answers a trusted reporter which objects match and their state, audited, and imports a list over HTTP', async () => {
    const post = (path: string, body: string, secret: string, type = 'application/json') =>
      fetch(`${runtime.gatewayUrl}${path}`, { method: 'POST', body, headers: { authorization: `Bearer ${secret}`, 'content-type': type } });
    const lookup = await post('/v1/lookup/corpus', JSON.stringify({ hashes: [{ pdq: hashes.a }, { pdq: hashes.c }] }), REPORTER_SECRET);
    expect(lookup.status).toBe(200);
    const { results } = (await lookup.json()) as { results: Array<{ objects: Array<{ key: string; state: string }> }> };
    expect(results[0]!.objects.map((o) => [o.key, o.state]).sort()).toEqual([
      ['photos/a-rotated.jpg', 'quarantined'], ['photos/a.jpg', 'quarantined'],
    ]);
    expect(results[1]!.objects).toEqual([]);
    const { rows: audit } = await pool().query(`SELECT actor, details->>'matchedObjects' AS n FROM audit_log WHERE action = 'corpus.lookup'`);
    expect(audit).toEqual([{ actor: 'token:arachnid', n: '2' }]);
    expect((await post('/v1/lookup/corpus', JSON.stringify({ hashes: [{ pdq: hashes.a }] }), ADMIN_SECRET)).status).toBe(403);

    const imported = await post('/v1/lists/http-list/versions?algo=pdq', `${hashes.c},HTTP-C\n`, ADMIN_SECRET, 'text/csv');
    expect(imported.status).toBe(201);
    expect(await imported.json()).toEqual({ list: 'http-list', version: 1, entries: 1, added: 1, removed: 0, changed: 0 });
  });

  it('resumes a rescan killed midway without skipping or repeating an object', async () => {
    for (let i = 0; i < 10; i++) await runtime.store.put({ bucket, key: `more/${i}.txt` }, Buffer.from(`not an image ${i}`));
    let runId = '';
    const out: string[] = [];
    const killed = main(['node', 'vigil', 'rescan', '--source', `s3://${bucket}/more/`, '--rate', '3', '--json', '--tenant', 'tenant-e2e'], env, {
      write: (text) => {
        out.push(text);
        const progress = JSON.parse(text);
        runId = progress.runId;
        if (progress.published >= 6) throw new Error('killed midway');
      },
      writeError: () => undefined,
    });
    await expect(killed).rejects.toThrow('killed midway');
    expect(out.map((t) => JSON.parse(t).published)).toEqual([3, 6]);
    const resumed = await vigil('rescan', '--resume', runId, '--json');
    expect(resumed.code).toBe(0);
    expect(resumed.lines.map((l) => JSON.parse(l).published)).toEqual([9, 10]);
    const { rows } = await pool().query(
      `SELECT event->'payload'->'object'->>'key' AS key, count(*)::int AS n FROM outbox
        WHERE type = 'rescan.requested.v1' AND event->'payload'->>'rescanId' = $1 GROUP BY 1 ORDER BY 1`,
      [runId],
    );
    expect(rows).toEqual(Array.from({ length: 10 }, (_, i) => ({ key: `more/${i}.txt`, n: 1 })));
  });
});
