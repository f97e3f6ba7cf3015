// Turns the three shapes of POST /v1/check (raw bytes + query metadata, multipart file + metadata
// field, JSON object reference) into one CheckRequest. Owns every size and truncation decision
// for uploaded bytes: a check must see all of the bytes or none, never a silently cut prefix.

import type { FastifyRequest } from 'fastify';
import type { CheckRequest, ObjectLocation, Uploader } from './core.ts';
import { fromZodError, GatewayError, invalidRequest } from './errors.ts';
import {
  multipartMetadataSchema,
  objectCheckBodySchema,
  rawCheckQuerySchema,
  UPLOADER_AGENT_HEADER,
  UPLOADER_IP_HEADER,
  uploaderHeadersSchema,
} from './schemas.ts';

export type CheckMode = 'raw' | 'multipart' | 'json';

/** Everything but the content: known before the body is read in raw mode. */
export type CheckMetadata = Omit<CheckRequest, 'content'>;

const IMAGE_TYPE = /^image\/[\w.+-]+$/;

/** The media type without parameters, lowercased, or undefined when absent. */
export function mediaTypeOf(request: FastifyRequest): string | undefined {
  const header = request.headers['content-type'];
  if (header === undefined) return undefined;
  return header.split(';', 1)[0]?.trim().toLowerCase();
}

/** Which shape a request is; undefined when fastify will refuse its content type anyway. */
export function checkModeOf(mediaType: string | undefined): CheckMode | undefined {
  if (mediaType === undefined) return 'raw'; // only a bodiless request gets this far: 400 later
  if (mediaType === 'application/octet-stream' || IMAGE_TYPE.test(mediaType)) return 'raw';
  if (mediaType === 'multipart/form-data') return 'multipart';
  if (mediaType === 'application/json') return 'json';
  return undefined;
}

/** The raw-mode content types the body parser takes (fastify tests the regex on the whole header). */
export const RAW_CONTENT_TYPES: ReadonlyArray<string | RegExp> = ['application/octet-stream', /^image\/[\w.+-]+/];

/**
 * Raw mode: metadata from the query string and uploader headers. Validated before the body is
 * read, so a bad or forbidden request does not first cost a 32 MiB upload.
 */
export function rawCheckMetadata(request: FastifyRequest, mediaType: string | undefined): CheckMetadata {
  const query = rawCheckQuerySchema.safeParse(request.query);
  if (!query.success) throw fromZodError(query.error, ['query']);
  const headers = uploaderHeadersSchema.safeParse(request.headers);
  if (!headers.success) throw fromZodError(headers.error, ['headers']);

  const { tenant, bucket, key, versionId, uploadId, source, account } = query.data;
  const ip = headers.data[UPLOADER_IP_HEADER];
  const userAgent = headers.data[UPLOADER_AGENT_HEADER];
  if (account === undefined && (ip !== undefined || userAgent !== undefined)) {
    throw invalidRequest('Uploader headers need the account query parameter', [
      { path: ['query', 'account'], code: 'custom', message: 'uploader headers need an account' },
    ]);
  }
  const object =
    bucket !== undefined && key !== undefined
      ? { ...location(bucket, key, versionId), ...(mediaType === undefined ? {} : { contentType: mediaType }) }
      : undefined;
  const uploader = account === undefined ? undefined : uploaderOf(account, ip, userAgent);
  return metadata(tenant, source, object, uploader, uploadId);
}

/** Raw mode: the parsed body (a Buffer from our parser) as content. */
export function rawCheckContent(body: unknown): CheckRequest['content'] {
  if (body === undefined || (Buffer.isBuffer(body) && body.length === 0)) {
    throw invalidRequest('The body is empty: send image bytes, a multipart form or a JSON object reference');
  }
  if (!Buffer.isBuffer(body)) throw new Error('raw check body was not buffered');
  return { bytes: body };
}

/** JSON mode: a stored object to fetch and check. */
export function jsonCheckRequest(body: unknown): CheckRequest {
  const parsed = objectCheckBodySchema.safeParse(body);
  if (!parsed.success) throw fromZodError(parsed.error, ['body']);
  const { tenant, object, uploader, uploadId, source } = parsed.data;
  const stored = location(object.bucket, object.key, object.versionId);
  const meta = metadata(tenant, source, stored, uploader && uploaderOf(uploader.accountId, uploader.ip, uploader.userAgent), uploadId);
  return { ...meta, content: { object: stored } };
}

