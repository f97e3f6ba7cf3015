import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { FastifyInstance } from 'fastify';
import { gateway } from '../test/support.ts';

interface OpenApiDocument {
  openapi: string;
  paths: Record<string, Record<string, { security?: unknown; requestBody?: { content: Record<string, unknown> }; parameters?: Array<{ name: string; in: string; required?: boolean }>; responses: Record<string, unknown> }>>;
  components: { securitySchemes: Record<string, unknown> };
}

describe('OpenAPI document', () => {
  let app: FastifyInstance;
  let doc: OpenApiDocument;

  beforeAll(async () => {
    ({ app } = await gateway());
    const response = await app.inject({ method: 'GET', url: '/docs/json' });
    expect(response.statusCode).toBe(200);
    doc = response.json();
  });
  afterAll(async () => app.close());

  it('is OpenAPI 3 and lists the /v1 paths, health, and no docs routes', () => {
    expect(doc.openapi).toMatch(/^3\./);
    expect(Object.keys(doc.paths).sort()).toEqual(['/healthz', '/readyz', '/v1/check', '/v1/dashboard', '/v1/lookup', '/v1/scans/{id}']);
    expect(Object.keys(doc.paths['/v1/check']!)).toEqual(['post']);
    expect(Object.keys(doc.paths['/v1/scans/{id}']!)).toEqual(['get']);
  });

  it('declares the bearer scheme and requires it on /v1 routes only', () => {
    expect(doc.components.securitySchemes.bearer).toMatchObject({ type: 'http', scheme: 'bearer' });
    expect(doc.paths['/v1/check']!.post!.security).toEqual([{ bearer: [] }]);
    expect(doc.paths['/v1/lookup']!.post!.security).toEqual([{ bearer: [] }]);
    expect(doc.paths['/v1/scans/{id}']!.get!.security).toEqual([{ bearer: [] }]);
    expect(doc.paths['/v1/dashboard']!.get!.security).toEqual([{ bearer: [] }]);
    expect(Object.keys(doc.paths['/v1/dashboard']!.get!.responses)).toEqual(expect.arrayContaining(['200', '401', '403', '503']));
    expect(doc.paths['/healthz']!.get!.security).toBeUndefined();
  });

  it('documents the three check request shapes, the raw-mode query and the error responses', () => {
    const check = doc.paths['/v1/check']!.post!;
    expect(Object.keys(check.requestBody!.content).sort()).toEqual(
      ['application/json', 'application/octet-stream', 'image/*', 'multipart/form-data'].sort(),
    );
    const tenant = check.parameters!.find((p) => p.name === 'tenant');
    expect(tenant).toMatchObject({ in: 'query', required: true });
    expect(check.parameters!.map((p) => p.name)).toContain('x-vigil-uploader-ip');
    expect(Object.keys(check.responses)).toEqual(expect.arrayContaining(['200', '400', '401', '403', '413', '415', '429', '500']));
  });

  it('serves the UI at /docs without auth', async () => {
    const response = await app.inject({ method: 'GET', url: '/docs' });
    expect([200, 302]).toContain(response.statusCode);
  });
});
