// FsObjectStore: the embedded default's ObjectStore, objects in a directory (VIGIL_HOME/objects).
// It keeps S3's semantics honestly rather than approximately: atomic writes, per-bucket
// versioning with delete markers, Object Lock that really refuses deletes, byte-order listing.
// One process owns a root: writers serialize per object in-process (no cross-process locking).
//
// Layout under `root`:
//   tmp/                                    spooled uploads and record rewrites, renamed into place
//   buckets/<bucket>/bucket.json            { versioning, objectLock }
//   buckets/<bucket>/keys/<key-path>/       one node per key (see key-path.ts), holding
//       <order>.json                        a version's record: the commit point of a write
//       <order>.blob                        that version's bytes (absent for a delete marker)
// `order` sorts by creation, so the newest record is the current version. A blob without a record
// is debris from a crash between the two renames, invisible to readers and swept by later writes.

import { createHash, randomBytes } from 'node:crypto';
import { constants as fsConstants, type Dirent } from 'node:fs';
import { copyFile, mkdir, open, readdir, readFile, rename, rmdir, unlink, type FileHandle } from 'node:fs/promises';
import { join, resolve, sep } from 'node:path';
import type { Readable } from 'node:stream';
import { capStream, readAll } from './byte-cap.ts';
import { ObjectStoreError } from './errors.ts';
import { entryKeyBytes, entryName, keyToEntries, parseEntryName } from './key-path.ts';
import type {
  BucketOptions,
  CopyOptions,
  DeleteResult,
  GetOptions,
  GetResult,
  ListOptions,
  ObjectInfo,
  ObjectLocation,
  ObjectRef,
  ObjectStore,
  ObjectSummary,
  PutOptions,
  Retention,
  Tags,
  WriteResult,
} from './object-store.ts';
import {
  checkBucket,
  checkContentLength,
  checkKey,
  checkMaxBytes,
  checkMetadata,
  checkPageSize,
  checkRetention,
  checkTags,
  checkVersionId,
} from './validate.ts';

export interface FsObjectStoreOptions {
  /** The directory that holds every bucket (created if missing), e.g. `$VIGIL_HOME/objects`. */
  readonly root: string;
  /** The clock for lastModified and retention decisions; tests pass one they can advance. */
  readonly now?: () => Date;
  /** fsync files and directories before a write resolves. Default true; only tests turn it off. */
  readonly fsync?: boolean;
}

interface BucketConfig {
  readonly versioning: boolean;
  readonly objectLock: boolean;
}

/** What `<order>.json` holds. Dates are ISO strings; `versionId` is 'null' in unversioned buckets. */
interface VersionRecord {
  readonly key: string;
  readonly versionId: string;
  readonly order: string;
  readonly deleteMarker: boolean;
  readonly size: number;
  readonly etag: string;
  readonly contentType: string;
  readonly metadata: Record<string, string>;
  readonly tags: Record<string, string>;
  readonly lastModified: string;
  readonly retention: { readonly mode: Retention['mode']; readonly retainUntil: string } | null;
  readonly legalHold: boolean;
}

const NULL_VERSION = 'null';
const DEFAULT_CONTENT_TYPE = 'application/octet-stream';
/** How often a reader retries when a concurrent overwrite or delete pulls a file from under it. */
const RACE_RETRIES = 5;

// Writers serialize per object across every FsObjectStore of this process (tests open several on
// one root): a chain of promises per lock id.
const locks = new Map<string, Promise<void>>();

async function withLock<T>(id: string, fn: () => Promise<T>): Promise<T> {
  const previous = locks.get(id) ?? Promise.resolve();
  let release!: () => void;
  const mine = new Promise<void>((resolve) => (release = resolve));
  const tail = previous.then(() => mine);
  locks.set(id, tail);
  await previous;
  try {
    return await fn();
  } finally {
    release();
    if (locks.get(id) === tail) locks.delete(id);
  }
}

