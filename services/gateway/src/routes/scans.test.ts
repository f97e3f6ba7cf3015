import type { FastifyInstance } from 'fastify';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { ScanView } from '../core.ts';
import { errorOf, FakeCore, gateway, testToken, TOKENS } from '../../test/support.ts';

function scan(scanId: string, tenantId: string): ScanView {
  return {
    scanId,
    tenantId,
    object: { bucket: 'media', key: `${tenantId}/x.png`, versionId: 'v1' },
    verdict: 'block',
    blocked: true,
    review: false,
    mode: 'fast',
    lists: [{ listId: 'demo', version: 4 }],
    matches: [{ list: 'demo', listVersion: 4, algorithm: 'pdq', distance: 3, action: 'block', variant: 'identity' }],
    scannedAt: '2026-11-21T10:00:00.000Z',
  };
}

describe('GET /v1/scans/:id', () => {
  let app: FastifyInstance;
  let core: FakeCore;
  const auditorOfA = testToken('auditor-a', ['audit:read'], ['tenant-a']);

  beforeEach(async () => {
    ({ app, core } = await gateway({ tokens: [TOKENS.product.token, TOKENS.auditor.token, TOKENS.lookup.token, auditorOfA.token] }));
    core.scans.set('scan-a', scan('scan-a', 'tenant-a'));
    core.scans.set('scan-b', scan('scan-b', 'tenant-b'));
  });
  afterEach(async () => app.close());

  it("answers the token's own tenant's scan, documented fields only", async () => {
    const response = await app.inject({ method: 'GET', url: '/v1/scans/scan-a', headers: TOKENS.product.auth });
    expect(response.statusCode).toBe(200);
    expect(response.json()).toEqual(scan('scan-a', 'tenant-a'));
    expect(core.scanLookups).toEqual(['scan-a']);
  });

  it("answers another tenant's scan exactly like a missing one", async () => {
    const other = await app.inject({ method: 'GET', url: '/v1/scans/scan-b', headers: TOKENS.product.auth });
    const missing = await app.inject({ method: 'GET', url: '/v1/scans/scan-zzz', headers: TOKENS.product.auth });
    expect(other.statusCode).toBe(404);
    expect(missing.statusCode).toBe(404);
    expect(errorOf(other)).toEqual({ ...errorOf(missing), requestId: errorOf(other).requestId });
    expect(errorOf(other).code).toBe('not_found');
    expect(other.body).not.toContain('tenant-b');
  });

  it('lets audit:read tokens read within their tenants, a wildcard auditor reads all', async () => {
    const ownA = await app.inject({ method: 'GET', url: '/v1/scans/scan-a', headers: auditorOfA.auth });
    const otherB = await app.inject({ method: 'GET', url: '/v1/scans/scan-b', headers: auditorOfA.auth });
    const wildcardB = await app.inject({ method: 'GET', url: '/v1/scans/scan-b', headers: TOKENS.auditor.auth });
    expect([ownA.statusCode, otherB.statusCode, wildcardB.statusCode]).toEqual([200, 404, 200]);
    expect(wildcardB.json().tenantId).toBe('tenant-b');
  });

  it('needs the check or audit:read scope', async () => {
    const response = await app.inject({ method: 'GET', url: '/v1/scans/scan-a', headers: TOKENS.lookup.auth });
    expect(response.statusCode).toBe(403);
    expect(errorOf(response).code).toBe('forbidden');
    expect(core.scanLookups).toHaveLength(0);
  });

  it('refuses an absurdly long id without asking the core', async () => {
    const response = await app.inject({ method: 'GET', url: `/v1/scans/${'x'.repeat(300)}`, headers: TOKENS.product.auth });
    expect(response.statusCode).toBe(400);
    expect(errorOf(response).issues).toContainEqual(expect.objectContaining({ path: ['params', 'id'] }));
    expect(core.scanLookups).toHaveLength(0);
  });

  it('answers a malformed or overlong path in the error shape, without quoting it', async () => {
    for (const url of ['/v1/scans/%E0%A4%A', `/v1/scans/${'y'.repeat(600)}`]) {
      const response = await app.inject({ method: 'GET', url, headers: TOKENS.product.auth });
      expect(response.statusCode, url).toBe(400);
      expect(errorOf(response).code).toBe('invalid_request');
      expect(response.body).not.toMatch(/%E0|yyyy/);
    }
    expect(core.scanLookups).toHaveLength(0);
  });
});
