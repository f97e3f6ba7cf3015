import { Readable } from 'node:stream';
import { encode, naturalScene, randomBytes } from '@vigil/testkit';
import type { FastifyInstance } from 'fastify';
import { afterEach, describe, expect, it } from 'vitest';
import type { CheckResult } from '../core.ts';
import { errorOf, FakeCore, gateway, multipartBody, TOKENS } from '../../test/support.ts';

const auth = TOKENS.product.auth;

describe('POST /v1/check', () => {
  let app: FastifyInstance;
  let core: FakeCore;
  afterEach(async () => app.close());

  async function setup(options: Parameters<typeof gateway>[0] = {}) {
    ({ app, core } = await gateway(options));
  }

  describe('raw body', () => {
    it('hands the exact bytes and query/header metadata to the core and answers its verdict', async () => {
      await setup();
      const png = await encode(await naturalScene(64, 48, 7), 'png');
      const result: CheckResult = {
        verdict: 'block',
        scanId: 'scan-42',
        matches: [{ list: 'demo-list', listVersion: 3, algorithm: 'pdq', distance: 12, action: 'block' }],
        reused: true,
        timings: { hashMs: 4, matchMs: 1, recordMs: 2, totalMs: 7 },
      };
      core.checkResult = result;
      const response = await app.inject({
        method: 'POST',
        url: '/v1/check?tenant=tenant-a&bucket=media&key=u%2F1.png&versionId=v9&uploadId=up-1&source=stream&account=acct-7',
        payload: png,
        headers: {
          ...auth,
          'content-type': 'image/png',
          'x-vigil-uploader-ip': '2001:db8::1',
          'x-vigil-uploader-agent': 'curl/8.0',
        },
      });
      expect(response.statusCode).toBe(200);
      expect(response.json()).toEqual({
        verdict: 'block',
        scanId: 'scan-42',
        matches: [{ list: 'demo-list', listVersion: 3, algorithm: 'pdq', distance: 12, action: 'block' }],
        reused: true,
        timings: { hashMs: 4, matchMs: 1, recordMs: 2, totalMs: 7 },
      });
      expect(core.checks).toHaveLength(1);
      const request = core.checks[0]!;
      expect('bytes' in request.content).toBe(true);
      const bytes = (request.content as { bytes: Uint8Array }).bytes;
      expect(bytes.length).toBe(png.length);
      expect(Buffer.from(bytes).equals(png)).toBe(true);
      expect({ ...request, content: undefined }).toEqual({
        tenantId: 'tenant-a',
        content: undefined,
        object: { bucket: 'media', key: 'u/1.png', versionId: 'v9', contentType: 'image/png' },
        uploader: { accountId: 'acct-7', ip: '2001:db8::1', userAgent: 'curl/8.0' },
        uploadId: 'up-1',
        source: 'stream',
      });
    });

    it('takes application/octet-stream, defaults source to gateway and omits what was not given', async () => {
      await setup();
      const bytes = randomBytes(100_000, 3);
      const response = await app.inject({
        method: 'POST',
        url: '/v1/check?tenant=tenant-a',
        payload: bytes,
        headers: { ...auth, 'content-type': 'application/octet-stream' },
      });
      expect(response.statusCode).toBe(200);
      const request = core.checks[0]!;
      expect(Object.keys(request).sort()).toEqual(['content', 'source', 'tenantId']);
      expect(request.source).toBe('gateway');
      expect(Buffer.from((request.content as { bytes: Uint8Array }).bytes).equals(bytes)).toBe(true);
    });

    it('accepts a body of exactly the limit and refuses one byte more with 413, without calling the core', async () => {
      await setup({ limits: { maxBodyBytes: 4096 } });
      const atLimit = await app.inject({
        method: 'POST',
        url: '/v1/check?tenant=tenant-a',
        payload: randomBytes(4096),
        headers: { ...auth, 'content-type': 'image/jpeg' },
      });
      expect(atLimit.statusCode).toBe(200);
      expect((core.checks[0]!.content as { bytes: Uint8Array }).bytes.length).toBe(4096);

      const over = await app.inject({
        method: 'POST',
        url: '/v1/check?tenant=tenant-a',
        payload: randomBytes(4097),
        headers: { ...auth, 'content-type': 'image/jpeg' },
      });
      expect(over.statusCode).toBe(413);
      expect(errorOf(over).code).toBe('payload_too_large');
      expect(core.checks).toHaveLength(1);
    });

    it('refuses an oversized chunked body (no Content-Length) with 413 once it passes the limit', async () => {
      await setup({ limits: { maxBodyBytes: 4096 } });
      const chunks = [randomBytes(2048, 1), randomBytes(2048, 2), randomBytes(2048, 3)];
      const response = await app.inject({
        method: 'POST',
        url: '/v1/check?tenant=tenant-a',
        payload: Readable.from(chunks),
        headers: { ...auth, 'content-type': 'image/webp', 'transfer-encoding': 'chunked' },
      });
      expect(response.statusCode).toBe(413);
      expect(errorOf(response).code).toBe('payload_too_large');
      expect(core.checks).toHaveLength(0);
    });

    it('answers 400 for an empty body', async () => {
      await setup();
      const response = await app.inject({
        method: 'POST',
        url: '/v1/check?tenant=tenant-a',
        payload: Buffer.alloc(0),
        headers: { ...auth, 'content-type': 'image/png' },
      });
      expect(response.statusCode).toBe(400);
      expect(errorOf(response).code).toBe('invalid_request');
      const bodiless = await app.inject({ method: 'POST', url: '/v1/check?tenant=tenant-a', headers: auth });
      expect(bodiless.statusCode).toBe(400);
      expect(errorOf(bodiless).code).toBe('invalid_request');
      expect(core.checks).toHaveLength(0);
    });

    it.each([
      ['no tenant', '/v1/check', {}, ['query', 'tenant']],
      ['bucket without key', '/v1/check?tenant=tenant-a&bucket=b', {}, ['query', 'key']],
      ['versionId without an object', '/v1/check?tenant=tenant-a&versionId=v1', {}, ['query', 'versionId']],
      ['an unknown source', '/v1/check?tenant=tenant-a&source=email', {}, ['query', 'source']],
      ['a repeated tenant', '/v1/check?tenant=tenant-a&tenant=tenant-b', {}, ['query', 'tenant']],
      ['an unknown parameter', '/v1/check?tenant=tenant-a&tenantId=x', {}, ['query']],
      ['a malformed uploader IP', '/v1/check?tenant=tenant-a&account=a1', { 'x-vigil-uploader-ip': '999.1.1.1' }, ['headers', 'x-vigil-uploader-ip']],
      ['uploader headers without an account', '/v1/check?tenant=tenant-a', { 'x-vigil-uploader-ip': '192.0.2.1' }, ['query', 'account']],
    ])('answers 400 invalid_request naming the path for %s, without echoing values', async (_name, url, headers, path) => {
      await setup();
      const response = await app.inject({
        method: 'POST',
        url,
        payload: randomBytes(32),
        headers: { ...auth, 'content-type': 'image/png', ...headers },
      });
      expect(response.statusCode).toBe(400);
      const error = errorOf(response);
      expect(error.code).toBe('invalid_request');
      expect(error.issues).toContainEqual(expect.objectContaining({ path }));
      expect(response.body).not.toContain('999.1.1.1');
      expect(response.body).not.toContain('tenantId');
      expect(core.checks).toHaveLength(0);
    });

    it('refuses a tenant the token may not act for with 403 forbidden_tenant before reading the body', async () => {
      await setup({ limits: { maxBodyBytes: 16 } });
      const response = await app.inject({
        method: 'POST',
        url: '/v1/check?tenant=tenant-b',
        payload: randomBytes(64),
        headers: { ...auth, 'content-type': 'image/png' },
      });
      // 403, not 413: the tenant is checked before the (oversized) body is read.
      expect(response.statusCode).toBe(403);
      expect(errorOf(response).code).toBe('forbidden_tenant');
      expect(core.checks).toHaveLength(0);
    });

    it('answers 415 for text/plain, unknown types and compressed bodies', async () => {
      await setup();
      for (const headers of [
        { 'content-type': 'text/plain' },
        { 'content-type': 'video/mp4' },
        { 'content-type': 'image/png', 'content-encoding': 'gzip' },
      ]) {
        const response = await app.inject({
          method: 'POST',
          url: '/v1/check?tenant=tenant-a',
          payload: 'hello',
          headers: { ...auth, ...headers },
        });
        expect(response.statusCode, JSON.stringify(headers)).toBe(415);
        expect(errorOf(response).code).toBe('unsupported_media_type');
      }
      expect(core.checks).toHaveLength(0);
    });
  });

  describe('multipart', () => {
    const metadata = {
      tenant: 'tenant-a',
      object: { bucket: 'media', key: 'posts/9.jpg' },
      uploader: { accountId: 'acct-3', ip: '198.51.100.4' },
      uploadId: 'up-9',
      source: 'workers',
    };

    it('hands the file bytes and metadata to the core, metadata before or after the file', async () => {
      await setup();
      const jpeg = await encode(await naturalScene(80, 60, 2), 'jpeg');
      for (const order of ['metadata-first', 'file-first'] as const) {
        const file = { bytes: jpeg, type: 'image/jpeg', filename: '9.jpg' };
        const fields = order === 'metadata-first' ? { metadata: JSON.stringify(metadata), file } : { file, metadata: JSON.stringify(metadata) };
        const { payload, headers } = await multipartBody(fields);
        const response = await app.inject({ method: 'POST', url: '/v1/check', payload, headers: { ...auth, ...headers } });
        expect(response.statusCode, order).toBe(200);
        expect(response.json()).toMatchObject({ verdict: 'allow', scanId: 'scan-1' });
      }
      expect(core.checks).toHaveLength(2);
      for (const request of core.checks) {
        const bytes = (request.content as { bytes: Uint8Array }).bytes;
        expect(bytes.length).toBe(jpeg.length);
        expect(Buffer.from(bytes).equals(jpeg)).toBe(true);
        expect({ ...request, content: undefined }).toEqual({
          tenantId: 'tenant-a',
          content: undefined,
          object: { bucket: 'media', key: 'posts/9.jpg', contentType: 'image/jpeg' },
          uploader: { accountId: 'acct-3', ip: '198.51.100.4' },
          uploadId: 'up-9',
          source: 'workers',
        });
      }
    });

    it('accepts a file of exactly the limit and refuses one byte more with 413, never checking it truncated', async () => {
      await setup({ limits: { maxBodyBytes: 4096 } });
      const atLimit = await multipartBody({ metadata: JSON.stringify({ tenant: 'tenant-a' }), file: { bytes: randomBytes(4096), type: 'image/png' } });
      const ok = await app.inject({ method: 'POST', url: '/v1/check', payload: atLimit.payload, headers: { ...auth, ...atLimit.headers } });
      expect(ok.statusCode).toBe(200);
      expect((core.checks[0]!.content as { bytes: Uint8Array }).bytes.length).toBe(4096);

      for (const size of [4097, 50_000]) {
        for (const fileFirst of [false, true]) {
          const file = { bytes: randomBytes(size), type: 'image/png' };
          const meta = JSON.stringify({ tenant: 'tenant-a' });
          const over = await multipartBody(fileFirst ? { file, metadata: meta } : { metadata: meta, file });
          const response = await app.inject({ method: 'POST', url: '/v1/check', payload: over.payload, headers: { ...auth, ...over.headers } });
          expect(response.statusCode, `${size} bytes, file first: ${fileFirst}`).toBe(413);
          expect(errorOf(response).code).toBe('payload_too_large');
        }
      }
      expect(core.checks).toHaveLength(1);
    });

    it('refuses a second file', async () => {
      await setup();
      const form = new FormData();
      form.append('metadata', JSON.stringify({ tenant: 'tenant-a' }));
      form.append('file', new Blob([randomBytes(10, 1)]), 'a.png');
      form.append('file', new Blob([randomBytes(10, 2)]), 'b.png');
      const encoded = new Request('http://x/', { method: 'POST', body: form });
      const response = await app.inject({
        method: 'POST',
        url: '/v1/check',
        payload: Buffer.from(await encoded.arrayBuffer()),
        headers: { ...auth, 'content-type': encoded.headers.get('content-type')! },
      });
      expect(response.statusCode).toBe(400);
      expect(errorOf(response).code).toBe('invalid_request');
      expect(core.checks).toHaveLength(0);
    });

    it.each([
      ['missing metadata', { file: { bytes: randomBytes(10), type: 'image/png' } }, ['metadata']],
      ['metadata that is not JSON', { metadata: '{tenant:', file: { bytes: randomBytes(10), type: 'image/png' } }, ['metadata']],
      ['metadata without a tenant', { metadata: '{"object":{"bucket":"b","key":"k"}}', file: { bytes: randomBytes(10), type: 'image/png' } }, ['metadata', 'tenant']],
      ['an uploader IP that is not an IP', { metadata: '{"tenant":"tenant-a","uploader":{"accountId":"a","ip":"10.0.0.300"}}', file: { bytes: randomBytes(10), type: 'image/png' } }, ['metadata', 'uploader', 'ip']],
      ['no file', { metadata: '{"tenant":"tenant-a"}' }, ['file']],
      ['an empty file', { metadata: '{"tenant":"tenant-a"}', file: { bytes: new Uint8Array(0), type: 'image/png' } }, ['file']],
      ['the file under another name', { metadata: '{"tenant":"tenant-a"}', image: { bytes: randomBytes(10), type: 'image/png' } }, ['file']],
      ['an extra field', { metadata: '{"tenant":"tenant-a"}', note: 'hi', file: { bytes: randomBytes(10), type: 'image/png' } }, ['metadata']],
    ])('answers 400 invalid_request for %s', async (_name, fields, path) => {
      await setup();
      const { payload, headers } = await multipartBody(fields);
      const response = await app.inject({ method: 'POST', url: '/v1/check', payload, headers: { ...auth, ...headers } });
      expect(response.statusCode).toBe(400);
      const error = errorOf(response);
      expect(error.code).toBe('invalid_request');
      expect(error.issues).toContainEqual(expect.objectContaining({ path }));
      expect(response.body).not.toContain('10.0.0.300');
      expect(core.checks).toHaveLength(0);
    });

    it('answers 400 for a malformed multipart body (no boundary, torn parts)', async () => {
      await setup();
      const noBoundary = await app.inject({
        method: 'POST',
        url: '/v1/check',
        payload: 'garbage',
        headers: { ...auth, 'content-type': 'multipart/form-data' },
      });
      expect(noBoundary.statusCode).toBe(400);
      expect(errorOf(noBoundary).code).toBe('invalid_request');

      const { payload, headers } = await multipartBody({ metadata: '{"tenant":"tenant-a"}', file: { bytes: randomBytes(500), type: 'image/png' } });
      const torn = await app.inject({
        method: 'POST',
        url: '/v1/check',
        payload: payload.subarray(0, payload.length - 120),
        headers: { ...auth, ...headers },
      });
      expect(torn.statusCode).toBe(400);
      expect(core.checks).toHaveLength(0);
    });

    it('refuses query parameters and uploader headers, which only raw mode reads', async () => {
      await setup();
      const { payload, headers } = await multipartBody({ metadata: '{"tenant":"tenant-a"}', file: { bytes: randomBytes(10), type: 'image/png' } });
      const withQuery = await app.inject({ method: 'POST', url: '/v1/check?tenant=tenant-a', payload, headers: { ...auth, ...headers } });
      expect(withQuery.statusCode).toBe(400);
      expect(errorOf(withQuery).issues).toContainEqual(expect.objectContaining({ path: ['query'] }));
      const withHeader = await app.inject({
        method: 'POST',
        url: '/v1/check',
        payload,
        headers: { ...auth, ...headers, 'x-vigil-uploader-agent': 'ua' },
      });
      expect(withHeader.statusCode).toBe(400);
      expect(core.checks).toHaveLength(0);
    });

    it('refuses a tenant the token may not act for', async () => {
      await setup();
      const { payload, headers } = await multipartBody({ metadata: '{"tenant":"tenant-b"}', file: { bytes: randomBytes(10), type: 'image/png' } });
      const response = await app.inject({ method: 'POST', url: '/v1/check', payload, headers: { ...auth, ...headers } });
      expect(response.statusCode).toBe(403);
      expect(errorOf(response).code).toBe('forbidden_tenant');
      expect(core.checks).toHaveLength(0);
    });
  });

  describe('JSON object reference', () => {
    it('asks the core to fetch and check the stored object', async () => {
      await setup();
      const response = await app.inject({
        method: 'POST',
        url: '/v1/check',
        payload: { tenant: 'tenant-a', object: { bucket: 'media', key: 'a/b.gif', versionId: '3' }, uploader: { accountId: 'acct-1' }, uploadId: 'u-1' },
        headers: auth,
      });
      expect(response.statusCode).toBe(200);
      expect(core.checks).toEqual([
        {
          tenantId: 'tenant-a',
          content: { object: { bucket: 'media', key: 'a/b.gif', versionId: '3' } },
          object: { bucket: 'media', key: 'a/b.gif', versionId: '3' },
          uploader: { accountId: 'acct-1' },
          uploadId: 'u-1',
          source: 'gateway',
        },
      ]);
    });

    it('answers 400 for a missing object, an unknown key, malformed JSON and an empty body', async () => {
      await setup();
      const cases = [
        { payload: JSON.stringify({ tenant: 'tenant-a' }), path: ['body', 'object'] },
        { payload: JSON.stringify({ tenant: 'tenant-a', object: { bucket: 'b', key: 'k' }, bytes: 'AAAA' }), path: ['body'] },
        { payload: '{"tenant": "tenant-a", ', path: undefined },
        { payload: '', path: undefined },
      ];
      for (const { payload, path } of cases) {
        const response = await app.inject({ method: 'POST', url: '/v1/check', payload, headers: { ...auth, 'content-type': 'application/json' } });
        expect(response.statusCode, payload).toBe(400);
        const error = errorOf(response);
        expect(error.code).toBe('invalid_request');
        if (path) expect(error.issues).toContainEqual(expect.objectContaining({ path }));
      }
      expect(core.checks).toHaveLength(0);
    });

    it('refuses a tenant the token may not act for; a wildcard token may act for any', async () => {
      ({ app, core } = await gateway({
        tokens: [TOKENS.product.token, { ...TOKENS.auditor.token, id: 'platform', scopes: ['check'] }],
      }));
      const body = { tenant: 'tenant-z', object: { bucket: 'b', key: 'k' } };
      const refused = await app.inject({ method: 'POST', url: '/v1/check', payload: body, headers: auth });
      expect(refused.statusCode).toBe(403);
      expect(errorOf(refused).code).toBe('forbidden_tenant');
      const allowed = await app.inject({ method: 'POST', url: '/v1/check', payload: body, headers: TOKENS.auditor.auth });
      expect(allowed.statusCode).toBe(200);
      expect(core.checks.map((c) => c.tenantId)).toEqual(['tenant-z']);
    });
  });

  it('answers 500 internal without the core error message or stack when the core throws', async () => {
    await setup();
    core.failWith = new Error('connect ECONNREFUSED 10.1.2.3:5432 at Pool.connect (/srv/app/node_modules/pg/lib/pool.js:45)');
    const response = await app.inject({
      method: 'POST',
      url: '/v1/check',
      payload: { tenant: 'tenant-a', object: { bucket: 'b', key: 'k' } },
      headers: auth,
    });
    expect(response.statusCode).toBe(500);
    const error = errorOf(response);
    expect(error).toEqual({ code: 'internal', message: 'Internal error', requestId: response.headers['x-request-id'] });
    expect(response.body).not.toMatch(/ECONNREFUSED|10\.1\.2\.3|pool\.js/);
  });

  it('answers only documented fields: nothing the core adds beyond them reaches the client', async () => {
    await setup();
    core.checkResult = {
      verdict: 'review',
      scanId: 's',
      matches: [
        Object.assign({ list: 'l', listVersion: 1, algorithm: 'pdq', distance: 30, action: 'review' as const }, { entryId: 'e-1', entryHash: 'ab'.repeat(32) }),
      ],
      reason: 'low_quality',
      reused: false,
      timings: { fetchMs: 5, hashMs: 1, matchMs: 1, recordMs: 1, totalMs: 8 },
      ...{ tenantsSeen: ['tenant-b'] },
    };
    const response = await app.inject({
      method: 'POST',
      url: '/v1/check',
      payload: { tenant: 'tenant-a', object: { bucket: 'b', key: 'k' } },
      headers: auth,
    });
    expect(response.statusCode).toBe(200);
    expect(response.json()).toEqual({
      verdict: 'review',
      scanId: 's',
      matches: [{ list: 'l', listVersion: 1, algorithm: 'pdq', distance: 30, action: 'review' }],
      reason: 'low_quality',
      reused: false,
      timings: { fetchMs: 5, hashMs: 1, matchMs: 1, recordMs: 1, totalMs: 8 },
    });
    expect(response.body).not.toMatch(/entry|tenant-b/);
  });
});
