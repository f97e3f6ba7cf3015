// POST /v1/lookup/corpus: for trusted reporters (scope `trusted:lookup`: C3P's Project Arachnid,
// IWF). A batch of hashes in; which hosted objects match and their state (live, quarantined,
// removed) out, from the stored content hashes: never bytes. Answers only the token's tenants,
// and every query is audited by the port.

import type { FastifyInstance } from 'fastify';
import { z } from 'zod';
import { principalOf } from '../auth.ts';
import type { LookupQuery } from '../core.ts';
import { fromZodError } from '../errors.ts';
import { BEARER_SECURITY, errorResponses, openApiSchema } from '../openapi.ts';
import { lookupBodySchema } from '../schemas.ts';
import type { CorpusPort } from '../trusted.ts';

export interface CorpusRouteOptions {
  corpus: CorpusPort;
  maxLookupHashes: number;
}

const ALGORITHMS = ['pdq', 'blockhash', 'md5', 'sha1', 'sha256'] as const;

export const corpusResponseSchema = z.object({
  results: z
    .array(
      z.object({
        objects: z.array(
          z.object({
            tenantId: z.string(),
            bucket: z.string(),
            key: z.string(),
            versionId: z.string().optional(),
            state: z.enum(['live', 'quarantined', 'removed']),
            algorithm: z.string(),
            distance: z.int(),
            variant: z.string(),
            lastSeenAt: z.string(),
          }),
        ),
      }),
    )
    .describe('One per query, in query order'),
});

export async function corpusRoutes(app: FastifyInstance, options: CorpusRouteOptions): Promise<void> {
  const bodySchema = lookupBodySchema(options.maxLookupHashes);
  app.post(
    '/lookup/corpus',
    {
      config: { scopes: ['trusted:lookup'] },
      schema: {
        tags: ['trusted'],
        summary: 'Which hosted objects match these hashes, and their state',
        description:
          `1 to ${options.maxLookupHashes} queries of hex hashes (pdq, blockhash, sha256, sha1, md5). Answers objects of the token's ` +
          'tenants with their state (live, quarantined, removed), never bytes. Every query is audited. Scope: trusted:lookup.',
        security: BEARER_SECURITY,
        body: openApiSchema(bodySchema, 'input'),
        response: { 200: { description: 'One result per query', ...openApiSchema(corpusResponseSchema) }, ...errorResponses(400, 401, 403, 413, 415, 429, 500) },
      },
    },
    async (request) => {
      const parsed = bodySchema.safeParse(request.body);
      if (!parsed.success) throw fromZodError(parsed.error, ['body']);
      const token = principalOf(request);
      const queries = parsed.data.hashes.map((item) => {
        const query: LookupQuery = {};
        for (const algorithm of ALGORITHMS) if (item[algorithm] !== undefined) query[algorithm] = item[algorithm];
        return query;
      });
      const results = await options.corpus.lookup(queries, { actor: `token:${token.id}`, requestId: request.id, tenants: token.tenants });
      if (results.length !== queries.length) throw new Error(`corpus lookup answered ${results.length} results for ${queries.length} queries`);
      return { results };
    },
  );
}