export interface MultipartLimits {
  /** The file may be at most this long; one byte more is a 413, never a truncated check. */
  maxFileBytes: number;
  /** The metadata field may be at most this long. */
  maxFieldBytes: number;
}

/**
 * Multipart mode: exactly one `file` part and one `metadata` field (JSON), in either order. The
 * file is buffered (bounded by the multipart limits) because the metadata may follow it.
 */
export async function multipartCheckRequest(request: FastifyRequest, limits: MultipartLimits): Promise<CheckRequest> {
  let bytes: Buffer | undefined;
  let fileType: string | undefined;
  let rawMetadata: unknown;
  try {
    for await (const part of request.parts({ limits: { fileSize: limits.maxFileBytes, fieldSize: limits.maxFieldBytes } })) {
      if (part.type === 'file') {
        if (part.fieldname !== 'file') throw unexpectedPart(part.fieldname === 'metadata' ? 'metadata' : 'file');
        bytes = await part.toBuffer();
        // busboy marks a file it cut at the limit as truncated; toBuffer only throws for it when
        // the cut lands before the last chunk, so look again.
        if (part.file.truncated || bytes.length > limits.maxFileBytes) {
          throw new GatewayError('payload_too_large', 'The uploaded file is too large');
        }
        fileType = part.mimetype;
      } else {
        if (part.fieldname !== 'metadata' || rawMetadata !== undefined) throw unexpectedPart('metadata');
        if (part.valueTruncated) throw new GatewayError('payload_too_large', 'The metadata field is too large');
        rawMetadata = part.value;
      }
    }
  } catch (error) {
    // Limit and protocol errors from the plugin carry a status; busboy's own parse errors (no
    // boundary, a torn part) do not, and are the client's fault too.
    if (error instanceof GatewayError || hasStatus(error)) throw error;
    throw invalidRequest('The multipart body is malformed');
  }

  const meta = parseMultipartMetadata(rawMetadata);
  const { tenant, object, uploader, uploadId, source } = meta;
  if (bytes === undefined || bytes.length === 0) {
    throw invalidRequest('A non-empty file part named "file" is required', [
      { path: ['file'], code: 'custom', message: 'missing or empty' },
    ]);
  }
  const target =
    object === undefined
      ? undefined
      : { ...location(object.bucket, object.key, object.versionId), ...(fileType === undefined ? {} : { contentType: fileType }) };
  return {
    ...metadata(tenant, source, target, uploader && uploaderOf(uploader.accountId, uploader.ip, uploader.userAgent), uploadId),
    content: { bytes },
  };
}

function parseMultipartMetadata(raw: unknown) {
  if (raw === undefined) {
    throw invalidRequest('A "metadata" field with JSON is required', [{ path: ['metadata'], code: 'custom', message: 'missing' }]);
  }
  let value = raw;
  // The plugin parses a field sent with Content-Type application/json; plain fields are text.
  if (typeof raw === 'string') {
    try {
      value = JSON.parse(raw);
    } catch {
      throw invalidRequest('The metadata field is not valid JSON', [{ path: ['metadata'], code: 'custom', message: 'not JSON' }]);
    }
  }
  const parsed = multipartMetadataSchema.safeParse(value);
  if (!parsed.success) throw fromZodError(parsed.error, ['metadata']);
  return parsed.data;
}

function unexpectedPart(expected: 'file' | 'metadata'): GatewayError {
  return invalidRequest('Send one file part named "file" and one field named "metadata"', [
    { path: [expected], code: 'custom', message: 'unexpected or repeated part' },
  ]);
}

function hasStatus(error: unknown): boolean {
  return typeof error === 'object' && error !== null && typeof (error as { statusCode?: unknown }).statusCode === 'number';
}

function location(bucket: string, key: string, versionId: string | undefined): ObjectLocation {
  return versionId === undefined ? { bucket, key } : { bucket, key, versionId };
}

function uploaderOf(accountId: string, ip: string | undefined, userAgent: string | undefined): Uploader {
  return { accountId, ...(ip === undefined ? {} : { ip }), ...(userAgent === undefined ? {} : { userAgent }) };
}

function metadata(
  tenantId: string,
  source: CheckRequest['source'],
  object: CheckRequest['object'],
  uploader: Uploader | undefined,
  uploadId: string | undefined,
): CheckMetadata {
  return {
    tenantId,
    source,
    ...(object === undefined ? {} : { object }),
    ...(uploader === undefined ? {} : { uploader }),
    ...(uploadId === undefined ? {} : { uploadId }),
  };
}
