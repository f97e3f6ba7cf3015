import type { FastifyInstance } from 'fastify';
import { afterEach, describe, expect, it } from 'vitest';
import { errorOf, FakeCore, gateway } from '../../test/support.ts';

describe('health', () => {
  let app: FastifyInstance;
  let core: FakeCore;
  afterEach(async () => app.close());

  it('GET /healthz answers ok without auth', async () => {
    ({ app, core } = await gateway());
    const response = await app.inject({ method: 'GET', url: '/healthz' });
    expect(response.statusCode).toBe(200);
    expect(response.json()).toEqual({ status: 'ok' });
  });

  it('GET /readyz answers 503 until the core is ready, then 200 with list versions and counts', async () => {
    ({ app, core } = await gateway());
    core.ready = { ready: false, lists: [], reason: 'lists_loading' };
    const before = await app.inject({ method: 'GET', url: '/readyz' });
    expect(before.statusCode).toBe(503);
    expect(before.json()).toMatchObject({ ready: false, reason: 'lists_loading' });
    expect(errorOf(before).code).toBe('not_ready');

    core.ready = {
      ready: true,
      lists: [
        { listId: 'demo-pdq', version: 7, entries: 1200 },
        { listId: 'demo-md5', version: 2, entries: 40 },
      ],
    };
    const after = await app.inject({ method: 'GET', url: '/readyz' });
    expect(after.statusCode).toBe(200);
    expect(after.json()).toEqual({
      ready: true,
      lists: [
        { listId: 'demo-pdq', version: 7, entries: 1200 },
        { listId: 'demo-md5', version: 2, entries: 40 },
      ],
    });
  });

  it('GET /readyz answers 500 internal when readiness itself throws', async () => {
    ({ app, core } = await gateway());
    core.failWith = new Error('index snapshot corrupted at /var/lib/vigil');
    const response = await app.inject({ method: 'GET', url: '/readyz' });
    expect(response.statusCode).toBe(500);
    expect(errorOf(response).code).toBe('internal');
    expect(response.body).not.toContain('/var/lib/vigil');
  });
});
