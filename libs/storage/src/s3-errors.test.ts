import { describe, expect, it } from 'vitest';
import { ObjectStoreError, sanitizeMessage } from './errors.ts';
import { mapS3Error } from './s3-errors.ts';

function sdkError(name: string, status?: number, extra: Record<string, unknown> = {}): Error {
  return Object.assign(new Error(`${name} happened`), { name, ...(status === undefined ? {} : { $metadata: { httpStatusCode: status } }), ...extra });
}

const context = { operation: 'get', bucket: 'bkt', key: 'k' };

describe('mapS3Error', () => {
  it.each([
    ['NoSuchKey', 404, 'not_found', false],
    ['NoSuchBucket', 404, 'not_found', false],
    ['NotFound', 404, 'not_found', false],
    ['NoSuchVersion', 404, 'not_found', false],
    ['AccessDenied', 403, 'access_denied', false],
    ['InvalidAccessKeyId', 403, 'access_denied', false],
    ['SignatureDoesNotMatch', 403, 'access_denied', false],
    ['ExpiredToken', 400, 'access_denied', false],
    ['PreconditionFailed', 412, 'precondition_failed', false],
    ['ConditionalRequestConflict', 409, 'precondition_failed', true],
    ['EntityTooLarge', 400, 'too_large', false],
    ['SlowDown', 503, 'unavailable', true],
    ['ServiceUnavailable', 503, 'unavailable', true],
    ['InternalError', 500, 'unavailable', true],
    ['RequestTimeout', 400, 'unavailable', true],
    ['ThrottlingException', 400, 'unavailable', true],
    ['NotImplemented', 501, 'invalid', false],
    ['MethodNotAllowed', 405, 'invalid', false],
    ['InvalidArgument', 400, 'invalid', false],
    ['InvalidBucketName', 400, 'invalid', false],
    ['Weird', 502, 'unavailable', true],
    ['Weird', 429, 'unavailable', true],
    ['Weird', 418, 'invalid', false],
  ] as const)('%s (HTTP %s) is %s, retriable %s', (name, status, code, retriable) => {
    const mapped = mapS3Error(sdkError(name, status), context);
    expect(mapped).toBeInstanceOf(ObjectStoreError);
    expect(mapped).toMatchObject({ code, retriable, backendCode: name, httpStatus: status, operation: 'get', bucket: 'bkt', key: 'k' });
  });

  it.each(['ECONNRESET', 'ECONNREFUSED', 'ETIMEDOUT', 'EPIPE', 'EAI_AGAIN'])('socket error %s is retriable unavailable', (code) => {
    const error = Object.assign(new Error(`connect ${code} 10.0.0.1:9000`), { code });
    expect(mapS3Error(error, context)).toMatchObject({ code: 'unavailable', retriable: true, backendCode: code });
  });

  it('trusts the SDK about transport errors it does not name', () => {
    expect(mapS3Error(Object.assign(new Error('x'), { name: 'TimeoutError' }), context)).toMatchObject({ code: 'unavailable', retriable: true });
    expect(mapS3Error(Object.assign(new Error('odd'), { name: 'OddError', $retryable: {} }), context)).toMatchObject({ retriable: true });
    expect(mapS3Error(Object.assign(new Error('odd'), { name: 'OddError' }), context)).toMatchObject({ code: 'unavailable', retriable: false });
  });

  it('maps a missing credential chain to access_denied', () => {
    expect(mapS3Error(sdkError('CredentialsProviderError'), context)).toMatchObject({ code: 'access_denied', retriable: false });
  });

  it('keeps no SDK error as cause and scrubs secrets from messages', () => {
    const raw = sdkError('AccessDenied', 403, {
      message: 'denied for https://bkt.s3.amazonaws.com/k?X-Amz-Credential=AKIAIOSFODNN7EXAMPLE%2F20260101&X-Amz-Signature=deadbeef key AKIAIOSFODNN7EXAMPLE',
      $response: { headers: { authorization: 'AWS4-HMAC-SHA256 Credential=AKIAIOSFODNN7EXAMPLE/…, Signature=abc' } },
    });
    const mapped = mapS3Error(raw, context);
    const serialized = JSON.stringify({ ...mapped, message: mapped.message, cause: (mapped as { cause?: unknown }).cause });
    expect(serialized).not.toContain('AKIAIOSFODNN7EXAMPLE');
    expect(serialized).not.toContain('deadbeef');
    expect(mapped.message).toContain('https://bkt.s3.amazonaws.com/k?[redacted]');
    expect((mapped as { cause?: unknown }).cause).toBeUndefined();
  });

  it('passes an ObjectStoreError through unchanged', () => {
    const original = new ObjectStoreError('locked', 'delete bkt/k: locked');
    expect(mapS3Error(original, context)).toBe(original);
  });
});

describe('sanitizeMessage', () => {
  it('redacts presigned query strings, signatures, authorization headers and key ids, and caps length', () => {
    expect(sanitizeMessage('GET http://h:9000/b/k?X-Amz-Signature=abc&X-Amz-Credential=AKIA1234567890ABCDEF done')).toBe('GET http://h:9000/b/k?[redacted] done');
    expect(sanitizeMessage('X-Amz-Security-Token=tok123 rest')).toBe('X-Amz-Security-Token=[redacted] rest');
    expect(sanitizeMessage('Authorization: AWS4-HMAC-SHA256 Credential=ASIAXXXXXXXXXXXXXXXX/x, Signature=s')).toBe('Authorization: [redacted]');
    expect(sanitizeMessage('ASIAABCDEFGHIJKLMNOP')).toBe('[redacted-key-id]');
    expect(sanitizeMessage('x'.repeat(2000)).length).toBeLessThanOrEqual(501);
  });
});
