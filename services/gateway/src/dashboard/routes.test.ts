import { readFile } from 'node:fs/promises';
import type { FastifyInstance } from 'fastify';
import { afterEach, describe, expect, it } from 'vitest';
import { errorOf, gateway, testToken, TOKENS } from '../../test/support.ts';
import { throughputOf } from './assemble.ts';
import { DASHBOARD_CSP } from './routes.ts';
import { dashboardSnapshotSchema, type DashboardSnapshot, type DashboardSource } from './snapshot.ts';

const NOW = new Date('2025-06-01T12:30:20Z');

/** A snapshot as the Postgres source would build it: one match, one unscannable, a held report. */
function sampleSnapshot(): DashboardSnapshot {
  return {
    generatedAt: NOW.toISOString(),
    empty: false,
    throughput: throughputOf(
      NOW,
      [
        { minute: new Date('2025-06-01T12:29:00Z'), verdict: 'clean', n: 7, blocked: 0, review: 0 },
        { minute: new Date('2025-06-01T12:30:00Z'), verdict: 'matched', n: 1, blocked: 1, review: 0 },
      ],
      [
        { verdict: 'clean', lane: 'check', reason: null, n: 7, blocked: 0, review: 0 },
        { verdict: 'matched', lane: 'check', reason: null, n: 1, blocked: 1, review: 0 },
        { verdict: 'unscannable', lane: 'live', reason: 'truncated', n: 1, blocked: 1, review: 0 },
      ],
    ),
    latency: { windowMinutes: 15, status: 'ok', stages: [{ stage: 'hash', samples: 8, p50Ms: 11.2, p95Ms: 20, p99Ms: 25.5 }] },
    lag: { status: 'ok', groups: [{ topic: 'upload.received.v1', group: 'scanner', lag: 3 }], deadLetters: [] },
    matches: { windowHours: 24, byList: [{ list: 'demo-pdq', action: 'quarantine', trigger: 'upload', count: 1 }] },
    unscannable: { windowHours: 24, byReason: [{ reason: 'truncated', count: 1 }] },
    quarantine: { pending: 0, applied: 1, released: 0, failed: 0 },
    reports: { queued: 0, submitting: 0, held: 1, heldByReason: [{ reason: 'reporter_incomplete', count: 1 }], filed: 0, failed: 0, filedLast24h: 0, oldestQueuedAt: null },
    evidence: { preserved: 1, pending: 0, failed: 0, legalHold: 0, expiringWithin30d: 0 },
    outbox: { backlog: 0, oldestAt: null },
    lists: [{
      list: 'demo-pdq', name: 'Demo', algorithm: 'pdq', action: 'quarantine', enabled: true, version: 2, entries: 40, suspended: 0,
      activatedAt: '2025-06-01T10:00:00.000Z', lastRetro: { version: 2, status: 'done', matched: 0, candidates: 0, pass: 1, passes: 1, startedAt: '2025-06-01T10:00:01.000Z', finishedAt: '2025-06-01T10:00:02.000Z' },
    }],
    recent: [{
      scanId: 'scan_1', matchId: 'match_1', list: 'demo-pdq', listVersion: 2, algorithm: 'pdq', distance: 4, action: 'quarantine',
      verdict: 'matched', reason: null, lane: 'check', blocked: true, review: false, at: '2025-06-01T12:30:05.000Z',
    }],
  };
}

class FixedSource implements DashboardSource {
  calls = 0;
  readonly answer: () => Promise<DashboardSnapshot>;
  constructor(answer: () => Promise<DashboardSnapshot>) {
    this.answer = answer;
  }
  async snapshot(): Promise<DashboardSnapshot> {
    this.calls += 1;
    return this.answer();
  }
}

const OPS = testToken('ops', ['metrics:read'], '*');
const OPS_ONE_TENANT = testToken('ops-a', ['metrics:read'], ['tenant-a']);
const ALL_TOKENS = [...Object.values(TOKENS).map((t) => t.token), OPS.token, OPS_ONE_TENANT.token];

