// The ObjectStore port: what services read, write, copy, lock and delete objects through, whatever
// holds them (S3 or an S3-compatible server, or a directory for the embedded default). It owns
// object I/O semantics (byte caps, versions, Object Lock); it never holds business logic.
//
// Semantics follow S3 so that both adapters behave alike: keys are opaque strings up to 1024 UTF-8
// bytes, listing is in UTF-8 byte order, a versioned bucket keeps every version and a plain delete
// adds a delete marker, and Object Lock protects versions (never keys) until `retainUntil`.

import type { Readable } from 'node:stream';

/** An object, or one version of it when `versionId` is given. */
export interface ObjectRef {
  readonly bucket: string;
  readonly key: string;
  readonly versionId?: string;
}

/** Where a write goes: a write always makes a new current version, so no version id. */
export interface ObjectLocation {
  readonly bucket: string;
  readonly key: string;
}

export type RetentionMode = 'COMPLIANCE' | 'GOVERNANCE';

export interface Retention {
  /** COMPLIANCE: nobody can delete the version or shorten this. GOVERNANCE: only with a bypass we never use. */
  readonly mode: RetentionMode;
  readonly retainUntil: Date;
}

/** User metadata (`x-amz-meta-*`): lowercase ASCII names, string values. */
export type Metadata = Readonly<Record<string, string>>;
/** Object tags: at most 10, keys up to 128 and values up to 256 characters (S3's limits). */
export type Tags = Readonly<Record<string, string>>;

/** What a listing says about an object: S3 lists no metadata, so neither does this. */
export interface ObjectSummary {
  readonly bucket: string;
  readonly key: string;
  readonly size: number;
  /** Lowercase hex without quotes: the MD5 of the bytes for single-part writes, `<hex>-<parts>` for multipart. */
  readonly etag: string;
  readonly lastModified: Date;
}

export interface ObjectInfo extends ObjectSummary {
  /** The version this describes; null in a bucket that never had versioning. */
  readonly versionId: string | null;
  /** `application/octet-stream` when the writer gave none. */
  readonly contentType: string;
  readonly metadata: Metadata;
  /** Present while a retention was ever set on this version (it may have expired). */
  readonly retention: Retention | null;
  readonly legalHold: boolean;
}

export interface GetOptions {
  /**
   * The most bytes the caller will accept. An object known to be larger is refused before any byte
   * is read; a body that grows past it (the size was unknown, or lied) is aborted mid-stream. Both
   * raise `too_large`. Required: every read of untrusted content is bounded.
   */
  readonly maxBytes: number;
  readonly signal?: AbortSignal;
}

export interface GetResult {
  readonly info: ObjectInfo;
  /**
   * The bytes, streamed. Emits ObjectStoreError `too_large` past the cap and `unavailable`
   * (retriable) when the stream ends short of `info.size`. The caller must consume or destroy it.
   */
  readonly body: Readable;
}

export interface PutOptions {
  readonly contentType?: string;
  readonly metadata?: Metadata;
  readonly tags?: Tags;
  /** The exact byte count of a stream body. Without it a stream is uploaded in parts. */
  readonly contentLength?: number;
  /** Needs a bucket created with `objectLock`; otherwise `invalid`. */
  readonly retention?: Retention;
  readonly legalHold?: boolean;
  /** Write only if no current object exists under the key, else `precondition_failed`. */
  readonly ifNoneMatch?: '*';
}

export interface CopyOptions {
  /** Replaces the metadata; without it the source's metadata and content type are copied. */
  readonly metadata?: Metadata;
  readonly contentType?: string;
  /** Replaces the tags; without it the source's tags are copied. */
  readonly tags?: Tags;
  readonly retention?: Retention;
  readonly legalHold?: boolean;
}

export interface WriteResult {
  /** The new version; null where the bucket is not versioned. */
  readonly versionId: string | null;
  readonly etag: string;
}

export interface DeleteResult {
  /** The version removed, or the delete marker created; null where the bucket is not versioned. */
  readonly versionId: string | null;
  /** True when the delete only hid the object behind a delete marker (versioned bucket, no versionId). */
  readonly deleteMarker: boolean;
}

export interface ListOptions {
  readonly prefix?: string;
  /** Resume after this key (exclusive): how a rescan picks up where it stopped. */
  readonly startAfter?: string;
  /** Keys per backend request, 1..1000 (default 1000). Does not limit the listing. */
  readonly pageSize?: number;
  readonly signal?: AbortSignal;
}