// Version order: milliseconds, then a per-process sequence so that two writes in one millisecond
// (or a clock step back) still order by call, then randomness so two processes never collide.
let lastMs = 0;
let sequence = 0;
function nextOrder(): string {
  const now = Date.now();
  if (now > lastMs) {
    lastMs = now;
    sequence = 0;
  } else {
    sequence += 1;
  }
  return `${String(lastMs).padStart(14, '0')}${String(sequence).padStart(6, '0')}${randomBytes(5).toString('hex')}`;
}

function isErrno(error: unknown, ...codes: string[]): boolean {
  return error instanceof Error && codes.includes((error as NodeJS.ErrnoException).code ?? '');
}

function publicVersionId(record: VersionRecord): string | null {
  return record.versionId === NULL_VERSION ? null : record.versionId;
}

function isProtected(record: VersionRecord, now: Date): boolean {
  if (record.legalHold) return true;
  return record.retention !== null && new Date(record.retention.retainUntil).getTime() > now.getTime();
}

export class FsObjectStore implements ObjectStore {
  private readonly root: string;
  private readonly now: () => Date;
  private readonly fsync: boolean;
  private closed = false;

  constructor(options: FsObjectStoreOptions) {
    this.root = resolve(options.root);
    this.now = options.now ?? (() => new Date());
    this.fsync = options.fsync ?? true;
  }

  async get(ref: ObjectRef, options: GetOptions): Promise<GetResult> {
    const op = 'get';
    this.checkRef(ref, op);
    checkMaxBytes(options.maxBytes, op);
    options.signal?.throwIfAborted();
    for (let attempt = 0; ; attempt++) {
      const record = await this.resolveRecord(ref, op);
      if (record.size > options.maxBytes) {
        throw this.error('too_large', op, ref, `${record.size} bytes exceeds the cap of ${options.maxBytes}`);
      }
      let handle: FileHandle;
      try {
        handle = await open(this.blobPath(ref, record), 'r');
      } catch (error) {
        // An unversioned overwrite or a delete removed the blob after we read its record.
        if (isErrno(error, 'ENOENT') && attempt < RACE_RETRIES) continue;
        throw this.mapFsError(error, op, ref);
      }
      const stream = handle.createReadStream({ autoClose: true });
      const capOptions = { maxBytes: options.maxBytes, expectedSize: record.size, what: `${op} ${ref.bucket}/${ref.key}` };
      const body = capStream(stream, options.signal === undefined ? capOptions : { ...capOptions, signal: options.signal });
      return { info: this.toInfo(ref.bucket, record), body };
    }
  }

  async getBytes(ref: ObjectRef, options: GetOptions): Promise<{ info: ObjectInfo; bytes: Uint8Array }> {
    const { info, body } = await this.get(ref, options);
    return { info, bytes: await readAll(body) };
  }

  async head(ref: ObjectRef): Promise<ObjectInfo | null> {
    const op = 'head';
    this.checkRef(ref, op);
    await this.bucketConfig(ref.bucket, op);
    const record = await this.findRecord(ref);
    return record === null ? null : this.toInfo(ref.bucket, record);
  }

  async put(to: ObjectLocation, body: Uint8Array | Readable, options: PutOptions = {}): Promise<WriteResult> {
    const op = 'put';
    this.checkOpen(op);
    checkKey(to, op);
    checkMetadata(options.metadata, op);
    checkTags(options.tags, op);
    checkRetention(options.retention, op);
    checkContentLength(options.contentLength, op);
    const bucket = await this.bucketConfig(to.bucket, op);
    this.checkLockRequest(bucket, options, op, to);
    const tmp = this.tmpPath();
    try {
      const { size, etag } = await this.spool(body, tmp);
      if (options.contentLength !== undefined && size !== options.contentLength) {
        throw this.error('invalid', op, to, `body has ${size} bytes, contentLength said ${options.contentLength}`);
      }
      return await this.commit(to, bucket, tmp, op, {
        size,
        etag,
        contentType: options.contentType ?? DEFAULT_CONTENT_TYPE,
        metadata: { ...options.metadata },
        tags: { ...options.tags },
        retention: options.retention ?? null,
        legalHold: options.legalHold === true,
        ifNoneMatch: options.ifNoneMatch === '*',
      });
    } finally {
      await unlink(tmp).catch(() => undefined);
    }
  }

