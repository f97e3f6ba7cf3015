// The gateway's error catalog and the one error body every failure is answered with:
// `{ error: { code, message, requestId, issues? } }`. Messages are ours, never an exception's: an
// internal message may name hosts or queries, and a parser's may quote the request (hashes, IPs).

import type { FastifyError, FastifyReply, FastifyRequest } from 'fastify';
import type { z } from 'zod';

/** Stable codes and their HTTP status. Clients branch on the code, never on the message. */
export const ERROR_CODES = {
  invalid_request: 400,
  unauthorized: 401,
  forbidden: 403,
  forbidden_tenant: 403,
  not_found: 404,
  payload_too_large: 413,
  unsupported_media_type: 415,
  rate_limited: 429,
  internal: 500,
  not_ready: 503,
  dashboard_unavailable: 503,
} as const;

export type ErrorCode = keyof typeof ERROR_CODES;

/** Where and how a request failed validation: never the offending value. */
export interface RequestIssue {
  path: Array<string | number>;
  code: string;
  message: string;
}

export interface ErrorBody {
  error: {
    code: ErrorCode;
    message: string;
    requestId: string;
    issues?: RequestIssue[];
  };
}

const DEFAULT_MESSAGES: Record<ErrorCode, string> = {
  invalid_request: 'The request is invalid',
  unauthorized: 'A valid bearer token is required',
  forbidden: 'The token lacks the scope this route needs',
  forbidden_tenant: 'The token may not act for this tenant',
  not_found: 'Not found',
  payload_too_large: 'The request body is too large',
  unsupported_media_type: 'Unsupported content type',
  rate_limited: 'Too many requests for this token; retry later',
  internal: 'Internal error',
  not_ready: 'Not ready',
  dashboard_unavailable: 'This gateway has no dashboard data source',
};

/** An expected failure, thrown by routes and hooks; its message must be safe to show. */
export class GatewayError extends Error {
  override readonly name = 'GatewayError';
  readonly code: ErrorCode;
  readonly statusCode: number;
  readonly issues: RequestIssue[] | undefined;

  constructor(code: ErrorCode, message: string = DEFAULT_MESSAGES[code], issues?: RequestIssue[]) {
    super(message);
    this.code = code;
    this.statusCode = ERROR_CODES[code];
    this.issues = issues;
  }
}

export function invalidRequest(message: string, issues?: RequestIssue[]): GatewayError {
  return new GatewayError('invalid_request', message, issues);
}

/** A zod failure as an `invalid_request`: paths and codes, never the input. */
export function fromZodError(error: z.ZodError, prefix: Array<string | number> = []): GatewayError {
  return invalidRequest('The request failed validation', issuesOf(error, prefix));
}

/**
 * Our own refinements (code `custom`) carry messages we wrote; zod's built-in messages are
 * replaced by a fixed text per code, since some (unrecognized keys) quote the input.
 */
export function issuesOf(error: z.ZodError, prefix: Array<string | number> = []): RequestIssue[] {
  return error.issues.map((issue) => ({
    path: [...prefix, ...issue.path.map((part) => (typeof part === 'number' ? part : String(part)))],
    code: issue.code,
    message: issue.code === 'custom' ? issue.message : (ISSUE_MESSAGES[issue.code] ?? 'Invalid value'),
  }));
}

const ISSUE_MESSAGES: Record<string, string> = {
  invalid_type: 'Missing or of the wrong type',
  too_big: 'Too long or too large',
  too_small: 'Too short, too small or empty',
  invalid_format: 'Not in the expected format',
  invalid_value: 'Not one of the allowed values',
  unrecognized_keys: 'Unrecognized keys',
  invalid_union: 'Matches none of the allowed shapes',
};

export function errorBody(code: ErrorCode, message: string, requestId: string, issues?: RequestIssue[]): ErrorBody {
  return { error: issues === undefined ? { code, message, requestId } : { code, message, requestId, issues } };
}