describe('GET /v1/dashboard', () => {
  let app: FastifyInstance | undefined;
  afterEach(async () => app?.close());

  it('answers a valid snapshot to a metrics:read token for every tenant, never cached', async () => {
    const source = new FixedSource(async () => sampleSnapshot());
    ({ app } = await gateway({ tokens: ALL_TOKENS, dashboard: source }));
    const response = await app.inject({ method: 'GET', url: '/v1/dashboard', headers: OPS.auth });
    expect(response.statusCode).toBe(200);
    expect(response.headers['cache-control']).toBe('no-store');
    expect(response.headers['content-type']).toMatch(/^application\/json/);
    const body = dashboardSnapshotSchema.parse(response.json());
    expect(body).toEqual(sampleSnapshot());
    expect(body.throughput.minutes).toHaveLength(60);
    expect(body.throughput.lastHour).toEqual({ total: 8, clean: 7, matched: 1, unscannable: 0, blocked: 1, review: 0 });
    expect(source.calls).toBe(1);
  });

  it('refuses a request without a token (401) and a token without metrics:read (403), before asking the source', async () => {
    const source = new FixedSource(async () => sampleSnapshot());
    ({ app } = await gateway({ tokens: ALL_TOKENS, dashboard: source }));
    const anonymous = await app.inject({ method: 'GET', url: '/v1/dashboard' });
    expect(anonymous.statusCode).toBe(401);
    expect(errorOf(anonymous).code).toBe('unauthorized');
    expect(anonymous.headers['www-authenticate']).toMatch(/^Bearer/);
    for (const token of [TOKENS.product, TOKENS.auditor, TOKENS.admin]) {
      const response = await app.inject({ method: 'GET', url: '/v1/dashboard', headers: token.auth });
      expect(response.statusCode, token.token.id).toBe(403);
      expect(errorOf(response).code).toBe('forbidden');
    }
    expect(source.calls).toBe(0);
  });

  it('refuses a metrics:read token limited to some tenants: the snapshot covers all of them', async () => {
    const source = new FixedSource(async () => sampleSnapshot());
    ({ app } = await gateway({ tokens: ALL_TOKENS, dashboard: source }));
    const response = await app.inject({ method: 'GET', url: '/v1/dashboard', headers: OPS_ONE_TENANT.auth });
    expect(response.statusCode).toBe(403);
    expect(errorOf(response).code).toBe('forbidden_tenant');
    expect(source.calls).toBe(0);
  });

  it('answers 503 dashboard_unavailable when the gateway has no dashboard source', async () => {
    ({ app } = await gateway({ tokens: ALL_TOKENS }));
    const response = await app.inject({ method: 'GET', url: '/v1/dashboard', headers: OPS.auth });
    expect(response.statusCode).toBe(503);
    expect(errorOf(response)).toMatchObject({ code: 'dashboard_unavailable', message: 'This gateway has no dashboard data source' });
  });

  it('answers 500 without leaking a source failure', async () => {
    ({ app } = await gateway({ tokens: ALL_TOKENS, dashboard: new FixedSource(async () => { throw new Error('relation "scans" does not exist at 10.0.0.5'); }) }));
    const response = await app.inject({ method: 'GET', url: '/v1/dashboard', headers: OPS.auth });
    expect(response.statusCode).toBe(500);
    expect(errorOf(response).code).toBe('internal');
    expect(response.body).not.toMatch(/scans|10\.0\.0\.5/);
  });

  it('sends only the documented fields, whatever a source adds', async () => {
    const leaky = () => {
      const snapshot = sampleSnapshot() as DashboardSnapshot & { objectUrl?: string };
      snapshot.objectUrl = 'https://bucket.example/photo.jpg';
      (snapshot.recent[0] as Record<string, unknown>).pdq = 'f'.repeat(64);
      (snapshot.lists[0] as Record<string, unknown>).entries_sample = ['ab'.repeat(32)];
      return snapshot;
    };
    ({ app } = await gateway({ tokens: ALL_TOKENS, dashboard: new FixedSource(async () => leaky()) }));
    const response = await app.inject({ method: 'GET', url: '/v1/dashboard', headers: OPS.auth });
    expect(response.statusCode).toBe(200);
    expect(response.body).not.toContain('photo.jpg');
    expect(response.body).not.toContain('f'.repeat(64));
    expect(response.body).not.toContain('ab'.repeat(32));
    expect(response.json()).toEqual(sampleSnapshot());
  });
});