  async copy(from: ObjectRef, to: ObjectLocation, options: CopyOptions = {}): Promise<WriteResult> {
    const op = 'copy';
    this.checkRef(from, op);
    checkKey(to, op);
    checkMetadata(options.metadata, op);
    checkTags(options.tags, op);
    checkRetention(options.retention, op);
    const bucket = await this.bucketConfig(to.bucket, op);
    this.checkLockRequest(bucket, options, op, to);
    const tmp = this.tmpPath();
    try {
      for (let attempt = 0; ; attempt++) {
        const source = await this.resolveRecord(from, op);
        try {
          // A reflink where the filesystem has them (btrfs, xfs, APFS): a copy of any size is instant.
          await copyFile(this.blobPath(from, source), tmp, fsConstants.COPYFILE_FICLONE);
        } catch (error) {
          if (isErrno(error, 'ENOENT') && attempt < RACE_RETRIES) continue;
          throw this.mapFsError(error, op, from);
        }
        if (this.fsync) await this.syncFile(tmp);
        return await this.commit(to, bucket, tmp, op, {
          size: source.size,
          etag: source.etag,
          contentType: options.contentType ?? source.contentType,
          metadata: options.metadata === undefined ? { ...source.metadata } : { ...options.metadata },
          tags: options.tags === undefined ? { ...source.tags } : { ...options.tags },
          retention: options.retention ?? null,
          legalHold: options.legalHold === true,
          ifNoneMatch: false,
        });
      }
    } finally {
      await unlink(tmp).catch(() => undefined);
    }
  }

  async delete(ref: ObjectRef): Promise<DeleteResult> {
    const op = 'delete';
    this.checkRef(ref, op);
    const bucket = await this.bucketConfig(ref.bucket, op);
    const dir = this.nodeDir(ref);
    return this.withObjectLock(ref, async () => {
      const records = await this.readRecords(dir);
      if (ref.versionId !== undefined) {
        const record = records.find((candidate) => candidate.versionId === ref.versionId);
        if (record === undefined) return { versionId: ref.versionId, deleteMarker: false };
        if (isProtected(record, this.now())) throw this.error('locked', op, ref, 'the version is under retention or legal hold');
        await this.removeVersion(dir, record);
        await this.prune(ref.bucket, dir);
        return { versionId: publicVersionId(record), deleteMarker: record.deleteMarker };
      }
      if (bucket.versioning) {
        // A versioned delete hides the object behind a marker; every version (locked or not) stays.
        const order = nextOrder();
        await this.writeRecord(dir, this.markerRecord(ref.key, order));
        return { versionId: order, deleteMarker: true };
      }
      for (const record of records) await this.removeVersion(dir, record);
      await this.prune(ref.bucket, dir);
      return { versionId: null, deleteMarker: false };
    });
  }

  async deleteAllVersions(bucketName: string, key: string): Promise<number> {
    const op = 'deleteAllVersions';
    const ref = { bucket: bucketName, key };
    this.checkRef(ref, op);
    await this.bucketConfig(bucketName, op);
    const dir = this.nodeDir(ref);
    return this.withObjectLock(ref, async () => {
      const now = this.now();
      let removed = 0;
      let kept = 0;
      // Everything removable goes, even when some version is locked: quarantine wants the public
      // copy gone as far as the lock allows, and says so loudly for the rest.
      for (const record of await this.readRecords(dir)) {
        if (isProtected(record, now)) {
          kept += 1;
          continue;
        }
        await this.removeVersion(dir, record);
        removed += 1;
      }
      await this.prune(bucketName, dir);
      if (kept > 0) throw this.error('locked', op, ref, `${kept} version(s) under retention or legal hold remain (${removed} removed)`);
      return removed;
    });
  }

