// Argument checks both adapters run before touching the backend, so that they refuse the same
// inputs with the same `invalid` error (a directory would accept names S3 rejects, and the
// embedded default must not let through what production would refuse). Pure.

import { ObjectStoreError } from './errors.ts';
import { MAX_KEY_BYTES, MAX_TAGS, type Metadata, type ObjectLocation, type Retention, type Tags } from './object-store.ts';

// S3's bucket naming rules: 3-63 of [a-z0-9.-], starting and ending with a letter or digit, no
// "..", not an IP address. They also keep a bucket name safe as a single path segment.
const BUCKET = /^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$/;
const IPV4 = /^\d{1,3}(\.\d{1,3}){3}$/;

export function checkBucket(bucket: string, operation: string): void {
  if (!BUCKET.test(bucket) || bucket.includes('..') || IPV4.test(bucket)) {
    throw new ObjectStoreError('invalid', `${operation}: invalid bucket name ${JSON.stringify(bucket)}`, { operation });
  }
}

export function checkKey(location: ObjectLocation, operation: string): void {
  checkBucket(location.bucket, operation);
  const { key } = location;
  // A lone surrogate has no UTF-8 form: S3 would store U+FFFD and the key would not round-trip.
  const bytes = Buffer.byteLength(key, 'utf8');
  if (key.length === 0 || bytes > MAX_KEY_BYTES || Buffer.from(key, 'utf8').toString('utf8') !== key) {
    throw new ObjectStoreError('invalid', `${operation}: invalid key (${bytes} bytes; 1..${MAX_KEY_BYTES} of valid UTF-8)`, {
      operation,
      bucket: location.bucket,
    });
  }
}

export function checkVersionId(versionId: string | undefined, operation: string): void {
  if (versionId !== undefined && (versionId.length === 0 || versionId.length > 1024)) {
    throw new ObjectStoreError('invalid', `${operation}: invalid versionId`, { operation });
  }
}

export function checkMaxBytes(maxBytes: number, operation: string): void {
  if (!Number.isSafeInteger(maxBytes) || maxBytes < 0) {
    throw new ObjectStoreError('invalid', `${operation}: maxBytes must be a non-negative integer`, { operation });
  }
}

// Metadata travels as HTTP headers (x-amz-meta-*): S3 lowercases names and mangles non-ASCII
// values, so only what round-trips unchanged is accepted. 2 KB in all is S3's limit.
const META_NAME = /^[a-z0-9][a-z0-9._-]*$/;
const META_VALUE = /^[\x20-\x7e]*$/;
const MAX_METADATA_BYTES = 2048;

export function checkMetadata(metadata: Metadata | undefined, operation: string): void {
  if (metadata === undefined) return;
  let total = 0;
  for (const [name, value] of Object.entries(metadata)) {
    if (!META_NAME.test(name) || typeof value !== 'string' || !META_VALUE.test(value)) {
      throw new ObjectStoreError('invalid', `${operation}: metadata ${JSON.stringify(name)} must be a lowercase name with a printable ASCII value`, {
        operation,
      });
    }
    total += name.length + value.length;
  }
  if (total > MAX_METADATA_BYTES) {
    throw new ObjectStoreError('invalid', `${operation}: metadata is ${total} bytes (max ${MAX_METADATA_BYTES})`, { operation });
  }
}

// S3's tag rules (letters, digits, spaces and + - = . _ : / @; key 1-128, value 0-256, 10 tags).
const TAG_CHARS = /^[\p{L}\p{Z}\p{N}_.:/=+\-@]*$/u;

export function checkTags(tags: Tags | undefined, operation: string): void {
  if (tags === undefined) return;
  const entries = Object.entries(tags);
  if (entries.length > MAX_TAGS) {
    throw new ObjectStoreError('invalid', `${operation}: ${entries.length} tags (max ${MAX_TAGS})`, { operation });
  }
  for (const [name, value] of entries) {
    const ok = name.length >= 1 && name.length <= 128 && typeof value === 'string' && value.length <= 256;
    if (!ok || !TAG_CHARS.test(name) || !TAG_CHARS.test(value)) {
      throw new ObjectStoreError('invalid', `${operation}: invalid tag ${JSON.stringify(name)}`, { operation });
    }
  }
}

export function checkRetention(retention: Retention | undefined, operation: string): void {
  if (retention === undefined) return;
  if (retention.mode !== 'COMPLIANCE' && retention.mode !== 'GOVERNANCE') {
    throw new ObjectStoreError('invalid', `${operation}: retention mode must be COMPLIANCE or GOVERNANCE`, { operation });
  }
  if (!(retention.retainUntil instanceof Date) || Number.isNaN(retention.retainUntil.getTime())) {
    throw new ObjectStoreError('invalid', `${operation}: retainUntil must be a valid Date`, { operation });
  }
}

export function checkContentLength(contentLength: number | undefined, operation: string): void {
  if (contentLength !== undefined && (!Number.isSafeInteger(contentLength) || contentLength < 0)) {
    throw new ObjectStoreError('invalid', `${operation}: contentLength must be a non-negative integer`, { operation });
  }
}

export function checkPageSize(pageSize: number | undefined, operation: string): void {
  if (pageSize !== undefined && (!Number.isInteger(pageSize) || pageSize < 1 || pageSize > 1000)) {
    throw new ObjectStoreError('invalid', `${operation}: pageSize must be 1..1000`, { operation });
  }
}
