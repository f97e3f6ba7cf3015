import type { FastifyInstance } from 'fastify';
import { afterEach, describe, expect, it } from 'vitest';
import type { LookupQuery } from '../core.ts';
import { errorOf, FakeCore, gateway, TOKENS } from '../../test/support.ts';

const auth = TOKENS.lookup.auth;
const PDQ = 'f8f8f0cee0f4a84f06370a22038f63f0b36e2ed596621e1d33e6b39c4e9c9b22';
const MD5 = 'D41D8CD98F00B204E9800998ECF8427E';
const SHA1 = 'da39a3ee5e6b4b0d3255bfef95601890afd80709';

describe('POST /v1/lookup', () => {
  let app: FastifyInstance;
  let core: FakeCore;
  afterEach(async () => app.close());

  it('lowercases the hashes, passes them in order and answers one result per query in the same order', async () => {
    ({ app, core } = await gateway());
    // The fake matches only queries with a pdq hash, so results differ by position.
    core.lookupAnswer = (queries: LookupQuery[]) =>
      queries.map((query) => ({
        matches: query.pdq
          ? [{ list: 'demo', listVersion: 2, algorithm: 'pdq', distance: 6, action: 'block' as const, variant: 'rotate90' }]
          : [],
      }));
    const response = await app.inject({
      method: 'POST',
      url: '/v1/lookup',
      payload: { hashes: [{ md5: MD5 }, { pdq: PDQ.toUpperCase(), sha1: SHA1 }, { sha256: 'A'.repeat(64) }] },
      headers: auth,
    });
    expect(response.statusCode).toBe(200);
    expect(core.lookups).toEqual([[{ md5: MD5.toLowerCase() }, { pdq: PDQ, sha1: SHA1 }, { sha256: 'a'.repeat(64) }]]);
    expect(response.json()).toEqual({
      results: [
        { matches: [] },
        { matches: [{ list: 'demo', listVersion: 2, algorithm: 'pdq', distance: 6, action: 'block', variant: 'rotate90' }] },
        { matches: [] },
      ],
    });
  });

  it.each([
    ['no hashes array', {}, ['body', 'hashes']],
    ['an empty list', { hashes: [] }, ['body', 'hashes']],
    ['an item with no hash', { hashes: [{ md5: MD5 }, {}] }, ['body', 'hashes', 1]],
    ['a pdq hash of the wrong length', { hashes: [{ pdq: PDQ.slice(2) }] }, ['body', 'hashes', 0, 'pdq']],
    ['an md5 with a non-hex digit', { hashes: [{ md5: `${MD5.slice(1)}g` }] }, ['body', 'hashes', 0, 'md5']],
    ['a sha1 given as sha256', { hashes: [{ sha256: SHA1 }] }, ['body', 'hashes', 0, 'sha256']],
    ['an unknown algorithm', { hashes: [{ phash: 'abcd' }] }, ['body', 'hashes', 0]],
    ['a hash that is not a string', { hashes: [{ md5: 12345 }] }, ['body', 'hashes', 0, 'md5']],
  ])('answers 400 invalid_request for %s, naming the path and never echoing the value', async (_name, payload, path) => {
    ({ app, core } = await gateway());
    const response = await app.inject({ method: 'POST', url: '/v1/lookup', payload, headers: auth });
    expect(response.statusCode).toBe(400);
    const error = errorOf(response);
    expect(error.code).toBe('invalid_request');
    expect(error.issues).toContainEqual(expect.objectContaining({ path }));
    expect(response.body).not.toContain(PDQ.slice(2));
    expect(response.body).not.toContain(SHA1);
    expect(response.body).not.toContain('phash');
    expect(core.lookups).toHaveLength(0);
  });

  it('takes up to maxLookupHashes queries and refuses one more', async () => {
    ({ app, core } = await gateway({ limits: { maxLookupHashes: 3 } }));
    const three = await app.inject({ method: 'POST', url: '/v1/lookup', payload: { hashes: Array(3).fill({ md5: MD5 }) }, headers: auth });
    expect(three.statusCode).toBe(200);
    expect(three.json().results).toHaveLength(3);
    const four = await app.inject({ method: 'POST', url: '/v1/lookup', payload: { hashes: Array(4).fill({ md5: MD5 }) }, headers: auth });
    expect(four.statusCode).toBe(400);
    expect(errorOf(four).issues).toEqual([{ path: ['body', 'hashes'], code: 'too_big', message: expect.any(String) }]);
    expect(core.lookups).toHaveLength(1);
  });

  it('accepts the default 1000 queries with every hash in one body', async () => {
    ({ app, core } = await gateway());
    const item = { pdq: PDQ, blockhash: PDQ, md5: MD5, sha1: SHA1, sha256: PDQ };
    const response = await app.inject({ method: 'POST', url: '/v1/lookup', payload: { hashes: Array(1000).fill(item) }, headers: auth });
    expect(response.statusCode).toBe(200);
    expect(core.lookups[0]).toHaveLength(1000);
  });

  it('answers 415 for a non-JSON body', async () => {
    ({ app, core } = await gateway());
    for (const type of ['text/plain', 'application/octet-stream', 'image/png']) {
      const response = await app.inject({ method: 'POST', url: '/v1/lookup', payload: MD5, headers: { ...auth, 'content-type': type } });
      expect(response.statusCode, type).toBe(415);
      expect(errorOf(response).code).toBe('unsupported_media_type');
    }
  });

  it('answers 500 internal when the core answers a different number of results than queries', async () => {
    ({ app, core } = await gateway());
    core.lookupAnswer = () => [{ matches: [] }];
    const response = await app.inject({ method: 'POST', url: '/v1/lookup', payload: { hashes: [{ md5: MD5 }, { sha1: SHA1 }] }, headers: auth });
    expect(response.statusCode).toBe(500);
    expect(errorOf(response).code).toBe('internal');
    expect(response.body).not.toContain('core.lookup');
  });
});
