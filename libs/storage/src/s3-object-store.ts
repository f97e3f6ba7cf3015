// S3ObjectStore: the ObjectStore on S3 and S3-compatible servers (MinIO, Ceph RGW, R2), through
// @aws-sdk/client-s3. It owns the mapping of the port's semantics onto S3 requests; it never
// retries beyond the SDK's transport retries (callers decide, from `retriable`) and never logs.

import { createHash } from 'node:crypto';
import { Readable } from 'node:stream';
import {
  CompleteMultipartUploadCommand,
  CopyObjectCommand,
  CreateBucketCommand,
  CreateMultipartUploadCommand,
  AbortMultipartUploadCommand,
  DeleteObjectCommand,
  GetBucketVersioningCommand,
  GetObjectCommand,
  GetObjectLockConfigurationCommand,
  GetObjectTaggingCommand,
  HeadBucketCommand,
  HeadObjectCommand,
  ListObjectsV2Command,
  ListObjectVersionsCommand,
  PutBucketVersioningCommand,
  PutObjectCommand,
  PutObjectLegalHoldCommand,
  PutObjectLockConfigurationCommand,
  PutObjectRetentionCommand,
  PutObjectTaggingCommand,
  S3Client,
  UploadPartCopyCommand,
  type CompletedPart,
  type HeadObjectCommandOutput,
  type ObjectLockLegalHoldStatus,
  type ObjectLockMode,
  type S3ClientConfig,
} from '@aws-sdk/client-s3';
import { Upload } from '@aws-sdk/lib-storage';
import { capStream, discard, readAll } from './byte-cap.ts';
import { ObjectStoreError } from './errors.ts';
import {
  MAX_SINGLE_COPY_BYTES,
  type BucketOptions,
  type CopyOptions,
  type DeleteResult,
  type GetOptions,
  type GetResult,
  type ListOptions,
  type ObjectInfo,
  type ObjectLocation,
  type ObjectRef,
  type ObjectStore,
  type ObjectSummary,
  type PutOptions,
  type Retention,
  type Tags,
  type WriteResult,
} from './object-store.ts';
import { mapS3Error, s3ErrorName, s3ErrorStatus, type S3ErrorContext } from './s3-errors.ts';
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

export interface S3ObjectStoreConfig {
  /** Omit for AWS; `http://127.0.0.1:9000` for MinIO and other S3-compatible servers. */
  readonly endpoint?: string;
  readonly region?: string;
  /** Omit to use the SDK's default provider chain (env, profile, instance role). */
  readonly credentials?: { readonly accessKeyId: string; readonly secretAccessKey: string; readonly sessionToken?: string };
  /** `bucket` in the path instead of the host name: MinIO and most S3-compatible servers need it. */
  readonly forcePathStyle?: boolean;
  /** Attempts per request including the first, for transient failures (SDK default 3). */
  readonly maxAttempts?: number;
  /** Socket idle timeout per request; a stalled transfer fails as retriable `unavailable`. Default 60 s. */
  readonly requestTimeoutMs?: number;
  readonly connectionTimeoutMs?: number;
  /** Copies above this go in parts (UploadPartCopy). Default and maximum: S3's 5 GiB CopyObject limit. */
  readonly multipartCopyThresholdBytes?: number;
  /** Part size for multipart copies (default 512 MiB; raised as needed to stay within 10,000 parts). */
  readonly copyPartSizeBytes?: number;
  /** Part size and parallel parts for uploads of unknown length (defaults 8 MiB and 4). */
  readonly uploadPartSizeBytes?: number;
  readonly uploadQueueSize?: number;
  /**
   * When the SDK adds CRC checksums to requests. `when_supported` (the SDK's default) protects
   * every upload, and streams go aws-chunked with a trailing checksum; some S3-compatible servers
   * cannot parse that framing and need `when_required`. Object Lock writes of streams to AWS need
   * a checksum, so keep the default there.
   */
  readonly requestChecksums?: 'when_supported' | 'when_required';
}

