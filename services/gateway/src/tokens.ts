// Bearer tokens: their shape, how the composition root parses them from configuration, and how a
// presented secret is matched. Only sha256 digests of secrets are ever held; a secret never
// reaches a log, an error message or a response.

import { createHash, timingSafeEqual } from 'node:crypto';
import { z } from 'zod';

export const SCOPES = ['check', 'lookup', 'lists:admin', 'audit:read', 'trusted:lookup', 'metrics:read'] as const;
export type Scope = (typeof SCOPES)[number];

export interface RateLimitPolicy {
  /** Requests allowed per window. */
  max: number;
  timeWindowMs: number;
}

export interface GatewayToken {
  /** Stable, non-secret name: the rate-limit key and what logs say acted. */
  id: string;
  /** Lowercase hex sha256 of the secret. */
  sha256: string;
  scopes: Scope[];
  /** Tenants the token may act for; `'*'` for every tenant. */
  tenants: string[] | '*';
  /** Overrides the gateway's default per-token limit. */
  rateLimit?: RateLimitPolicy;
}

/** Hex sha256 of a token secret: what `GatewayToken.sha256` holds. */
export function hashTokenSecret(secret: string): string {
  return createHash('sha256').update(secret, 'utf8').digest('hex');
}

export const rateLimitPolicySchema = z.strictObject({
  max: z.int().min(1),
  timeWindowMs: z.int().min(1),
});

const tokenSchema = z.strictObject({
  id: z.string().min(1).max(128),
  sha256: z
    .string()
    .regex(/^[0-9a-f]{64}$/i, 'must be 64 hex digits (the sha256 of the secret, not the secret)')
    .transform((hex) => hex.toLowerCase()),
  scopes: z.array(z.enum(SCOPES)).min(1),
  tenants: z.union([z.literal('*'), z.array(z.string().min(1)).min(1)]),
  rateLimit: rateLimitPolicySchema.optional(),
});

const tokensSchema = z.array(tokenSchema).superRefine((tokens, ctx) => {
  const ids = new Set<string>();
  const digests = new Set<string>();
  tokens.forEach((token, index) => {
    if (ids.has(token.id)) ctx.addIssue({ code: 'custom', path: [index, 'id'], message: 'duplicate token id' });
    // Two tokens with one secret would make the caller's identity (scopes, tenants) ambiguous.
    if (digests.has(token.sha256)) {
      ctx.addIssue({ code: 'custom', path: [index, 'sha256'], message: 'duplicate secret' });
    }
    ids.add(token.id);
    digests.add(token.sha256);
  });
});

/**
 * Checks tokens given in code (tests, the composition root) and returns normalized copies.
 * Throws one Error listing every problem.
 */
export function validateTokens(tokens: unknown, source = 'gateway tokens'): GatewayToken[] {
  const parsed = tokensSchema.safeParse(tokens);
  if (!parsed.success) {
    // Paths and messages only: zod's default messages never carry the offending values.
    const problems = parsed.error.issues.map((issue) => `${formatPath(issue.path)}: ${issue.message}`);
    throw new Error(`${source} are invalid: ${problems.join('; ')}`);
  }
  return parsed.data.map((token) => {
    const { rateLimit, ...rest } = token;
    return rateLimit === undefined ? rest : { ...rest, rateLimit };
  });
}

/** Parses `VIGIL_GATEWAY_TOKENS`: a JSON array of `GatewayToken`. */
export function parseTokens(json: string): GatewayToken[] {
  let value: unknown;
  try {
    value = JSON.parse(json);
  } catch {
    // Not echoing the parser's message: it quotes the text around the error.
    throw new Error('VIGIL_GATEWAY_TOKENS is not valid JSON (expected an array of tokens)');
  }
  return validateTokens(value, 'VIGIL_GATEWAY_TOKENS');
}

/**
 * Returns a matcher from presented secret to token. Every stored digest is compared, with
 * `timingSafeEqual` and no early exit, so the time taken says nothing about which token (if any)
 * shares a prefix with the guess.
 */
export function createTokenMatcher(tokens: readonly GatewayToken[]): (secret: string) => GatewayToken | null {
  const entries = tokens.map((token) => ({ token, digest: Buffer.from(token.sha256, 'hex') }));
  return (secret) => {
    const presented = createHash('sha256').update(secret, 'utf8').digest();
    let found: GatewayToken | null = null;
    for (const entry of entries) {
      if (timingSafeEqual(presented, entry.digest)) found = entry.token;
    }
    return found;
  };
}

function formatPath(path: readonly PropertyKey[]): string {
  return path.length === 0 ? '(root)' : path.map(String).join('.');
}
