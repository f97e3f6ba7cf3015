import type { FastifyInstance } from 'fastify';
import { afterEach, describe, expect, it } from 'vitest';
import type { LookupQuery } from '../core.ts';
import type { CorpusLookupContext, CorpusPort, ListImportRequest, ListImportResult, ListsAdminPort } from '../trusted.ts';
import { errorOf, gateway, testToken, TOKENS } from '../../test/support.ts';

const PDQ = 'f8f8f0cee0f4a84f06370a22038f63f0b36e2ed596621e1d33e6b39c4e9c9b22';
const reporter = testToken('arachnid', ['trusted:lookup'], ['tenant-a']);

class FakeCorpus implements CorpusPort {
  readonly calls: Array<{ queries: LookupQuery[]; context: CorpusLookupContext }> = [];
  async lookup(queries: LookupQuery[], context: CorpusLookupContext) {
    this.calls.push({ queries, context });
    return queries.map((q) => ({
      objects: q.pdq ? [{ tenantId: 'tenant-a', bucket: 'media', key: 'a.jpg', state: 'quarantined' as const, algorithm: 'pdq', distance: 4, variant: 'orig', lastSeenAt: '2026-01-01T00:00:00.000Z' }] : [],
    }));
  }
}

class FakeAdmin implements ListsAdminPort {
  readonly calls: Array<{ text: string; request: ListImportRequest; actor: string }> = [];
  answer: ListImportResult = { status: 'imported', list: 'demo', version: 3, entries: 2, added: 1, removed: 1, changed: 0 };
  async importVersion(bytes: Uint8Array, request: ListImportRequest, actor: string) {
    this.calls.push({ text: Buffer.from(bytes).toString('utf8'), request, actor });
    return this.answer;
  }
}

describe('POST /v1/lookup/corpus', () => {
  let app: FastifyInstance;
  afterEach(async () => app.close());

  it('answers objects and states per query for a trusted:lookup token, passing who asked and its tenants', async () => {
    const corpus = new FakeCorpus();
    ({ app } = await gateway({ corpus, tokens: [reporter.token, TOKENS.lookup.token] }));
    const response = await app.inject({ method: 'POST', url: '/v1/lookup/corpus', payload: { hashes: [{ pdq: PDQ.toUpperCase() }, { md5: 'a'.repeat(32) }] }, headers: reporter.auth });
    expect(response.statusCode).toBe(200);
    expect(response.json()).toEqual({
      results: [{ objects: [{ tenantId: 'tenant-a', bucket: 'media', key: 'a.jpg', state: 'quarantined', algorithm: 'pdq', distance: 4, variant: 'orig', lastSeenAt: '2026-01-01T00:00:00.000Z' }] }, { objects: [] }],
    });
    expect(corpus.calls).toEqual([{ queries: [{ pdq: PDQ }, { md5: 'a'.repeat(32) }], context: { actor: 'token:arachnid', requestId: expect.any(String), tenants: ['tenant-a'] } }]);
  });

  it('refuses a plain lookup token (403) and bad hashes (400) without calling the port', async () => {
    const corpus = new FakeCorpus();
    ({ app } = await gateway({ corpus, tokens: [reporter.token, TOKENS.lookup.token] }));
    const forbidden = await app.inject({ method: 'POST', url: '/v1/lookup/corpus', payload: { hashes: [{ pdq: PDQ }] }, headers: TOKENS.lookup.auth });
    expect(forbidden.statusCode).toBe(403);
    const bad = await app.inject({ method: 'POST', url: '/v1/lookup/corpus', payload: { hashes: [{ pdq: PDQ.slice(1) }] }, headers: reporter.auth });
    expect(errorOf(bad).code).toBe('invalid_request');
    expect(bad.body).not.toContain(PDQ.slice(1));
    expect(corpus.calls).toEqual([]);
  });

  it('is absent when no corpus port is configured', async () => {
    ({ app } = await gateway({ tokens: [reporter.token] }));
    const response = await app.inject({ method: 'POST', url: '/v1/lookup/corpus', payload: { hashes: [{ pdq: PDQ }] }, headers: reporter.auth });
    expect(response.statusCode).toBe(404);
  });
});

describe('POST /v1/lists/:name/versions', () => {
  let app: FastifyInstance;
  afterEach(async () => app.close());

  it('imports the body as the next version and answers the diff counts (201)', async () => {
    const listsAdmin = new FakeAdmin();
    ({ app } = await gateway({ listsAdmin }));
    const response = await app.inject({
      method: 'POST', url: '/v1/lists/demo/versions?algo=pdq&threshold=20&dihedral=false', payload: `${PDQ},E-1\n`,
      headers: { ...TOKENS.admin.auth, 'content-type': 'text/csv' },
    });
    expect(response.statusCode).toBe(201);
    expect(response.json()).toEqual({ list: 'demo', version: 3, entries: 2, added: 1, removed: 1, changed: 0 });
    expect(listsAdmin.calls).toEqual([{ text: `${PDQ},E-1\n`, request: { name: 'demo', algorithm: 'pdq', format: 'plain', threshold: 20, dihedral: false, source: 'api:lists-admin' }, actor: 'token:lists-admin' }]);
  });

  it('answers a refused file with its line numbers and no hash values; needs lists:admin', async () => {
    const listsAdmin = new FakeAdmin();
    listsAdmin.answer = { status: 'refused', reason: '1 line(s) with errors: nothing imported', errors: [{ line: 2, message: 'expected 64 hex characters for pdq, got 63' }] };
    ({ app } = await gateway({ listsAdmin }));
    const refused = await app.inject({ method: 'POST', url: '/v1/lists/demo/versions?algo=pdq', payload: `${PDQ}\n${PDQ.slice(1)}\n`, headers: { ...TOKENS.admin.auth, 'content-type': 'text/plain' } });
    expect(refused.statusCode).toBe(400);
    expect(errorOf(refused).issues).toEqual([{ path: ['body', 2], code: 'invalid_line', message: 'expected 64 hex characters for pdq, got 63' }]);
    expect(refused.body).not.toContain(PDQ.slice(1));
    const forbidden = await app.inject({ method: 'POST', url: '/v1/lists/demo/versions?algo=pdq', payload: PDQ, headers: { ...TOKENS.lookup.auth, 'content-type': 'text/csv' } });
    expect(forbidden.statusCode).toBe(403);
    const badName = await app.inject({ method: 'POST', url: '/v1/lists/Bad%20Name/versions?algo=pdq', payload: PDQ, headers: { ...TOKENS.admin.auth, 'content-type': 'text/csv' } });
    expect(errorOf(badName).code).toBe('invalid_request');
    expect(listsAdmin.calls).toHaveLength(1);
  });
});
