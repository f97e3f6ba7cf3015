// The ObjectStore contract: every adapter (FsObjectStore, S3ObjectStore on MinIO or s3rver) runs
// this suite against its real backend. Each test makes its own buckets. Where a backend cannot do
// something (s3rver: versioning, Object Lock, conditional writes), the harness says so and the
// suite asserts the requests the adapter sent instead, so nothing passes by being skipped quietly.

import { createHash } from 'node:crypto';
import { Readable } from 'node:stream';
import { afterAll, describe, expect, it } from 'vitest';
import { isObjectStoreError, ObjectStoreError, type ObjectStoreErrorCode } from './errors.ts';
import type { BucketOptions, ObjectStore, ObjectSummary } from './object-store.ts';

export interface ObjectStoreCapabilities {
  /** Versions, delete markers, version-specific reads and deletes. */
  readonly versioning: boolean;
  /** Object Lock refuses deletes and retention cuts. Without it, the lock requests are asserted. */
  readonly enforcesObjectLock: boolean;
  /** `ifNoneMatch: '*'` is honoured. Without it, the header is asserted. */
  readonly conditionalWrites: boolean;
  /** Tags given to put/copy are stored. Without it, the header is asserted. */
  readonly tagsOnWrite: boolean;
  /**
   * Every valid key round-trips (empty segments too) and listings are in UTF-8 byte order. s3rver
   * maps keys onto its own directories: it 404s on `a//b` and lists in directory-walk order.
   */
  readonly keyFidelity: boolean;
}

/** One HTTP request an S3 adapter sent, as captured by SDK middleware. */
export interface SentRequest {
  /** The SDK command (`PutObjectCommand`). */
  readonly command: string;
  readonly method: string;
  readonly path: string;
  /** Lowercase header names. */
  readonly headers: Readonly<Record<string, string>>;
  readonly query: Readonly<Record<string, string | null>>;
  /** The body when it is text (XML configurations), else undefined. */
  readonly body: string | undefined;
}

export interface ObjectStoreHarness {
  readonly store: ObjectStore;
  readonly capabilities: ObjectStoreCapabilities;
  /** Requests sent so far (HTTP adapters only); the suite filters them by bucket. */
  readonly requests?: () => readonly SentRequest[];
  /** Resolves once the backend's clock is past `date` (sleeps, or advances a fake clock). */
  passTime(date: Date): Promise<void>;
  close(): Promise<void>;
}

const MiB = 1024 * 1024;

export function bytesOf(text: string): Uint8Array {
  return new TextEncoder().encode(text);
}

export function md5Hex(bytes: Uint8Array): string {
  return createHash('md5').update(bytes).digest('hex');
}

/** Deterministic pseudo-random bytes (so a failure reproduces). */
export function patternBytes(size: number, seed = 1): Uint8Array {
  const out = new Uint8Array(size);
  let x = seed >>> 0 || 1;
  for (let i = 0; i < size; i++) {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    out[i] = x & 0xff;
  }
  return out;
}

/** A stream that yields `bytes` in chunks, with no length known up front. */
export function streamOf(bytes: Uint8Array, chunk = 64 * 1024): Readable {
  return Readable.from(
    (function* () {
      for (let at = 0; at < bytes.length; at += chunk) yield Buffer.from(bytes.subarray(at, at + chunk));
    })(),
  );
}

export async function expectStoreError(promise: Promise<unknown>, code: ObjectStoreErrorCode): Promise<ObjectStoreError> {
  try {
    await promise;
  } catch (error) {
    if (!isObjectStoreError(error)) throw error;
    expect(error.code, error.message).toBe(code);
    return error;
  }
  throw new Error(`expected ObjectStoreError ${code}, but it resolved`);
}

async function collect(iterable: AsyncIterable<ObjectSummary>): Promise<ObjectSummary[]> {
  const out: ObjectSummary[] = [];
  for await (const item of iterable) out.push(item);
  return out;
}

function byteOrder(a: string, b: string): number {
  return Buffer.compare(Buffer.from(a, 'utf8'), Buffer.from(b, 'utf8'));
}

/** Keys only a backend with full key fidelity stores: empty segments, a 300-byte segment. */
export const FIDELITY_KEYS = ['a//double-slash', '/leading-slash', '//', 'x'.repeat(300), `${'é'.repeat(200)}/${'y'.repeat(500)}`];

/**
 * Keys that must round-trip everywhere: S3 allows any UTF-8, and upload keys come from users.
 * (Dot segments are covered by FsObjectStore's own tests: s3rver maps keys to its own paths.)
 */
