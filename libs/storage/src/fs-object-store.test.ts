import { mkdtemp, readdir, rm, writeFile, realpath } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, relative, sep } from 'node:path';
import { Readable } from 'node:stream';
import { afterAll, describe, expect, it } from 'vitest';
import { FsObjectStore } from './fs-object-store.ts';
import { bytesOf, expectStoreError, md5Hex, objectStoreContract, patternBytes } from './object-store.contract.ts';
import { keyToPath } from './key-path.ts';

const roots: string[] = [];
async function tempRoot(): Promise<string> {
  const root = await mkdtemp(join(tmpdir(), 'vigil-fs-store-'));
  roots.push(root);
  return root;
}
afterAll(async () => {
  await Promise.all(roots.map((root) => rm(root, { recursive: true, force: true })));
});

/** A clock that follows real time plus whatever the test skipped ahead. */
function fakeClock() {
  let offset = 0;
  return {
    now: () => new Date(Date.now() + offset),
    passTime: async (date: Date) => {
      offset = Math.max(offset, date.getTime() - Date.now() + 1);
    },
  };
}

objectStoreContract('FsObjectStore', async () => {
  const clock = fakeClock();
  const store = new FsObjectStore({ root: await tempRoot(), now: clock.now });
  return {
    store,
    capabilities: { versioning: true, enforcesObjectLock: true, conditionalWrites: true, tagsOnWrite: true, keyFidelity: true },
    passTime: clock.passTime,
    close: () => store.close(),
  };
});

async function filesUnder(dir: string): Promise<string[]> {
  const out: string[] = [];
  for (const entry of await readdir(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) out.push(path, ...(await filesUnder(path)));
    else out.push(path);
  }
  return out;
}

