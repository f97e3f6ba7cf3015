import { createHash } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { createTokenMatcher, hashTokenSecret, parseTokens, SCOPES, validateTokens } from './tokens.ts';

const SECRET = 'vgt_example_secret_value';
const DIGEST = createHash('sha256').update(SECRET).digest('hex');

describe('hashTokenSecret', () => {
  it('is the lowercase hex sha256 of the utf-8 secret', () => {
    expect(hashTokenSecret(SECRET)).toBe(DIGEST);
    expect(hashTokenSecret('')).toBe('e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855');
  });
});

describe('parseTokens', () => {
  it('parses a token list and normalizes the digest to lowercase', () => {
    const tokens = parseTokens(
      JSON.stringify([
        { id: 'a', sha256: DIGEST.toUpperCase(), scopes: ['check', 'audit:read'], tenants: ['t1'] },
        { id: 'b', sha256: hashTokenSecret('other'), scopes: ['lookup'], tenants: '*', rateLimit: { max: 5, timeWindowMs: 1000 } },
      ]),
    );
    expect(tokens).toEqual([
      { id: 'a', sha256: DIGEST, scopes: ['check', 'audit:read'], tenants: ['t1'] },
      { id: 'b', sha256: hashTokenSecret('other'), scopes: ['lookup'], tenants: '*', rateLimit: { max: 5, timeWindowMs: 1000 } },
    ]);
    expect('rateLimit' in tokens[0]!).toBe(false);
  });

  it('refuses text that is not JSON without quoting it', () => {
    expect(() => parseTokens('[{"id": "a", "sha256": "s3cr3t-value"')).toThrowError(/VIGIL_GATEWAY_TOKENS is not valid JSON/);
    try {
      parseTokens('[{"id": "a", "sha256": "s3cr3t-value"');
    } catch (error) {
      expect(String(error)).not.toContain('s3cr3t');
    }
  });

  it('lists every problem by path: a raw secret where the digest goes, an unknown scope, no tenants', () => {
    const json = JSON.stringify([{ id: 'a', sha256: 'plain-secret', scopes: ['check', 'root'], tenants: [] }]);
    let message = '';
    try {
      parseTokens(json);
    } catch (error) {
      message = (error as Error).message;
    }
    expect(message).toMatch(/^VIGIL_GATEWAY_TOKENS are invalid:/);
    expect(message).toContain('0.sha256: must be 64 hex digits');
    expect(message).toContain('0.scopes.1');
    expect(message).toContain('0.tenants');
    expect(message).not.toContain('plain-secret');
  });

  it('refuses duplicate ids and duplicate secrets', () => {
    const json = JSON.stringify([
      { id: 'a', sha256: DIGEST, scopes: ['check'], tenants: '*' },
      { id: 'a', sha256: DIGEST, scopes: ['lookup'], tenants: '*' },
    ]);
    expect(() => parseTokens(json)).toThrowError(/1\.id: duplicate token id.*1\.sha256: duplicate secret/);
  });

  it('refuses a non-array', () => {
    expect(() => parseTokens('{"id":"a"}')).toThrowError(/invalid/);
  });

  it('exports every scope the routes use', () => {
    expect(SCOPES).toEqual(['check', 'lookup', 'lists:admin', 'audit:read', 'trusted:lookup', 'metrics:read']);
  });
});

describe('createTokenMatcher', () => {
  const tokens = validateTokens([
    { id: 'a', sha256: hashTokenSecret('alpha'), scopes: ['check'], tenants: '*' },
    { id: 'b', sha256: hashTokenSecret('beta'), scopes: ['lookup'], tenants: '*' },
  ]);
  const match = createTokenMatcher(tokens);

  it('finds the token whose digest matches the presented secret', () => {
    expect(match('alpha')?.id).toBe('a');
    expect(match('beta')?.id).toBe('b');
  });

  it('finds nothing for an unknown secret, a prefix, or the digest itself', () => {
    expect(match('gamma')).toBeNull();
    expect(match('alph')).toBeNull();
    expect(match(hashTokenSecret('alpha'))).toBeNull();
    expect(match('')).toBeNull();
  });
});
