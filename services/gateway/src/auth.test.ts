import { Writable } from 'node:stream';
import Fastify from 'fastify';
import { afterEach, describe, expect, it } from 'vitest';
import { errorOf, gateway, TOKENS } from '../test/support.ts';

const LOOKUP_BODY = { hashes: [{ md5: 'd41d8cd98f00b204e9800998ecf8427e' }] };

describe('bearer authentication on /v1', () => {
  let close: (() => Promise<void>) | undefined;
  afterEach(async () => close?.());

  async function setup() {
    const built = await gateway();
    close = () => built.app.close();
    return built;
  }

  it('answers 401 unauthorized with WWW-Authenticate when the header is missing, and never calls the core', async () => {
    const { app, core } = await setup();
    const response = await app.inject({ method: 'POST', url: '/v1/lookup', payload: LOOKUP_BODY });
    expect(response.statusCode).toBe(401);
    expect(response.headers['www-authenticate']).toMatch(/^Bearer\b/);
    const error = errorOf(response);
    expect(error.code).toBe('unauthorized');
    expect(error.requestId).toBe(response.headers['x-request-id']);
    expect(core.lookups).toHaveLength(0);
  });

  it.each([
    ['an unknown secret', 'Bearer not-a-known-secret'],
    ['the stored digest instead of the secret', `Bearer ${TOKENS.lookup.token.sha256}`],
    ['another scheme', `Basic ${Buffer.from(`u:${TOKENS.lookup.secret}`).toString('base64')}`],
    ['a scheme without a secret', 'Bearer '],
    ['the secret without a scheme', TOKENS.lookup.secret],
  ])('answers 401 for %s', async (_name, authorization) => {
    const { app, core } = await setup();
    const response = await app.inject({ method: 'POST', url: '/v1/lookup', payload: LOOKUP_BODY, headers: { authorization } });
    expect(response.statusCode).toBe(401);
    expect(errorOf(response).code).toBe('unauthorized');
    expect(core.lookups).toHaveLength(0);
  });

  it('admits a valid token with the right scope (scheme name is case-insensitive)', async () => {
    const { app, core } = await setup();
    const response = await app.inject({
      method: 'POST',
      url: '/v1/lookup',
      payload: LOOKUP_BODY,
      headers: { authorization: `bearer ${TOKENS.lookup.secret}` },
    });
    expect(response.statusCode).toBe(200);
    expect(core.lookups).toHaveLength(1);
  });

  it('answers 403 forbidden when the token lacks the route scope', async () => {
    const { app, core } = await setup();
    const lookupWithCheckToken = await app.inject({ method: 'POST', url: '/v1/lookup', payload: LOOKUP_BODY, headers: TOKENS.product.auth });
    expect(lookupWithCheckToken.statusCode).toBe(403);
    expect(errorOf(lookupWithCheckToken).code).toBe('forbidden');

    const checkWithAdminToken = await app.inject({
      method: 'POST',
      url: '/v1/check?tenant=tenant-a',
      payload: Buffer.from([1, 2, 3]),
      headers: { ...TOKENS.admin.auth, 'content-type': 'image/png' },
    });
    expect(checkWithAdminToken.statusCode).toBe(403);
    expect(errorOf(checkWithAdminToken).code).toBe('forbidden');
    expect(core.lookups).toHaveLength(0);
    expect(core.checks).toHaveLength(0);
  });

  it('refuses before reading the body: an unauthenticated oversized upload is 401, not 413', async () => {
    const built = await gateway({ limits: { maxBodyBytes: 16 } });
    close = () => built.app.close();
    const response = await built.app.inject({
      method: 'POST',
      url: '/v1/check?tenant=tenant-a',
      payload: Buffer.alloc(64),
      headers: { 'content-type': 'image/png' },
    });
    expect(response.statusCode).toBe(401);
  });

  it('needs no token for health and docs', async () => {
    const { app } = await setup();
    for (const url of ['/healthz', '/readyz', '/docs/json']) {
      const response = await app.inject({ method: 'GET', url });
      expect(response.statusCode, url).toBe(200);
    }
  });
});

describe('logging', () => {
  it('never writes the secret, the Authorization header or the uploader IP, even when the root logger dumps headers', async () => {
    const lines: string[] = [];
    const sink = new Writable({
      write(chunk: Buffer, _encoding, callback) {
        lines.push(chunk.toString('utf8'));
        callback();
      },
    });
    // A root logger as a careless composition root might configure it: trace level, and a req
    // serializer that dumps every header (pino's std serializer does).
    const root = Fastify({
      logger: {
        level: 'trace',
        stream: sink,
        serializers: { req: (req: { method: string; url: string; headers: unknown }) => ({ method: req.method, url: req.url, headers: req.headers }) },
      },
    });
    const { app, core } = await gateway({ logger: root.log });
    const ip = '203.0.113.77';
    await app.inject({
      method: 'POST',
      url: '/v1/check?tenant=tenant-a&account=acct-1',
      payload: Buffer.from('bytes'),
      headers: { ...TOKENS.product.auth, 'content-type': 'image/png', 'x-vigil-uploader-ip': ip },
    });
    await app.inject({ method: 'POST', url: '/v1/lookup', payload: LOOKUP_BODY, headers: { authorization: 'Bearer wrong-secret-value' } });
    core.failWith = new Error('database at db.internal:5432 refused');
    await app.inject({ method: 'POST', url: '/v1/lookup', payload: LOOKUP_BODY, headers: TOKENS.lookup.auth });
    // Something in the gateway logging a bare headers object under `req`.
    app.log.info({ req: { headers: { authorization: `Bearer ${TOKENS.product.secret}` } } }, 'careless');
    await app.close();
    await root.close();

    const output = lines.join('');
    // The run did log: requests, and the core failure with its error.
    expect(output).toContain('incoming request');
    expect(output).toContain('db.internal');
    expect(output).toContain('careless');
    expect(output).not.toContain(TOKENS.product.secret);
    expect(output).not.toContain(TOKENS.lookup.secret);
    expect(output).not.toContain('wrong-secret-value');
    expect(output.toLowerCase()).not.toContain('authorization');
    expect(output).not.toContain(ip);
  });
});
