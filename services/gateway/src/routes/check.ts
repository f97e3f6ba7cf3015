// POST /v1/check: the synchronous upload-time check. Owns the body parsers this route alone
// accepts (raw image bytes, multipart); validation and shaping live in check-input.ts. Answers
// the verdict and match summaries, never list entries.

import multipart from '@fastify/multipart';
import type { FastifyInstance, FastifyRequest } from 'fastify';
import { assertTenant } from '../auth.ts';
import {
  checkModeOf,
  jsonCheckRequest,
  mediaTypeOf,
  multipartCheckRequest,
  RAW_CONTENT_TYPES,
  rawCheckContent,
  rawCheckMetadata,
  type CheckMetadata,
} from '../check-input.ts';
import type { CheckRequest, GatewayCore } from '../core.ts';
import { GatewayError, invalidRequest } from '../errors.ts';
import { BEARER_SECURITY, errorResponses, openApiSchema } from '../openapi.ts';
import {
  checkResponseSchema,
  multipartMetadataSchema,
  objectCheckBodySchema,
  rawCheckQuerySchema,
  UPLOADER_AGENT_HEADER,
  UPLOADER_IP_HEADER,
  uploaderHeadersSchema,
} from '../schemas.ts';
import { checkView } from '../views.ts';

export interface CheckRouteOptions {
  core: GatewayCore;
  maxBodyBytes: number;
}

/** The metadata field is a small JSON object; 64 KiB is far beyond any valid one. */
const MAX_METADATA_BYTES = 64 * 1024;

const binary = { type: 'string', format: 'binary' };

const schema = {
  tags: ['check'],
  summary: 'Check an image before publishing it',
  description:
    'Three request shapes: raw bytes (Content-Type image/* or application/octet-stream, metadata in ' +
    'the query string and x-vigil-uploader-* headers); multipart/form-data with a "file" part and a ' +
    '"metadata" field holding JSON; or application/json naming a stored object to fetch and check. ' +
    'Scope: check.',
  security: BEARER_SECURITY,
  querystring: openApiSchema(rawCheckQuerySchema, 'input'),
  headers: openApiSchema(uploaderHeadersSchema, 'input'),
  body: {
    content: {
      'image/*': { schema: binary },
      'application/octet-stream': { schema: binary },
      'multipart/form-data': {
        schema: {
          type: 'object',
          required: ['file', 'metadata'],
          properties: {
            file: binary,
            // An object property of a multipart body is sent as JSON text (OpenAPI 3.0 default).
            metadata: openApiSchema(multipartMetadataSchema, 'input'),
          },
        },
      },
      'application/json': { schema: openApiSchema(objectCheckBodySchema, 'input') },
    },
  },
  response: {
    200: { description: 'The verdict', ...openApiSchema(checkResponseSchema) },
    ...errorResponses(400, 401, 403, 413, 415, 429, 500),
  },
};

export async function checkRoutes(app: FastifyInstance, options: CheckRouteOptions): Promise<void> {
  const { core, maxBodyBytes } = options;
  // Raw mode metadata, validated (and the tenant checked) before the body is read.
  const rawMetadata = new WeakMap<FastifyRequest, CheckMetadata>();

  // Buffered under its own limit: fastify answers 413 from Content-Length up front, or as soon as
  // a chunked body passes the limit, and the handler never sees a partial body.
  for (const contentType of RAW_CONTENT_TYPES) {
    app.addContentTypeParser(contentType, { parseAs: 'buffer', bodyLimit: maxBodyBytes }, (_request, body, done) => {
      done(null, body);
    });
  }
  await app.register(multipart, { limits: { files: 1, fields: 2, parts: 3, headerPairs: 100 } });

  app.post(
    '/check',
    {
      config: { scopes: ['check'] },
      schema,
      preParsing: async (request, _reply, payload) => {
        // Nothing decodes Content-Encoding here, so a gzipped image would be checked as noise.
        const encoding = request.headers['content-encoding'];
        if (encoding !== undefined && encoding.trim().toLowerCase() !== 'identity') {
          throw new GatewayError('unsupported_media_type', 'Content-Encoding is not supported; send the bytes as they are');
        }
        const mediaType = mediaTypeOf(request);
        const mode = checkModeOf(mediaType);
        if (mode === 'raw') {
          const meta = rawCheckMetadata(request, mediaType);
          assertTenant(request, meta.tenantId);
          rawMetadata.set(request, meta);
        } else if (mode !== undefined) {
          refuseRawModeMetadata(request);
        }
        return payload;
      },
    },
    async (request) => {
      const checkRequest = await readCheckRequest(request, rawMetadata.get(request), maxBodyBytes);
      assertTenant(request, checkRequest.tenantId);
      return checkView(await core.check(checkRequest));
    },
  );
}

async function readCheckRequest(
  request: FastifyRequest,
  raw: CheckMetadata | undefined,
  maxBodyBytes: number,
): Promise<CheckRequest> {
  if (request.isMultipart()) {
    return multipartCheckRequest(request, { maxFileBytes: maxBodyBytes, maxFieldBytes: MAX_METADATA_BYTES });
  }
  if (raw !== undefined) return { ...raw, content: rawCheckContent(request.body) };
  return jsonCheckRequest(request.body);
}

/** Query parameters and uploader headers belong to raw mode; elsewhere they would be ignored. */
function refuseRawModeMetadata(request: FastifyRequest): void {
  const query = request.query;
  if (typeof query === 'object' && query !== null && Object.keys(query).length > 0) {
    throw invalidRequest('Query parameters apply to raw-body checks; put the metadata in the body', [
      { path: ['query'], code: 'custom', message: 'not allowed with this content type' },
    ]);
  }
  for (const header of [UPLOADER_IP_HEADER, UPLOADER_AGENT_HEADER]) {
    if (request.headers[header] !== undefined) {
      throw invalidRequest('Uploader headers apply to raw-body checks; put the uploader in the body', [
        { path: ['headers', header], code: 'custom', message: 'not allowed with this content type' },
      ]);
    }
  }
}
