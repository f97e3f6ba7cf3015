// A real Prometheus server scrapes a running Vigil (embedded default: scanner, actioner and
// gateway in one process) and reads back what the runtime counted: the metrics listener speaks
// the exposition format Prometheus actually parses, and the series names survive the trip.
// Needs Debian's `prometheus` (/usr/bin/prometheus); skipped loudly without it, failed under
// REQUIRE_INTEGRATION=1. Benign generated images only.

import { spawn, type ChildProcess } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { once } from 'node:events';
import { existsSync } from 'node:fs';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadRuntimeConfig, startRuntime, type Runtime } from '@vigil/cli';
import { silentLogger } from '@vigil/db';
import { createEvent } from '@vigil/events';
import { createHashPool } from '@vigil/hashing';
import { PgListStore } from '@vigil/lists';
import { DEFAULT_DETECTION_RULE, ruleFingerprint } from '@vigil/scanner';
import { encode, naturalScene } from '@vigil/testkit';
import { resolvePostgres, unavailable } from '@vigil/testkit/services';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { waitFor } from './wait-for.ts';

const PROMETHEUS = process.env.PROMETHEUS_BIN ?? '/usr/bin/prometheus';
const SUITE = 'Prometheus scrape test (test/prometheus.test.ts)';
const prometheusAvailable = existsSync(PROMETHEUS) || unavailable(SUITE, `${PROMETHEUS} not found: install it with \`apt-get install prometheus\` (Debian), or set PROMETHEUS_BIN`).available;
const postgres = prometheusAvailable ? await resolvePostgres(SUITE) : { available: false as const, reason: 'no prometheus' };

async function freePort(): Promise<number> {
  const server = createServer();
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const { port } = server.address() as { port: number };
  server.close();
  await once(server, 'close');
  return port;
}

/** Prometheus and the listener answer only once up: a probe that throws counts as "not yet". */
const waitUntil = <T>(probe: () => Promise<T | null | undefined | false>, timeoutMs: number, what: string) =>
  waitFor(probe, timeoutMs, what, { tolerateErrors: true, intervalMs: 250 });

type Sample = { metric: Record<string, string>; value: [number, string] };

