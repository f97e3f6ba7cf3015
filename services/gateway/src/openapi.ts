// The OpenAPI 3 document (@fastify/swagger) and its UI at /docs, JSON at /docs/json, both without
// auth. Route schemas are generated from the zod schemas that validate requests (schemas.ts), and
// serve documentation only: the gateway validates with zod in the routes and serializes mapped
// views (views.ts), so fastify's own validator and serializer are switched off (see app.ts).

import swagger from '@fastify/swagger';
import swaggerUi from '@fastify/swagger-ui';
import type { FastifyInstance } from 'fastify';
import { z } from 'zod';
import { ERROR_CODES } from './errors.ts';
import { errorResponseSchema } from './schemas.ts';

/** The security requirement /v1 routes declare. */
export const BEARER_SECURITY = [{ bearer: [] }];

/** A zod schema as an OpenAPI 3.0 schema object; `input` for requests (defaults, pre-transform). */
export function openApiSchema(schema: z.ZodType, io: 'input' | 'output' = 'output'): Record<string, unknown> {
  const json: Record<string, unknown> = z.toJSONSchema(schema, { target: 'openapi-3.0', io });
  delete json.$schema;
  return json;
}

const errorSchema = openApiSchema(errorResponseSchema);

const ERROR_DESCRIPTIONS: Record<number, string> = {
  400: 'invalid_request: validation issues carry paths and codes, never values',
  401: 'unauthorized: missing or unknown bearer token',
  403: 'forbidden (scope) or forbidden_tenant',
  404: 'not_found',
  413: 'payload_too_large',
  415: 'unsupported_media_type',
  429: 'rate_limited: see Retry-After',
  500: 'internal',
  503: 'not_ready or dashboard_unavailable',
};

/** Error responses for a route, each with the shared error body. */
export function errorResponses(...statuses: Array<(typeof ERROR_CODES)[keyof typeof ERROR_CODES]>): Record<number, unknown> {
  return Object.fromEntries(
    statuses.map((status) => [status, { description: ERROR_DESCRIPTIONS[status] ?? 'error', ...errorSchema }]),
  );
}

export async function registerOpenApi(app: FastifyInstance): Promise<void> {
  await app.register(swagger, {
    openapi: {
      openapi: '3.0.3',
      info: {
        title: 'Vigil gateway',
        description:
          'Upload-time checks of images against known-content hash lists, hash lookups and scan records. ' +
          'Responses name lists, versions, algorithms and distances; they never contain list entries.',
        version: '1.0.0',
      },
      components: {
        securitySchemes: {
          bearer: { type: 'http', scheme: 'bearer', description: 'A gateway token secret' },
        },
      },
      tags: [
        { name: 'check', description: 'Synchronous checks' },
        { name: 'scans', description: 'Recorded scans' },
        { name: 'health', description: 'Liveness and readiness' },
        { name: 'dashboard', description: 'The ops dashboard data (the page itself is at /)' },
      ],
    },
  });
  await app.register(swaggerUi, { routePrefix: '/docs' });
}