export const ODD_KEYS = [
  'plain.jpg',
  'x-y',
  'x.y',
  'x/y',
  'x!',
  'with space and + plus.png',
  'percent%20not-decoded',
  'hash#and?query&amp=1',
  'unicode/日本語/ü.jpg',
  'emoji-😀.gif',
  'trailing-slash/',
  'UPPER/lower',
  'upper/lower',
  "quotes'\"<>",
  'semi;colon:comma,',
];

export function objectStoreContract(name: string, createHarness: () => Promise<ObjectStoreHarness>): void {
  describe(`ObjectStore contract: ${name}`, () => {
    let harness: ObjectStoreHarness | undefined;
    let counter = 0;
    const run = `${process.pid.toString(36)}${Date.now().toString(36)}`;

    const setup = async (options: BucketOptions = {}) => {
      harness ??= await createHarness();
      const bucket = `ct-${run}-${counter++}`;
      await harness.store.ensureBucket(bucket, options);
      return { h: harness, store: harness.store, caps: harness.capabilities, bucket };
    };

    /** Requests of this bucket since `from` (HTTP adapters). */
    const sent = (h: ObjectStoreHarness, bucket: string, command: string, from = 0): SentRequest[] =>
      (h.requests?.() ?? []).slice(from).filter((r) => r.command === command && r.path.split('/').includes(bucket));

    afterAll(async () => {
      await harness?.close();
    });

    describe('put, get, head', () => {
      it('round-trips bytes with their description', async () => {
        const { store, bucket } = await setup();
        const bytes = patternBytes(10_000);
        const put = await store.put({ bucket, key: 'a/b.bin' }, bytes, { contentType: 'image/png', metadata: { 'upload-id': 'u1', tenant: 't-9' } });
        expect(put.etag).toBe(md5Hex(bytes));
        const { info, bytes: read } = await store.getBytes({ bucket, key: 'a/b.bin' }, { maxBytes: 10_000 });
        expect(Buffer.from(read).equals(Buffer.from(bytes))).toBe(true);
        expect(info).toMatchObject({ bucket, key: 'a/b.bin', size: 10_000, etag: md5Hex(bytes), contentType: 'image/png' });
        expect(info.metadata).toEqual({ 'upload-id': 'u1', tenant: 't-9' });
        expect(Math.abs(info.lastModified.getTime() - Date.now())).toBeLessThan(120_000);
        const head = await store.head({ bucket, key: 'a/b.bin' });
        expect(head).toMatchObject({ size: 10_000, etag: md5Hex(bytes), contentType: 'image/png', metadata: info.metadata, legalHold: false, retention: null });
      });

      it('defaults the content type and stores empty objects', async () => {
        const { store, bucket } = await setup();
        await store.put({ bucket, key: 'empty' }, new Uint8Array(0));
        const { info, bytes } = await store.getBytes({ bucket, key: 'empty' }, { maxBytes: 0 });
        expect(bytes.length).toBe(0);
        expect(info.size).toBe(0);
        expect(info.contentType).toBe('application/octet-stream');
        expect(info.etag).toBe(md5Hex(new Uint8Array(0)));
      });

      it('streams the body of a get', async () => {
        const { store, bucket } = await setup();
        const bytes = patternBytes(3 * MiB, 7);
        await store.put({ bucket, key: 'big' }, bytes);
        const { info, body } = await store.get({ bucket, key: 'big' }, { maxBytes: 4 * MiB });
        expect(info.size).toBe(3 * MiB);
        let chunks = 0;
        const hash = createHash('md5');
        for await (const chunk of body as AsyncIterable<Buffer>) {
          chunks += 1;
          hash.update(chunk);
        }
        expect(chunks).toBeGreaterThan(1);
        expect(hash.digest('hex')).toBe(md5Hex(bytes));
      });

      it('puts a stream of known length and one of unknown length', async () => {
        const { store, bucket } = await setup();
        const known = patternBytes(300_000, 3);
        const a = await store.put({ bucket, key: 'known' }, streamOf(known), { contentLength: known.length, contentType: 'image/jpeg' });
        expect(a.etag).toBe(md5Hex(known));
        // Larger than one 5 MiB part: the S3 adapter uploads it in parts.
        const unknown = patternBytes(6 * MiB, 4);
        const b = await store.put({ bucket, key: 'unknown' }, streamOf(unknown), { metadata: { k: 'v' } });
        expect(b.etag === md5Hex(unknown) || /^[0-9a-f]{32}-\d+$/.test(b.etag)).toBe(true);
        const readKnown = await store.getBytes({ bucket, key: 'known' }, { maxBytes: known.length });
        expect(md5Hex(readKnown.bytes)).toBe(md5Hex(known));
        expect(readKnown.info.contentType).toBe('image/jpeg');
        const readUnknown = await store.getBytes({ bucket, key: 'unknown' }, { maxBytes: unknown.length });
        expect(md5Hex(readUnknown.bytes)).toBe(md5Hex(unknown));
        expect(readUnknown.info.metadata).toEqual({ k: 'v' });
      });

      it('refuses an object over the cap before reading it', async () => {
        const { store, bucket } = await setup();
        await store.put({ bucket, key: 'k' }, patternBytes(1000));
        const error = await expectStoreError(store.get({ bucket, key: 'k' }, { maxBytes: 999 }), 'too_large');
        expect(error.retriable).toBe(false);
        await expectStoreError(store.getBytes({ bucket, key: 'k' }, { maxBytes: 10 }), 'too_large');
        const exact = await store.getBytes({ bucket, key: 'k' }, { maxBytes: 1000 });
        expect(exact.bytes.length).toBe(1000);
      });

      it('reports what is missing', async () => {
        const { store, bucket } = await setup();
        expect(await store.head({ bucket, key: 'nope' })).toBeNull();
        await expectStoreError(store.get({ bucket, key: 'nope' }, { maxBytes: 10 }), 'not_found');
        await expectStoreError(store.getTags({ bucket, key: 'nope' }), 'not_found');
        await expectStoreError(store.putTags({ bucket, key: 'nope' }, { a: 'b' }), 'not_found');
        const missing = `${bucket}-missing`;
        await expectStoreError(store.head({ bucket: missing, key: 'k' }), 'not_found');
        await expectStoreError(store.get({ bucket: missing, key: 'k' }, { maxBytes: 10 }), 'not_found');
        await expectStoreError(store.put({ bucket: missing, key: 'k' }, bytesOf('x')), 'not_found');
        await expectStoreError(collect(store.list(missing)), 'not_found');
      });

      it('overwrites: the new bytes replace the old', async () => {
        const { store, caps, bucket } = await setup();
        const first = await store.put({ bucket, key: 'k' }, bytesOf('first'));
        const second = await store.put({ bucket, key: 'k' }, bytesOf('second!'), { metadata: { n: '2' } });
        const { info, bytes } = await store.getBytes({ bucket, key: 'k' }, { maxBytes: 100 });
        expect(new TextDecoder().decode(bytes)).toBe('second!');
        expect(info.metadata).toEqual({ n: '2' });
        if (!caps.versioning) {
          expect(first.versionId).toBeNull();
          expect(second.versionId).toBeNull();
          expect(info.versionId).toBeNull();
        }
      });

      it('creates once with ifNoneMatch', async () => {
        const { h, store, caps, bucket } = await setup();
        const mark = h.requests?.().length ?? 0;
        await store.put({ bucket, key: 'once' }, bytesOf('one'), { ifNoneMatch: '*' });
        if (caps.conditionalWrites) {
          await expectStoreError(store.put({ bucket, key: 'once' }, bytesOf('two'), { ifNoneMatch: '*' }), 'precondition_failed');
          await expectStoreError(store.put({ bucket, key: 'once' }, streamOf(bytesOf('three')), { ifNoneMatch: '*' }), 'precondition_failed');
          const { bytes } = await store.getBytes({ bucket, key: 'once' }, { maxBytes: 10 });
          expect(new TextDecoder().decode(bytes)).toBe('one');
        } else {
          const [put] = sent(h, bucket, 'PutObjectCommand', mark);
          expect(put?.headers['if-none-match']).toBe('*');
        }
      });
    });

    describe('tags and metadata', () => {
      it('stores tags given to put', async () => {
        const { h, store, caps, bucket } = await setup();
        const mark = h.requests?.().length ?? 0;
        await store.put({ bucket, key: 'k' }, bytesOf('x'), { tags: { verdict: 'clean', 'list.version': 'pdq:2026-11/1' } });
        if (caps.tagsOnWrite) {
          expect(await store.getTags({ bucket, key: 'k' })).toEqual({ verdict: 'clean', 'list.version': 'pdq:2026-11/1' });
        } else {
          const [put] = sent(h, bucket, 'PutObjectCommand', mark);
          expect(new URLSearchParams(put?.headers['x-amz-tagging'] ?? '').get('list.version')).toBe('pdq:2026-11/1');
        }
      });

      it('replaces the tag set with putTags', async () => {
        const { store, bucket } = await setup();
        await store.put({ bucket, key: 'k' }, bytesOf('x'));
        expect(await store.getTags({ bucket, key: 'k' })).toEqual({});
        await store.putTags({ bucket, key: 'k' }, { a: '1', b: 'two words' });
        expect(await store.getTags({ bucket, key: 'k' })).toEqual({ a: '1', b: 'two words' });
        await store.putTags({ bucket, key: 'k' }, { c: '3' });
        expect(await store.getTags({ bucket, key: 'k' })).toEqual({ c: '3' });
      });

      it('refuses invalid names, keys, tags and metadata', async () => {
        const { store, bucket } = await setup();
        await expectStoreError(store.ensureBucket('Bad_Bucket'), 'invalid');
        await expectStoreError(store.ensureBucket('../escape'), 'invalid');
        await expectStoreError(store.put({ bucket: '..', key: 'k' }, bytesOf('x')), 'invalid');
        await expectStoreError(store.put({ bucket, key: '' }, bytesOf('x')), 'invalid');
        await expectStoreError(store.put({ bucket, key: 'k'.repeat(1025) }, bytesOf('x')), 'invalid');
        await expectStoreError(store.put({ bucket, key: 'lone-\ud800' }, bytesOf('x')), 'invalid');
        await expectStoreError(store.put({ bucket, key: 'k' }, bytesOf('x'), { metadata: { 'Bad Name': 'v' } }), 'invalid');
        await expectStoreError(store.put({ bucket, key: 'k' }, bytesOf('x'), { metadata: { ok: 'naïve' } }), 'invalid');
        const eleven = Object.fromEntries(Array.from({ length: 11 }, (_, i) => [`t${i}`, 'v']));
        await expectStoreError(store.put({ bucket, key: 'k' }, bytesOf('x'), { tags: eleven }), 'invalid');
        await expectStoreError(store.put({ bucket, key: 'k' }, bytesOf('xyz'), { contentLength: 2 }), 'invalid');
        await expectStoreError(store.get({ bucket, key: 'k' }, { maxBytes: -1 }), 'invalid');
        await expectStoreError(collect(store.list(bucket, { pageSize: 0 })), 'invalid');
        expect(await store.head({ bucket, key: 'k' })).toBeNull();
      });
    });

    describe('copy', () => {
      it('copies server-side, within and across buckets, keeping metadata and content type', async () => {
        const { store, bucket } = await setup();
        const { bucket: other } = await setup();
        const bytes = patternBytes(50_000, 9);
        await store.put({ bucket, key: 'src/a.jpg' }, bytes, { contentType: 'image/jpeg', metadata: { 'upload-id': 'u7' } });
        const same = await store.copy({ bucket, key: 'src/a.jpg' }, { bucket, key: 'dst/a.jpg' });
        const cross = await store.copy({ bucket, key: 'src/a.jpg' }, { bucket: other, key: 'quarantine/a.jpg' });
        expect(same.etag).toBe(md5Hex(bytes));
        expect(cross.etag).toBe(md5Hex(bytes));
        for (const ref of [
          { bucket, key: 'dst/a.jpg' },
          { bucket: other, key: 'quarantine/a.jpg' },
        ]) {
          const { info, bytes: read } = await store.getBytes(ref, { maxBytes: bytes.length });
          expect(md5Hex(read)).toBe(md5Hex(bytes));
          expect(info.contentType).toBe('image/jpeg');
          expect(info.metadata).toEqual({ 'upload-id': 'u7' });
        }
        expect(await store.head({ bucket, key: 'src/a.jpg' })).not.toBeNull();
      });

      it('replaces metadata, content type and tags when asked', async () => {
        const { h, store, caps, bucket } = await setup();
        await store.put({ bucket, key: 'src' }, bytesOf('payload'), { contentType: 'image/gif', metadata: { a: '1' } });
        await store.putTags({ bucket, key: 'src' }, { origin: 'public' });
        const mark = h.requests?.().length ?? 0;
        await store.copy({ bucket, key: 'src' }, { bucket, key: 'dst' }, { metadata: { b: '2' }, tags: { state: 'quarantined' } });
        const info = await store.head({ bucket, key: 'dst' });
        expect(info?.metadata).toEqual({ b: '2' });
        expect(info?.contentType).toBe('image/gif');
        await store.copy({ bucket, key: 'src' }, { bucket, key: 'dst2' }, { contentType: 'image/webp' });
        const second = await store.head({ bucket, key: 'dst2' });
        expect(second?.contentType).toBe('image/webp');
        expect(second?.metadata).toEqual({ a: '1' });
        if (caps.tagsOnWrite) {
          expect(await store.getTags({ bucket, key: 'dst' })).toEqual({ state: 'quarantined' });
          expect(await store.getTags({ bucket, key: 'dst2' })).toEqual({ origin: 'public' });
        } else {
          const [copy] = sent(h, bucket, 'CopyObjectCommand', mark);
          expect(copy?.headers['x-amz-tagging-directive']).toBe('REPLACE');
          expect(copy?.headers['x-amz-tagging']).toBe('state=quarantined');
          expect(copy?.headers['x-amz-metadata-directive']).toBe('REPLACE');
        }
      });

      it('fails on a missing source', async () => {
        const { store, bucket } = await setup();
        await expectStoreError(store.copy({ bucket, key: 'absent' }, { bucket, key: 'dst' }), 'not_found');
        expect(await store.head({ bucket, key: 'dst' })).toBeNull();
      });
    });

    describe('delete', () => {
      it('deletes idempotently', async () => {
        const { store, caps, bucket } = await setup();
        await store.put({ bucket, key: 'gone' }, bytesOf('x'));
        const result = await store.delete({ bucket, key: 'gone' });
        if (!caps.versioning) expect(result).toEqual({ versionId: null, deleteMarker: false });
        expect(await store.head({ bucket, key: 'gone' })).toBeNull();
        await expectStoreError(store.get({ bucket, key: 'gone' }, { maxBytes: 10 }), 'not_found');
        await store.delete({ bucket, key: 'gone' });
        await store.delete({ bucket, key: 'never-was' });
        await expectStoreError(store.delete({ bucket: `${bucket}-missing`, key: 'k' }), 'not_found');
      });

      it('deleteAllVersions removes the object and counts what it removed', async () => {
        const { store, bucket } = await setup();
        await store.put({ bucket, key: 'pub/x' }, bytesOf('x'));
        await store.put({ bucket, key: 'pub/x-longer' }, bytesOf('neighbour'));
        expect(await store.deleteAllVersions(bucket, 'pub/x')).toBe(1);
        expect(await store.head({ bucket, key: 'pub/x' })).toBeNull();
        expect(await store.head({ bucket, key: 'pub/x-longer' })).not.toBeNull();
        expect(await store.deleteAllVersions(bucket, 'pub/x')).toBe(0);
      });
    });

    describe('list', () => {
      it('lists current objects in key order, a page at a time, with prefix and startAfter', async () => {
        const { h, store, caps, bucket } = await setup();
        const keys = [
          ...Array.from({ length: 23 }, (_, i) => `scan/2026/${String(i).padStart(3, '0')}.jpg`),
          'scan/2026/',
          'scan0',
          'other/x',
          'scan/2026/Z',
          'scan/2027/a',
          // Characters that sort before '/': only byte order puts these right.
          ...(caps.keyFidelity ? ['scan!', 'scan/2026-summary', 'scan/2026.txt'] : []),
        ];
        for (const [i, key] of keys.entries()) await store.put({ bucket, key }, patternBytes(i + 1, i + 1));
        await store.delete({ bucket, key: 'scan/2026/005.jpg' });
        const mark = h.requests?.().length ?? 0;
        const all = await collect(store.list(bucket, { pageSize: 4 }));
        const expected = keys.filter((k) => k !== 'scan/2026/005.jpg').sort(byteOrder);
        expect(all.map((o) => o.key)).toEqual(expected);
        if (h.requests) {
          // It really paged: one request per 4 keys.
          expect(sent(h, bucket, 'ListObjectsV2Command', mark).length).toBeGreaterThanOrEqual(Math.ceil(expected.length / 4));
        }
        const first = all.find((o) => o.key === 'scan/2026/000.jpg');
        expect(first).toMatchObject({ bucket, size: 1, etag: md5Hex(patternBytes(1, 1)) });
        expect(first?.lastModified).toBeInstanceOf(Date);

        const prefixed = await collect(store.list(bucket, { prefix: 'scan/2026/', pageSize: 5 }));
        expect(prefixed.map((o) => o.key)).toEqual(expected.filter((k) => k.startsWith('scan/2026/')));
        const resumed = await collect(store.list(bucket, { prefix: 'scan/', startAfter: 'scan/2026/010.jpg', pageSize: 3 }));
        expect(resumed.map((o) => o.key)).toEqual(expected.filter((k) => k.startsWith('scan/') && byteOrder(k, 'scan/2026/010.jpg') > 0));
        expect(await collect(store.list(bucket, { prefix: 'none/' }))).toEqual([]);
      });

      it('round-trips odd keys through put, get, list and delete', async () => {
        const { store, caps, bucket } = await setup();
        const keys = caps.keyFidelity ? [...ODD_KEYS, ...FIDELITY_KEYS] : ODD_KEYS;
        for (const key of keys) await store.put({ bucket, key }, bytesOf(key));
        for (const key of keys) {
          const { info, bytes } = await store.getBytes({ bucket, key }, { maxBytes: 10_000 });
          expect(info.key).toBe(key);
          expect(new TextDecoder().decode(bytes)).toBe(key);
        }
        const listed = (await collect(store.list(bucket))).map((o) => o.key);
        // Without key fidelity the order is the backend's own; the set must still be exact.
        expect(caps.keyFidelity ? listed : [...listed].sort(byteOrder)).toEqual([...keys].sort(byteOrder));
        for (const key of keys) await store.delete({ bucket, key });
        expect(await collect(store.list(bucket))).toEqual([]);
      });
    });

    describe('buckets', () => {
      it('ensureBucket is idempotent and keeps objects', async () => {
        const { store, caps, bucket } = await setup(caps0(await ready()).versioning ? { versioning: true } : {});
        await store.put({ bucket, key: 'k' }, bytesOf('x'));
        await store.ensureBucket(bucket, caps.versioning ? { versioning: true } : {});
        await store.ensureBucket(bucket);
        expect(await store.head({ bucket, key: 'k' })).not.toBeNull();
      });
    });

    describe('abort', () => {
      it('honours an abort signal before and during a read', async () => {
        const { store, bucket } = await setup();
        await store.put({ bucket, key: 'k' }, patternBytes(2 * MiB));
        const early = new AbortController();
        early.abort();
        await expect(store.get({ bucket, key: 'k' }, { maxBytes: 4 * MiB, signal: early.signal })).rejects.toMatchObject({ name: 'AbortError' });
        const late = new AbortController();
        const { body } = await store.get({ bucket, key: 'k' }, { maxBytes: 4 * MiB, signal: late.signal });
        const reading = (async () => {
          for await (const _chunk of body) late.abort();
        })();
        await expect(reading).rejects.toMatchObject({ name: 'AbortError' });
      });
    });

    describe('versioning', () => {
      it('keeps versions, hides behind delete markers, reads and removes single versions', async ({ skip }) => {
        if (!caps0(await ready()).versioning) skip('backend without versioning');
        const { store, bucket } = await setup({ versioning: true });
        const v1 = await store.put({ bucket, key: 'k' }, bytesOf('one'));
        const v2 = await store.put({ bucket, key: 'k' }, bytesOf('two'));
        expect(v1.versionId).toBeTruthy();
        expect(v2.versionId).toBeTruthy();
        expect(v1.versionId).not.toBe(v2.versionId);
        const old = await store.getBytes({ bucket, key: 'k', versionId: v1.versionId! }, { maxBytes: 10 });
        expect(new TextDecoder().decode(old.bytes)).toBe('one');
        expect(old.info.versionId).toBe(v1.versionId);
        expect((await store.head({ bucket, key: 'k' }))?.versionId).toBe(v2.versionId);

        const marker = await store.delete({ bucket, key: 'k' });
        expect(marker.deleteMarker).toBe(true);
        expect(marker.versionId).toBeTruthy();
        expect(await store.head({ bucket, key: 'k' })).toBeNull();
        await expectStoreError(store.get({ bucket, key: 'k' }, { maxBytes: 10 }), 'not_found');
        expect(await collect(store.list(bucket))).toEqual([]);
        expect((await store.head({ bucket, key: 'k', versionId: v2.versionId! }))?.size).toBe(3);
        expect(await store.head({ bucket, key: 'k', versionId: marker.versionId! })).toBeNull();
        await expectStoreError(store.get({ bucket, key: 'k', versionId: marker.versionId! }, { maxBytes: 10 }), 'not_found');

        const removed = await store.delete({ bucket, key: 'k', versionId: v1.versionId! });
        expect(removed).toEqual({ versionId: v1.versionId, deleteMarker: false });
        expect(await store.head({ bucket, key: 'k', versionId: v1.versionId! })).toBeNull();
        await expectStoreError(store.get({ bucket, key: 'k', versionId: v1.versionId! }, { maxBytes: 10 }), 'not_found');
        // Version tags are per version.
        await store.putTags({ bucket, key: 'k', versionId: v2.versionId! }, { v: '2' });
        expect(await store.getTags({ bucket, key: 'k', versionId: v2.versionId! })).toEqual({ v: '2' });
      });

      it('deleteAllVersions removes every version and delete marker of exactly that key', async ({ skip }) => {
        if (!caps0(await ready()).versioning) skip('backend without versioning');
        const { store, bucket } = await setup({ versioning: true });
        const v1 = await store.put({ bucket, key: 'public/img' }, bytesOf('1'));
        await store.put({ bucket, key: 'public/img' }, bytesOf('2'));
        await store.delete({ bucket, key: 'public/img' });
        await store.put({ bucket, key: 'public/img' }, bytesOf('3'));
        await store.put({ bucket, key: 'public/img2' }, bytesOf('neighbour'));
        expect(await store.deleteAllVersions(bucket, 'public/img')).toBe(4);
        expect(await store.head({ bucket, key: 'public/img' })).toBeNull();
        expect(await store.head({ bucket, key: 'public/img', versionId: v1.versionId! })).toBeNull();
        expect((await collect(store.list(bucket))).map((o) => o.key)).toEqual(['public/img2']);
        expect(await store.deleteAllVersions(bucket, 'public/img')).toBe(0);
      });

      it('copies a specific version', async ({ skip }) => {
        if (!caps0(await ready()).versioning) skip('backend without versioning');
        const { store, bucket } = await setup({ versioning: true });
        const v1 = await store.put({ bucket, key: 'k' }, bytesOf('old'));
        await store.put({ bucket, key: 'k' }, bytesOf('new'));
        await store.copy({ bucket, key: 'k', versionId: v1.versionId! }, { bucket, key: 'copy' });
        const { bytes } = await store.getBytes({ bucket, key: 'copy' }, { maxBytes: 10 });
        expect(new TextDecoder().decode(bytes)).toBe('old');
      });
    });

    describe('Object Lock', () => {
      const soon = (seconds: number) => new Date(Math.ceil(Date.now() / 1000) * 1000 + seconds * 1000);

      it('refuses to delete a version under COMPLIANCE retention until it expires', async ({ skip }) => {
        if (!caps0(await ready()).enforcesObjectLock) skip('backend does not enforce Object Lock (asserted by request below)');
        const { h, store, bucket } = await setup({ objectLock: true });
        const retainUntil = soon(3);
        const put = await store.put({ bucket, key: 'evidence/1' }, bytesOf('kept'), { retention: { mode: 'COMPLIANCE', retainUntil } });
        const ref = { bucket, key: 'evidence/1', versionId: put.versionId! };
        const info = await store.head(ref);
        expect(info?.retention?.mode).toBe('COMPLIANCE');
        expect(info?.retention?.retainUntil.getTime()).toBe(retainUntil.getTime());
        const error = await expectStoreError(store.delete(ref), 'locked');
        expect(error.retriable).toBe(false);
        await expectStoreError(store.deleteAllVersions(bucket, 'evidence/1'), 'locked');
        expect(await store.head(ref)).not.toBeNull();
        // A plain delete only adds a marker: allowed, and the locked version survives it.
        const marker = await store.delete({ bucket, key: 'evidence/1' });
        expect(marker.deleteMarker).toBe(true);
        expect((await store.getBytes(ref, { maxBytes: 10 })).bytes.length).toBe(4);
        // Extend-only.
        await expectStoreError(store.putRetention(ref, { mode: 'COMPLIANCE', retainUntil: new Date(retainUntil.getTime() - 1000) }), 'locked');
        await expectStoreError(store.putRetention(ref, { mode: 'GOVERNANCE', retainUntil: soon(5) }), 'locked');
        const extended = soon(4);
        await store.putRetention(ref, { mode: 'COMPLIANCE', retainUntil: extended });
        expect((await store.head(ref))?.retention?.retainUntil.getTime()).toBe(extended.getTime());
        await h.passTime(new Date(extended.getTime() + 1500));
        expect(await store.delete(ref)).toMatchObject({ versionId: put.versionId });
        expect(await store.head(ref)).toBeNull();
      });

      it('a legal hold blocks deletion until released', async ({ skip }) => {
        if (!caps0(await ready()).enforcesObjectLock) skip('backend does not enforce Object Lock (asserted by request below)');
        const { store, bucket } = await setup({ objectLock: true });
        const put = await store.put({ bucket, key: 'held' }, bytesOf('x'), { legalHold: true });
        const ref = { bucket, key: 'held', versionId: put.versionId! };
        expect((await store.head(ref))?.legalHold).toBe(true);
        await expectStoreError(store.delete(ref), 'locked');
        await store.putLegalHold(ref, false);
        expect((await store.head(ref))?.legalHold).toBe(false);
        await store.putLegalHold(ref, false);
        await store.delete(ref);
        expect(await store.head(ref)).toBeNull();
      });

      it('copies into a locked bucket with retention, and refuses lock requests on plain buckets', async ({ skip }) => {
        if (!caps0(await ready()).enforcesObjectLock) skip('backend does not enforce Object Lock (asserted by request below)');
        const { store, bucket: plain } = await setup();
        const { bucket: vault } = await setup({ objectLock: true });
        await store.put({ bucket: plain, key: 'q' }, bytesOf('evidence'));
        const copy = await store.copy({ bucket: plain, key: 'q' }, { bucket: vault, key: 'case/q' }, { retention: { mode: 'COMPLIANCE', retainUntil: soon(60) }, legalHold: true });
        const info = await store.head({ bucket: vault, key: 'case/q', versionId: copy.versionId! });
        expect(info?.retention?.mode).toBe('COMPLIANCE');
        expect(info?.legalHold).toBe(true);
        await expectStoreError(store.delete({ bucket: vault, key: 'case/q', versionId: copy.versionId! }), 'locked');
        await expectStoreError(store.put({ bucket: plain, key: 'r' }, bytesOf('x'), { retention: { mode: 'COMPLIANCE', retainUntil: soon(60) } }), 'invalid');
        await expectStoreError(store.putLegalHold({ bucket: plain, key: 'q' }, true), 'invalid');
      });

      it('sends the Object Lock headers and requests', async ({ skip }) => {
        const h = await ready();
        if (h.requests === undefined) skip('no HTTP requests to inspect (enforcement is asserted above)');
        const mark = h.requests!().length;
        const { store, bucket } = await setup({ objectLock: true });
        const [create] = sent(h, bucket, 'CreateBucketCommand', mark);
        expect(create?.headers['x-amz-bucket-object-lock-enabled']).toBe('true');
        const retainUntil = soon(30);
        await store.put({ bucket, key: 'e' }, bytesOf('x'), { retention: { mode: 'COMPLIANCE', retainUntil }, legalHold: true });
        await store.put({ bucket, key: 's' }, streamOf(bytesOf('streamed')), { retention: { mode: 'GOVERNANCE', retainUntil } });
        await store.copy({ bucket, key: 'e' }, { bucket, key: 'c' }, { retention: { mode: 'COMPLIANCE', retainUntil }, legalHold: true });
        const puts = sent(h, bucket, 'PutObjectCommand', mark);
        const [copy] = sent(h, bucket, 'CopyObjectCommand', mark);
        for (const request of [puts[0], copy]) {
          expect(request?.headers['x-amz-object-lock-mode']).toBe('COMPLIANCE');
          expect(new Date(request?.headers['x-amz-object-lock-retain-until-date'] ?? '').getTime()).toBe(retainUntil.getTime());
          expect(request?.headers['x-amz-object-lock-legal-hold']).toBe('ON');
        }
        expect(puts[1]?.headers['x-amz-object-lock-mode']).toBe('GOVERNANCE');
        // The content checksum S3 demands of Object Lock writes.
        expect(puts[0]?.headers['content-md5']).toBeTruthy();
        if (!h.capabilities.enforcesObjectLock) {
          // The server cannot take these; the request must still be right, and the refusal mapped.
          const ref = { bucket, key: 'e' };
          const retention = await expectStoreError(store.putRetention(ref, { mode: 'COMPLIANCE', retainUntil: soon(60) }), 'invalid');
          expect(retention.retriable).toBe(false);
          const [request] = sent(h, bucket, 'PutObjectRetentionCommand', mark);
          expect(request?.query).toHaveProperty('retention');
          expect(request?.body).toContain('<Mode>COMPLIANCE</Mode>');
          await expectStoreError(store.putLegalHold(ref, true), 'invalid');
          const [hold] = sent(h, bucket, 'PutObjectLegalHoldCommand', mark);
          expect(hold?.body).toContain('<Status>ON</Status>');
        }
      });
    });

    async function ready(): Promise<ObjectStoreHarness> {
      harness ??= await createHarness();
      return harness;
    }
  });
}

function caps0(harness: ObjectStoreHarness | undefined): ObjectStoreCapabilities {
  if (harness === undefined) throw new Error('harness not ready');
  return harness.capabilities;
}