  async getTags(ref: ObjectRef): Promise<Tags> {
    const op = 'getTags';
    this.checkRef(ref, op);
    const record = await this.resolveRecord(ref, op);
    return { ...record.tags };
  }

  async putTags(ref: ObjectRef, tags: Tags): Promise<void> {
    const op = 'putTags';
    this.checkRef(ref, op);
    checkTags(tags, op);
    await this.updateRecord(ref, op, (record) => ({ ...record, tags: { ...tags } }));
  }

  async putRetention(ref: ObjectRef, retention: Retention): Promise<void> {
    const op = 'putRetention';
    this.checkRef(ref, op);
    checkRetention(retention, op);
    const bucket = await this.bucketConfig(ref.bucket, op);
    if (!bucket.objectLock) throw this.error('invalid', op, ref, 'the bucket has no Object Lock configuration');
    if (retention.retainUntil.getTime() <= this.now().getTime()) throw this.error('invalid', op, ref, 'retainUntil must be in the future');
    await this.updateRecord(ref, op, (record) => {
      const current = record.retention;
      if (current !== null && new Date(current.retainUntil).getTime() > this.now().getTime()) {
        // Extend-only while a retention is in force: S3 refuses to shorten or weaken one without
        // a governance bypass, and this store offers no bypass at all.
        if (retention.retainUntil.getTime() < new Date(current.retainUntil).getTime()) {
          throw this.error('locked', op, ref, 'retention can only be extended');
        }
        if (current.mode === 'COMPLIANCE' && retention.mode === 'GOVERNANCE') {
          throw this.error('locked', op, ref, 'COMPLIANCE retention cannot be weakened to GOVERNANCE');
        }
      }
      return { ...record, retention: { mode: retention.mode, retainUntil: retention.retainUntil.toISOString() } };
    });
  }

  async putLegalHold(ref: ObjectRef, on: boolean): Promise<void> {
    const op = 'putLegalHold';
    this.checkRef(ref, op);
    const bucket = await this.bucketConfig(ref.bucket, op);
    if (!bucket.objectLock) throw this.error('invalid', op, ref, 'the bucket has no Object Lock configuration');
    await this.updateRecord(ref, op, (record) => ({ ...record, legalHold: on }));
  }

  async *list(bucketName: string, options: ListOptions = {}): AsyncIterable<ObjectSummary> {
    const op = 'list';
    this.checkOpen(op);
    checkBucket(bucketName, op);
    // Pages mean nothing to a directory walk; validated so both adapters refuse the same input.
    checkPageSize(options.pageSize, op);
    await this.bucketConfig(bucketName, op);
    const prefix = Buffer.from(options.prefix ?? '', 'utf8');
    const after = options.startAfter === undefined ? null : Buffer.from(options.startAfter, 'utf8');
    yield* this.walk(bucketName, this.keysDir(bucketName), Buffer.alloc(0), prefix, after, options.signal);
  }

  async ensureBucket(bucketName: string, options: BucketOptions = {}): Promise<void> {
    const op = 'ensureBucket';
    this.checkOpen(op);
    checkBucket(bucketName, op);
    await withLock(`${this.root}\0${bucketName}`, async () => {
      const existing = await this.readBucketConfig(bucketName);
      const objectLock = options.objectLock === true || existing?.objectLock === true;
      // Object Lock needs versioning (a locked version must survive an overwrite of its key).
      const versioning = objectLock || options.versioning === true || existing?.versioning === true;
      if (existing !== null && existing.objectLock === objectLock && existing.versioning === versioning) return;
      await mkdir(this.keysDir(bucketName), { recursive: true });
      await this.writeFileAtomic(this.configPath(bucketName), JSON.stringify({ versioning, objectLock }));
    });
  }

  async close(): Promise<void> {
    this.closed = true;
  }

  // ---- records and nodes -------------------------------------------------------------------

