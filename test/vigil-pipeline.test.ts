// The main job on the embedded default, through the built binary as a user runs it (no
// DATABASE_URL, no Kafka, no S3: embedded Postgres, the Postgres bus and the filesystem store
// under VIGIL_HOME): `vigil lists import`, `vigil scan DIR --json`, `vigil quarantine ls|release`,
// and `vigil serve` answering `POST /v1/check` with the same lists. Benign generated images only.

import { execFile, spawn } from 'node:child_process';
import { once } from 'node:events';
import { mkdtemp, readFile, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import sharp from 'sharp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { demoImage } from '../hashlists/demo/build-demo-list.mjs';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const vigil = join(root, 'node_modules/.bin/vigil');
const exec = promisify(execFile);

describe('vigil scan and vigil serve on the embedded default (built binary)', () => {
  let home: string;
  let dir: string;
  let env: NodeJS.ProcessEnv;
  const run = (...args: string[]) => exec(vigil, args, { env, maxBuffer: 16 * 1024 * 1024 });

  beforeAll(async () => {
    home = await mkdtemp(join(tmpdir(), 'vigil-home-'));
    dir = await mkdtemp(join(tmpdir(), 'vigil-scan-'));
    const { DATABASE_URL: _db, KAFKA_BROKERS: _k, S3_ENDPOINT: _s, ...rest } = process.env;
    env = { ...rest, VIGIL_HOME: home, VIGIL_HASH_THREADS: '2' };
    await writeFile(join(dir, 'listed-1.jpg'), await demoImage(1));
    await writeFile(join(dir, 'listed-2.jpg'), await demoImage(2));
    await writeFile(join(dir, 'listed-2-resized.jpg'), await sharp(await demoImage(2)).resize(320).jpeg({ quality: 70 }).toBuffer());
    await writeFile(join(dir, 'unrelated.jpg'), await demoImage(1001));
    await writeFile(join(dir, 'truncated.jpg'), (await demoImage(1002)).subarray(0, 3000));
    await writeFile(join(dir, 'notes.txt'), 'not an image\n');
    await run('lists', 'import', join(root, 'hashlists/demo/demo-pdq.csv'), '--name', 'demo-pdq', '--algo', 'pdq');
  }, 180_000);

  it('scans a folder: listed images and their copies quarantined, the rest clean or unscannable with a reason', async () => {
    const { stdout, stderr } = await run('scan', dir, '--json');
    const lines = stdout.trim().split('\n').map((line) => JSON.parse(line));
    const byName = new Map(lines.map((line) => [line.object.split('/').pop(), line]));
    expect(byName.size).toBe(6);
    for (const name of ['listed-1.jpg', 'listed-2.jpg', 'listed-2-resized.jpg']) {
      expect(byName.get(name), name).toMatchObject({ verdict: 'matched', action: 'quarantine', matches: [{ list: 'demo-pdq', listVersion: 1, algorithm: 'pdq' }], quarantine: { status: 'applied' } });
    }
    expect(byName.get('listed-2-resized.jpg').matches[0].distance).toBeGreaterThan(0);
    expect(byName.get('unrelated.jpg')).toEqual({ object: join(dir, 'unrelated.jpg'), verdict: 'clean', matches: [] });
    expect(byName.get('truncated.jpg')).toMatchObject({ verdict: 'unscannable', reason: 'truncated', matches: [] });
    expect(byName.get('notes.txt')).toMatchObject({ verdict: 'unscannable', reason: 'unsupported_format' });
    expect(stderr).toContain('scanned 6: 1 clean, 3 matched (3 quarantined, 0 held for review), 2 unscannable');
    // Lists are sensitive: no list hash in the output.
    const listHashes = (await readFile(join(root, 'hashlists/demo/demo-pdq.csv'), 'utf8')).match(/^[0-9a-f]{64}/gm)!;
    for (const hash of listHashes) expect(stdout + stderr).not.toContain(hash);

    const records = (await run('quarantine', 'ls', '--json')).stdout.trim().split('\n').map((line) => JSON.parse(line));
    expect(records.filter((r) => r.status === 'applied')).toHaveLength(3);
    const released = await run('quarantine', 'release', records[0].id, '--reason', 'test: released to check the audited path');
    expect(released.stdout).toContain(`released ${records[0].id}`);
    await expect(run('quarantine', 'release', records[0].id, '--reason', 'again')).rejects.toMatchObject({ code: 1 });
  }, 180_000);

  describe('vigil serve', () => {
    let server: ReturnType<typeof spawn>;
    let url: string;
    let token: string;
    let stderr = '';

    beforeAll(async () => {
      server = spawn(vigil, ['serve'], { env: { ...env, VIGIL_GATEWAY_PORT: '0', VIGIL_METRICS_PORT: '0', VIGIL_LOG_LEVEL: 'warn' }, stdio: ['ignore', 'ignore', 'pipe'] });
      server.stderr!.on('data', (chunk) => (stderr += chunk));
      const deadline = Date.now() + 120_000;
      while (!/gateway listening on (\S+) /.test(stderr)) {
        if (Date.now() > deadline || server.exitCode !== null) throw new Error(`vigil serve did not start: ${stderr}`);
        await new Promise((r) => setTimeout(r, 100));
      }
      url = stderr.match(/gateway listening on (\S+) /)![1]!;
      token = (await readFile(stderr.match(/bearer token for the local gateway: (\S+)/)![1]!, 'utf8')).trim();
    }, 180_000);

    afterAll(async () => {
      if (server && server.exitCode === null) {
        server.kill('SIGTERM');
        await once(server, 'exit');
      }
    });

    const check = async (bytes: Buffer, auth = `Bearer ${token}`) =>
      fetch(`${url}/v1/check?tenant=acme&bucket=media&key=u/1.jpg&account=user-7`, { method: 'POST', headers: { authorization: auth, 'content-type': 'image/jpeg' }, body: bytes });

    it('prints its metrics address, where the checks it answered are counted by verdict', async () => {
      const metricsUrl = stderr.match(/metrics \(Prometheus\) at (\S+)/)?.[1];
      expect(metricsUrl).toMatch(/^http:\/\/127\.0\.0\.1:\d+\/metrics$/);
      const before = await (await fetch(metricsUrl!)).text();
      const blockedBefore = Number(before.match(/^vigil_check_duration_seconds_count\{verdict="block"\} (\d+)$/m)?.[1] ?? 0);
      expect((await (await check(await demoImage(5))).json()).verdict).toBe('block');
      const after = await (await fetch(metricsUrl!)).text();
      expect(after).toContain(`vigil_check_duration_seconds_count{verdict="block"} ${blockedBefore + 1}`);
      expect(after).toMatch(/^vigil_scans_total\{verdict="matched",lane="check",source="gateway"\} \d+$/m);
      // The serving process holds the gateway role: it exports the pipeline's state.
      expect(after).toMatch(/^vigil_consumer_lag\{topic="upload.received.v1",group="scanner"\} \d+$/m);
      expect(after).toMatch(/^vigil_quarantine_active \d+$/m);
    });

    it('answers upload-time checks with the imported lists, and refuses a request without a token', async () => {
      expect((await fetch(`${url}/readyz`)).status).toBe(200);
      const blocked = await check(await demoImage(5));
      expect(blocked.status).toBe(200);
      const verdict = await blocked.json();
      expect(verdict).toMatchObject({ verdict: 'block', matches: [{ list: 'demo-pdq', algorithm: 'pdq', distance: 0, action: 'quarantine' }] });
      expect(verdict.timings.totalMs).toBeGreaterThan(0);
      expect(await (await check(await demoImage(2001))).json()).toMatchObject({ verdict: 'allow', matches: [] });
      expect(await (await check((await demoImage(2002)).subarray(0, 3000))).json()).toMatchObject({ verdict: 'unscannable', reason: 'truncated' });

      const scan = await fetch(`${url}/v1/scans/${verdict.scanId}`, { headers: { authorization: `Bearer ${token}` } });
      expect(await scan.json()).toMatchObject({ scanId: verdict.scanId, tenantId: 'acme', verdict: 'block', object: { bucket: 'media', key: 'u/1.jpg' } });
      const denied = await check(await demoImage(5), 'Bearer wrong');
      expect(denied.status).toBe(401);
      expect(await denied.json()).toMatchObject({ error: { code: 'unauthorized' } });

      // The blocked upload enters the event flow: the actioner records its quarantine.
      const deadline = Date.now() + 60_000;
      for (;;) {
        const records = (await run('quarantine', 'ls', '--tenant', 'acme', '--json')).stdout.trim().split('\n').filter(Boolean).map((l) => JSON.parse(l));
        if (records.some((r) => r.status === 'applied' && r.key === 'u/1.jpg')) break;
        if (Date.now() > deadline) throw new Error(`no quarantine for the blocked check: ${JSON.stringify(records)}`);
        await new Promise((r) => setTimeout(r, 500));
      }
    }, 120_000);

    it('drains and exits 0 on SIGTERM', async () => {
      server.kill('SIGTERM');
      const [code] = await once(server, 'exit');
      expect(code, stderr).toBe(0);
    }, 60_000);
  });
});