export interface BucketOptions {
  readonly versioning?: boolean;
  /** Object Lock (implies versioning). Evidence buckets need it. */
  readonly objectLock?: boolean;
}

/**
 * Every method rejects with ObjectStoreError (see `code` and `retriable`), except that an aborted
 * `signal` rejects with the signal's reason. Bucket names follow S3's rules; anything else is
 * `invalid`. No method retries on its own beyond the backend client's transport retries: callers
 * decide, using `retriable`.
 */
export interface ObjectStore {
  /**
   * Streams an object (the given version, else the current one). `not_found` when the key, the
   * version or the bucket does not exist, or the current version is a delete marker.
   */
  get(ref: ObjectRef, options: GetOptions): Promise<GetResult>;

  /** `get` read to the end into memory, under the same cap. */
  getBytes(ref: ObjectRef, options: GetOptions): Promise<{ info: ObjectInfo; bytes: Uint8Array }>;

  /** The object's (or version's) description, or null if it does not exist. `not_found` for a missing bucket. */
  head(ref: ObjectRef): Promise<ObjectInfo | null>;

  /**
   * Writes a new current version atomically: readers see the old object or the whole new one,
   * never a part. Not idempotent in a versioned bucket (each call is a new version); use
   * `ifNoneMatch: '*'` for create-once semantics. A stream body is read exactly once.
   */
  put(to: ObjectLocation, body: Uint8Array | Readable, options?: PutOptions): Promise<WriteResult>;

  /**
   * Server-side copy of `from` (a version if given) to a new current version of `to`; bytes never
   * pass through this process. Objects over 5 GiB are copied in parts (S3's single-copy limit).
   * Retention and legal hold are never copied from the source: pass them for the target.
   */
  copy(from: ObjectRef, to: ObjectLocation, options?: CopyOptions): Promise<WriteResult>;

  /**
   * With `versionId`: removes that version for good (`locked` while retention or a legal hold
   * protects it). Without: removes the current object, which in a versioned bucket means adding a
   * delete marker (older versions stay, and so does any lock). Idempotent: deleting what is not
   * there succeeds. `not_found` only for a missing bucket.
   */
  delete(ref: ObjectRef): Promise<DeleteResult>;

  /**
   * Removes every version and delete marker of exactly this key and returns how many it removed
   * (0 when there were none): what quarantine needs to make a public object truly gone. Not atomic:
   * on `locked` (or any error) the remaining versions stay, and calling again is safe.
   */
  deleteAllVersions(bucket: string, key: string): Promise<number>;

  /** The tags of the object (or version); `not_found` if it does not exist. */
  getTags(ref: ObjectRef): Promise<Tags>;
  /** Replaces the whole tag set. Idempotent. `not_found` if the object does not exist. */
  putTags(ref: ObjectRef, tags: Tags): Promise<void>;

  /**
   * Sets or extends a version's retention (the current version when no versionId). Extend-only:
   * shortening, or weakening COMPLIANCE to GOVERNANCE, is `locked`. Idempotent for the same value.
   */
  putRetention(ref: ObjectRef, retention: Retention): Promise<void>;
  /** Turns a version's legal hold on or off. Idempotent. */
  putLegalHold(ref: ObjectRef, on: boolean): Promise<void>;

  /**
   * Current objects in UTF-8 byte order of key, fetched a page at a time, so a listing of millions
   * holds one page in memory. Objects written or deleted during a listing may or may not appear.
   */
  list(bucket: string, options?: ListOptions): AsyncIterable<ObjectSummary>;

  /**
   * Creates the bucket if missing and turns on what is asked (never off). Idempotent. `invalid`
   * when the backend cannot provide the requested feature.
   */
  ensureBucket(bucket: string, options?: BucketOptions): Promise<void>;

  /** Releases connections. Idempotent; the store is unusable afterwards. */
  close(): Promise<void>;
}

/** S3's single-request limits, which both adapters apply so that they agree. */
export const MAX_KEY_BYTES = 1024;
export const MAX_TAGS = 10;
/** CopyObject's limit; above it a copy goes in parts (UploadPartCopy). */
export const MAX_SINGLE_COPY_BYTES = 5 * 1024 ** 3;
