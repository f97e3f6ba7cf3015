// Assembles the gateway: fastify, the error catalog, docs, health, and the /v1 scope (bearer auth,
// then the per-token rate limit, then the routes). Takes everything as arguments; reads no
// environment and opens no port (the composition root calls `listen`).

import { randomUUID } from 'node:crypto';
import Fastify, { type FastifyBaseLogger, type FastifyInstance } from 'fastify';
import { requireBearerToken } from './auth.ts';
import type { GatewayCore } from './core.ts';
import { handleError, handleNotFound } from './errors.ts';
import { registerOpenApi } from './openapi.ts';
import { DEFAULT_RATE_LIMIT, registerRateLimit } from './rate-limit.ts';
import { checkRoutes } from './routes/check.ts';
import { healthRoutes } from './routes/health.ts';
import { corpusRoutes } from './routes/corpus.ts';
import { listsAdminRoutes } from './routes/lists-admin.ts';
import { lookupRoutes } from './routes/lookup.ts';
import { scanRoutes } from './routes/scans.ts';
import { dashboardDataRoutes, dashboardPageRoutes } from './dashboard/routes.ts';
import type { DashboardSource } from './dashboard/snapshot.ts';
import { createTokenMatcher, rateLimitPolicySchema, validateTokens, type GatewayToken, type RateLimitPolicy } from './tokens.ts';
import type { CorpusPort, ListsAdminPort } from './trusted.ts';

export interface GatewayLimits {
  /** Largest image accepted by POST /v1/check, raw or multipart. Default 32 MiB. */
  maxBodyBytes?: number;
  /** Most queries in one POST /v1/lookup. Default 1000. */
  maxLookupHashes?: number;
}

export interface GatewayOptions {
  core: GatewayCore;
  /** POST /v1/lookup/corpus (scope trusted:lookup), when given. */
  corpus?: CorpusPort;
  /** POST /v1/lists/:name/versions (scope lists:admin), when given. */
  listsAdmin?: ListsAdminPort;
  /** GET /v1/dashboard (scope metrics:read); without it that route answers 503 dashboard_unavailable. */
  dashboard?: DashboardSource;
  tokens: GatewayToken[];
  limits?: GatewayLimits;
  /** Per-token default; a token's own `rateLimit` overrides it. Default 600 per 60 s. */
  rateLimit?: RateLimitPolicy;
  /** A pino (or pino-compatible) logger; false or absent logs nothing. */
  logger?: FastifyBaseLogger | false;
  /** Trust X-Forwarded-* (only behind a proxy that sets them). */
  trustProxy?: boolean;
}

export const DEFAULT_LIMITS = { maxBodyBytes: 32 * 1024 * 1024, maxLookupHashes: 1000 } as const;

/**
 * Paths the composition root's root logger should redact. The gateway does not set them on the
 * logger it is given: a pino child's `redact` replaces the parent's paths rather than adding to
 * them, which would silently drop the root's own redactions. Instead the gateway's request
 * serializer never emits headers (see `requestLogView`).
 */
export const GATEWAY_REDACT_PATHS = [
  'req.headers.authorization',
  'req.headers.cookie',
  'req.headers["x-vigil-uploader-ip"]',
  'req.headers["x-vigil-uploader-agent"]',
  'headers.authorization',
] as const;

/** A JSON lookup query is at most ~330 bytes; leave room for whitespace. */
const JSON_BYTES_PER_LOOKUP_HASH = 1024;
const MIN_JSON_BODY_BYTES = 1024 * 1024;
/** Above the longest id routes accept (256), so those get a validation error naming the param. */
const MAX_PARAM_LENGTH = 512;