  private async *walk(
    bucket: string,
    dir: string,
    base: Buffer,
    prefix: Buffer,
    after: Buffer | null,
    signal: AbortSignal | undefined,
  ): AsyncGenerator<ObjectSummary> {
    signal?.throwIfAborted();
    let dirents: Dirent[];
    try {
      dirents = await readdir(dir, { withFileTypes: true });
    } catch (error) {
      if (isErrno(error, 'ENOENT', 'ENOTDIR')) return; // pruned under us: nothing there any more
      throw this.mapFsError(error, 'list', { bucket, key: base.toString('utf8') });
    }
    const children = dirents
      .filter((dirent) => dirent.isDirectory())
      .flatMap((dirent) => {
        const entry = parseEntryName(dirent.name);
        return entry === null ? [] : [{ name: dirent.name, entry, full: Buffer.concat([base, entryKeyBytes(entry)]) }];
      })
      .sort((a, b) => Buffer.compare(a.full, b.full));
    for (const { name, entry, full } of children) {
      if (entry.kind === 'o') {
        if (!startsWith(full, prefix)) continue;
        if (after !== null && Buffer.compare(full, after) <= 0) continue;
        const records = await this.readRecords(join(dir, name));
        const current = currentOf(records);
        if (current !== null) {
          yield { bucket, key: current.key, size: current.size, etag: current.etag, lastModified: new Date(current.lastModified) };
        }
        continue;
      }
      // Every key below starts with `full`: skip subtrees outside the prefix, and subtrees that
      // sort wholly before `startAfter` (so resuming a listing does not rescan what came before).
      if (!startsWith(full, prefix) && !startsWith(prefix, full)) continue;
      if (after !== null && Buffer.compare(full, after) < 0 && !startsWith(after, full)) continue;
      yield* this.walk(bucket, join(dir, name), full, prefix, after, signal);
    }
  }

  /** Every record of a node, oldest first. Files vanishing mid-read (a concurrent delete) are skipped. */
  private async readRecords(dir: string): Promise<VersionRecord[]> {
    let names: string[];
    try {
      names = await readdir(dir);
    } catch (error) {
      if (isErrno(error, 'ENOENT', 'ENOTDIR')) return [];
      throw error;
    }
    const records: VersionRecord[] = [];
    for (const name of names.filter((n) => n.endsWith('.json')).sort()) {
      try {
        records.push(JSON.parse(await readFile(join(dir, name), 'utf8')) as VersionRecord);
      } catch (error) {
        if (!isErrno(error, 'ENOENT')) throw error;
      }
    }
    return records;
  }

  /** The version a ref names (or the current one), or null when absent or a delete marker. */
  private async findRecord(ref: ObjectRef): Promise<VersionRecord | null> {
    const records = await this.readRecords(this.nodeDir(ref));
    if (ref.versionId === undefined) return currentOf(records);
    const record = visible(records).find((candidate) => candidate.versionId === ref.versionId);
    return record === undefined || record.deleteMarker ? null : record;
  }

  private async resolveRecord(ref: ObjectRef, op: string): Promise<VersionRecord> {
    await this.bucketConfig(ref.bucket, op);
    const record = await this.findRecord(ref);
    if (record === null) throw this.error('not_found', op, ref, ref.versionId === undefined ? 'no such key' : 'no such version');
    return record;
  }

  private async updateRecord(ref: ObjectRef, op: string, change: (record: VersionRecord) => VersionRecord): Promise<void> {
    await this.bucketConfig(ref.bucket, op);
    const dir = this.nodeDir(ref);
    await this.withObjectLock(ref, async () => {
      const record = await this.findRecord(ref);
      if (record === null) throw this.error('not_found', op, ref, ref.versionId === undefined ? 'no such key' : 'no such version');
      await this.writeRecord(dir, change(record));
    });
  }