const DEFAULT_CONTENT_TYPE = 'application/octet-stream';
const MAX_PUT_BYTES = 5 * 1024 ** 3;
const MAX_PARTS = 10_000;
const MIN_PART_BYTES = 5 * 1024 ** 2;
const COPY_PART_CONCURRENCY = 4;

export class S3ObjectStore implements ObjectStore {
  /**
   * The underlying client, for instrumentation (metrics middleware, tests capturing requests).
   * Business code goes through the port.
   */
  readonly client: S3Client;
  private readonly region: string;
  private readonly multipartCopyThreshold: number;
  private readonly copyPartSize: number;
  private readonly uploadPartSize: number;
  private readonly uploadQueueSize: number;
  private closed = false;

  constructor(config: S3ObjectStoreConfig = {}) {
    this.region = config.region ?? 'us-east-1';
    const clientConfig: S3ClientConfig = {
      region: this.region,
      forcePathStyle: config.forcePathStyle ?? false,
      requestHandler: {
        requestTimeout: config.requestTimeoutMs ?? 60_000,
        connectionTimeout: config.connectionTimeoutMs ?? 5_000,
      },
    };
    if (config.endpoint !== undefined) clientConfig.endpoint = config.endpoint;
    if (config.credentials !== undefined) clientConfig.credentials = { ...config.credentials };
    if (config.maxAttempts !== undefined) clientConfig.maxAttempts = config.maxAttempts;
    if (config.requestChecksums !== undefined) {
      clientConfig.requestChecksumCalculation = config.requestChecksums === 'when_required' ? 'WHEN_REQUIRED' : 'WHEN_SUPPORTED';
    }
    this.client = new S3Client(clientConfig);
    this.multipartCopyThreshold = Math.min(config.multipartCopyThresholdBytes ?? MAX_SINGLE_COPY_BYTES, MAX_SINGLE_COPY_BYTES);
    this.copyPartSize = Math.max(config.copyPartSizeBytes ?? 512 * 1024 ** 2, MIN_PART_BYTES);
    this.uploadPartSize = Math.max(config.uploadPartSizeBytes ?? 8 * 1024 ** 2, MIN_PART_BYTES);
    this.uploadQueueSize = config.uploadQueueSize ?? 4;
  }

  async get(ref: ObjectRef, options: GetOptions): Promise<GetResult> {
    const op = 'get';
    this.checkRef(ref, op);
    checkMaxBytes(options.maxBytes, op);
    const out = await this.sendVersionRead(
      ref,
      () => this.client.send(new GetObjectCommand({ Bucket: ref.bucket, Key: ref.key, VersionId: ref.versionId }), abortOptions(options.signal)),
      { operation: op, bucket: ref.bucket, key: ref.key },
      options.signal,
    );
    const size = out.ContentLength;
    if (size !== undefined && size > options.maxBytes) {
      // Refused before reading: closing the body drops the connection instead of downloading it.
      discard(out.Body);
      throw new ObjectStoreError('too_large', `${op} ${ref.bucket}/${ref.key}: ${size} bytes exceeds the cap of ${options.maxBytes}`, {
        operation: op,
        bucket: ref.bucket,
        key: ref.key,
      });
    }
    if (!(out.Body instanceof Readable)) {
      discard(out.Body);
      throw new ObjectStoreError('unavailable', `${op} ${ref.bucket}/${ref.key}: response has no body stream`, { operation: op });
    }
    const capOptions = { maxBytes: options.maxBytes, what: `${op} ${ref.bucket}/${ref.key}` };
    const body = capStream(out.Body, {
      ...capOptions,
      ...(size === undefined ? {} : { expectedSize: size }),
      ...(options.signal === undefined ? {} : { signal: options.signal }),
    });
    return { info: toInfo(ref.bucket, ref.key, out), body };
  }

