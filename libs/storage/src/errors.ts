// The one error type every ObjectStore adapter throws, with a stable code and whether retrying
// can help. Messages name the operation, bucket and key, never credentials, signatures or
// presigned URLs: callers log them as they are.

export type ObjectStoreErrorCode =
  /** The bucket, key or version does not exist. */
  | 'not_found'
  /** The object is larger than the caller's byte cap (or than the backend accepts). */
  | 'too_large'
  /** Credentials are missing, wrong or lack permission. Retrying will not help. */
  | 'access_denied'
  /** Object Lock (retention or legal hold) forbids deleting or shortening the protection. */
  | 'locked'
  /** A conditional write lost: `ifNoneMatch: '*'` and the key exists. */
  | 'precondition_failed'
  /** The request itself is wrong (bad name, unsupported by this backend, missing lock config). */
  | 'invalid'
  /** The backend could not answer: network, 5xx, throttling, a torn read. */
  | 'unavailable';

export interface ObjectStoreErrorDetails {
  /** Overrides the default, which is `true` exactly for `unavailable`. */
  retriable?: boolean;
  operation?: string;
  bucket?: string;
  key?: string;
  /** The backend's own error name (`NoSuchKey`, `SlowDown`, `EACCES`), for logs and metrics. */
  backendCode?: string;
  httpStatus?: number;
}

export class ObjectStoreError extends Error {
  override readonly name = 'ObjectStoreError';
  readonly code: ObjectStoreErrorCode;
  /** Whether the same call may succeed later (with backoff). */
  readonly retriable: boolean;
  readonly operation: string | undefined;
  readonly bucket: string | undefined;
  readonly key: string | undefined;
  readonly backendCode: string | undefined;
  readonly httpStatus: number | undefined;

  constructor(code: ObjectStoreErrorCode, message: string, details: ObjectStoreErrorDetails = {}) {
    super(sanitizeMessage(message));
    this.code = code;
    this.retriable = details.retriable ?? code === 'unavailable';
    this.operation = details.operation;
    this.bucket = details.bucket;
    this.key = details.key;
    this.backendCode = details.backendCode;
    this.httpStatus = details.httpStatus;
  }
}

export function isObjectStoreError(error: unknown, code?: ObjectStoreErrorCode): error is ObjectStoreError {
  return error instanceof ObjectStoreError && (code === undefined || error.code === code);
}

const MAX_MESSAGE = 500;

/**
 * Backends echo things into error text that must not reach a log: presigned query strings
 * (X-Amz-Signature, X-Amz-Credential), Authorization headers, access key ids. Strip them, and cap
 * the length so an HTML error page from a proxy cannot flood the log.
 */
export function sanitizeMessage(message: string): string {
  const cleaned = message
    .replace(/(https?:\/\/[^\s?"'<>]*)\?[^\s"'<>]*/gi, '$1?[redacted]')
    .replace(/\bX-Amz-(Signature|Credential|Security-Token)=[^\s&"'<>]*/gi, 'X-Amz-$1=[redacted]')
    .replace(/\b(Authorization:?\s*)(AWS4-HMAC-SHA256|AWS|Bearer)\s+[^\r\n"]*/gi, '$1[redacted]')
    .replace(/\b(AKIA|ASIA)[A-Z0-9]{12,}\b/g, '[redacted-key-id]');
  return cleaned.length > MAX_MESSAGE ? `${cleaned.slice(0, MAX_MESSAGE)}…` : cleaned;
}
