// Liveness and readiness, without auth (orchestrators probe them). Readiness reports loaded list
// ids, versions and entry counts only, never entries.

import type { FastifyInstance } from 'fastify';
import type { GatewayCore } from '../core.ts';
import { errorBody } from '../errors.ts';
import { errorResponses, openApiSchema } from '../openapi.ts';
import { healthResponseSchema, notReadyResponseSchema, readyResponseSchema } from '../schemas.ts';
import { readyView } from '../views.ts';

export interface HealthRouteOptions {
  core: GatewayCore;
}

export async function healthRoutes(app: FastifyInstance, options: HealthRouteOptions): Promise<void> {
  const { core } = options;

  app.get(
    '/healthz',
    {
      schema: {
        tags: ['health'],
        summary: 'Liveness: the process answers',
        response: { 200: { description: 'Alive', ...openApiSchema(healthResponseSchema) } },
      },
    },
    async () => ({ status: 'ok' as const }),
  );

  app.get(
    '/readyz',
    {
      schema: {
        tags: ['health'],
        summary: 'Readiness: hash lists are loaded and checks can be answered',
        response: {
          200: { description: 'Ready', ...openApiSchema(readyResponseSchema) },
          503: { description: 'Not ready', ...openApiSchema(notReadyResponseSchema) },
          ...errorResponses(500),
        },
      },
    },
    async (request, reply) => {
      const readiness = core.readiness();
      if (readiness.ready) return readyView(readiness);
      const reason = readiness.reason ?? 'not ready';
      // The readiness fields for probes, plus the error body every other failure carries.
      return reply.code(503).send({ ready: false, reason, ...errorBody('not_ready', 'Not ready', request.id) });
    },
  );
}
