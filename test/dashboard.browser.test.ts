// The ops dashboard in a real browser (Debian chromium driven by playwright-core) against a
// running pipeline: the runtime's composition root with the gateway, scanner and actioner roles
// on the embedded default's adapters (Postgres bus, filesystem store). The page opens on a fresh
// database and explains its empty state; then a benign demo list is imported and a few checks
// with known verdicts are made, and the numbers the page shows must equal the database's and the
// runtime's own metrics. No image may appear on the page, and a screenshot is kept as an artifact
// (test/artifacts/dashboard.png). Benign generated images only.

import { createHash } from 'node:crypto';
import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, readFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { loadRuntimeConfig, localDashboardUrl, startRuntime, type Runtime } from '@vigil/cli';
import { silentLogger } from '@vigil/db';
import { createHashPool } from '@vigil/hashing';
import { encode, naturalScene } from '@vigil/testkit';
import { resolvePostgres, unavailable } from '@vigil/testkit/services';
import { chromium, type Browser, type Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { waitFor } from './wait-for.ts';

// Browser globals, for the page.evaluate callbacks that run in the page (test/ compiles without the DOM lib).
interface PageElement {
  tagName: string;
  textContent: string | null;
  dataset: Record<string, string | undefined>;
  cells: ArrayLike<PageElement> & Iterable<PageElement>;
  querySelector(selector: string): PageElement | null;
}
declare const document: { querySelectorAll(selector: string): ArrayLike<PageElement> & Iterable<PageElement> };
declare const sessionStorage: { getItem(key: string): string | null };
declare const location: { hash: string };
declare function getComputedStyle(element: PageElement, pseudo?: string): { backgroundImage: string; content: string };

const CHROMIUM = '/usr/bin/chromium';
const SCREENSHOT = fileURLToPath(new URL('./artifacts/dashboard.png', import.meta.url));
const LIST = 'demo-e2e';
const TENANT = 'tenant-dash';

const postgres = await resolvePostgres('dashboard browser test');
// Skipped loudly without the browser, and a failure under REQUIRE_INTEGRATION=1 (as in CI).
const browser = existsSync(CHROMIUM)
  ? { available: true as const }
  : unavailable('dashboard browser test', `${CHROMIUM} is missing: install the Debian package \`chromium\` (apt-get install chromium)`);

/** Samples of one metric family from Prometheus text, labels parsed. */
function samples(text: string, name: string): Array<{ labels: Record<string, string>; value: number }> {
  const out: Array<{ labels: Record<string, string>; value: number }> = [];
  for (const line of text.split('\n')) {
    const m = /^([a-zA-Z_:][\w:]*)(?:\{(.*)\})?\s+(\S+)/.exec(line);
    if (!m || m[1] !== name) continue;
    const labels = Object.fromEntries([...(m[2] ?? '').matchAll(/(\w+)="((?:[^"\\]|\\.)*)"/g)].map((l) => [l[1]!, l[2]!]));
    out.push({ labels, value: Number(m[3]) });
  }
  return out;
}

function sumBy(list: Array<{ labels: Record<string, string>; value: number }>, key: (labels: Record<string, string>) => string): Record<string, number> {
  const sums: Record<string, number> = {};
  for (const s of list) sums[key(s.labels)] = (sums[key(s.labels)] ?? 0) + s.value;
  return sums;
}

interface Shown {
  tiles: Record<string, number>;
  matches: Array<{ list: string; action: string; count: number }>;
  unscannable: Record<string, number>;
  recent: Array<{ scanId: string; cells: string[] }>;
}

/** What the page shows, read from its DOM as a person would see it. */
async function readPage(page: Page): Promise<Shown> {
  return page.evaluate(() => {
    const num = (text: string | null | undefined) => Number((text ?? '').replace(/[^\d.-]/g, ''));
    const tiles: Record<string, number> = {};
    for (const tile of document.querySelectorAll('#tiles [data-metric]')) tiles[tile.dataset.metric!] = num(tile.querySelector('.value')?.textContent);
    const matches = [...document.querySelectorAll('#matches tr[data-list]')].map((row) => ({
      list: row.cells[0]!.textContent!, action: row.cells[1]!.textContent!, count: num(row.cells[2]!.textContent),
    }));
    const unscannable: Record<string, number> = {};
    for (const row of document.querySelectorAll('#unscannable tr[data-reason]')) unscannable[row.cells[0]!.textContent!] = num(row.cells[1]!.textContent);
    const recent = [...document.querySelectorAll('#recent tr[data-scan-id]')].map((row) => ({
      scanId: row.dataset.scanId!, cells: [...row.cells].map((c) => c.textContent ?? ''),
    }));
    return { tiles, matches, unscannable, recent };
  });
}

describe.skipIf(!postgres.available || !browser.available)('the ops dashboard in a browser', () => {
  let runtime: Runtime;
  let chrome: Browser;
  let page: Page;
  let url: string;
  let secret: string;
  const requests: Array<{ url: string; type: string }> = [];
  const cspViolations: string[] = [];
  const images: Record<string, Buffer> = {};

  beforeAll(async () => {
    const dir = await mkdtemp(join(tmpdir(), 'vigil-dashboard-'));
    const env: NodeJS.ProcessEnv = {
      VIGIL_HOME: dir,
      DATABASE_URL: postgres.available ? await postgres.service.createDatabase() : '',
      VIGIL_HASH_THREADS: '1',
      VIGIL_LIST_REFRESH_MS: '300',
      VIGIL_GATEWAY_PORT: '0',
      VIGIL_METRICS_PORT: '0',
      // No VIGIL_GATEWAY_TOKENS: the runtime generates the local token, with every scope.
    };
    for (const [name, seed] of [['listed-a', 801], ['listed-b', 802], ['clean-1', 811], ['clean-2', 812], ['clean-3', 813], ['broken', 820]] as const) {
      images[name] = await encode(await naturalScene(480, 360, seed), 'jpeg', { quality: 88 });
    }
    runtime = await startRuntime(loadRuntimeConfig(env), ['gateway', 'scanner', 'actioner'], env, silentLogger);
    const link = await localDashboardUrl(runtime);
    expect(link).toMatch(/^http:\/\/[^/]+\/#token=/);
    url = runtime.gatewayUrl!;
    secret = (await readFile(runtime.localTokenFile!, 'utf8')).trim();

    chrome = await chromium.launch({ executablePath: CHROMIUM, headless: true, args: ['--no-sandbox', '--disable-gpu', '--disable-background-networking'] });
    page = await chrome.newPage({ viewport: { width: 1366, height: 768 } });
    page.on('request', (request) => requests.push({ url: request.url(), type: request.resourceType() }));
    page.on('console', (message) => {
      if (/content security policy/i.test(message.text())) cspViolations.push(message.text());
    });
    await page.goto(link!);
  }, 180_000);

  afterAll(async () => {
    await chrome?.close();
    await runtime?.close();
  });

  it('explains its empty state on a fresh database, and takes the token out of the address bar', async () => {
    await page.locator('#empty').waitFor({ state: 'visible', timeout: 15_000 });
    const text = await page.locator('#empty').innerText();
    expect(text).toContain('No scans recorded yet');
    for (const how of ['vigil demo', 'vigil scan', 'POST /v1/check', 'upload.received.v1']) expect(text).toContain(how);
    expect(text).toMatch(/No hash list is loaded yet/);
    expect(await page.locator('#board').isVisible()).toBe(false);
    expect(page.url()).toBe(`${url}/`);
    expect(page.url()).not.toContain(secret);
    expect(await page.evaluate(() => sessionStorage.getItem('vigil.dashboard.token'))).toBe(secret);
    await expect.poll(() => page.locator('#status').innerText(), { timeout: 5000 }).toMatch(/^Updated \d+ s ago$/);
  });

  it('shows the verdicts, matches, unscannable reasons and decisions the pipeline recorded, as its metrics count them', async () => {
    const auth = { authorization: `Bearer ${secret}` };
    // The demo list: the PDQ hashes of two of the images.
    const hashPool = createHashPool({ threads: 1 });
    const lines = ['hash,id,category'];
    for (const name of ['listed-a', 'listed-b']) {
      const hashed = await hashPool.hash(images[name]!, { mode: 'fast' });
      if (hashed.status !== 'hashed') throw new Error(`${name} did not hash`);
      lines.push(`${hashed.hashes.pdq},E2E-${name},csam`);
    }
    await hashPool.close();
    const imported = await fetch(`${url}/v1/lists/${LIST}/versions?algo=pdq&action=quarantine`, {
      method: 'POST', headers: { ...auth, 'content-type': 'text/csv' }, body: `${lines.join('\n')}\n`,
    });
    expect(imported.status).toBe(201);
    await waitFor(async () => {
      const ready = (await (await fetch(`${url}/readyz`)).json()) as { lists?: Array<{ listId: string }> };
      return ready.lists?.some((l) => l.listId === LIST);
    }, 30_000, 'the scanner to load the demo list');

    const check = async (bytes: Buffer, key: string) => {
      const response = await fetch(`${url}/v1/check?tenant=${TENANT}&bucket=media&key=${key}&account=user-1`, {
        method: 'POST', headers: { ...auth, 'content-type': 'image/jpeg' }, body: bytes,
      });
      expect(response.status).toBe(200);
      return (await response.json()) as { verdict: string; scanId: string; reason?: string; matches: Array<{ list: string; distance: number; action: string }> };
    };
    const listed = await check(images['listed-a']!, 'u/a.jpg');
    expect(listed).toMatchObject({ verdict: 'block', matches: [{ list: LIST, action: 'quarantine', distance: 0 }] });
    expect(await check(images['listed-b']!, 'u/b.jpg')).toMatchObject({ verdict: 'block' });
    for (const name of ['clean-1', 'clean-2', 'clean-3']) expect(await check(images[name]!, `u/${name}.jpg`)).toMatchObject({ verdict: 'allow' });
    const broken = await check(images.broken!.subarray(0, 3000), 'u/broken.jpg');
    expect(broken).toMatchObject({ verdict: 'unscannable', reason: 'truncated' });

    // The page moves from its empty state to the board on its own (polling), with the totals.
    await page.locator('#board').waitFor({ state: 'visible', timeout: 15_000 });
    await expect.poll(async () => (await readPage(page)).tiles.total, { timeout: 15_000 }).toBe(6);
    const shown = await readPage(page);

    // The database: the shared truth the page reads.
    const db = runtime.database.pool;
    const verdicts = Object.fromEntries((await db.query(`SELECT verdict, count(*)::int AS n FROM scans GROUP BY 1`)).rows.map((r) => [r.verdict, r.n]));
    expect(verdicts).toEqual({ clean: 3, matched: 2, unscannable: 1 });
    expect(shown.tiles).toMatchObject({ total: 6, clean: verdicts.clean, matched: verdicts.matched, unscannable: verdicts.unscannable, blocked: 3 });
    const hits = (await db.query(`SELECT list_id, action, count(*)::int AS n FROM match_hits GROUP BY 1, 2`)).rows;
    expect(shown.matches).toEqual(hits.map((h) => ({ list: h.list_id, action: h.action, count: h.n })));
    expect(shown.matches).toEqual([{ list: LIST, action: 'quarantine', count: 2 }]);
    expect(shown.unscannable).toEqual({ truncated: 1 });

    // A decision row: ids, list, version, algorithm, distance and action; nothing else.
    const row = shown.recent.find((r) => r.scanId === listed.scanId);
    expect(row, 'the matched check among the recent decisions').toBeDefined();
    const [, verdict, action, list, version, algorithm, distance, lane, scanId, matchId] = row!.cells;
    expect({ verdict, action, list, version, algorithm, distance, lane, scanId }).toEqual({
      verdict: 'matched', action: 'quarantine', list: LIST, version: 'v1', algorithm: 'pdq', distance: '0', lane: 'check', scanId: listed.scanId,
    });
    const { rows: [scanRow] } = await db.query(`SELECT match_id FROM scans WHERE id = $1`, [listed.scanId]);
    expect(matchId).toBe(scanRow.match_id);
    expect(shown.recent.find((r) => r.scanId === broken.scanId)?.cells[1]).toBe('unscannable (truncated)');
    expect(shown.recent).toHaveLength(3); // the two matches and the unscannable; clean checks are not listed

    // The runtime's own metrics (its /metrics listener, on an ephemeral port here).
    const metricsUrl = runtime.metricsUrl;
    expect(metricsUrl).toMatch(/^http:\/\/.+\/metrics$/);
    {
      const text = await (await fetch(metricsUrl!)).text();
      const byVerdict = sumBy(samples(text, 'vigil_scans_total'), (l) => l.verdict!);
      expect({ clean: shown.tiles.clean, matched: shown.tiles.matched, unscannable: shown.tiles.unscannable }).toEqual(byVerdict);
      const byList = sumBy(samples(text, 'vigil_matches_total').filter((s) => s.value > 0), (l) => `${l.list}/${l.action}`);
      expect(Object.fromEntries(shown.matches.map((m) => [`${m.list}/${m.action}`, m.count]))).toEqual(byList);
      const byReason = sumBy(samples(text, 'vigil_unscannable_total').filter((s) => s.value > 0), (l) => l.reason!);
      expect(shown.unscannable).toEqual(byReason);
    }
    const api = (await (await fetch(`${url}/v1/dashboard`, { headers: auth })).json()) as { throughput: { lastHour: Record<string, number> } };
    expect(api.throughput.lastHour).toMatchObject({ clean: shown.tiles.clean, matched: shown.tiles.matched, unscannable: shown.tiles.unscannable });

    // Pipeline state: the actioner quarantines both matches; no evidence role runs here, so their
    // evidence stays pending, as the page must say.
    await waitFor(async () => (await db.query(`SELECT count(*)::int AS n FROM quarantine_records WHERE status = 'applied'`)).rows[0].n === 2, 30_000, 'two applied quarantines');
    const stateShown = async () => page.evaluate(() => Object.fromEntries(
      [...document.querySelectorAll('#pipeline dd[data-key]')].map((dd) => [dd.dataset.key!, dd.textContent!])));
    await expect.poll(stateShown, { timeout: 10_000 }).toMatchObject({ 'quarantine-applied': '2', 'evidence-pending': '2', 'evidence-preserved': '0', 'reports-queued': '0' });

    await mkdir(join(SCREENSHOT, '..'), { recursive: true });
    await page.screenshot({ path: SCREENSHOT });
    expect((await readFile(SCREENSHOT)).subarray(1, 4).toString()).toBe('PNG');
  });

  it('says which corpus pass a large retro-match is in while it runs', async () => {
    const db = runtime.database.pool;
    await db.query(`INSERT INTO retro_runs (list_id, version, status, pass, passes, candidates) VALUES ($1, 1, 'matching', 2, 11, 4)`, [LIST]);
    const retroShown = () => page.evaluate((list) => document.querySelector(`#lists tr[data-list="${list}"]`)?.textContent ?? '', LIST);
    await expect.poll(retroShown, { timeout: 10_000 }).toContain('v1 matching (pass 3 of 11), 0 matched');
    await db.query(`UPDATE retro_runs SET status = 'done', finished_at = now() WHERE list_id = $1 AND version = 1`, [LIST]);
    await expect.poll(retroShown, { timeout: 10_000 }).toMatch(/v1 done, 0 matched/);
  });

  it('never shows an image, loads nothing from elsewhere, and keeps to its own CSP', async () => {
    const found = await page.evaluate(() => ({
      elements: document.querySelectorAll('img, picture, canvas, video, object, embed, iframe, image, use, foreignObject').length,
      backgrounds: [...document.querySelectorAll('*')].filter((e) => getComputedStyle(e).backgroundImage !== 'none').map((e) => e.tagName),
      pseudo: [...document.querySelectorAll('*')].filter((e) => ['::before', '::after'].some((p) => getComputedStyle(e, p).backgroundImage !== 'none' || /url\(/.test(getComputedStyle(e, p).content))).length,
    }));
    expect(found).toEqual({ elements: 0, backgrounds: [], pseudo: 0 });
    expect(requests.filter((r) => r.type === 'image' || r.type === 'media')).toEqual([]);
    const origin = new URL(url).origin;
    expect(requests.filter((r) => new URL(r.url).origin !== origin)).toEqual([]);
    expect([...new Set(requests.map((r) => new URL(r.url).pathname))].sort()).toEqual(['/', '/dashboard.css', '/dashboard.js', '/v1/dashboard']);
    expect(cspViolations).toEqual([]);
    const body = await page.locator('body').innerText();
    expect(body).not.toContain(secret);
    expect(body).not.toMatch(/\[object |undefined|NaN/);
    expect(body).not.toMatch(/u\/a\.jpg|media\/|tenant-dash|E2E-listed/);
  });

  it('warns that its numbers are stale when polls fail, and recovers', async () => {
    await page.route('**/v1/dashboard', (route) => route.abort());
    await page.locator('#stale').waitFor({ state: 'visible', timeout: 10_000 });
    expect(await page.locator('#stale').innerText()).toMatch(/Stale data: \d+ polls? failed/);
    await page.unroute('**/v1/dashboard');
    await page.locator('#stale').waitFor({ state: 'hidden', timeout: 10_000 });
  });

  it('says clearly when a token is refused, and asks for another', async () => {
    const other = await chrome.newPage({ viewport: { width: 1366, height: 768 } });
    try {
      await other.goto(`${url}/#token=${createHash('sha256').update('not-a-token').digest('hex')}`);
      await other.locator('#auth').waitFor({ state: 'visible', timeout: 10_000 });
      expect(await other.locator('#auth-message').innerText()).toMatch(/401 unauthorized/);
      expect(await other.evaluate(() => sessionStorage.getItem('vigil.dashboard.token'))).toBeNull();
      expect(await other.locator('#board').isVisible()).toBe(false);
      // The form takes a good token and shows the board.
      await other.locator('#token-input').fill(secret);
      await other.locator('#token-form button[type=submit]').click();
      await expect.poll(() => other.locator('#status').innerText(), { timeout: 10_000 }).toMatch(/^Updated \d+ s ago$/);
      expect(await other.locator('#auth').isVisible()).toBe(false);
      expect(await other.evaluate(() => sessionStorage.getItem('vigil.dashboard.token'))).toBe(secret);
      // A new #token= link in the same tab (a fragment change, no reload) replaces the token.
      await other.evaluate(() => { location.hash = 'token=revoked-or-mistyped'; });
      await other.locator('#auth').waitFor({ state: 'visible', timeout: 10_000 });
      expect(await other.locator('#auth-message').innerText()).toMatch(/401 unauthorized/);
      expect(other.url()).toBe(`${url}/`);
    } finally {
      await other.close();
    }
  });
});
