import type { FastifyInstance } from 'fastify';
import { afterEach, describe, expect, it } from 'vitest';
import { buildGateway } from './app.ts';
import { errorOf, FakeCore, gateway, TOKENS } from '../test/support.ts';

describe('buildGateway', () => {
  let app: FastifyInstance | undefined;
  afterEach(async () => app?.close());

  it('answers unknown routes with 404 not_found in the error shape, with a request id', async () => {
    ({ app } = await gateway());
    for (const [method, url] of [
      ['GET', '/nope'],
      ['GET', '/v1/nope'],
      ['GET', '/v1/check'],
    ] as const) {
      const response = await app.inject({ method, url, headers: TOKENS.product.auth });
      expect(response.statusCode, url).toBe(404);
      const body = response.json();
      expect(Object.keys(body)).toEqual(['error']);
      expect(body.error).toEqual({ code: 'not_found', message: expect.any(String), requestId: response.headers['x-request-id'] });
      expect(body.error.requestId).toMatch(/^[0-9a-f-]{36}$/);
    }
  });

  it('gives every request its own id and ignores one a client sends', async () => {
    ({ app } = await gateway());
    const a = await app.inject({ method: 'GET', url: '/healthz', headers: { 'request-id': 'client-chosen' } });
    const b = await app.inject({ method: 'GET', url: '/healthz' });
    expect(a.headers['x-request-id']).not.toBe(b.headers['x-request-id']);
    expect(a.headers['x-request-id']).not.toBe('client-chosen');
  });

  it('answers 500 internal without leaking a core exception from any route', async () => {
    let core: FakeCore;
    ({ app, core } = await gateway());
    const detail = 'relation "hash_entries" does not exist at /srv/vigil/db.ts:42';
    // A status on a core error is about the core's own call (a storage 404, a 400 from a driver).
    core.failWith = Object.assign(new Error(detail), { statusCode: 400, code: 'ERR_BAD_REQUEST' });
    const responses = [
      await app.inject({ method: 'POST', url: '/v1/lookup', payload: { hashes: [{ md5: 'a'.repeat(32) }] }, headers: TOKENS.lookup.auth }),
      await app.inject({ method: 'GET', url: '/v1/scans/s1', headers: TOKENS.product.auth }),
    ];
    for (const response of responses) {
      expect(response.statusCode).toBe(500);
      expect(errorOf(response)).toEqual({ code: 'internal', message: 'Internal error', requestId: response.headers['x-request-id'] });
      expect(response.body).not.toMatch(/hash_entries|db\.ts|stack/);
    }
  });

  it('refuses bad configuration at build time', async () => {
    const core = new FakeCore();
    await expect(buildGateway({ core, tokens: [{ ...TOKENS.product.token, sha256: 'short' }] })).rejects.toThrow(/sha256/);
    await expect(buildGateway({ core, tokens: [], limits: { maxBodyBytes: 0 } })).rejects.toThrow(/maxBodyBytes/);
    await expect(buildGateway({ core, tokens: [], rateLimit: { max: -1, timeWindowMs: 1000 } })).rejects.toThrow(/rateLimit/);
  });
});