  async getBytes(ref: ObjectRef, options: GetOptions): Promise<{ info: ObjectInfo; bytes: Uint8Array }> {
    const { info, body } = await this.get(ref, options);
    return { info, bytes: await readAll(body) };
  }

  async head(ref: ObjectRef): Promise<ObjectInfo | null> {
    const op = 'head';
    this.checkRef(ref, op);
    try {
      const out = await this.client.send(new HeadObjectCommand({ Bucket: ref.bucket, Key: ref.key, VersionId: ref.versionId }));
      return toInfo(ref.bucket, ref.key, out);
    } catch (error) {
      const status = s3ErrorStatus(error);
      // 405 is S3's answer to a HEAD of a version that is a delete marker.
      if (status === 405 && ref.versionId !== undefined) return null;
      if (status !== 404) throw mapS3Error(error, { operation: op, bucket: ref.bucket, key: ref.key });
      // A HEAD 404 has no body, so "no such key" and "no such bucket" look alike; a misspelt
      // bucket must not read as "every object is gone".
      await this.send(() => this.client.send(new HeadBucketCommand({ Bucket: ref.bucket })), { operation: op, bucket: ref.bucket });
      return null;
    }
  }

  async put(to: ObjectLocation, body: Uint8Array | Readable, options: PutOptions = {}): Promise<WriteResult> {
    const op = 'put';
    this.checkOpen(op);
    checkKey(to, op);
    checkMetadata(options.metadata, op);
    checkTags(options.tags, op);
    checkRetention(options.retention, op);
    checkContentLength(options.contentLength, op);
    const context = { operation: op, bucket: to.bucket, key: to.key };
    const params = {
      Bucket: to.bucket,
      Key: to.key,
      ContentType: options.contentType ?? DEFAULT_CONTENT_TYPE,
      Metadata: options.metadata === undefined ? undefined : { ...options.metadata },
      Tagging: encodeTags(options.tags),
      ...lockParams(options),
      IfNoneMatch: options.ifNoneMatch,
    };
    if (body instanceof Uint8Array) {
      if (options.contentLength !== undefined && options.contentLength !== body.byteLength) {
        throw new ObjectStoreError('invalid', `${op} ${to.bucket}/${to.key}: body has ${body.byteLength} bytes, contentLength said ${options.contentLength}`, context);
      }
      if (body.byteLength > MAX_PUT_BYTES) return this.upload(params, Readable.from([body]), context);
      // Content-MD5 makes S3 verify the bytes it stored, and Object Lock writes require it.
      const md5 = createHash('md5').update(body).digest();
      const out = await this.send(
        () => this.client.send(new PutObjectCommand({ ...params, Body: body, ContentLength: body.byteLength, ContentMD5: md5.toString('base64') })),
        context,
      );
      return { versionId: normalizeVersion(out.VersionId), etag: normalizeEtag(out.ETag) ?? md5.toString('hex') };
    }
    if (options.contentLength !== undefined && options.contentLength <= MAX_PUT_BYTES) {
      const out = await this.send(() => this.client.send(new PutObjectCommand({ ...params, Body: body, ContentLength: options.contentLength })), context);
      return { versionId: normalizeVersion(out.VersionId), etag: normalizeEtag(out.ETag) ?? '' };
    }
    return this.upload(params, body, context);
  }

  /** Unknown or huge length: lib-storage splits it into parts (one PutObject when it fits in one). */
  private async upload(params: Record<string, unknown> & { Bucket: string; Key: string }, body: Readable, context: S3ErrorContext): Promise<WriteResult> {
    const upload = new Upload({
      client: this.client,
      params: { ...params, Body: body },
      partSize: this.uploadPartSize,
      queueSize: this.uploadQueueSize,
      leavePartsOnError: false,
    });
    const out = await this.send(() => upload.done(), context);
    return { versionId: normalizeVersion(out.VersionId), etag: normalizeEtag(out.ETag) ?? '' };
  }

