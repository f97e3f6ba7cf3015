import type { FastifyInstance } from 'fastify';
import { afterEach, describe, expect, it } from 'vitest';
import { errorOf, gateway, testToken, TOKENS } from '../test/support.ts';

const LOOKUP = { method: 'POST' as const, url: '/v1/lookup', payload: { hashes: [{ md5: 'd41d8cd98f00b204e9800998ecf8427e' }] } };

describe('per-token rate limit', () => {
  let app: FastifyInstance;
  afterEach(async () => app.close());

  it('answers 429 rate_limited with Retry-After after N requests for one token, while another token is unaffected', async () => {
    const other = testToken('edge-lookup-2', ['lookup'], '*');
    ({ app } = await gateway({ tokens: [TOKENS.lookup.token, other.token], rateLimit: { max: 3, timeWindowMs: 60_000 } }));

    const statuses: number[] = [];
    for (let i = 0; i < 3; i++) statuses.push((await app.inject({ ...LOOKUP, headers: TOKENS.lookup.auth })).statusCode);
    expect(statuses).toEqual([200, 200, 200]);

    const limited = await app.inject({ ...LOOKUP, headers: TOKENS.lookup.auth });
    expect(limited.statusCode).toBe(429);
    expect(errorOf(limited).code).toBe('rate_limited');
    const retryAfter = Number(limited.headers['retry-after']);
    expect(retryAfter).toBeGreaterThan(0);
    expect(retryAfter).toBeLessThanOrEqual(60);

    const unaffected = await app.inject({ ...LOOKUP, headers: other.auth });
    expect(unaffected.statusCode).toBe(200);
  });

  it('shares one budget across /v1 routes for a token', async () => {
    const both = testToken('both', ['lookup', 'check'], ['tenant-a']);
    ({ app } = await gateway({ tokens: [both.token], rateLimit: { max: 2, timeWindowMs: 60_000 } }));
    expect((await app.inject({ ...LOOKUP, headers: both.auth })).statusCode).toBe(200);
    expect((await app.inject({ method: 'GET', url: '/v1/scans/none', headers: both.auth })).statusCode).toBe(404);
    expect((await app.inject({ ...LOOKUP, headers: both.auth })).statusCode).toBe(429);
  });

  it("uses a token's own limit over the default", async () => {
    const generous = testToken('generous', ['lookup'], '*', { rateLimit: { max: 5, timeWindowMs: 60_000 } });
    ({ app } = await gateway({ tokens: [TOKENS.lookup.token, generous.token], rateLimit: { max: 1, timeWindowMs: 60_000 } }));
    const defaulted = [];
    const own = [];
    for (let i = 0; i < 6; i++) {
      defaulted.push((await app.inject({ ...LOOKUP, headers: TOKENS.lookup.auth })).statusCode);
      own.push((await app.inject({ ...LOOKUP, headers: generous.auth })).statusCode);
    }
    expect(defaulted).toEqual([200, 429, 429, 429, 429, 429]);
    expect(own).toEqual([200, 200, 200, 200, 200, 429]);
  });

  it('counts neither unauthenticated requests (401 first) nor health probes', async () => {
    ({ app } = await gateway({ rateLimit: { max: 1, timeWindowMs: 60_000 } }));
    for (let i = 0; i < 5; i++) {
      expect((await app.inject({ ...LOOKUP, headers: { authorization: 'Bearer nope' } })).statusCode).toBe(401);
      expect((await app.inject({ method: 'GET', url: '/healthz' })).statusCode).toBe(200);
    }
    expect((await app.inject({ ...LOOKUP, headers: TOKENS.lookup.auth })).statusCode).toBe(200);
  });

  it('allows requests again once the window has passed', async () => {
    ({ app } = await gateway({ rateLimit: { max: 1, timeWindowMs: 200 } }));
    expect((await app.inject({ ...LOOKUP, headers: TOKENS.lookup.auth })).statusCode).toBe(200);
    expect((await app.inject({ ...LOOKUP, headers: TOKENS.lookup.auth })).statusCode).toBe(429);
    const deadline = Date.now() + 5_000;
    let status = 429;
    while (status === 429 && Date.now() < deadline) {
      await new Promise((resolve) => setTimeout(resolve, 50));
      status = (await app.inject({ ...LOOKUP, headers: TOKENS.lookup.auth })).statusCode;
    }
    expect(status).toBe(200);
  });
});