describe.skipIf(!postgres.available)('Prometheus scrapes a running Vigil', () => {
  let runtime: Runtime;
  let prometheus: ChildProcess | undefined;
  let prometheusLog = '';
  let promUrl: string;
  let dir: string;

  const query = async (expr: string): Promise<Sample[]> => {
    const res = await fetch(`${promUrl}/api/v1/query?query=${encodeURIComponent(expr)}`);
    const body = (await res.json()) as { status: string; data: { result: Sample[] } };
    if (body.status !== 'success') throw new Error(`query ${expr} failed: ${JSON.stringify(body)}`);
    return body.data.result;
  };

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'vigil-prometheus-'));
    const env = {
      VIGIL_HOME: join(dir, 'home'),
      DATABASE_URL: postgres.available ? await postgres.service.createDatabase() : '',
      VIGIL_HASH_THREADS: '1',
      VIGIL_LIST_REFRESH_MS: '500',
      VIGIL_GATEWAY_PORT: '0',
      VIGIL_METRICS_PORT: '0',
    };
    runtime = await startRuntime(loadRuntimeConfig(env), ['scanner', 'actioner', 'gateway'], env, silentLogger);

    const target = new URL(runtime.metricsUrl!);
    const promPort = await freePort();
    promUrl = `http://127.0.0.1:${promPort}`;
    await writeFile(
      join(dir, 'prometheus.yml'),
      [
        'global:',
        '  scrape_interval: 1s',
        '  evaluation_interval: 1s',
        'scrape_configs:',
        '  - job_name: vigil',
        `    metrics_path: ${target.pathname}`,
        '    static_configs:',
        `      - targets: ['${target.host}']`,
        '',
      ].join('\n'),
    );
    prometheus = spawn(
      PROMETHEUS,
      [`--config.file=${join(dir, 'prometheus.yml')}`, `--storage.tsdb.path=${join(dir, 'tsdb')}`, `--web.listen-address=127.0.0.1:${promPort}`, '--log.level=warn'],
      { stdio: ['ignore', 'ignore', 'pipe'] },
    );
    prometheus.stderr!.on('data', (chunk) => (prometheusLog += chunk));
    await waitUntil(async () => (await fetch(`${promUrl}/-/ready`)).ok, 60_000, `Prometheus to start (${prometheusLog})`);
  }, 180_000);

  afterAll(async () => {
    if (prometheus && prometheus.exitCode === null) {
      prometheus.kill('SIGTERM');
      await once(prometheus, 'exit');
    }
    await runtime?.close();
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  it('reads back the scans the runtime counted, by verdict, lane and source', async () => {
    // A list with one benign scene, then an upload of it, an unrelated upload, and a synchronous check.
    const listed = await encode(await naturalScene(640, 480, 301), 'jpeg', { quality: 88 });
    const unrelated = await encode(await naturalScene(640, 480, 302), 'jpeg', { quality: 88 });
    const hashPool = createHashPool({ threads: 1 });
    const hashed = await hashPool.hash(listed, { mode: 'fast' });
    await hashPool.close();
    if (hashed.status !== 'hashed') throw new Error('the listed image did not hash');
    await new PgListStore(runtime.database.pool).putVersion(
      {
        name: 'prom-demo-pdq', algorithm: 'pdq', threshold: 31, action: 'quarantine', dihedral: true, source: 'generated benign scenes',
        versions: [{ version: 1, importedAt: new Date().toISOString(), format: 'plain', sourceSha256: '00'.repeat(32), entries: 0, added: 0, removed: 0, changed: 0 }],
      },
      [{ hash: hashed.hashes.pdq!, externalId: 'prom-1', category: 'csam' }],
      [],
    );
    await waitUntil(async () => runtime.registry!.loaded().some((l) => l.listId === 'prom-demo-pdq'), 10_000, 'the list to load');

    const bucket = `public-${randomUUID().slice(0, 8)}`;
    await runtime.store.ensureBucket(bucket);
    const events = [];
    for (const [key, bytes] of [['a/listed.jpg', listed], ['a/unrelated.jpg', unrelated]] as const) {
      await runtime.store.put({ bucket, key }, bytes, { contentType: 'image/jpeg' });
      events.push(
        createEvent(
          'upload.received.v1',
          {
            uploadId: `up-${randomUUID()}`, source: 'workers', mode: 'async', uploadedAt: new Date().toISOString(),
            object: { tenantId: 'tenant-prom', bucket, key, size: bytes.length, contentType: 'image/jpeg' },
            uploader: { accountId: 'acct-prom' },
          },
          { producer: 'e2e', traceId: randomUUID() },
        ),
      );
    }
    await runtime.bus.publish(events);
    const token = (await readFile(runtime.localTokenFile!, 'utf8')).trim();
    const checked = await fetch(`${runtime.gatewayUrl}/v1/check?tenant=tenant-prom&bucket=media&key=u/1.jpg&account=acct-prom`, {
      method: 'POST', headers: { authorization: `Bearer ${token}`, 'content-type': 'image/jpeg' }, body: unrelated,
    });
    expect((await checked.json()).verdict).toBe('allow');
    await waitUntil(
      async () => (await runtime.database.pool.query('SELECT count(*)::int AS n FROM scans WHERE event_id = ANY($1)', [events.map((e) => e.id)])).rows[0].n === 2,
      60_000,
      'both uploads scanned',
    );

    // What the runtime counted, then the same read back from Prometheus once a scrape has seen it.
    const counted = (await runtime.metrics.scans.get()).values.map((v) => ({ ...v.labels, value: v.value }));
    expect(counted).toEqual(
      expect.arrayContaining([
        { verdict: 'matched', lane: 'live', source: 'workers', value: 1 },
        { verdict: 'clean', lane: 'live', source: 'workers', value: 1 },
        { verdict: 'clean', lane: 'check', source: 'gateway', value: 1 },
      ]),
    );
    const key = (s: Record<string, unknown>) => `${s.verdict}/${s.lane}/${s.source}`;
    const expected = Object.fromEntries(counted.map((c) => [key(c), c.value]));
    const scraped = await waitUntil(
      async () => {
        const samples = await query('vigil_scans_total');
        const read = Object.fromEntries(samples.map((s) => [key(s.metric), Number(s.value[1])]));
        return Object.keys(expected).every((k) => read[k] === expected[k]) && samples;
      },
      60_000,
      'Prometheus to scrape the scans',
    );
    expect(scraped.every((s) => s.metric.job === 'vigil' && s.metric.__name__ === 'vigil_scans_total')).toBe(true);
    expect(scraped).toHaveLength(counted.length);

    // The target is up, and the other families made the trip too: a histogram, a list gauge, a pipeline gauge.
    expect((await query('up{job="vigil"}')).map((s) => s.value[1])).toEqual(['1']);
    expect(Number((await query('vigil_list_version{list="prom-demo-pdq"}'))[0]!.value[1])).toBe(1);
    expect(Number((await query('sum(vigil_check_duration_seconds_count)'))[0]!.value[1])).toBe(1);
    expect((await query('vigil_consumer_lag{group="scanner",topic="upload.received.v1"}')).length).toBe(1);
    // The rule it decides under (VigilDetectionRuleSkew compares these across processes).
    expect((await query('vigil_detection_rule_info')).map((s) => [s.metric.fingerprint, s.metric.default, s.value[1]])).toEqual([
      [ruleFingerprint(DEFAULT_DETECTION_RULE), 'true', '1'],
    ]);
  });
});