export async function buildGateway(options: GatewayOptions): Promise<FastifyInstance> {
  const tokens = validateTokens(options.tokens);
  const limits = resolveLimits(options.limits);
  const rateLimit = rateLimitPolicySchema.safeParse(options.rateLimit ?? DEFAULT_RATE_LIMIT);
  if (!rateLimit.success) throw new Error('gateway rateLimit needs positive integers max and timeWindowMs');

  const app = Fastify({
    ...(options.logger ? { loggerInstance: gatewayLogger(options.logger) } : { logger: false }),
    trustProxy: options.trustProxy ?? false,
    genReqId: () => randomUUID(),
    // Router-level failures (a malformed URL, an overlong parameter) would otherwise be answered
    // by fastify with its own body, quoting the path.
    frameworkErrors: handleError,
    routerOptions: { maxParamLength: MAX_PARAM_LENGTH },
    // For JSON bodies; the check route's raw and multipart parsers use maxBodyBytes instead.
    bodyLimit: Math.max(MIN_JSON_BODY_BYTES, limits.maxLookupHashes * JSON_BYTES_PER_LOOKUP_HASH),
  });

  app.decorateRequest('principal', null);
  app.setErrorHandler(handleError);
  app.setNotFoundHandler(handleNotFound);
  // Routes validate with zod and send mapped views; route schemas only feed the OpenAPI document.
  app.setValidatorCompiler(() => () => true);
  app.setSerializerCompiler(() => (data) => JSON.stringify(data));
  app.addHook('onRequest', async (request, reply) => {
    reply.header('x-request-id', request.id);
  });

  await registerOpenApi(app);
  await app.register(healthRoutes, { core: options.core });
  // The ops page at /: static, no data, no token (the data comes from /v1/dashboard).
  await app.register(dashboardPageRoutes);
  await app.register(
    async (v1) => {
      // Only the body types a route parses itself are accepted; text/plain is a 415.
      v1.removeContentTypeParser('text/plain');
      requireBearerToken(v1, createTokenMatcher(tokens));
      await registerRateLimit(v1, rateLimit.data);
      await v1.register(checkRoutes, { core: options.core, maxBodyBytes: limits.maxBodyBytes });
      await v1.register(lookupRoutes, { core: options.core, maxLookupHashes: limits.maxLookupHashes });
      await v1.register(scanRoutes, { core: options.core });
      if (options.corpus) await v1.register(corpusRoutes, { corpus: options.corpus, maxLookupHashes: limits.maxLookupHashes });
      if (options.listsAdmin) await v1.register(listsAdminRoutes, { listsAdmin: options.listsAdmin, maxListBytes: limits.maxBodyBytes });
      await v1.register(dashboardDataRoutes, { dashboard: options.dashboard });
    },
    { prefix: '/v1' },
  );
  return app;
}

function resolveLimits(limits: GatewayLimits = {}): Required<GatewayLimits> {
  const resolved = {
    maxBodyBytes: limits.maxBodyBytes ?? DEFAULT_LIMITS.maxBodyBytes,
    maxLookupHashes: limits.maxLookupHashes ?? DEFAULT_LIMITS.maxLookupHashes,
  };
  for (const [name, value] of Object.entries(resolved)) {
    if (!Number.isSafeInteger(value) || value < 1) throw new Error(`gateway limits.${name} must be a positive integer`);
  }
  return resolved;
}

/**
 * What a log line says about a request: method, path, peer; no headers (Authorization, uploader
 * IP), no query string. Anything logged under `req` passes through here, not only fastify's
 * requests, so it reads defensively and copies nothing else.
 */
function requestLogView(request: unknown) {
  const { method, url, ip, routeOptions } = (typeof request === 'object' && request !== null ? request : {}) as Record<string, unknown>;
  // The route pattern (`/v1/scans/:id`) survives a root logger that redacts `url` fields.
  const route = (routeOptions as { url?: unknown } | undefined)?.url;
  return {
    ...(typeof method === 'string' ? { method } : {}),
    ...(typeof route === 'string' ? { route } : {}),
    ...(typeof url === 'string' ? { url: url.split('?', 1)[0] } : {}),
    ...(typeof ip === 'string' ? { remoteAddress: ip } : {}),
  };
}

function gatewayLogger(logger: FastifyBaseLogger): FastifyBaseLogger {
  // A child's serializers take precedence over the root's (which may dump headers).
  return logger.child({ component: 'gateway' }, { serializers: { req: requestLogView } });
}
