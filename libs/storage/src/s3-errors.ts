// Maps AWS SDK v3 failures (service errors, transport errors, timeouts) to ObjectStoreError with a
// code and a retriable flag. Pure. The SDK error is not kept as `cause`: it carries the raw
// response and request (Authorization header, presigned URLs) that a logger would serialize.

import { ObjectStoreError, type ObjectStoreErrorCode } from './errors.ts';

export interface S3ErrorContext {
  readonly operation: string;
  readonly bucket?: string;
  readonly key?: string;
}

const NOT_FOUND = new Set(['NoSuchKey', 'NoSuchBucket', 'NotFound', 'NoSuchVersion', 'NoSuchUpload', 'NoSuchTagSet', 'NoSuchTagSetError']);
const ACCESS_DENIED = new Set([
  'AccessDenied',
  'Forbidden',
  'InvalidAccessKeyId',
  'SignatureDoesNotMatch',
  'AllAccessDisabled',
  'AccountProblem',
  'InvalidSecurity',
  'ExpiredToken',
  'InvalidToken',
  'TokenRefreshRequired',
  'CredentialsProviderError',
]);
const PRECONDITION = new Set(['PreconditionFailed']);
const TOO_LARGE = new Set(['EntityTooLarge', 'MaxMessageLengthExceeded']);
// Throttling and transient server states: S3 documents these as safe to retry with backoff.
const RETRIABLE_CODES = new Set([
  'SlowDown',
  'Throttling',
  'ThrottlingException',
  'ThrottledException',
  'RequestThrottled',
  'RequestThrottledException',
  'TooManyRequestsException',
  'RequestLimitExceeded',
  'BandwidthLimitExceeded',
  'InternalError',
  'ServiceUnavailable',
  'RequestTimeout',
  'RequestTimeoutException',
  'TimeoutError',
  'OperationAborted',
  // A concurrent conditional write or multipart completion on the same key: retry decides it.
  'ConditionalRequestConflict',
]);
// Socket-level failures: the request may never have reached S3, or its answer never reached us.
const NETWORK_CODES = new Set([
  'ECONNRESET',
  'ECONNREFUSED',
  'ECONNABORTED',
  'ETIMEDOUT',
  'EPIPE',
  'ENOTFOUND',
  'EAI_AGAIN',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'ENETDOWN',
  'ERR_STREAM_PREMATURE_CLOSE',
  'UND_ERR_SOCKET',
  'UND_ERR_CONNECT_TIMEOUT',
]);

interface SdkErrorShape {
  name?: string;
  code?: string;
  message?: string;
  $retryable?: unknown;
  $metadata?: { httpStatusCode?: number; requestId?: string };
  $response?: { statusCode?: number };
}

export function s3ErrorStatus(error: unknown): number | undefined {
  const shape = error as SdkErrorShape | undefined;
  return shape?.$metadata?.httpStatusCode ?? shape?.$response?.statusCode;
}

/** The S3 error code (`NoSuchKey`) or socket code (`ECONNRESET`) of an SDK failure. */
export function s3ErrorName(error: unknown): string {
  const shape = error as SdkErrorShape | undefined;
  if (typeof shape?.code === 'string' && NETWORK_CODES.has(shape.code)) return shape.code;
  return (typeof shape?.name === 'string' && shape.name !== 'Error' ? shape.name : undefined) ?? shape?.code ?? 'UnknownError';
}

function classify(name: string, status: number | undefined, sdkRetryable: boolean): { code: ObjectStoreErrorCode; retriable: boolean } {
  if (NETWORK_CODES.has(name)) return { code: 'unavailable', retriable: true };
  if (RETRIABLE_CODES.has(name)) return { code: name === 'ConditionalRequestConflict' ? 'precondition_failed' : 'unavailable', retriable: true };
  if (NOT_FOUND.has(name)) return { code: 'not_found', retriable: false };
  if (ACCESS_DENIED.has(name)) return { code: 'access_denied', retriable: false };
  if (PRECONDITION.has(name)) return { code: 'precondition_failed', retriable: false };
  if (TOO_LARGE.has(name)) return { code: 'too_large', retriable: false };
  if (status !== undefined) {
    if (status === 404) return { code: 'not_found', retriable: false };
    if (status === 401 || status === 403) return { code: 'access_denied', retriable: false };
    if (status === 412) return { code: 'precondition_failed', retriable: false };
    if (status === 413) return { code: 'too_large', retriable: false };
    if (status === 429) return { code: 'unavailable', retriable: true };
    // 501 Not Implemented is a permanent "this server cannot do that" (s3rver and retention).
    if (status === 501) return { code: 'invalid', retriable: false };
    if (status >= 500) return { code: 'unavailable', retriable: true };
    if (status >= 400) return { code: 'invalid', retriable: false };
  }
  // No HTTP answer at all (a socket error we do not list, a client-side timeout): the SDK knows
  // whether it considered it transient.
  return { code: 'unavailable', retriable: sdkRetryable };
}

export function mapS3Error(error: unknown, context: S3ErrorContext): ObjectStoreError {
  if (error instanceof ObjectStoreError) return error;
  const shape = (error ?? {}) as SdkErrorShape;
  const name = s3ErrorName(error);
  const status = s3ErrorStatus(error);
  const { code, retriable } = classify(name, status, shape.$retryable !== undefined && shape.$retryable !== false);
  const where = context.bucket === undefined ? '' : ` ${context.bucket}${context.key === undefined ? '' : `/${context.key}`}`;
  const statusText = status === undefined ? '' : ` (HTTP ${status})`;
  // Server messages are fixed texts ("The specified key does not exist."); SDK messages for
  // unparseable answers can echo a body, which sanitizeMessage trims and scrubs.
  const detail = typeof shape.message === 'string' && shape.message !== '' && shape.message !== name ? `: ${shape.message}` : '';
  return new ObjectStoreError(code, `${context.operation}${where}: ${name}${statusText}${detail}`, {
    retriable,
    operation: context.operation,
    ...(context.bucket === undefined ? {} : { bucket: context.bucket }),
    ...(context.key === undefined ? {} : { key: context.key }),
    backendCode: name,
    ...(status === undefined ? {} : { httpStatus: status }),
  });
}