describe('FsObjectStore', () => {
  it('keeps hostile keys inside the bucket and round-trips them', async () => {
    const root = await tempRoot();
    const store = new FsObjectStore({ root, fsync: false });
    await store.ensureBucket('bk1');
    await store.ensureBucket('bk2');
    const hostile = ['../../../outside', '..', '.', '../b2/keys/x', 'a/../../b', '/abs/path', '\\..\\win', '%2e%2e/x', 'nul\u0000byte', 'con', 'x/./y', 'x/../y', '....//'];
    for (const key of hostile) await store.put({ bucket: 'bk1', key }, bytesOf(key));
    const bucketKeys = await realpath(join(root, 'buckets', 'bk1', 'keys'));
    for (const path of await filesUnder(root)) {
      const rel = relative(root, path);
      expect(rel.startsWith('..')).toBe(false);
      if (rel.startsWith(join('buckets', 'bk1', 'keys') + sep)) expect((await realpath(path)).startsWith(bucketKeys + sep)).toBe(true);
    }
    // Nothing landed in the neighbouring bucket or next to the root.
    expect(await readdir(join(root, 'buckets', 'bk2', 'keys'))).toEqual([]);
    expect((await readdir(root)).sort()).toEqual(['buckets', 'tmp']);
    for (const key of hostile) {
      const { bytes, info } = await store.getBytes({ bucket: 'bk1', key }, { maxBytes: 100 });
      expect(info.key).toBe(key);
      expect(new TextDecoder().decode(bytes)).toBe(key);
    }
    const listed = [];
    for await (const item of store.list('bk1')) listed.push(item.key);
    expect(listed).toEqual([...hostile].sort((a, b) => Buffer.compare(Buffer.from(a), Buffer.from(b))));
  });

  it('maps keys to names that differ only where keys differ (case, dots, long segments)', () => {
    expect(keyToPath('A')).not.toBe(keyToPath('a'));
    expect(keyToPath('..')).toBe('o%2e%2e');
    expect(keyToPath('a/b')).toBe('da/ob');
    for (const name of keyToPath('k'.repeat(1024)).split('/')) expect(Buffer.byteLength(name)).toBeLessThan(255);
    for (const name of keyToPath('日'.repeat(341)).split('/')) expect(Buffer.byteLength(name)).toBeLessThan(255);
  });

  it('lists in UTF-8 byte order across folders, long segments and characters around "/"', async () => {
    const store = new FsObjectStore({ root: await tempRoot(), fsync: false });
    await store.ensureBucket('order');
    const alphabet = ['a', 'b', '/', '-', '.', '!', '0', 'Z', 'é', '日', '😀', ' ', '~', '\u007f'];
    const random = patternBytes(4000, 42);
    const keys = new Set<string>(['a', 'a/', 'a/b', 'a-b', 'a.b', 'a0', 'a!', 'x'.repeat(80), 'x'.repeat(79), 'x'.repeat(81), `${'x'.repeat(80)}/y`, `${'x'.repeat(160)}-`]);
    for (let i = 0; keys.size < 300; i += 7) {
      const length = 1 + (random[i]! % 6);
      let key = '';
      for (let j = 0; j < length; j++) key += alphabet[random[(i + j) % random.length]! % alphabet.length];
      keys.add(key);
    }
    for (const key of keys) await store.put({ bucket: 'order', key }, bytesOf('x'));
    const expected = [...keys].sort((a, b) => Buffer.compare(Buffer.from(a), Buffer.from(b)));
    const listed: string[] = [];
    for await (const item of store.list('order')) listed.push(item.key);
    expect(listed).toEqual(expected);
    // Resuming from every position, and every prefix, agrees with the sorted list.
    for (const after of expected.filter((_, i) => i % 17 === 0)) {
      const rest: string[] = [];
      for await (const item of store.list('order', { startAfter: after })) rest.push(item.key);
      expect(rest).toEqual(expected.filter((k) => Buffer.compare(Buffer.from(k), Buffer.from(after)) > 0));
    }
    for (const prefix of ['a', 'a/', 'x'.repeat(80), 'é', '/', '-']) {
      const hits: string[] = [];
      for await (const item of store.list('order', { prefix })) hits.push(item.key);
      expect(hits).toEqual(expected.filter((k) => k.startsWith(prefix)));
    }
  });

  it('survives a restart: objects, versions, tags and locks are on disk', async () => {
    const root = await tempRoot();
    const first = new FsObjectStore({ root });
    await first.ensureBucket('vault', { objectLock: true });
    const put = await first.put({ bucket: 'vault', key: 'e/1' }, bytesOf('evidence'), {
      retention: { mode: 'COMPLIANCE', retainUntil: new Date(Date.now() + 3_600_000) },
      tags: { case: '42' },
    });
    await first.put({ bucket: 'vault', key: 'e/1' }, bytesOf('newer'));
    await first.close();
    const second = new FsObjectStore({ root });
    const ref = { bucket: 'vault', key: 'e/1', versionId: put.versionId! };
    expect(new TextDecoder().decode((await second.getBytes(ref, { maxBytes: 100 })).bytes)).toBe('evidence');
    expect(await second.getTags(ref)).toEqual({ case: '42' });
    await expectStoreError(second.delete(ref), 'locked');
    await expectStoreError(second.deleteAllVersions('vault', 'e/1'), 'locked');
    // The unlocked newer version went; the locked one stays.
    expect((await second.head({ bucket: 'vault', key: 'e/1' }))?.versionId).toBe(put.versionId);
  });

  it('a closed store refuses work', async () => {
    const store = new FsObjectStore({ root: await tempRoot() });
    await store.ensureBucket('bk1');
    await store.close();
    await expectStoreError(store.put({ bucket: 'bk1', key: 'k' }, bytesOf('x')), 'invalid');
  });

  it('readers see the old object or the new one during overwrites, never a mix', async () => {
    const store = new FsObjectStore({ root: await tempRoot(), fsync: false });
    await store.ensureBucket('bk1');
    const versions = Array.from({ length: 6 }, (_, i) => patternBytes(256 * 1024, i + 1));
    const digests = new Set(versions.map(md5Hex));
    await store.put({ bucket: 'bk1', key: 'hot' }, versions[0]!);
    let writing = true;
    const writer = (async () => {
      for (let round = 0; round < 30; round++) await store.put({ bucket: 'bk1', key: 'hot' }, versions[round % versions.length]!);
      writing = false;
    })();
    let reads = 0;
    while (writing) {
      const { info, bytes } = await store.getBytes({ bucket: 'bk1', key: 'hot' }, { maxBytes: 1024 * 1024 });
      expect(digests.has(md5Hex(bytes))).toBe(true);
      expect(info.etag).toBe(md5Hex(bytes));
      reads += 1;
    }
    await writer;
    expect(reads).toBeGreaterThan(0);
  });

  it('ignores crash debris: a blob whose record never landed', async () => {
    const root = await tempRoot();
    const store = new FsObjectStore({ root, fsync: false });
    await store.ensureBucket('bk1');
    await store.put({ bucket: 'bk1', key: 'k' }, bytesOf('real'));
    const node = join(root, 'buckets', 'bk1', 'keys', keyToPath('k'));
    await writeFile(join(node, '99999999999999000000ffffffffff.blob'), 'torn');
    await writeFile(join(root, 'buckets', 'bk1', 'keys', keyToPath('other')), 'junk');
    expect(new TextDecoder().decode((await store.getBytes({ bucket: 'bk1', key: 'k' }, { maxBytes: 10 })).bytes)).toBe('real');
    const listed = [];
    for await (const item of store.list('bk1')) listed.push(item.key);
    expect(listed).toEqual(['k']);
    await store.delete({ bucket: 'bk1', key: 'k' });
    expect(await readdir(join(root, 'buckets', 'bk1', 'keys'))).toEqual([keyToPath('other')]);
  });

  it('serializes concurrent creates: exactly one ifNoneMatch put wins', async () => {
    const store = new FsObjectStore({ root: await tempRoot(), fsync: false });
    await store.ensureBucket('bk1');
    const results = await Promise.allSettled(
      Array.from({ length: 8 }, (_, i) => store.put({ bucket: 'bk1', key: 'once' }, Readable.from([Buffer.from(`writer ${i}`)]), { ifNoneMatch: '*' })),
    );
    expect(results.filter((r) => r.status === 'fulfilled')).toHaveLength(1);
    for (const r of results) if (r.status === 'rejected') expect(r.reason).toMatchObject({ code: 'precondition_failed' });
  });

  it('GOVERNANCE retention can be upgraded to COMPLIANCE but not cut; expired retention frees the version', async () => {
    let now = new Date('2030-01-01T00:00:00Z');
    const store = new FsObjectStore({ root: await tempRoot(), fsync: false, now: () => now });
    await store.ensureBucket('vault', { objectLock: true });
    const put = await store.put({ bucket: 'vault', key: 'k' }, bytesOf('x'), { retention: { mode: 'GOVERNANCE', retainUntil: new Date('2030-01-02T00:00:00Z') } });
    const ref = { bucket: 'vault', key: 'k', versionId: put.versionId! };
    await expectStoreError(store.putRetention(ref, { mode: 'GOVERNANCE', retainUntil: new Date('2030-01-01T12:00:00Z') }), 'locked');
    await store.putRetention(ref, { mode: 'COMPLIANCE', retainUntil: new Date('2030-01-02T00:00:00Z') });
    await expectStoreError(store.putRetention(ref, { mode: 'COMPLIANCE', retainUntil: new Date('2029-12-31T00:00:00Z') }), 'invalid');
    now = new Date('2030-01-03T00:00:00Z');
    expect(await store.deleteAllVersions('vault', 'k')).toBe(1);
  });
});