  async copy(from: ObjectRef, to: ObjectLocation, options: CopyOptions = {}): Promise<WriteResult> {
    const op = 'copy';
    this.checkRef(from, op);
    checkKey(to, op);
    checkMetadata(options.metadata, op);
    checkTags(options.tags, op);
    checkRetention(options.retention, op);
    const context = { operation: op, bucket: to.bucket, key: to.key };
    const source = await this.head(from);
    if (source === null) {
      throw new ObjectStoreError('not_found', `${op} ${from.bucket}/${from.key}: no such ${from.versionId === undefined ? 'key' : 'version'}`, {
        operation: op,
        bucket: from.bucket,
        key: from.key,
      });
    }
    // Pin the exact bytes we looked at: the version where there is one, else the ETag, so a copy
    // (and every part of a multipart copy) fails rather than mixes two writes of the key.
    const pinned: ObjectRef = source.versionId === null ? from : { ...from, versionId: source.versionId };
    const ifMatch = source.versionId === null ? quoteEtag(source.etag) : undefined;
    const replaceMetadata = options.metadata !== undefined || options.contentType !== undefined;
    if (source.size > this.multipartCopyThreshold) return this.multipartCopy(pinned, ifMatch, source, to, options, context);
    const out = await this.send(
      () =>
        this.client.send(
          new CopyObjectCommand({
            Bucket: to.bucket,
            Key: to.key,
            CopySource: copySource(pinned),
            CopySourceIfMatch: ifMatch,
            MetadataDirective: replaceMetadata ? 'REPLACE' : 'COPY',
            ...(replaceMetadata ? { Metadata: { ...(options.metadata ?? source.metadata) }, ContentType: options.contentType ?? source.contentType } : {}),
            TaggingDirective: options.tags === undefined ? 'COPY' : 'REPLACE',
            Tagging: encodeTags(options.tags),
            ...lockParams(options),
          }),
        ),
      context,
    );
    return { versionId: normalizeVersion(out.VersionId), etag: normalizeEtag(out.CopyObjectResult?.ETag) ?? source.etag };
  }

  /** CopyObject stops at 5 GiB; above it the copy is assembled from UploadPartCopy ranges. */
  private async multipartCopy(
    from: ObjectRef,
    ifMatch: string | undefined,
    source: ObjectInfo,
    to: ObjectLocation,
    options: CopyOptions,
    context: S3ErrorContext,
  ): Promise<WriteResult> {
    const tags = options.tags ?? (await this.getTags(from));
    const created = await this.send(
      () =>
        this.client.send(
          new CreateMultipartUploadCommand({
            Bucket: to.bucket,
            Key: to.key,
            ContentType: options.contentType ?? source.contentType,
            Metadata: { ...(options.metadata ?? source.metadata) },
            Tagging: encodeTags(tags),
            ...lockParams(options),
          }),
        ),
      context,
    );
    const uploadId = created.UploadId;
    if (uploadId === undefined) throw new ObjectStoreError('unavailable', `copy ${to.bucket}/${to.key}: no upload id`, context);
    const partSize = Math.max(this.copyPartSize, Math.ceil(source.size / MAX_PARTS));
    const count = Math.ceil(source.size / partSize);
    const parts: CompletedPart[] = new Array(count);
    try {
      let next = 0;
      const worker = async (): Promise<void> => {
        while (next < count) {
          const index = next++;
          const start = index * partSize;
          const end = Math.min(start + partSize, source.size) - 1;
          const out = await this.send(
            () =>
              this.client.send(
                new UploadPartCopyCommand({
                  Bucket: to.bucket,
                  Key: to.key,
                  UploadId: uploadId,
                  PartNumber: index + 1,
                  CopySource: copySource(from),
                  CopySourceIfMatch: ifMatch,
                  CopySourceRange: `bytes=${start}-${end}`,
                }),
              ),
            context,
          );
          parts[index] = { PartNumber: index + 1, ETag: out.CopyPartResult?.ETag };
        }
      };
      await Promise.all(Array.from({ length: Math.min(COPY_PART_CONCURRENCY, count) }, worker));
      const out = await this.send(
        () =>
          this.client.send(
            new CompleteMultipartUploadCommand({ Bucket: to.bucket, Key: to.key, UploadId: uploadId, MultipartUpload: { Parts: parts } }),
          ),
        context,
      );
      return { versionId: normalizeVersion(out.VersionId), etag: normalizeEtag(out.ETag) ?? '' };
    } catch (error) {
      // Best effort: an upload left behind costs storage until a lifecycle rule expires it.
      await this.client.send(new AbortMultipartUploadCommand({ Bucket: to.bucket, Key: to.key, UploadId: uploadId })).catch(() => undefined);
      throw error;
    }
  }