  /** Installs a spooled blob and its record as the new current version (the commit point). */
  private async commit(
    to: ObjectLocation,
    bucket: BucketConfig,
    tmp: string,
    op: string,
    fields: Omit<VersionRecord, 'key' | 'versionId' | 'order' | 'deleteMarker' | 'lastModified' | 'retention'> & {
      retention: Retention | null;
      ifNoneMatch: boolean;
    },
  ): Promise<WriteResult> {
    const dir = this.nodeDir(to);
    return this.withObjectLock(to, async () => {
      const before = await this.readRecords(dir);
      if (fields.ifNoneMatch && currentOf(before) !== null) throw this.error('precondition_failed', op, to, 'the key exists (ifNoneMatch: *)');
      if (fields.retention !== null && fields.retention.retainUntil.getTime() <= this.now().getTime()) {
        throw this.error('invalid', op, to, 'retainUntil must be in the future');
      }
      const order = nextOrder();
      const versionId = bucket.versioning ? order : NULL_VERSION;
      const record: VersionRecord = {
        key: to.key,
        versionId,
        order,
        deleteMarker: false,
        size: fields.size,
        etag: fields.etag,
        contentType: fields.contentType,
        metadata: fields.metadata,
        tags: fields.tags,
        lastModified: this.now().toISOString(),
        retention: fields.retention === null ? null : { mode: fields.retention.mode, retainUntil: fields.retention.retainUntil.toISOString() },
        legalHold: fields.legalHold,
      };
      await this.installBlob(to.bucket, dir, tmp, `${order}.blob`);
      await this.writeRecord(dir, record);
      if (!bucket.versioning) {
        // The null version is replaced: readers that already opened the old blob keep reading it.
        for (const old of before) await this.removeVersion(dir, old);
      }
      return { versionId: publicVersionId(record), etag: fields.etag };
    });
  }

  private markerRecord(key: string, order: string): VersionRecord {
    return {
      key,
      versionId: order,
      order,
      deleteMarker: true,
      size: 0,
      etag: '',
      contentType: DEFAULT_CONTENT_TYPE,
      metadata: {},
      tags: {},
      lastModified: this.now().toISOString(),
      retention: null,
      legalHold: false,
    };
  }

  /** Record first (readers stop seeing the version), then its blob. */
  private async removeVersion(dir: string, record: VersionRecord): Promise<void> {
    await unlink(join(dir, `${record.order}.json`)).catch(ignoreMissing);
    await unlink(join(dir, `${record.order}.blob`)).catch(ignoreMissing);
  }

  /** Removes a node left empty, and empty folders above it, up to the bucket's key root. */
  private async prune(bucket: string, dir: string): Promise<void> {
    const stop = this.keysDir(bucket);
    // Crash debris: blobs whose record never landed. Safe under the object lock.
    const names = await readdir(dir).catch(() => [] as string[]);
    const committed = new Set(names.filter((n) => n.endsWith('.json')).map((n) => n.slice(0, -5)));
    for (const name of names) {
      if (name.endsWith('.blob') && !committed.has(name.slice(0, -5))) await unlink(join(dir, name)).catch(ignoreMissing);
    }
    for (let current = dir; current.startsWith(stop + sep); current = resolve(current, '..')) {
      try {
        await rmdir(current);
      } catch {
        return; // not empty (or already gone): the folders above are in use too
      }
    }
  }

  private async installBlob(bucket: string, dir: string, tmp: string, name: string): Promise<void> {
    // A concurrent prune of another key can remove a shared, momentarily empty folder between our
    // mkdir and rename: make the path again and retry.
    for (let attempt = 0; ; attempt++) {
      await mkdir(dir, { recursive: true });
      try {
        await rename(tmp, join(dir, name));
        if (this.fsync) await this.syncDir(dir);
        return;
      } catch (error) {
        if (!isErrno(error, 'ENOENT') || attempt >= RACE_RETRIES) throw this.mapFsError(error, 'put', { bucket, key: '' });
      }
    }
  }

  private async writeRecord(dir: string, record: VersionRecord): Promise<void> {
    for (let attempt = 0; ; attempt++) {
      await mkdir(dir, { recursive: true });
      try {
        await this.writeFileAtomic(join(dir, `${record.order}.json`), JSON.stringify(record));
        return;
      } catch (error) {
        if (!isErrno(error, 'ENOENT') || attempt >= RACE_RETRIES) throw error;
      }
    }
  }

