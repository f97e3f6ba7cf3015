// `vigil demo` through the built binary, as a new user runs it: the whole pipeline on synthetic
// benign images in a home of its own. The first run (--no-serve --json) is checked number by
// number: each planted copy's verdict, the quarantine, evidence and report of every match, the
// upload-time block, the retro catch, the honest misses, no list hash in the output, and the
// minute it must fit in. The second run (defaults: text, serving) resets the same home, prints
// the dashboard URL with the local token, answers on it, and stops cleanly on Ctrl-C.

import { execFile, spawn } from 'node:child_process';
import { once } from 'node:events';
import { access, mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const vigil = join(root, 'node_modules/.bin/vigil');
const exec = promisify(execFile);
const DAY = 24 * 60 * 60 * 1000;

/** What the pipeline decides for each planted image (seeded, so the same every run). */
const EXPECTED: Record<string, { verdict: string; list?: string; missed?: boolean }> = {
  'listed-a.jpg': { verdict: 'matched', list: 'demo-synthetic-pdq' },
  'a-resized.jpg': { verdict: 'matched', list: 'demo-synthetic-pdq' },
  'b-recompressed.jpg': { verdict: 'matched', list: 'demo-synthetic-pdq' },
  'b-rotated.jpg': { verdict: 'matched', list: 'demo-synthetic-pdq' },
  'c-flipped.jpg': { verdict: 'matched', list: 'demo-synthetic-pdq' },
  'd-cropped.jpg': { verdict: 'matched', list: 'demo-synthetic-pdq' },
  'd-cropped-corner.jpg': { verdict: 'clean', missed: true },
  'e-watermarked.jpg': { verdict: 'matched', list: 'demo-synthetic-pdq' },
  'e-banner.jpg': { verdict: 'clean', missed: true },
  'f-exact.jpg': { verdict: 'matched', list: 'demo-synthetic-md5' },
  'f-reencoded.jpg': { verdict: 'clean', missed: true },
  'unrelated-1.jpg': { verdict: 'clean' },
  'unrelated-2.jpg': { verdict: 'clean' },
  'unrelated-3.jpg': { verdict: 'clean' },
  'unrelated-4.jpg': { verdict: 'clean' },
  'truncated.jpg': { verdict: 'unscannable' },
};

describe('vigil demo (built binary)', () => {
  let base: string;
  let home: string;
  let env: NodeJS.ProcessEnv;

  beforeAll(async () => {
    base = await mkdtemp(join(tmpdir(), 'vigil-demo-e2e-'));
    home = join(base, 'demo');
    // Settings that would send the pipeline elsewhere: the demo must ignore them all.
    env = {
      ...process.env,
      VIGIL_HOME: base,
      DATABASE_URL: 'postgres://nobody:nothing@127.0.0.1:9/none',
      KAFKA_BROKERS: '127.0.0.1:9',
      S3_ENDPOINT: 'http://127.0.0.1:9',
      VIGIL_REPORT_SINK: 'ncmec',
      NCMEC_URL: 'http://127.0.0.1:9/ispws',
      NCMEC_USERNAME: 'nobody',
      NCMEC_PASSWORD: 'nothing',
      VIGIL_HASH_THREADS: '2',
    };
  });

  // Both runs have exited (and stopped their Postgres) by then.
  afterAll(() => rm(base, { recursive: true, force: true }));

  it('runs the pipeline on synthetic images and reports blocks, quarantines, evidence, reports, the retro catch and the misses', async () => {
    const started = Date.now();
    const { stdout, stderr } = await exec(vigil, ['demo', '--no-serve', '--json', '--home', home], { env, maxBuffer: 16 * 1024 * 1024 });
    const wallMs = Date.now() - started;
    expect(stdout.trim().split('\n')).toHaveLength(1);
    const s = JSON.parse(stdout);
    expect(s.notice).toMatch(/^Every image in this demo is synthetic and benign/);
    expect(stderr).toContain('every image is synthetic and benign');
    expect(s.unfinished).toEqual([]);
    expect(s.complete).toBe(true);
    expect(wallMs).toBeLessThan(60_000);
    expect(s.timings.totalMs).toBeLessThan(wallMs);

    // Each planted image's verdict.
    const byName = new Map<string, any>(s.uploads.map((u: any) => [u.name, u]));
    expect([...byName.keys()].sort()).toEqual(Object.keys(EXPECTED).sort());
    for (const [name, want] of Object.entries(EXPECTED)) {
      const got = byName.get(name);
      expect(got.verdict, name).toBe(want.verdict);
      if (want.list) expect(got.hit.list, name).toBe(want.list);
      expect(Boolean(got.missed), name).toBe(Boolean(want.missed));
    }
    expect(byName.get('listed-a.jpg').hit.distance).toBe(0);
    expect(byName.get('a-resized.jpg').hit.distance).toBeGreaterThan(0);
    expect(byName.get('b-rotated.jpg').hit.variant).toMatch(/^rot/);
    expect(byName.get('c-flipped.jpg').hit.variant).toMatch(/^flip/);
    expect(byName.get('d-cropped.jpg').hit.query).toMatch(/^uncrop-/);
    expect(byName.get('f-exact.jpg').hit).toMatchObject({ algorithm: 'md5', distance: 0 });
    // Told from the bytes (no end-of-image marker), whatever libvips' process-wide error text says.
    expect(byName.get('truncated.jpg').reason).toBe('truncated');
    expect(byName.get('f-reencoded.jpg').missed).toMatch(/MD5 list matches identical bytes only/);
    expect(byName.get('d-cropped-corner.jpg').missed).toMatch(/off-centre crop/);

    // Every match: quarantined, preserved for a year, reported (filed to the outbox, or held with why).
    const now = Date.now();
    const followed = [...s.uploads.filter((u: any) => u.verdict === 'matched'), s.check, ...s.retro.caught];
    expect(followed).toHaveLength(10);
    for (const o of followed) {
      expect(o.quarantine?.status, o.name ?? 'check').toBe('applied');
      expect(o.evidence?.id).toMatch(/^ev_/);
      expect(Date.parse(o.evidence.retainUntil)).toBeGreaterThan(now + 364 * DAY);
      expect(['filed', 'held']).toContain(o.report?.status);
    }
    expect(byName.get('f-exact.jpg').report).toMatchObject({ status: 'held', reason: expect.stringMatching(/^not_reportable: category benign-demo/) });
    expect(new Set(followed.map((o: any) => o.evidence.id)).size).toBe(10);

    // The upload-time check blocked the re-upload from stored hashes; the retro-match caught the clean image without reading it.
    expect(s.check).toMatchObject({ of: 'listed-a.jpg', answer: 'block', reused: true, report: { status: 'filed' } });
    expect(s.retro).toMatchObject({ list: 'demo-synthetic-pdq', version: 2, added: 1, objectReads: 0 });
    expect(s.retro.storedHashesChecked).toBeGreaterThanOrEqual(15);
    expect(s.retro.caught.map((c: any) => c.name)).toEqual(['unrelated-2.jpg']);
    expect(s.retro.caught[0].hit).toMatchObject({ list: 'demo-synthetic-pdq', listVersion: 2 });

    expect(s.totals).toEqual({
      uploads: 16, matched: 8, clean: 7, unscannable: 1, blocked: 1, quarantined: 10, preserved: 10,
      reports: { filed: 9, held: 1, other: 0 }, missed: 3, falsePositives: 0,
    });
    expect(s.lists.map((l: any) => [l.name, l.versions.map((v: any) => v.version)])).toEqual([['demo-synthetic-pdq', [1, 2]], ['demo-synthetic-md5', [1]]]);

    // The filed reports are in the local outbox (the NCMEC settings above were ignored).
    expect(s.reportsDir).toBe(join(home, 'reports-outbox'));
    const written = await readdir(s.reportsDir);
    const filedIds = [...new Set<string>(followed.filter((o: any) => o.report.status === 'filed').map((o: any) => o.report.id))].sort();
    expect(written.filter((d) => !d.endsWith('.partial')).sort()).toEqual(filedIds);
    const report = JSON.parse(await readFile(join(s.reportsDir, filedIds[0]!, 'report.json'), 'utf8'));
    expect(JSON.stringify(report.report)).toContain('Vigil demo (synthetic benign images only)');

    // The lists are written to the home, marked synthetic; none of their hashes is ever printed.
    const listFiles = (await readdir(join(home, 'lists'))).filter((f) => f.endsWith('.csv'));
    expect(listFiles.sort()).toEqual(['demo-synthetic-md5.v1.csv', 'demo-synthetic-pdq.v1.csv', 'demo-synthetic-pdq.v2.csv']);
    const manifest = JSON.parse(await readFile(join(home, 'lists', 'demo-synthetic-pdq.json'), 'utf8'));
    expect(manifest.description).toMatch(/SYNTHETIC, BENIGN/);
    const hashes = new Set<string>();
    for (const file of listFiles) for (const h of (await readFile(join(home, 'lists', file), 'utf8')).match(/^[0-9a-f]{32,64}/gm) ?? []) hashes.add(h);
    expect(hashes.size).toBe(7);
    for (const h of hashes) expect(stdout + stderr).not.toContain(h);
  }, 120_000);

  it('resets its home, serves the dashboard with the local token, and stops cleanly on Ctrl-C', async () => {
    await writeFile(join(home, 'images', 'left-over.txt'), 'from an earlier run\n');
    // No --home: VIGIL_HOME/demo, the same home as above.
    const child = spawn(vigil, ['demo'], { env, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout!.on('data', (chunk) => (stdout += chunk));
    child.stderr!.on('data', (chunk) => (stderr += chunk));
    const deadline = Date.now() + 90_000;
    while (!/^Dashboard: (\S+)$/m.test(stdout)) {
      if (Date.now() > deadline || child.exitCode !== null) throw new Error(`vigil demo did not serve: ${stdout}\n${stderr}`);
      await new Promise((r) => setTimeout(r, 200));
    }
    const url = stdout.match(/^Dashboard: (\S+)$/m)![1]!;
    const [origin, token] = url.split('/#token=') as [string, string];
    expect(origin).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
    expect(token).toBe((await readFile(join(home, 'gateway-token'), 'utf8')).trim());

    const lines = stdout.split('\n');
    expect(lines[0]).toMatch(/^VIGIL DEMO — Every image in this demo is synthetic and benign/);
    const dashboardAt = lines.findIndex((l) => l.startsWith('Dashboard: '));
    expect(lines[dashboardAt - 1]).toBe(lines[0]);
    // A fresh database: the lists start at version 1 again, and the earlier run's files are gone.
    expect(stdout).toContain('List demo-synthetic-pdq: pdq +rotations/flips, threshold 31; v1: 5 entries, v2: 6 entries (+1)');
    expect(stdout).toContain('Blocked at upload: 1   Quarantined: 10   Evidence preserved: 10   Reports: 9 filed to the local outbox, 1 held');
    expect(stdout).toMatch(/d-cropped-corner\.jpg\s+│ copy of listed-d: top-left 60% x 60% only\s+│ clean: MISSED/);
    await expect(access(join(home, 'images', 'left-over.txt'))).rejects.toThrow();

    expect((await fetch(`${origin}/readyz`)).status).toBe(200);
    expect((await fetch(`${origin}/v1/dashboard`)).status).toBe(401);
    const dashboard = await fetch(`${origin}/v1/dashboard`, { headers: { authorization: `Bearer ${token}` } });
    expect(dashboard.status).toBe(200);

    child.kill('SIGINT');
    const [code] = await once(child, 'exit');
    expect(code, stderr).toBe(0);
    await expect(fetch(`${origin}/readyz`)).rejects.toThrow();
  }, 150_000);
});
