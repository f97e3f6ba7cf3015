// POST /v1/lookup: hashes a product computed at the edge, matched against every enabled list.
// Records nothing and is not tenant-scoped; answers one result per query, in query order.

import type { FastifyInstance } from 'fastify';
import type { GatewayCore, LookupQuery } from '../core.ts';
import { fromZodError } from '../errors.ts';
import { BEARER_SECURITY, errorResponses, openApiSchema } from '../openapi.ts';
import { lookupBodySchema, lookupResponseSchema } from '../schemas.ts';
import { lookupView } from '../views.ts';

export interface LookupRouteOptions {
  core: GatewayCore;
  maxLookupHashes: number;
}

const ALGORITHMS = ['pdq', 'blockhash', 'md5', 'sha1', 'sha256'] as const;

export async function lookupRoutes(app: FastifyInstance, options: LookupRouteOptions): Promise<void> {
  const { core, maxLookupHashes } = options;
  const bodySchema = lookupBodySchema(maxLookupHashes);

  app.post(
    '/lookup',
    {
      config: { scopes: ['lookup'] },
      schema: {
        tags: ['check'],
        summary: 'Match precomputed hashes',
        description:
          `1 to ${maxLookupHashes} queries, each with at least one hash as hex (pdq, blockhash, sha256: 64 ` +
          'digits; sha1: 40; md5: 32). Scope: lookup.',
        security: BEARER_SECURITY,
        body: openApiSchema(bodySchema, 'input'),
        response: {
          200: { description: 'One result per query, in query order', ...openApiSchema(lookupResponseSchema) },
          ...errorResponses(400, 401, 403, 413, 415, 429, 500),
        },
      },
    },
    async (request) => {
      const parsed = bodySchema.safeParse(request.body);
      if (!parsed.success) throw fromZodError(parsed.error, ['body']);
      const queries = parsed.data.hashes.map(toLookupQuery);
      const results = await core.lookup(queries);
      // Results pair with queries by position: a short or long answer would misattribute matches.
      if (results.length !== queries.length) {
        throw new Error(`core.lookup answered ${results.length} results for ${queries.length} queries`);
      }
      return lookupView(results);
    },
  );
}

function toLookupQuery(item: { [K in (typeof ALGORITHMS)[number]]?: string | undefined }): LookupQuery {
  const query: LookupQuery = {};
  for (const algorithm of ALGORITHMS) {
    const value = item[algorithm];
    if (value !== undefined) query[algorithm] = value;
  }
  return query;
}