  // ---- files ---------------------------------------------------------------------------------

  /** Streams a body into a private temp file, hashing as it goes (the MD5 is S3's single-part ETag). */
  private async spool(body: Uint8Array | Readable, path: string): Promise<{ size: number; etag: string }> {
    await mkdir(this.tmpDir(), { recursive: true });
    const hash = createHash('md5');
    const handle = await open(path, 'wx', 0o600);
    let size = 0;
    try {
      const write = async (chunk: Uint8Array): Promise<void> => {
        hash.update(chunk);
        let done = 0;
        while (done < chunk.length) {
          const { bytesWritten } = await handle.write(chunk, done, chunk.length - done, size + done);
          done += bytesWritten;
        }
        size += chunk.length;
      };
      if (body instanceof Uint8Array) {
        await write(body);
      } else {
        for await (const chunk of body as AsyncIterable<unknown>) {
          if (typeof chunk === 'string') await write(Buffer.from(chunk, 'utf8'));
          else if (chunk instanceof Uint8Array) await write(chunk);
          else throw new ObjectStoreError('invalid', 'put: the body stream must yield bytes', { operation: 'put' });
        }
      }
      if (this.fsync) await handle.sync();
    } finally {
      await handle.close();
    }
    return { size, etag: hash.digest('hex') };
  }

  private async writeFileAtomic(path: string, data: string): Promise<void> {
    await mkdir(this.tmpDir(), { recursive: true });
    const tmp = this.tmpPath();
    try {
      const handle = await open(tmp, 'wx', 0o600);
      try {
        await handle.writeFile(data, 'utf8');
        if (this.fsync) await handle.sync();
      } finally {
        await handle.close();
      }
      await rename(tmp, path);
      if (this.fsync) await this.syncDir(resolve(path, '..'));
    } finally {
      await unlink(tmp).catch(() => undefined);
    }
  }

  private async syncFile(path: string): Promise<void> {
    const handle = await open(path, 'r');
    try {
      await handle.sync();
    } finally {
      await handle.close();
    }
  }

  /** A rename is durable only once its directory is synced. */
  private async syncDir(path: string): Promise<void> {
    const handle = await open(path, 'r');
    try {
      await handle.sync();
    } catch (error) {
      if (!isErrno(error, 'EINVAL', 'EISDIR', 'EPERM')) throw error; // platforms that cannot fsync a directory
    } finally {
      await handle.close();
    }
  }

  // ---- paths, buckets, errors -----------------------------------------------------------------

  private tmpDir(): string {
    return join(this.root, 'tmp');
  }

  private tmpPath(): string {
    return join(this.tmpDir(), `${process.pid}-${randomBytes(12).toString('hex')}.tmp`);
  }

  private bucketDir(bucket: string): string {
    return join(this.root, 'buckets', bucket);
  }

  private configPath(bucket: string): string {
    return join(this.bucketDir(bucket), 'bucket.json');
  }

  private keysDir(bucket: string): string {
    return join(this.bucketDir(bucket), 'keys');
  }

  private nodeDir(location: ObjectLocation): string {
    const keys = this.keysDir(location.bucket);
    const dir = join(keys, ...keyToEntries(location.key).map(entryName));
    // key-path.ts cannot produce a separator or a dot segment; this guards the guarantee itself.
    if (!dir.startsWith(keys + sep)) throw this.error('invalid', 'path', location, 'key maps outside the bucket');
    return dir;
  }

  private blobPath(ref: ObjectLocation, record: VersionRecord): string {
    return join(this.nodeDir(ref), `${record.order}.blob`);
  }

  private async readBucketConfig(bucket: string): Promise<BucketConfig | null> {
    try {
      return JSON.parse(await readFile(this.configPath(bucket), 'utf8')) as BucketConfig;
    } catch (error) {
      if (isErrno(error, 'ENOENT')) return null;
      throw error;
    }
  }

