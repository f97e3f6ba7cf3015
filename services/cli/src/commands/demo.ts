// `vigil demo`: the whole pipeline in one process, on synthetic benign images, in a home of its
// own (default VIGIL_HOME/demo, reset at each run unless --keep). It builds two synthetic lists
// (PDQ and MD5), uploads originals, transformed copies, unrelated scenes and a truncated file to
// the upload bucket and announces each as upload.received.v1 (as a hosting product does), waits
// for every verdict and, for every match, its quarantine, evidence and report; then blocks a
// re-upload through POST /v1/check and retro-matches a second list version against what was
// stored. It prints what happened (never a list entry's hash) and serves the dashboard.
//
// The demo never leaves this machine: it runs on the embedded default whatever the environment
// says (no Kafka, S3, external Postgres or NCMEC), files reports to the local outbox only, and
// uses a generated local gateway token.

import { randomUUID } from 'node:crypto';
import { mkdir, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { homedir } from 'node:os';
import { join, resolve } from 'node:path';
import { InvalidArgumentError, Option, type Command } from 'commander';
import { onShutdown } from '@vigil/bus';
import { openDatabase, type Database, type Pool } from '@vigil/db';
import { createEvent, type Event } from '@vigil/events';
import { createImageHasher, createSharpDecoder } from '@vigil/hashing';
import { importList, retroMatchesOf } from '@vigil/hashlists';
import { PgListStore } from '@vigil/lists';
import { createLogger } from '@vigil/observability';
import { isObjectStoreError, type ObjectStore } from '@vigil/storage';
import { loadRuntimeConfig, type RuntimeConfig } from '../runtime/config.ts';
import { localDashboardUrl } from '../runtime/dashboard-url.ts';
import { openStore, ROLES, startRuntime, type Runtime } from '../runtime/runtime.ts';
import { buildScenario, type DemoListKind, type DemoScenario, type PlantedUpload } from './demo-scenario.ts';
import {
  isSettled,
  pendingStep,
  renderSummary,
  SYNTHETIC_NOTICE,
  totalsOf,
  withMisses,
  type DemoListInfo,
  type DemoOutcome,
  type DemoSummary,
  type DemoTimings,
  type DemoUploadResult,
} from './demo-summary.ts';
import { followUpColumns, followUpJoins, type FollowUpColumns } from '../follow-ups.ts';

export interface DemoOptions {
  home?: string;
  keep: boolean;
  serve: boolean;
  json: boolean;
  /** Seconds the pipeline may take, from the first upload to the last report. */
  timeout: number;
  port: number;
  host: string;
}

export interface DemoIo {
  write: (text: string) => void;
  writeError: (text: string) => void;
}

/** Thrown for conditions the user must fix (a home that is not a demo home, a demo already running). */
export class DemoError extends Error {}

const TENANT = 'demo';
const LIST_NAMES: Record<DemoListKind, string> = { pdq: 'demo-synthetic-pdq', md5: 'demo-synthetic-md5' };
const LIST_SOURCE = 'vigil demo: hashes of SYNTHETIC BENIGN generated landscape scenes (libs/testkit naturalScene); not real list content';
/** Marks a directory the demo created, so a reset never empties anything else. */
const MARKER = '.vigil-demo';
const EXIT_FAILED = 1;

export function registerDemoCommand(program: Command, env: NodeJS.ProcessEnv, io: DemoIo, setExitCode: (code: number) => void): void {
  program
    .command('demo')
    .description('the whole pipeline on synthetic benign images, in a home of its own: lists, uploads, quarantine, evidence, reports, retro-match; then the dashboard')
    .option('--no-serve', 'exit after the summary instead of serving the dashboard')
    .option('--json', 'print the summary as one JSON object (progress and logs go to stderr)')
    .option('--home <dir>', 'the demo home (default: VIGIL_HOME/demo)')
    .option('--keep', 'keep what earlier demo runs left in the home (default: reset it)')
    .addOption(new Option('--port <n>', 'gateway port for the dashboard').argParser(parsePort).default(0, 'a free port'))
    .option('--host <host>', 'gateway address', '127.0.0.1')
    .option('--timeout <s>', 'seconds the pipeline may take to finish', parsePositive, 60)
    .action(async (options: DemoOptions) => {
      try {
        setExitCode(await runDemo(options, env, io));
      } catch (err) {
        if (!(err instanceof DemoError)) throw err;
        io.writeError(`vigil demo: ${err.message}\n`);
        setExitCode(EXIT_FAILED);
      }
    });
}

/** Runs the demo; resolves with the exit code once it has printed the summary (and, serving, after Ctrl-C). */
export async function runDemo(options: DemoOptions, env: NodeJS.ProcessEnv, io: DemoIo): Promise<number> {
  const t0 = performance.now();
  const home = resolve(options.home ?? join(env.VIGIL_HOME ?? join(homedir(), '.vigil'), 'demo'));
  const progress = (text: string) => io.writeError(`demo: ${text}\n`);
  const log = createLogger({ service: 'vigil-demo', level: env.VIGIL_LOG_LEVEL ?? 'error' });

  const previousRuns = await claimHome(home, options.keep);
  progress(`every image is synthetic and benign; home ${home}${options.keep ? ' (kept)' : ' (reset)'}`);
  progress('starting the pipeline: embedded Postgres, Postgres bus, filesystem store, every role');
  const admin = await openDatabase({ home, database: 'postgres', migrate: false, log: log.child({ component: 'database' }) });
  let runtime: Runtime | undefined;
  // Once: Ctrl-C's shutdown and the finally below both call it.
  let closing: Promise<void> | undefined;
  const closeAll = () =>
    (closing ??= (async () => {
      await runtime?.close();
      await admin.close();
    })());
  try {
    // The database first: it refuses while another demo uses this home, before any file goes.
    const url = await demoDatabase(admin, options.keep);
    const run = await resetHome(home, options.keep, previousRuns);
    const demoEnv = demoEnvironment(env, home, url, options);
    const config = loadRuntimeConfig(demoEnv);
    const counted = countingReads(openStore(config), config.uploadBucket);
    runtime = await startRuntime(config, ROLES, demoEnv, log, { store: counted.store });
    const startMs = performance.now() - t0;

    const summary = await runScenario({ runtime, config, progress, reads: counted, run, options }, startMs, t0);
    const complete = summary.complete;
    const dashboard = options.serve ? await localDashboardUrl(runtime) : null;
    if (dashboard) summary.dashboard = dashboard;
    io.write(options.json ? `${JSON.stringify(summary)}\n` : renderSummary(summary));
    if (!options.serve) return complete ? 0 : EXIT_FAILED;

    const line = await dashboardLine(runtime, summary.dashboard);
    if (options.json) io.writeError(line);
    else io.write(line);
    const code = await new Promise<number>((done) => {
      onShutdown(log, [closeAll], { exit: done });
    });
    return complete ? code : EXIT_FAILED;
  } finally {
    await closeAll();
  }
}

interface ScenarioContext {
  runtime: Runtime;
  config: RuntimeConfig;
  progress: (text: string) => void;
  reads: { count: () => number };
  run: { number: number; id: string };
  options: DemoOptions;
}

async function runScenario(ctx: ScenarioContext, startMs: number, t0: number): Promise<DemoSummary> {
  const { runtime, config, progress } = ctx;
  const pool = runtime.database.pool;
  const home = config.home;

  let t = performance.now();
  progress('generating synthetic images (seeded landscape scenes) and their transformed copies');
  const scenario = await buildScenario(ctx.run.number * 100);
  await mkdir(join(home, 'images'), { recursive: true });
  await Promise.all(scenario.uploads.map((u) => writeFile(join(home, 'images', u.name), u.bytes)));
  const generateMs = performance.now() - t;

  t = performance.now();
  progress('building the synthetic demo lists (PDQ and MD5) and loading them');
  const lists = await importFirstVersions(pool, scenario, home);
  await waitUntil(() => retroRunsDone(pool, lists.map((l) => [l.name, l.versions[0]!.version])), 20_000, 'the lists\' first retro-match runs');
  await waitUntil(async () => {
    await runtime.registry!.refresh();
    return lists.every((l) => runtime.registry!.loaded().some((x) => x.listId === l.name && x.version === l.versions[0]!.version));
  }, 20_000, 'the scanners to load the demo lists');
  const listsMs = performance.now() - t;

  const deadline = Date.now() + ctx.options.timeout * 1000;
  const unfinished: string[] = [];
  t = performance.now();
  progress(`uploading ${scenario.uploads.length} images and announcing them as upload.received.v1`);
  const targets = await uploadAll(runtime.store, runtime, config.uploadBucket, scenario.uploads, ctx.run.id);
  await waitOutcomes(pool, { eventIds: targets.map((x) => x.eventId) }, deadline, { verdictsOnly: true });
  const scanMs = performance.now() - t;
  progress('waiting for every match\'s quarantine, evidence and report');
  const uploaded = await waitOutcomes(pool, { eventIds: targets.map((x) => x.eventId) }, deadline);
  const followUpsMs = performance.now() - t;
  const uploads: DemoUploadResult[] = withMisses(
    targets.map(({ upload, eventId }) => {
      const outcome = uploaded.outcomes.get(eventId);
      if (!outcome) unfinished.push(`${upload.name}: no verdict within ${ctx.options.timeout} s (its event stays queued)`);
      else if (!isSettled(outcome)) unfinished.push(`${upload.name}: ${pendingStep(outcome)}`);
      const { bytes: _bytes, list: _list, ...described } = upload;
      return { ...described, ...(outcome ?? { scanId: '', verdict: 'none' as const }) };
    }),
  );

  progress('upload-time check: re-uploading listed-a.jpg through POST /v1/check');
  const check = await checkReupload(ctx, scenario, deadline, unfinished);
  const checkMs = check ? check.ms : null;

  progress('list version 2 adds a hash of an image already scanned clean: retro-matching the stored hashes');
  t = performance.now();
  const retro = await retroCatch(ctx, scenario, targets, lists, deadline, unfinished);
  const retroMs = retro ? performance.now() - t : null;

  const timings: DemoTimings = {
    startMs: Math.round(startMs), generateMs: Math.round(generateMs), listsMs: Math.round(listsMs), scanMs: Math.round(scanMs),
    followUpsMs: Math.round(followUpsMs), checkMs, retroMs: retroMs === null ? null : Math.round(retroMs), totalMs: Math.round(performance.now() - t0),
  };
  return {
    notice: SYNTHETIC_NOTICE,
    home,
    complete: unfinished.length === 0,
    unfinished,
    lists: await listInfo(pool, lists.map((l) => l.name), lists),
    uploads,
    check,
    retro,
    totals: totalsOf(uploads, check, retro),
    reportsDir: config.reports.sink.kind === 'outbox' ? config.reports.sink.dir : '',
    timings,
  };
}

// ---- the demo home -------------------------------------------------------------------------

/**
 * Checks the home is the demo's (or new, or empty) before anything touches it, creates it, and
 * returns how many runs a kept home has seen. A reset never empties a directory the demo did
 * not make.
 */
async function claimHome(home: string, keep: boolean): Promise<number> {
  const entries = await readdir(home).catch((err: NodeJS.ErrnoException) => {
    if (err.code === 'ENOENT') return null;
    throw err;
  });
  const ours = entries?.includes(MARKER) ?? false;
  if (entries && entries.length > 0 && !ours) {
    throw new DemoError(`${home} exists and was not made by vigil demo; refusing to use it: choose another --home`);
  }
  await mkdir(home, { recursive: true, mode: 0o700 });
  if (!ours) await writeFile(join(home, MARKER), '0\n');
  return keep && ours ? Number((await readFile(join(home, MARKER), 'utf8')).trim()) || 0 : 0;
}

/**
 * Unless kept, removes what earlier runs left (images, lists, objects, reports, the token) but
 * the Postgres cluster, whose database was dropped: no initdb on every run.
 */
async function resetHome(home: string, keep: boolean, previousRuns: number): Promise<{ number: number; id: string }> {
  if (!keep) {
    for (const entry of await readdir(home)) if (entry !== 'postgres' && entry !== MARKER) await rm(join(home, entry), { recursive: true, force: true });
  }
  await writeFile(join(home, MARKER), `${previousRuns + 1}\n`);
  return { number: keep ? previousRuns : 0, id: randomUUID().slice(0, 8) };
}

/** The demo's database on the embedded cluster: dropped and created again unless kept. */
async function demoDatabase(admin: Database, keep: boolean): Promise<string> {
  if (!admin.embedded) throw new DemoError('the demo needs the embedded Postgres cluster');
  if (!keep) {
    await admin.pool.query('DROP DATABASE IF EXISTS vigil').catch((err: { code?: string }) => {
      if (err.code === '55006') throw new DemoError('another process is using this demo home (a `vigil demo` still serving?): stop it, or pass --home DIR');
      throw err;
    });
  }
  const exists = await admin.pool.query("SELECT 1 FROM pg_database WHERE datname = 'vigil'");
  if (exists.rowCount === 0) await admin.pool.query('CREATE DATABASE vigil');
  return admin.embedded.url('vigil');
}

/**
 * The environment the demo's runtime sees: the embedded default whatever the caller's says
 * (no Kafka, S3 or NCMEC settings pass through), reports to the local outbox, a demo reporting
 * person so reports can be written, and short delays so the run takes seconds.
 */
function demoEnvironment(env: NodeJS.ProcessEnv, home: string, databaseUrl: string, options: DemoOptions): NodeJS.ProcessEnv {
  const passed = ['VIGIL_HASH_THREADS', 'VIGIL_LOG_LEVEL', 'VIGIL_METRICS_HOST'] as const;
  return {
    ...Object.fromEntries(passed.filter((k) => env[k] !== undefined).map((k) => [k, env[k]])),
    VIGIL_HOME: home,
    DATABASE_URL: databaseUrl,
    VIGIL_GATEWAY_HOST: options.host,
    VIGIL_GATEWAY_PORT: String(options.port),
    VIGIL_METRICS_PORT: env.VIGIL_METRICS_PORT ?? '0',
    VIGIL_LIST_REFRESH_MS: '500',
    VIGIL_REPORT_SINK: 'outbox',
    VIGIL_REPORT_GROUP_DELAY_MS: '200',
    VIGIL_REPORTER_FIRST_NAME: 'Demo',
    VIGIL_REPORTER_LAST_NAME: 'Operator',
    VIGIL_REPORTER_EMAIL: 'demo-operator@example.org',
    VIGIL_REPORTER_COMPANY: 'Vigil demo (synthetic benign images only)',
  };
}

/** The store as the runtime uses it, counting reads of uploaded objects (the retro-match must make none). */
function countingReads(inner: ObjectStore, bucket: string): { store: ObjectStore; count: () => number } {
  let reads = 0;
  const store = new Proxy(inner, {
    get(target, prop) {
      const value = Reflect.get(target, prop, target) as unknown;
      if (typeof value !== 'function') return value;
      if (prop !== 'get' && prop !== 'getBytes') return (value as (...args: unknown[]) => unknown).bind(target);
      return (ref: { bucket: string }, ...rest: unknown[]) => {
        if (ref.bucket === bucket) reads++;
        return (value as (...args: unknown[]) => unknown).call(target, ref, ...rest);
      };
    },
  });
  return { store, count: () => reads };
}

// ---- lists ---------------------------------------------------------------------------------

interface ImportedList {
  name: string;
  kind: DemoListKind;
  versions: Array<{ version: number; entries: number; added: number }>;
}

const hasher = createImageHasher(createSharpDecoder());

async function hashOf(bytes: Buffer, kind: DemoListKind): Promise<string> {
  const outcome = await hasher(bytes, { algorithms: [kind], mode: 'fast' });
  const hash = outcome.status === 'hashed' ? outcome.hashes[kind] : undefined;
  if (!hash) throw new Error(`a demo image did not hash (${kind})`);
  return hash;
}

/**
 * Version 1 of each list (on a kept home: the next version, with the earlier runs' entries kept),
 * imported through the same path as `vigil lists import`. The files are written to the home too,
 * with a manifest saying what they are.
 */
async function importFirstVersions(pool: Pool, scenario: DemoScenario, home: string): Promise<ImportedList[]> {
  const out: ImportedList[] = [];
  for (const kind of ['pdq', 'md5'] as const) {
    const entries = await Promise.all(scenario.listed.filter((l) => l.list === kind).map(async (l) => ({ hash: await hashOf(l.bytes, kind), id: l.entryId })));
    // Unlabelled PDQ entries are worked as child-safety reports (the default); the MD5 list is
    // labelled benign-demo, so its reports are held as not reportable: both paths show.
    const category = kind === 'md5' ? 'benign-demo' : undefined;
    const version = await importVersion(pool, kind, entries.map((e) => ({ ...e, ...(category && { category }) })), home);
    out.push({ name: LIST_NAMES[kind], kind, versions: [version] });
  }
  return out;
}

async function importVersion(
  pool: Pool,
  kind: DemoListKind,
  additions: Array<{ hash: string; id: string; category?: string }>,
  home: string,
): Promise<{ version: number; entries: number; added: number }> {
  const name = LIST_NAMES[kind];
  const store = new PgListStore(pool);
  const kept = (await store.get(name)) ? await store.entries(name) : [];
  const rows = [...kept.map((e) => ({ hash: e.hash, id: e.externalId ?? '', category: e.category })), ...additions.filter((a) => !kept.some((k) => k.hash === a.hash))];
  const text = [`# ${LIST_SOURCE}`, 'hash,id,category', ...rows.map((r) => `${r.hash},${r.id},${r.category ?? ''}`)].join('\n') + '\n';
  const outcome = await importList(
    Buffer.from(text),
    { name, algorithm: kind, format: 'plain', source: LIST_SOURCE, action: 'quarantine', ...(kind === 'pdq' && { threshold: 31, dihedral: true }) },
    store,
    () => new Date(),
  );
  if (outcome.status !== 'imported') throw new Error(`the demo list ${name} was refused: ${outcome.reason}`);
  const dir = join(home, 'lists');
  await mkdir(dir, { recursive: true });
  await writeFile(join(dir, `${name}.v${outcome.version.version}.csv`), text, { mode: 0o600 });
  await writeFile(
    join(dir, `${name}.json`),
    `${JSON.stringify({ name, description: 'SYNTHETIC, BENIGN demo list made by `vigil demo`: hashes of generated landscape scenes. Not real list content.', algorithm: kind, source: LIST_SOURCE, versions: outcome.manifest.versions.length }, null, 2)}\n`,
  );
  return { version: outcome.version.version, entries: outcome.version.entries, added: outcome.version.added };
}

async function retroRunsDone(pool: Pool, runs: Array<[string, number]>): Promise<boolean> {
  const { rows } = await pool.query<{ n: string }>(
    `SELECT count(*) AS n FROM retro_runs r JOIN unnest($1::text[], $2::int[]) AS w(list_id, version) USING (list_id, version) WHERE r.status = 'done'`,
    [runs.map((r) => r[0]), runs.map((r) => r[1])],
  );
  return Number(rows[0]!.n) === runs.length;
}

async function listInfo(pool: Pool, names: string[], imported: ImportedList[]): Promise<DemoListInfo[]> {
  const store = new PgListStore(pool);
  const out: DemoListInfo[] = [];
  for (const name of names) {
    const manifest = await store.get(name);
    if (!manifest) continue;
    const versions = imported.find((l) => l.name === name)!.versions;
    out.push({ name, algorithm: manifest.algorithm, threshold: manifest.threshold, dihedral: manifest.dihedral, versions });
  }
  return out;
}

// ---- uploads -------------------------------------------------------------------------------

interface Target {
  upload: PlantedUpload;
  eventId: string;
  key: string;
}

/** Stores each image in the upload bucket and announces it, as a hosting product's upload path does. */
async function uploadAll(store: ObjectStore, runtime: Runtime, bucket: string, uploads: PlantedUpload[], runId: string): Promise<Target[]> {
  await store.ensureBucket(bucket, { versioning: true }).catch((err: unknown) => {
    if (isObjectStoreError(err, 'invalid')) return store.ensureBucket(bucket);
    throw err;
  });
  const targets: Target[] = [];
  const events: Event[] = [];
  for (const [i, upload] of uploads.entries()) {
    const key = `${TENANT}/${runId}/${upload.name}`;
    const written = await store.put({ bucket, key }, upload.bytes, { contentType: 'image/jpeg' });
    const event = createEvent(
      'upload.received.v1',
      {
        uploadId: `demo-${runId}-${i + 1}`,
        source: 'workers',
        mode: 'async',
        object: { tenantId: TENANT, bucket, key, size: upload.bytes.length, contentType: 'image/jpeg', ...(written.versionId && { versionId: written.versionId }) },
        // Documentation addresses (RFC 5737) and one synthetic account per upload: one report each.
        uploader: { accountId: `demo-account-${i + 1}`, ip: `192.0.2.${i + 1}`, userAgent: 'vigil-demo/1.0 (synthetic upload)' },
        uploadedAt: new Date().toISOString(),
      },
      { producer: 'vigil-demo', traceId: randomUUID() },
    );
    events.push(event);
    targets.push({ upload, eventId: event.id, key });
  }
  await runtime.bus.publish(events);
  return targets;
}

// ---- waiting for the pipeline ----------------------------------------------------------------

interface OutcomeRow extends FollowUpColumns {
  event_id: string;
  scan_id: string;
  match_id: string | null;
  verdict: Exclude<DemoOutcome['verdict'], 'none'>;
  unscannable_reason: string | null;
  action: DemoOutcome['action'] | null;
  list_id: string | null;
  list_version: number | null;
  algorithm: string | null;
  distance: number | null;
  variant: string | null;
  query: string | null;
}

interface Wanted {
  eventIds?: string[];
  scanIds?: string[];
  matchIds?: string[];
}

/** Every scan asked for, keyed by event id, scan id and match id. */
async function readOutcomes(pool: Pool, wanted: Wanted): Promise<Map<string, DemoOutcome>> {
  const { rows } = await pool.query<OutcomeRow>(
    `SELECT s.event_id, s.id AS scan_id, s.match_id, s.verdict, s.unscannable_reason, m.action,
            h.list_id, h.list_version, h.algorithm::text AS algorithm, h.distance, h.variant, h.query,
            ${followUpColumns}
       FROM scans s
       LEFT JOIN matches m ON m.id = s.match_id
       LEFT JOIN match_hits h ON h.match_id = s.match_id AND h.ordinal = 0
       ${followUpJoins('s.match_id')}
      WHERE s.event_id = ANY($1::uuid[]) OR s.id = ANY($2::text[]) OR s.match_id = ANY($3::text[])`,
    [wanted.eventIds ?? [], wanted.scanIds ?? [], wanted.matchIds ?? []],
  );
  const out = new Map<string, DemoOutcome>();
  for (const r of rows) {
    const outcome: DemoOutcome = {
      scanId: r.scan_id,
      verdict: r.verdict,
      ...(r.unscannable_reason && { reason: r.unscannable_reason }),
      ...(r.action && { action: r.action }),
      ...(r.list_id && {
        hit: { list: r.list_id, listVersion: r.list_version!, algorithm: r.algorithm!, distance: r.distance!, variant: r.variant!, ...(r.query && { query: r.query }) },
      }),
      ...(r.q_id && { quarantine: { id: r.q_id, status: r.q_status!, ...(r.q_reason && { reason: r.q_reason }) } }),
      ...(r.e_id && { evidence: { id: r.e_id, retainUntil: r.e_retain_until!.toISOString() } }),
      ...(r.r_id && { report: { id: r.r_id, status: r.r_status!, ...(r.r_reason && { reason: r.r_reason }) } }),
    };
    out.set(r.event_id, outcome);
    out.set(r.scan_id, outcome);
    if (r.match_id) out.set(r.match_id, outcome);
  }
  return out;
}

async function waitOutcomes(pool: Pool, wanted: Wanted, deadline: number, options: { verdictsOnly?: boolean } = {}): Promise<{ outcomes: Map<string, DemoOutcome> }> {
  const keys = [...(wanted.eventIds ?? []), ...(wanted.scanIds ?? []), ...(wanted.matchIds ?? [])];
  for (;;) {
    const outcomes = await readOutcomes(pool, wanted);
    const done = keys.every((k) => {
      const o = outcomes.get(k);
      return o !== undefined && (options.verdictsOnly || isSettled(o));
    });
    if (done || Date.now() > deadline) return { outcomes };
    await new Promise((r) => setTimeout(r, 150));
  }
}

async function waitUntil(probe: () => Promise<boolean>, timeoutMs: number, what: string): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await probe())) {
    if (Date.now() > deadline) throw new DemoError(`timed out after ${timeoutMs / 1000} s waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

// ---- the upload-time check and the retro-match ------------------------------------------------

async function checkReupload(ctx: ScenarioContext, scenario: DemoScenario, deadline: number, unfinished: string[]): Promise<DemoSummary['check']> {
  const { runtime, config } = ctx;
  const original = scenario.uploads.find((u) => u.name === 'listed-a.jpg')!;
  if (!runtime.gatewayUrl || !runtime.localTokenFile) {
    unfinished.push('upload-time check: the gateway did not start');
    return null;
  }
  const secret = (await readFile(runtime.localTokenFile, 'utf8')).trim();
  const query = new URLSearchParams({ tenant: TENANT, bucket: config.uploadBucket, key: `${TENANT}/${ctx.run.id}/reupload-of-listed-a.jpg`, account: 'demo-account-reupload' });
  const started = performance.now();
  const response = await fetch(`${runtime.gatewayUrl}/v1/check?${query}`, {
    method: 'POST',
    headers: { authorization: `Bearer ${secret}`, 'content-type': 'image/jpeg', 'x-vigil-uploader-ip': '192.0.2.200', 'x-vigil-uploader-agent': 'vigil-demo/1.0 (synthetic upload)' },
    body: original.bytes,
  });
  const ms = Math.round(performance.now() - started);
  const body = (await response.json()) as { verdict?: string; scanId?: string; reused?: boolean; error?: { code: string; message: string } };
  if (!response.ok || !body.scanId || !body.verdict) {
    unfinished.push(`upload-time check: HTTP ${response.status} ${body.error ? `${body.error.code}: ${body.error.message}` : ''}`.trim());
    return null;
  }
  const { outcomes } = await waitOutcomes(runtime.database.pool, { scanIds: [body.scanId] }, deadline);
  const outcome = outcomes.get(body.scanId);
  if (!outcome) unfinished.push('upload-time check: its scan was not recorded');
  else if (!isSettled(outcome)) unfinished.push(`upload-time check: ${pendingStep(outcome)}`);
  return { of: original.name, answer: body.verdict, reused: body.reused ?? false, ms, ...(outcome ?? { scanId: body.scanId, verdict: 'none' as const }) };
}

async function retroCatch(
  ctx: ScenarioContext,
  scenario: DemoScenario,
  targets: Target[],
  lists: ImportedList[],
  deadline: number,
  unfinished: string[],
): Promise<DemoSummary['retro']> {
  const pool = ctx.runtime.database.pool;
  const pdq = lists.find((l) => l.kind === 'pdq')!;
  const readsBefore = ctx.reads.count();
  const version = await importVersion(pool, 'pdq', [{ hash: await hashOf(scenario.retro.bytes, 'pdq'), id: scenario.retro.entryId }], ctx.config.home);
  pdq.versions.push(version);
  // The hashlists role picks hashlist.updated.v1 from the outbox and runs the retro-match.
  for (;;) {
    if (await retroRunsDone(pool, [[pdq.name, version.version]])) break;
    if (Date.now() > deadline) {
      unfinished.push(`retro-match of ${pdq.name} v${version.version}: not done`);
      return null;
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  const objectReads = ctx.reads.count() - readsBefore;
  const { rows } = await pool.query<{ added: number; scanned: string; ms: number }>(
    `SELECT added, scanned, round(extract(epoch FROM finished_at - started_at) * 1000)::int AS ms FROM retro_runs WHERE list_id = $1 AND version = $2`,
    [pdq.name, version.version],
  );
  const run = rows[0]!;
  const matches = await retroMatchesOf(pool, pdq.name, version.version);
  const { outcomes } = await waitOutcomes(pool, { matchIds: matches.map((m) => m.matchId) }, deadline);
  const caught = matches.map((m) => {
    const target = targets.find((x) => `${ctx.config.uploadBucket}/${x.key}` === m.object);
    const outcome = outcomes.get(m.matchId);
    const name = target?.upload.name ?? m.object;
    if (!outcome) unfinished.push(`retro catch ${name}: no scan recorded`);
    else if (!isSettled(outcome)) unfinished.push(`retro catch ${name}: ${pendingStep(outcome)}`);
    return { name, ...(outcome ?? { scanId: '', verdict: 'none' as const }) };
  });
  if (!caught.some((c) => c.name === scenario.retro.target)) unfinished.push(`retro-match: ${scenario.retro.target} was not caught`);
  return { list: pdq.name, version: version.version, added: run.added, storedHashesChecked: Number(run.scanned), ms: run.ms, objectReads, caught };
}

// ---- serving -------------------------------------------------------------------------------

async function dashboardLine(runtime: Runtime, url: string | undefined): Promise<string> {
  if (!url || !runtime.gatewayUrl) return 'The gateway is not running: no dashboard to serve.\n';
  const page = await fetch(`${runtime.gatewayUrl}/`).then((r) => r.status, () => 0);
  const { metricsUrl } = runtime;
  return (
    `Dashboard: ${url}\n` +
    (page === 200 ? '' : `  (this build's gateway does not serve the dashboard page yet: the API is at ${runtime.gatewayUrl}/docs)\n`) +
    (metricsUrl ? `Metrics: ${metricsUrl}\n` : '') +
    'The demo pipeline keeps running; Ctrl-C stops it.\n'
  );
}

function parsePort(value: string): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n < 0 || n > 65535) throw new InvalidArgumentError(`expected a port number, got "${value}"`);
  return n;
}

function parsePositive(value: string): number {
  const n = Number(value);
  if (!Number.isFinite(n) || n <= 0) throw new InvalidArgumentError(`expected a positive number, got "${value}"`);
  return n;
}