  async delete(ref: ObjectRef): Promise<DeleteResult> {
    const op = 'delete';
    this.checkRef(ref, op);
    const context = { operation: op, bucket: ref.bucket, key: ref.key };
    try {
      const out = await this.client.send(new DeleteObjectCommand({ Bucket: ref.bucket, Key: ref.key, VersionId: ref.versionId }));
      return { versionId: normalizeVersion(out.VersionId) ?? ref.versionId ?? null, deleteMarker: out.DeleteMarker === true };
    } catch (error) {
      throw await this.lockAware(error, ref, context);
    }
  }

  async deleteAllVersions(bucket: string, key: string): Promise<number> {
    const op = 'deleteAllVersions';
    const ref = { bucket, key };
    this.checkRef(ref, op);
    const context = { operation: op, bucket, key };
    let removed = 0;
    // A writer racing with us can add a version after our listing: go again until a listing comes
    // back empty (bounded, so a writer in a loop cannot keep us here).
    for (let round = 0; round < 5; round++) {
      const versions = await this.versionsOf(bucket, key, context);
      if (versions === null) return removed + (await this.deleteUnversioned(ref, context));
      if (versions.length === 0) return removed;
      let locked = 0;
      for (const versionId of versions) {
        try {
          await this.delete({ bucket, key, versionId });
          removed += 1;
        } catch (error) {
          if (!(error instanceof ObjectStoreError && error.code === 'locked')) throw error;
          locked += 1;
        }
      }
      if (locked > 0) {
        throw new ObjectStoreError('locked', `${op} ${bucket}/${key}: ${locked} version(s) under retention or legal hold remain (${removed} removed)`, context);
      }
    }
    return removed;
  }

  /** Version ids (delete markers included) of exactly `key`; null when the server lists no versions. */
  private async versionsOf(bucket: string, key: string, context: S3ErrorContext): Promise<string[] | null> {
    const ids: string[] = [];
    let keyMarker: string | undefined;
    let versionIdMarker: string | undefined;
    for (;;) {
      let page;
      try {
        page = await this.client.send(
          new ListObjectVersionsCommand({ Bucket: bucket, Prefix: key, KeyMarker: keyMarker, VersionIdMarker: versionIdMarker, MaxKeys: 1000 }),
        );
      } catch (error) {
        // Servers without versioning (s3rver) refuse the call outright: 405 or 501.
        const status = s3ErrorStatus(error);
        if (status === 405 || status === 501) return null;
        throw mapS3Error(error, context);
      }
      // Listing is in key order and the exact key sorts first under its own prefix: once another
      // key shows up, every version of ours has been seen.
      let passed = false;
      for (const entry of [...(page.Versions ?? []), ...(page.DeleteMarkers ?? [])]) {
        if (entry.Key === key) ids.push(entry.VersionId ?? 'null');
        else passed = true;
      }
      if (!page.IsTruncated || passed) return ids;
      keyMarker = page.NextKeyMarker;
      versionIdMarker = page.NextVersionIdMarker;
    }
  }

