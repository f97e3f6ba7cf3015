// POST /v1/lists/:name/versions (scope `lists:admin`): the list file as the body (text/csv,
// text/plain, text/tab-separated-values or application/octet-stream), settings in the query
// string. Imports it as the list's next version through the port (refused whole on any bad
// line, with line numbers), which publishes hashlist.updated.v1: retro-matching follows. The
// answer is the diff's counts; list contents never come back.

import type { FastifyInstance } from 'fastify';
import { z } from 'zod';
import { principalOf } from '../auth.ts';
import { fromZodError, GatewayError } from '../errors.ts';
import { BEARER_SECURITY, errorResponses, openApiSchema } from '../openapi.ts';
import type { ListsAdminPort } from '../trusted.ts';

export interface ListsAdminRouteOptions {
  listsAdmin: ListsAdminPort;
  maxListBytes: number;
}

const paramsSchema = z.strictObject({ name: z.string().regex(/^[a-z0-9][a-z0-9._-]{0,63}$/, 'a lowercase list name (storage key)') });
const querySchema = z.strictObject({
  algo: z.enum(['pdq', 'blockhash', 'md5', 'sha1', 'sha256']),
  format: z.enum(['plain', 'threatexchange-pdq', 'ncmec-csv']).default('plain'),
  threshold: z.coerce.number().int().min(0).max(256).optional(),
  action: z.enum(['block', 'quarantine', 'review', 'allow']).optional(),
  dihedral: z.enum(['true', 'false']).optional(),
  source: z.string().min(1).max(200).optional(),
});

export const importResponseSchema = z.object({
  list: z.string(),
  version: z.int(),
  entries: z.int(),
  added: z.int(),
  removed: z.int(),
  changed: z.int(),
});

const LIST_TYPES = ['text/csv', 'text/plain', 'text/tab-separated-values', 'application/octet-stream'];

export async function listsAdminRoutes(app: FastifyInstance, options: ListsAdminRouteOptions): Promise<void> {
  app.addContentTypeParser(LIST_TYPES, { parseAs: 'buffer', bodyLimit: options.maxListBytes }, (_request, body, done) => done(null, body));
  app.post(
    '/lists/:name/versions',
    {
      config: { scopes: ['lists:admin'] },
      bodyLimit: options.maxListBytes,
      schema: {
        tags: ['lists'],
        summary: 'Import the next version of a list',
        description: 'The list file is the body; `algo` (and `format`, `threshold`, `action`, `dihedral`, `source`) in the query. Scope: lists:admin.',
        security: BEARER_SECURITY,
        params: openApiSchema(paramsSchema, 'input'),
        querystring: openApiSchema(querySchema, 'input'),
        response: { 201: { description: 'The version written', ...openApiSchema(importResponseSchema) }, ...errorResponses(400, 401, 403, 413, 415, 429, 500) },
      },
    },
    async (request, reply) => {
      const params = paramsSchema.safeParse(request.params);
      if (!params.success) throw fromZodError(params.error, ['params']);
      const query = querySchema.safeParse(request.query);
      if (!query.success) throw fromZodError(query.error, ['query']);
      if (!Buffer.isBuffer(request.body) || request.body.length === 0) throw new GatewayError('invalid_request', 'The body must be the list file');
      const token = principalOf(request);
      const q = query.data;
      const result = await options.listsAdmin.importVersion(
        request.body,
        {
          name: params.data.name,
          algorithm: q.algo,
          format: q.format,
          source: q.source ?? `api:${token.id}`,
          ...(q.threshold !== undefined && { threshold: q.threshold }),
          ...(q.action !== undefined && { action: q.action }),
          ...(q.dihedral !== undefined && { dihedral: q.dihedral === 'true' }),
        },
        `token:${token.id}`,
      );
      if (result.status === 'refused') {
        throw new GatewayError('invalid_request', `Refused: ${result.reason}`, result.errors.map((e) => ({ path: ['body', e.line], code: 'invalid_line', message: e.message })));
      }
      const { status: _status, ...view } = result;
      return reply.code(201).send(view);
    },
  );
}
