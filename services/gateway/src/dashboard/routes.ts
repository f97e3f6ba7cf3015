// The ops dashboard over HTTP. `GET /` and its script and stylesheet: static files holding no
// data, served without a token under a CSP that allows only this origin's script and style and no
// image at all (the page can never show one). `GET /v1/dashboard` (scope metrics:read, every
// tenant): the snapshot the page polls, never cached. Without a source the data route answers
// 503 dashboard_unavailable, so a gateway run without Postgres still serves its API.

import { readFile } from 'node:fs/promises';
import type { FastifyInstance, FastifyReply } from 'fastify';
import { principalOf } from '../auth.ts';
import { GatewayError } from '../errors.ts';
import { BEARER_SECURITY, errorResponses, openApiSchema } from '../openapi.ts';
import { dashboardSnapshotSchema, type DashboardSource } from './snapshot.ts';

/** src/dashboard and dist/dashboard both sit two levels under the package, beside public/. */
const PUBLIC_DIR = new URL('../../public/dashboard/', import.meta.url);

const PAGE_FILES = {
  '/': { file: 'index.html', type: 'text/html; charset=utf-8' },
  '/dashboard.js': { file: 'dashboard.js', type: 'text/javascript; charset=utf-8' },
  '/dashboard.css': { file: 'dashboard.css', type: 'text/css; charset=utf-8' },
} as const;

/**
 * Same-origin script, style and fetch only: no inline script, no eval, no image, media, font,
 * frame or plugin, no form submission (the token form is handled in script), never framed.
 */
export const DASHBOARD_CSP = [
  "default-src 'self'",
  "script-src 'self'",
  "style-src 'self'",
  "connect-src 'self'",
  "img-src 'none'",
  "media-src 'none'",
  "font-src 'none'",
  "object-src 'none'",
  "frame-src 'none'",
  "worker-src 'none'",
  "manifest-src 'none'",
  "base-uri 'none'",
  "form-action 'none'",
  "frame-ancestors 'none'",
].join('; ');

const PAGE_HEADERS = {
  'content-security-policy': DASHBOARD_CSP,
  'x-content-type-options': 'nosniff',
  'x-frame-options': 'DENY',
  'referrer-policy': 'no-referrer',
  'cross-origin-opener-policy': 'same-origin',
  'cross-origin-resource-policy': 'same-origin',
  'permissions-policy': 'camera=(), microphone=(), geolocation=(), payment=(), usb=()',
  // The files are small and change with the release: revalidate rather than pin a stale script.
  'cache-control': 'no-cache',
} as const;

/** The page, read once at build: a missing file is a packaging error, found at startup. */
export async function dashboardPageRoutes(app: FastifyInstance): Promise<void> {
  for (const [path, { file, type }] of Object.entries(PAGE_FILES)) {
    const body = await readFile(new URL(file, PUBLIC_DIR));
    app.get(path, { schema: { hide: true } }, async (_request, reply) => {
      void reply.headers(PAGE_HEADERS).type(type);
      return body;
    });
  }
}

export interface DashboardDataRouteOptions {
  dashboard: DashboardSource | undefined;
}

export async function dashboardDataRoutes(app: FastifyInstance, options: DashboardDataRouteOptions): Promise<void> {
  const { dashboard } = options;
  app.get(
    '/dashboard',
    {
      config: { scopes: ['metrics:read'] },
      schema: {
        tags: ['dashboard'],
        summary: 'The ops dashboard snapshot: throughput, latency, lag, matches, pipeline state, recent decisions',
        description:
          'Scope: metrics:read, on a token for every tenant (the snapshot covers all of them). Counts, ids, list names, ' +
          'versions, distances and actions only: never an image, an object location, a hash or a list entry. Not cacheable. ' +
          '503 dashboard_unavailable when this gateway has no dashboard source.',
        security: BEARER_SECURITY,
        response: {
          200: { description: 'The snapshot', ...openApiSchema(dashboardSnapshotSchema) },
          ...errorResponses(401, 403, 429, 500, 503),
        },
      },
    },
    async (request, reply) => {
      noStore(reply);
      const token = principalOf(request);
      // Recent decisions name scans of every tenant: a token limited to some may not see them.
      if (token.tenants !== '*') throw new GatewayError('forbidden_tenant', 'The dashboard covers every tenant: it needs a token for all tenants');
      if (dashboard === undefined) throw new GatewayError('dashboard_unavailable');
      // Parsing strips whatever a source adds beyond the documented shape.
      return dashboardSnapshotSchema.parse(await dashboard.snapshot());
    },
  );
}

function noStore(reply: FastifyReply): void {
  void reply.headers({ 'cache-control': 'no-store', pragma: 'no-cache', 'x-content-type-options': 'nosniff' });
}