  private async deleteUnversioned(ref: ObjectLocation, context: S3ErrorContext): Promise<number> {
    const exists = (await this.head(ref)) !== null;
    if (!exists) return 0;
    await this.send(() => this.client.send(new DeleteObjectCommand({ Bucket: ref.bucket, Key: ref.key })), context);
    return 1;
  }

  async getTags(ref: ObjectRef): Promise<Tags> {
    const op = 'getTags';
    this.checkRef(ref, op);
    const out = await this.sendVersionRead(
      ref,
      () => this.client.send(new GetObjectTaggingCommand({ Bucket: ref.bucket, Key: ref.key, VersionId: ref.versionId })),
      { operation: op, bucket: ref.bucket, key: ref.key },
    );
    const tags: Record<string, string> = {};
    for (const tag of out.TagSet ?? []) if (tag.Key !== undefined) tags[tag.Key] = tag.Value ?? '';
    return tags;
  }

  async putTags(ref: ObjectRef, tags: Tags): Promise<void> {
    const op = 'putTags';
    this.checkRef(ref, op);
    checkTags(tags, op);
    await this.send(
      () =>
        this.client.send(
          new PutObjectTaggingCommand({
            Bucket: ref.bucket,
            Key: ref.key,
            VersionId: ref.versionId,
            Tagging: { TagSet: Object.entries(tags).map(([Key, Value]) => ({ Key, Value })) },
          }),
        ),
      { operation: op, bucket: ref.bucket, key: ref.key },
    );
  }

  async putRetention(ref: ObjectRef, retention: Retention): Promise<void> {
    const op = 'putRetention';
    this.checkRef(ref, op);
    checkRetention(retention, op);
    const context = { operation: op, bucket: ref.bucket, key: ref.key };
    try {
      await this.client.send(
        new PutObjectRetentionCommand({
          Bucket: ref.bucket,
          Key: ref.key,
          VersionId: ref.versionId,
          Retention: { Mode: retention.mode as ObjectLockMode, RetainUntilDate: retention.retainUntil },
        }),
      );
    } catch (error) {
      throw await this.lockAware(error, ref, context);
    }
  }

  async putLegalHold(ref: ObjectRef, on: boolean): Promise<void> {
    const op = 'putLegalHold';
    this.checkRef(ref, op);
    await this.send(
      () =>
        this.client.send(
          new PutObjectLegalHoldCommand({
            Bucket: ref.bucket,
            Key: ref.key,
            VersionId: ref.versionId,
            LegalHold: { Status: (on ? 'ON' : 'OFF') as ObjectLockLegalHoldStatus },
          }),
        ),
      { operation: op, bucket: ref.bucket, key: ref.key },
    );
  }

  async *list(bucket: string, options: ListOptions = {}): AsyncIterable<ObjectSummary> {
    const op = 'list';
    this.checkOpen(op);
    checkBucket(bucket, op);
    checkPageSize(options.pageSize, op);
    const pageSize = options.pageSize ?? 1000;
    let token: string | undefined;
    for (;;) {
      const page = await this.send(
        () =>
          this.client.send(
            new ListObjectsV2Command({
              Bucket: bucket,
              Prefix: options.prefix,
              // StartAfter only matters for the first page; the token carries the position after.
              StartAfter: token === undefined ? options.startAfter : undefined,
              ContinuationToken: token,
              MaxKeys: pageSize,
            }),
            abortOptions(options.signal),
          ),
        { operation: op, bucket },
        options.signal,
      );
      for (const item of page.Contents ?? []) {
        if (item.Key === undefined) continue;
        yield {
          bucket,
          key: item.Key,
          size: item.Size ?? 0,
          etag: normalizeEtag(item.ETag) ?? '',
          lastModified: item.LastModified ?? new Date(0),
        };
      }
      if (!page.IsTruncated || page.NextContinuationToken === undefined) return;
      token = page.NextContinuationToken;
    }
  }