describe('the dashboard page', () => {
  let app: FastifyInstance | undefined;
  afterEach(async () => app?.close());

  it('serves / without a token, under a strict CSP, with no data in it', async () => {
    const source = new FixedSource(async () => sampleSnapshot());
    ({ app } = await gateway({ tokens: ALL_TOKENS, dashboard: source }));
    const response = await app.inject({ method: 'GET', url: '/' });
    expect(response.statusCode).toBe(200);
    expect(response.headers['content-type']).toBe('text/html; charset=utf-8');
    const csp = String(response.headers['content-security-policy']);
    expect(csp).toBe(DASHBOARD_CSP);
    const directives = new Map(csp.split(';').map((d) => d.trim().split(/\s+/)).map(([name, ...values]) => [name!, values]));
    expect(directives.get('default-src')).toEqual(["'self'"]);
    expect(directives.get('script-src')).toEqual(["'self'"]);
    expect(directives.get('img-src')).toEqual(["'none'"]);
    expect(directives.get('frame-ancestors')).toEqual(["'none'"]);
    expect(csp).not.toMatch(/unsafe-inline|unsafe-eval|data:|blob:|\*/);
    expect(response.headers['x-content-type-options']).toBe('nosniff');
    expect(response.headers['referrer-policy']).toBe('no-referrer');
    // Static: the file as shipped, no snapshot asked for, no number from it.
    expect(response.body).toBe(await readFile(new URL('../../public/dashboard/index.html', import.meta.url), 'utf8'));
    expect(source.calls).toBe(0);
    expect(response.body).not.toMatch(/scan_1|match_1|demo-pdq/);
    // Every script is a same-origin file: nothing inline for the CSP to have to allow.
    const scripts = [...response.body.matchAll(/<script\b([^>]*)>([\s\S]*?)<\/script>/g)];
    expect(scripts.length).toBeGreaterThan(0);
    for (const [, attributes, content] of scripts) {
      expect(attributes).toMatch(/src="\/[^"]+\.js"/);
      expect(content!.trim()).toBe('');
    }
    expect(response.body).not.toMatch(/<img|<picture|<canvas|url\(|\son[a-z]+=|style=/i);
  });

  it('serves its script and stylesheet with their types, and the page without a source too', async () => {
    ({ app } = await gateway({ tokens: ALL_TOKENS }));
    const script = await app.inject({ method: 'GET', url: '/dashboard.js' });
    expect(script.statusCode).toBe(200);
    expect(script.headers['content-type']).toBe('text/javascript; charset=utf-8');
    expect(script.body).toContain("fetch('/v1/dashboard'");
    // Data reaches the page as text, never as markup.
    expect(script.body).not.toMatch(/innerHTML|outerHTML|insertAdjacentHTML|document\.write|eval\(|new Function/);
    const style = await app.inject({ method: 'GET', url: '/dashboard.css' });
    expect(style.statusCode).toBe(200);
    expect(style.headers['content-type']).toBe('text/css; charset=utf-8');
    expect(style.body).toContain('tabular-nums');
    expect(style.body).not.toMatch(/url\(/);
    expect((await app.inject({ method: 'GET', url: '/' })).statusCode).toBe(200);
  });
});
