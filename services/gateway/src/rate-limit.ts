// Per-token rate limiting for /v1, keyed by the authenticated token id: one budget per token
// across every /v1 route, so one noisy product cannot starve another. Registered after the auth
// hook, so unauthenticated requests are refused (401) without touching a counter; they are not
// limited by IP here, since rejecting them costs one sha256 (put an edge limiter in front for
// volumetric floods). Counters live in process memory: N gateway replicas allow N times the limit.

import rateLimit from '@fastify/rate-limit';
import type { FastifyInstance, FastifyRequest } from 'fastify';
import { GatewayError } from './errors.ts';
import type { RateLimitPolicy } from './tokens.ts';

export const DEFAULT_RATE_LIMIT: RateLimitPolicy = { max: 600, timeWindowMs: 60_000 };

function policyOf(request: FastifyRequest, fallback: RateLimitPolicy): RateLimitPolicy {
  return request.principal?.rateLimit ?? fallback;
}

export async function registerRateLimit(scope: FastifyInstance, fallback: RateLimitPolicy): Promise<void> {
  await scope.register(rateLimit, {
    global: true,
    hook: 'onRequest',
    // Only authenticated requests get this far; the IP fallback is defence in depth.
    keyGenerator: (request) => (request.principal ? `token:${request.principal.id}` : `ip:${request.ip}`),
    max: (request) => policyOf(request, fallback).max,
    timeWindow: (request) => policyOf(request, fallback).timeWindowMs,
    // The plugin sets Retry-After and the x-ratelimit-* headers, then throws this.
    errorResponseBuilder: () => new GatewayError('rate_limited'),
  });
}