  async ensureBucket(bucket: string, options: BucketOptions = {}): Promise<void> {
    const op = 'ensureBucket';
    this.checkOpen(op);
    checkBucket(bucket, op);
    const context = { operation: op, bucket };
    const objectLock = options.objectLock === true;
    let created = false;
    try {
      await this.client.send(
        new CreateBucketCommand({
          Bucket: bucket,
          ObjectLockEnabledForBucket: objectLock ? true : undefined,
          CreateBucketConfiguration: this.region === 'us-east-1' ? undefined : { LocationConstraint: this.region as never },
        }),
      );
      created = true;
    } catch (error) {
      const name = s3ErrorName(error);
      if (name !== 'BucketAlreadyOwnedByYou' && name !== 'BucketAlreadyExists') throw mapS3Error(error, context);
      // "Already exists" may mean someone else's bucket (a global name on AWS): usable only if
      // we can reach it.
      await this.send(() => this.client.send(new HeadBucketCommand({ Bucket: bucket })), context);
    }
    // A bucket created with Object Lock has versioning on already.
    if ((options.versioning === true || objectLock) && !(created && objectLock)) {
      const state = await this.send(() => this.client.send(new GetBucketVersioningCommand({ Bucket: bucket })), context);
      if (state.Status !== 'Enabled') {
        await this.send(
          () => this.client.send(new PutBucketVersioningCommand({ Bucket: bucket, VersioningConfiguration: { Status: 'Enabled' } })),
          context,
        );
      }
    }
    if (objectLock && !created) {
      let enabled = false;
      try {
        const out = await this.client.send(new GetObjectLockConfigurationCommand({ Bucket: bucket }));
        enabled = out.ObjectLockConfiguration?.ObjectLockEnabled === 'Enabled';
      } catch (error) {
        if (s3ErrorName(error) !== 'ObjectLockConfigurationNotFoundError') throw mapS3Error(error, context);
      }
      if (!enabled) {
        // AWS allows turning Object Lock on for an existing versioned bucket; some servers do not.
        await this.send(
          () => this.client.send(new PutObjectLockConfigurationCommand({ Bucket: bucket, ObjectLockConfiguration: { ObjectLockEnabled: 'Enabled' } })),
          context,
        );
      }
    }
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    this.client.destroy();
  }

  // ---- helpers ---------------------------------------------------------------------------------

  /** Runs one SDK call, mapping its failure; an aborted signal surfaces as the signal's reason. */
  private async send<T>(call: () => Promise<T>, context: S3ErrorContext, signal?: AbortSignal): Promise<T> {
    signal?.throwIfAborted();
    try {
      return await call();
    } catch (error) {
      signal?.throwIfAborted();
      throw mapS3Error(error, context);
    }
  }

  /**
   * Reads of one version: S3 answers 405 MethodNotAllowed when that version is a delete marker,
   * which the port (like FsObjectStore) reports as `not_found`.
   */
  private async sendVersionRead<T>(ref: ObjectRef, call: () => Promise<T>, context: S3ErrorContext, signal?: AbortSignal): Promise<T> {
    try {
      return await this.send(call, context, signal);
    } catch (error) {
      if (ref.versionId !== undefined && error instanceof ObjectStoreError && error.httpStatus === 405) {
        throw new ObjectStoreError('not_found', `${context.operation} ${ref.bucket}/${ref.key}: the version is a delete marker`, {
          ...context,
          backendCode: error.backendCode ?? 'MethodNotAllowed',
          httpStatus: 405,
        });
      }
      throw error;
    }
  }

  /**
   * S3 refuses a locked version's deletion (or a retention cut) with a plain 403 AccessDenied,
   * the same answer as missing permissions. Tell them apart by looking at the version's lock.
   */
  private async lockAware(error: unknown, ref: ObjectRef, context: S3ErrorContext): Promise<ObjectStoreError> {
    const mapped = mapS3Error(error, context);
    if (mapped.code !== 'access_denied') return mapped;
    const info = await this.head(ref).catch(() => null);
    const retained = info?.retention !== null && info?.retention !== undefined && info.retention.retainUntil.getTime() > Date.now();
    if (info !== null && (info.legalHold || retained)) {
      return new ObjectStoreError('locked', `${context.operation} ${ref.bucket}/${ref.key}: the version is under retention or legal hold`, {
        ...context,
        backendCode: mapped.backendCode ?? 'AccessDenied',
        ...(mapped.httpStatus === undefined ? {} : { httpStatus: mapped.httpStatus }),
      });
    }
    return mapped;
  }

