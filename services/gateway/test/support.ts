// Test support: a GatewayCore fake that records every call and answers what a test sets, tokens
// with known secrets, and request helpers. No network: everything goes through app.inject.

import type { FastifyInstance } from 'fastify';
import { buildGateway, type GatewayOptions } from '../src/app.ts';
import type { CheckRequest, CheckResult, GatewayCore, LookupQuery, LookupResult, Readiness, ScanView } from '../src/core.ts';
import { hashTokenSecret, type GatewayToken, type Scope } from '../src/tokens.ts';

export class FakeCore implements GatewayCore {
  readonly checks: CheckRequest[] = [];
  readonly lookups: LookupQuery[][] = [];
  readonly scanLookups: string[] = [];
  readonly scans = new Map<string, ScanView>();
  checkResult: CheckResult = {
    verdict: 'allow',
    scanId: 'scan-1',
    matches: [],
    reused: false,
    timings: { hashMs: 3, matchMs: 1, recordMs: 2, totalMs: 6 },
  };
  lookupAnswer: (queries: LookupQuery[]) => LookupResult[] = (queries) => queries.map(() => ({ matches: [] }));
  ready: Readiness = { ready: true, lists: [] };
  failWith: Error | undefined;

  async check(request: CheckRequest): Promise<CheckResult> {
    this.checks.push(request);
    if (this.failWith) throw this.failWith;
    return this.checkResult;
  }

  async lookup(queries: LookupQuery[]): Promise<LookupResult[]> {
    this.lookups.push(queries);
    if (this.failWith) throw this.failWith;
    return this.lookupAnswer(queries);
  }

  async getScan(scanId: string): Promise<ScanView | null> {
    this.scanLookups.push(scanId);
    if (this.failWith) throw this.failWith;
    return this.scans.get(scanId) ?? null;
  }

  readiness(): Readiness {
    if (this.failWith) throw this.failWith;
    return this.ready;
  }
}

/** A token and the secret that unlocks it. */
export interface TestToken {
  token: GatewayToken;
  secret: string;
  auth: { authorization: string };
}

export function testToken(id: string, scopes: Scope[], tenants: string[] | '*', extra: Partial<GatewayToken> = {}): TestToken {
  const secret = `vgt_${id}_0123456789abcdef0123456789abcdef`;
  return {
    token: { id, sha256: hashTokenSecret(secret), scopes, tenants, ...extra },
    secret,
    auth: { authorization: `Bearer ${secret}` },
  };
}

/** The usual cast: a product token for tenant-a, a lookup-only token, an auditor for everyone. */
export const TOKENS = {
  product: testToken('product-a', ['check'], ['tenant-a']),
  lookup: testToken('edge-lookup', ['lookup'], ['tenant-a']),
  auditor: testToken('auditor', ['audit:read'], '*'),
  admin: testToken('lists-admin', ['lists:admin'], '*'),
};

export async function gateway(
  overrides: Partial<Omit<GatewayOptions, 'core'>> = {},
): Promise<{ app: FastifyInstance; core: FakeCore }> {
  const core = new FakeCore();
  const app = await buildGateway({ core, tokens: Object.values(TOKENS).map((t) => t.token), ...overrides });
  await app.ready();
  return { app, core };
}

/** A multipart body as browsers and curl send it, via the platform's own FormData encoder. */
export async function multipartBody(
  fields: Record<string, string | { bytes: Uint8Array; type: string; filename?: string }>,
): Promise<{ payload: Buffer; headers: { 'content-type': string } }> {
  const form = new FormData();
  for (const [name, value] of Object.entries(fields)) {
    if (typeof value === 'string') form.append(name, value);
    else form.append(name, new Blob([Buffer.from(value.bytes)], { type: value.type }), value.filename ?? 'upload.bin');
  }
  const request = new Request('http://gateway.test/', { method: 'POST', body: form });
  const payload = Buffer.from(await request.arrayBuffer());
  return { payload, headers: { 'content-type': request.headers.get('content-type') ?? '' } };
}

export function errorOf(response: { json(): unknown }): { code: string; message: string; requestId: string; issues?: unknown[] } {
  return (response.json() as { error: { code: string; message: string; requestId: string; issues?: unknown[] } }).error;
}
