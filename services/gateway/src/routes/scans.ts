// GET /v1/scans/:id: one recorded scan, for the product that asked for it or an auditor. A scan
// of a tenant the token may not act for is answered exactly like a missing one, so ids cannot be
// probed to learn what other tenants uploaded.

import type { FastifyInstance } from 'fastify';
import { mayActFor, principalOf } from '../auth.ts';
import type { GatewayCore } from '../core.ts';
import { fromZodError, GatewayError } from '../errors.ts';
import { BEARER_SECURITY, errorResponses, openApiSchema } from '../openapi.ts';
import { scanParamsSchema, scanResponseSchema } from '../schemas.ts';
import { scanView } from '../views.ts';

export interface ScanRouteOptions {
  core: GatewayCore;
}

export async function scanRoutes(app: FastifyInstance, options: ScanRouteOptions): Promise<void> {
  const { core } = options;

  app.get(
    '/scans/:id',
    {
      config: { scopes: ['check', 'audit:read'] },
      schema: {
        tags: ['scans'],
        summary: 'A recorded scan and its decision provenance',
        description: 'Scope: check or audit:read. Scans of tenants the token may not act for are 404.',
        security: BEARER_SECURITY,
        params: openApiSchema(scanParamsSchema, 'input'),
        response: {
          200: { description: 'The scan', ...openApiSchema(scanResponseSchema) },
          ...errorResponses(400, 401, 403, 404, 429, 500),
        },
      },
    },
    async (request) => {
      const params = scanParamsSchema.safeParse(request.params);
      if (!params.success) throw fromZodError(params.error, ['params']);
      const token = principalOf(request);
      const scan = await core.getScan(params.data.id);
      if (scan === null || !mayActFor(token, scan.tenantId)) throw new GatewayError('not_found', 'No such scan');
      return scanView(scan);
    },
  );
}