  private checkRef(ref: ObjectRef, op: string): void {
    this.checkOpen(op);
    checkKey(ref, op);
    checkVersionId(ref.versionId, op);
  }

  private checkOpen(op: string): void {
    if (this.closed) throw new ObjectStoreError('invalid', `${op}: the store is closed`, { operation: op });
  }
}

function abortOptions(signal: AbortSignal | undefined): { abortSignal: AbortSignal } | undefined {
  return signal === undefined ? undefined : { abortSignal: signal };
}

function lockParams(options: { retention?: Retention; legalHold?: boolean }): {
  ObjectLockMode?: ObjectLockMode;
  ObjectLockRetainUntilDate?: Date;
  ObjectLockLegalHoldStatus?: ObjectLockLegalHoldStatus;
} {
  return {
    ...(options.retention === undefined
      ? {}
      : { ObjectLockMode: options.retention.mode as ObjectLockMode, ObjectLockRetainUntilDate: options.retention.retainUntil }),
    ...(options.legalHold === true ? { ObjectLockLegalHoldStatus: 'ON' as ObjectLockLegalHoldStatus } : {}),
  };
}

/** `x-amz-tagging` is a URL query string. */
export function encodeTags(tags: Tags | undefined): string | undefined {
  if (tags === undefined) return undefined;
  return Object.entries(tags)
    .map(([name, value]) => `${encodeURIComponent(name)}=${encodeURIComponent(value)}`)
    .join('&');
}

/**
 * `x-amz-copy-source`: bucket/key URL-encoded, keeping `/` literal (some servers decode it with
 * decodeURI, which leaves %2F alone), plus `?versionId=` for a version.
 */
export function copySource(ref: ObjectRef): string {
  const key = ref.key.split('/').map(encodeURIComponent).join('/');
  const base = `${ref.bucket}/${key}`;
  return ref.versionId === undefined ? base : `${base}?versionId=${encodeURIComponent(ref.versionId)}`;
}

function normalizeEtag(etag: string | undefined): string | undefined {
  return etag === undefined ? undefined : etag.replace(/^W\//, '').replace(/"/g, '').toLowerCase();
}

function quoteEtag(etag: string): string {
  return `"${etag}"`;
}

/** S3 says "null" for the version of an object written while versioning was off. */
function normalizeVersion(versionId: string | undefined): string | null {
  return versionId === undefined || versionId === 'null' ? null : versionId;
}

function toInfo(bucket: string, key: string, out: Omit<HeadObjectCommandOutput, '$metadata'>): ObjectInfo {
  const metadata: Record<string, string> = {};
  for (const [name, value] of Object.entries(out.Metadata ?? {})) metadata[name.toLowerCase()] = value;
  const retainUntil = out.ObjectLockRetainUntilDate;
  return {
    bucket,
    key,
    versionId: normalizeVersion(out.VersionId),
    size: out.ContentLength ?? 0,
    etag: normalizeEtag(out.ETag) ?? '',
    contentType: out.ContentType ?? DEFAULT_CONTENT_TYPE,
    lastModified: out.LastModified ?? new Date(0),
    metadata,
    retention:
      out.ObjectLockMode !== undefined && retainUntil !== undefined
        ? { mode: out.ObjectLockMode === 'COMPLIANCE' ? 'COMPLIANCE' : 'GOVERNANCE', retainUntil: new Date(retainUntil) }
        : null,
    legalHold: out.ObjectLockLegalHoldStatus === 'ON',
  };
}