  private async bucketConfig(bucket: string, op: string): Promise<BucketConfig> {
    this.checkOpen(op);
    const config = await this.readBucketConfig(bucket).catch((error: unknown) => {
      throw this.mapFsError(error, op, { bucket, key: '' });
    });
    if (config === null) throw new ObjectStoreError('not_found', `${op} ${bucket}: no such bucket`, { operation: op, bucket, backendCode: 'NoSuchBucket' });
    return config;
  }

  private checkLockRequest(bucket: BucketConfig, options: { retention?: Retention; legalHold?: boolean }, op: string, to: ObjectLocation): void {
    if ((options.retention !== undefined || options.legalHold === true) && !bucket.objectLock) {
      throw this.error('invalid', op, to, 'retention and legal hold need a bucket with Object Lock');
    }
  }

  private checkRef(ref: ObjectRef, op: string): void {
    this.checkOpen(op);
    checkKey(ref, op);
    checkVersionId(ref.versionId, op);
  }

  private checkOpen(op: string): void {
    if (this.closed) throw new ObjectStoreError('invalid', `${op}: the store is closed`, { operation: op });
  }

  private withObjectLock<T>(location: ObjectLocation, fn: () => Promise<T>): Promise<T> {
    return withLock(`${this.root}\0${location.bucket}\0${location.key}`, fn);
  }

  private toInfo(bucket: string, record: VersionRecord): ObjectInfo {
    return {
      bucket,
      key: record.key,
      versionId: publicVersionId(record),
      size: record.size,
      etag: record.etag,
      contentType: record.contentType,
      lastModified: new Date(record.lastModified),
      metadata: { ...record.metadata },
      retention: record.retention === null ? null : { mode: record.retention.mode, retainUntil: new Date(record.retention.retainUntil) },
      legalHold: record.legalHold,
    };
  }

  private error(code: ObjectStoreError['code'], op: string, location: ObjectLocation, detail: string): ObjectStoreError {
    return new ObjectStoreError(code, `${op} ${location.bucket}/${location.key}: ${detail}`, {
      operation: op,
      bucket: location.bucket,
      key: location.key,
    });
  }

  /** Disk errors: a full or read-only disk may clear up (retriable); permissions will not. */
  private mapFsError(error: unknown, op: string, location: ObjectLocation): ObjectStoreError {
    if (error instanceof ObjectStoreError) return error;
    const code = (error as NodeJS.ErrnoException | undefined)?.code ?? 'unknown';
    const where = location.key === '' ? location.bucket : `${location.bucket}/${location.key}`;
    const details = { operation: op, bucket: location.bucket, key: location.key, backendCode: code };
    if (code === 'ENOENT') return new ObjectStoreError('not_found', `${op} ${where}: ${code}`, details);
    if (code === 'EACCES' || code === 'EPERM') return new ObjectStoreError('access_denied', `${op} ${where}: ${code}`, details);
    if (code === 'ENAMETOOLONG') return new ObjectStoreError('invalid', `${op} ${where}: ${code}`, details);
    return new ObjectStoreError('unavailable', `${op} ${where}: ${code}`, { ...details, retriable: ['ENOSPC', 'EMFILE', 'ENFILE', 'EIO', 'EAGAIN', 'EBUSY', 'EROFS'].includes(code) });
  }
}

function ignoreMissing(error: unknown): void {
  if (!isErrno(error, 'ENOENT')) throw error;
}

function startsWith(buffer: Buffer, prefix: Buffer): boolean {
  return buffer.length >= prefix.length && buffer.subarray(0, prefix.length).equals(prefix);
}

/**
 * Drops null-version records shadowed by a newer null version: debris of a crash between the
 * commit of an unversioned overwrite and the removal of what it replaced.
 */
function visible(records: readonly VersionRecord[]): VersionRecord[] {
  const newestNull = records.findLast((record) => record.versionId === NULL_VERSION);
  return records.filter((record) => record.versionId !== NULL_VERSION || record === newestNull);
}

function currentOf(records: readonly VersionRecord[]): VersionRecord | null {
  const current = records.at(-1);
  return current === undefined || current.deleteMarker ? null : current;
}
