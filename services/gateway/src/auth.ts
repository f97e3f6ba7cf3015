// Authentication and authorization for /v1: who the bearer token says the caller is, which scopes
// a route needs, which tenants a token may act for. Runs as the first onRequest hook of the /v1
// scope, before the rate limiter and before any body is read, so a caller without a valid token
// costs one sha256 and gets a 401. Never logs or echoes the secret.

import type { FastifyInstance, FastifyRequest } from 'fastify';
import { GatewayError } from './errors.ts';
import type { GatewayToken, Scope } from './tokens.ts';

declare module 'fastify' {
  interface FastifyRequest {
    /** The authenticated token; set on every /v1 request that reaches a handler. */
    principal: GatewayToken | null;
  }
  interface FastifyContextConfig {
    /** Scopes that admit a token to the route (any one of them suffices). */
    scopes?: readonly Scope[];
  }
}

const BEARER = /^Bearer +([\x21-\x7e]+) *$/i;

/** Adds the authenticating hook to `scope`; every route under it then requires a token. */
export function requireBearerToken(scope: FastifyInstance, match: (secret: string) => GatewayToken | null): void {
  scope.addHook('onRequest', async (request) => {
    const header = request.headers.authorization;
    const secret = header === undefined ? undefined : BEARER.exec(header)?.[1];
    const token = secret === undefined ? null : match(secret);
    if (token === null) throw new GatewayError('unauthorized');
    request.principal = token;
    request.log.debug({ tokenId: token.id }, 'authenticated');

    const needed = request.routeOptions.config.scopes;
    // A route that declares no scopes is a wiring mistake, not an open door.
    if (needed === undefined || !needed.some((scopeName) => token.scopes.includes(scopeName))) {
      throw new GatewayError('forbidden');
    }
  });
}

export function principalOf(request: FastifyRequest): GatewayToken {
  // The hook above guarantees this for /v1 routes; reaching here without it is a bug.
  if (request.principal === null) throw new Error('route reached without authentication');
  return request.principal;
}

export function mayActFor(token: GatewayToken, tenantId: string): boolean {
  return token.tenants === '*' || token.tenants.includes(tenantId);
}

/** Throws `forbidden_tenant` unless the request's token may act for `tenantId`. */
export function assertTenant(request: FastifyRequest, tenantId: string): GatewayToken {
  const token = principalOf(request);
  if (!mayActFor(token, tenantId)) throw new GatewayError('forbidden_tenant');
  return token;
}