/** The error a status maps to when the error is not ours (fastify, a plugin, a route bug). */
function codeForStatus(status: number): ErrorCode {
  switch (status) {
    case 401:
      return 'unauthorized';
    case 403:
      return 'forbidden';
    case 404:
      return 'not_found';
    case 413:
      return 'payload_too_large';
    case 415:
      return 'unsupported_media_type';
    case 429:
      return 'rate_limited';
    case 503:
      return 'not_ready';
    default:
      // Any other client error (malformed JSON, bad content-length, a multipart protocol
      // error) is the caller's to fix; anything else is ours.
      return status >= 400 && status < 500 ? 'invalid_request' : 'internal';
  }
}

/** Fixed messages for errors raised by fastify and its plugins, whose own text may quote input. */
const FOREIGN_MESSAGES: Record<string, string> = {
  FST_ERR_CTP_EMPTY_JSON_BODY: 'The JSON body is empty',
  FST_ERR_CTP_INVALID_JSON_BODY: 'The body is not valid JSON',
  FST_ERR_CTP_INVALID_CONTENT_LENGTH: 'The body does not match its Content-Length',
  FST_ERR_CTP_INVALID_MEDIA_TYPE: 'Unsupported content type',
  FST_ERR_CTP_BODY_TOO_LARGE: 'The request body is too large',
  FST_REQ_FILE_TOO_LARGE: 'The uploaded file is too large',
  FST_FILES_LIMIT: 'Send exactly one file part',
  FST_PARTS_LIMIT: 'Send one file part and one metadata field',
  FST_FIELDS_LIMIT: 'Send one file part and one metadata field',
  FST_INVALID_JSON_FIELD_ERROR: 'A multipart field declared as JSON is not valid JSON',
  FST_PROTO_VIOLATION: 'A multipart field name is not allowed',
  FST_MP_PREMATURE_CLOSE: 'The request ended before the multipart body was complete',
};

/**
 * The multipart plugin reports an extra part as 413; it is a malformed request, not a large one
 * (the size of every part is bounded separately).
 */
const FOREIGN_CODES: Record<string, ErrorCode> = {
  FST_FILES_LIMIT: 'invalid_request',
  FST_PARTS_LIMIT: 'invalid_request',
  FST_FIELDS_LIMIT: 'invalid_request',
};

/** Fastify's error handler: maps any error to the one body, logs what is ours to fix. */
export function handleError(error: FastifyError | GatewayError, request: FastifyRequest, reply: FastifyReply): void {
  let code: ErrorCode;
  let message: string;
  let issues: RequestIssue[] | undefined;
  if (error instanceof GatewayError) {
    ({ code, message, issues } = error);
  } else if (isFastifyError(error)) {
    const status = typeof error.statusCode === 'number' ? error.statusCode : 500;
    code = FOREIGN_CODES[error.code] ?? codeForStatus(status);
    message = FOREIGN_MESSAGES[error.code] ?? DEFAULT_MESSAGES[code];
  } else {
    // Anything else came from the core or a bug. Its statusCode, if any, is some library's
    // opinion about its own call, not about this request: never blame the client for it.
    code = 'internal';
    message = DEFAULT_MESSAGES.internal;
  }
  const status = ERROR_CODES[code];
  if (status >= 500) {
    request.log.error({ err: error }, 'request failed');
  } else {
    request.log.info({ errorCode: code, cause: error instanceof GatewayError ? undefined : error.code }, 'request refused');
  }
  if (code === 'unauthorized') reply.header('www-authenticate', 'Bearer realm="vigil"');
  // A refused body may still be arriving (refusals come before it is read): close the connection
  // rather than let Node drain the rest of it to keep the socket alive.
  if (code === 'payload_too_large' || request.raw.complete === false) reply.header('connection', 'close');
  void reply.code(status).type('application/json; charset=utf-8').send(errorBody(code, message, request.id, issues));
}

/** Errors raised by fastify itself and its plugins (multipart, rate-limit) all carry FST_ codes. */
function isFastifyError(error: FastifyError): boolean {
  return typeof error.code === 'string' && error.code.startsWith('FST_');
}

export function handleNotFound(request: FastifyRequest, reply: FastifyReply): void {
  void reply.code(404).send(errorBody('not_found', 'No such route', request.id));
}
