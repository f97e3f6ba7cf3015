// infra/ checked statically, since no Docker engine or Kubernetes cluster runs in CI: every YAML
// and JSON file parses; yamllint and promtool (config, rules, rule unit tests) pass; the compose
// file and the Kubernetes manifests give each Vigil container an environment the runtime's own
// loader accepts, naming only variables the runtime reads; every metric and label the alerts, the
// Grafana board and the autoscalers use exists in the metrics catalogue; topics and consumer
// groups match the event catalog and the services; manifests carry images, resources, probes and
// a non-root, read-only security context. Linters that are not installed skip loudly, and fail
// under REQUIRE_INTEGRATION=1.

import { execFile, spawnSync } from 'node:child_process';
import { chmod, copyFile, mkdtemp, readFile, writeFile } from 'node:fs/promises';
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';
import { parse as parseYaml, parseAllDocuments } from 'yaml';
import { CONSUMER as ACTIONER_CONSUMER } from '@vigil/actioner';
import { dlqTopic } from '@vigil/bus';
import { loadRuntimeConfig, ROLES } from '@vigil/cli';
import { EVENT_TYPES } from '@vigil/events';
import { PRESERVE_CONSUMER, RECEIPT_CONSUMER } from '@vigil/evidence';
import { parseTokens } from '@vigil/gateway';
import { RETRO_CONSUMER } from '@vigil/hashlists';
import { createMetrics } from '@vigil/observability';
import { REPORTER_CONSUMER } from '@vigil/reporter';
import { BULK_CONSUMER, LIVE_CONSUMER, loadScannerConfig } from '@vigil/scanner';
import { integrationRequired, unavailable } from '@vigil/testkit/services';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const infra = join(root, 'infra');
const exec = promisify(execFile);

type Json = null | boolean | number | string | Json[] | { [key: string]: Json };
type Obj = Record<string, unknown>;

const read = (path: string) => readFileSync(join(root, path), 'utf8');
const yamlFile = (path: string) => parseYaml(read(path), { merge: true }) as Obj;
const yamlDocs = (path: string) => parseAllDocuments(read(path), { merge: true }).map((d) => d.toJS() as Obj).filter(Boolean);
const obj = (value: unknown): Obj => (value && typeof value === 'object' && !Array.isArray(value) ? (value as Obj) : {});
const arr = (value: unknown): unknown[] => (Array.isArray(value) ? value : []);
const str = (value: unknown): string => (typeof value === 'string' ? value : value === undefined || value === null ? '' : String(value));

function walk(dir: string, skip: (path: string) => boolean): string[] {
  return readdirSync(dir).flatMap((name) => {
    const path = join(dir, name);
    if (skip(path)) return [];
    return statSync(path).isDirectory() ? walk(path, skip) : [path];
  });
}
const infraFiles = walk(infra, (p) => p.endsWith('kafka-mock') || p.includes('node_modules'));

/** The binary if installed; otherwise a loud banner, or null with REQUIRE_INTEGRATION=1 (the tests then fail). */
function tool(name: string, install: string): { path: string | null; run: boolean } {
  const found = spawnSync('sh', ['-c', `command -v ${name}`], { encoding: 'utf8' }).stdout.trim();
  if (found) return { path: found, run: true };
  if (integrationRequired()) return { path: null, run: true };
  unavailable(`test/infra.test.ts: ${name} checks`, `${name} is not installed (${install})`);
  return { path: null, run: false };
}
function need(binary: { path: string | null }, name: string): string {
  if (!binary.path) throw new Error(`REQUIRE_INTEGRATION=1 and ${name} is not installed`);
  return binary.path;
}
const promtool = tool('promtool', 'Debian package prometheus');
const yamllint = tool('yamllint', 'Debian package yamllint');
// kubectl renders kustomizations; no Debian package ships it, so it is used where present only.
const kubectl = spawnSync('sh', ['-c', 'command -v kubectl'], { encoding: 'utf8' }).stdout.trim() || null;
if (!kubectl) process.stderr.write('\n!! test/infra.test.ts: kubectl not installed: kustomize rendering checks skipped (the file-level checks still run)\n');

// ---------------------------------------------------------------------------------------------
// What the code defines: metrics, environment variables, topics, consumer groups.

const catalogue = await (async () => {
  const metrics = createMetrics({ processMetrics: true });
  // The pipeline gauges join the registry in the process that watches the pipeline (the gateway role).
  metrics.watchPipeline(async () => ({ reportQueue: {}, evidenceQueue: {}, quarantineActive: 0, outboxBacklog: 0, outboxOldestSeconds: 0, consumerLag: [], dlqDepth: [] }));
  const families = new Map<string, { type: string; labels: string[] }>();
  for (const metric of metrics.registry.getMetricsAsArray()) {
    const m = metric as unknown as { name: string; labelNames?: string[]; constructor: { name: string } };
    families.set(m.name, { type: m.constructor.name, labels: [...(m.labelNames ?? [])] });
  }
  const json = (await metrics.registry.getMetricsAsJSON()) as unknown as Array<{ name: string; type: string }>;
  /** Series names as Prometheus stores them: histograms as _bucket, _sum, _count. */
  const series = new Map<string, { family: string; labels: string[] }>();
  for (const { name, type } of json) {
    const labels = families.get(name)?.labels ?? [];
    if (type === 'histogram') {
      series.set(`${name}_bucket`, { family: name, labels: [...labels, 'le'] });
      series.set(`${name}_sum`, { family: name, labels });
      series.set(`${name}_count`, { family: name, labels });
    } else if (type === 'summary') {
      series.set(name, { family: name, labels: [...labels, 'quantile'] });
      series.set(`${name}_sum`, { family: name, labels });
      series.set(`${name}_count`, { family: name, labels });
    } else {
      series.set(name, { family: name, labels });
    }
  }
  // Prometheus's own series for every target.
  series.set('up', { family: 'up', labels: [] });
  return { families, series, vigilFamilies: [...families.keys()].filter((n) => n.startsWith('vigil_')) };
})();
/** Labels Prometheus attaches to every Vigil target (compose relabelling, the ServiceMonitor, pod discovery). */
const TARGET_LABELS = ['job', 'instance', 'role', 'namespace', 'pod'];

/**
 * Every environment variable the runtime reads: the keys of the runtime's zod schema
 * (services/cli/src/runtime/config.ts) and every `env.NAME` / `env['NAME']` / `{ NAME: x } = env`
 * read in the services' and libraries' sources. Derived from the code, so a variable the code
 * stops reading fails here.
 */
const runtimeEnv = (() => {
  const names = new Set<string>();
  const sources = [...walk(join(root, 'services'), skipNonSource), ...walk(join(root, 'libs'), (p) => skipNonSource(p) || p.includes('/testkit'))]
    .filter((p) => p.endsWith('.ts') && !/\.(test|contract|bench)\.ts$|\.int\.test\.ts$/.test(p) && p.includes('/src/'));
  for (const file of sources) {
    const text = readFileSync(file, 'utf8');
    for (const m of text.matchAll(/\benv\??\.([A-Z][A-Z0-9_]+)/g)) names.add(m[1]!);
    for (const m of text.matchAll(/\benv\[['"]([A-Z][A-Z0-9_]+)['"]\]/g)) names.add(m[1]!);
    for (const m of text.matchAll(/\{([^{}]*)\}\s*=\s*(?:process\.)?env\b/g)) for (const n of m[1]!.matchAll(/\b([A-Z][A-Z0-9_]+)\b/g)) names.add(n[1]!);
    if (file.endsWith('runtime/config.ts')) for (const m of text.matchAll(/^\s+([A-Z][A-Z0-9_]+): z\./gm)) names.add(m[1]!);
  }
  return names;
})();
function skipNonSource(path: string): boolean {
  return /node_modules|\/dist$|\/bench$/.test(path);
}

const topicsFile = (path: string) =>
  read(path)
    .split('\n')
    .map((line) => line.trim())
    .filter((line) => line && !line.startsWith('#'))
    .map((line) => {
      const [name, partitions, retentionHours] = line.split(/\s+/);
      return { name: name!, partitions: Number(partitions), retentionHours: Number(retentionHours) };
    });
const topics = topicsFile('infra/kafka/topics.txt');
const partitionsOf = (topic: string) => topics.find((t) => t.name === topic)?.partitions ?? 0;

/** The scanner's subscriptions as its source makes them (topic literal, group constant). */
const SCANNER_GROUPS: Record<string, string> = { LIVE_CONSUMER, BULK_CONSUMER };
const scannerSubscriptions = [...read('services/scanner/src/scanner-service.ts').matchAll(/topic: '([^']+)', group: (\w+|'[^']+')/g)].map((m) => ({
  topic: m[1]!,
  group: m[2]!.startsWith("'") ? m[2]!.slice(1, -1) : (SCANNER_GROUPS[m[2]!] ?? `unknown constant ${m[2]}`),
}));
const consumerGroups = new Set([...scannerSubscriptions.map((s) => s.group), ACTIONER_CONSUMER, PRESERVE_CONSUMER, RECEIPT_CONSUMER, REPORTER_CONSUMER, RETRO_CONSUMER]);

// ---------------------------------------------------------------------------------------------
// PromQL: the series, labels and literal topic/group values an expression uses.

interface PromqlUse {
  metrics: string[];
  /** Label matchers per selector, with the metric they apply to (undefined: a bare `{...}`). */
  matchers: Array<{ metric: string | undefined; label: string; op: string; value: string }>;
  groupingLabels: string[];
}
const PROMQL_KEYWORDS = new Set(['and', 'or', 'unless', 'by', 'without', 'on', 'ignoring', 'group_left', 'group_right', 'bool', 'offset', 'atan2', 'inf', 'nan']);

function promql(expr: string): PromqlUse {
  const matchers: PromqlUse['matchers'] = [];
  const metrics: string[] = [];
  for (const m of expr.matchAll(/([a-zA-Z_:][a-zA-Z0-9_:]*)?\s*\{([^}]*)\}/g)) {
    const metric = m[1] && !PROMQL_KEYWORDS.has(m[1]) ? m[1] : undefined;
    for (const l of m[2]!.matchAll(/([a-zA-Z_][a-zA-Z0-9_]*)\s*(=~|!~|!=|=)\s*"([^"]*)"/g)) matchers.push({ metric, label: l[1]!, op: l[2]!, value: l[3]! });
  }
  const groupingLabels: string[] = [];
  for (const m of expr.matchAll(/\b(?:by|without|on|ignoring|group_left|group_right)\s*\(([^)]*)\)/g)) {
    groupingLabels.push(...m[1]!.split(',').map((s) => s.trim()).filter(Boolean));
  }
  const stripped = expr
    .replace(/"[^"]*"/g, '""')
    .replace(/\{[^}]*\}/g, ' ')
    .replace(/\[[^\]]*\]/g, ' ')
    .replace(/\b(?:by|without|on|ignoring|group_left|group_right)\s*\([^)]*\)/g, ' ');
  for (const m of stripped.matchAll(/(?<![\w.$])([a-zA-Z_:][a-zA-Z0-9_:]*)(\s*\()?/g)) {
    if (m[2] || PROMQL_KEYWORDS.has(m[1]!)) continue;
    metrics.push(m[1]!);
  }
  return { metrics, matchers, groupingLabels };
}

/** Problems with one expression against the catalogue (empty: fine). */
function promqlProblems(where: string, expr: string): string[] {
  const use = promql(expr);
  const problems: string[] = [];
  if (use.metrics.length === 0) problems.push(`${where}: no metric in ${expr}`);
  const labelsOf = (metric: string) => catalogue.series.get(metric)?.labels ?? [];
  for (const metric of use.metrics) if (!catalogue.series.has(metric)) problems.push(`${where}: unknown metric ${metric}`);
  for (const { metric, label, op, value } of use.matchers) {
    const known = metric ? labelsOf(metric) : use.metrics.flatMap(labelsOf);
    if (!known.includes(label) && !TARGET_LABELS.includes(label)) problems.push(`${where}: ${metric ?? 'selector'} has no label ${label}`);
    // Literal values (`=`, `!=`, and each alternative of a `=~` list) must name real things: a
    // typo would select nothing, or exclude nothing. `label!=""` only asks that the label be set.
    if (value === '' || op === '!~') continue;
    const values = op === '=~' ? value.split('|') : [value];
    for (const v of values) {
      if (label === 'topic' && !topics.some((t) => t.name === v)) problems.push(`${where}: topic ${v} is not a Vigil topic`);
      if (label === 'group' && !consumerGroups.has(v)) problems.push(`${where}: group ${v} is not a consumer group of the services`);
      if (label === 'job' && v !== 'vigil') problems.push(`${where}: job ${v} (Vigil targets are job="vigil")`);
      if (label === 'role' && !(ROLES as readonly string[]).includes(v)) problems.push(`${where}: role ${v} is not a Vigil role`);
    }
  }
  const usable = new Set([...use.metrics.flatMap(labelsOf), ...TARGET_LABELS]);
  for (const label of use.groupingLabels) if (!usable.has(label)) problems.push(`${where}: grouping by ${label}, which none of ${use.metrics.join(', ')} has`);
  return problems;
}

const alertsDoc = yamlFile('infra/prometheus/alerts.yml');
const alertRules = arr(alertsDoc.groups).flatMap((g) => arr(obj(g).rules).map(obj));
const dashboard = JSON.parse(read('infra/grafana/dashboards/vigil.json')) as Obj;
const dashboardPanels = arr(dashboard.panels).map(obj);

// ---------------------------------------------------------------------------------------------
// Compose: interpolation as `docker compose` does it, with an empty shell environment.

function interpolate(value: string): string {
  return value.replace(/\$\$|\$\{([A-Z0-9_]+)(?:(:?[-?])([^}]*))?\}/g, (match, name: string | undefined, op: string | undefined, arg: string | undefined) => {
    if (match === '$$') return '$';
    if (op === ':?' || op === '?') throw new Error(`compose needs ${name} set: ${arg}`);
    return arg ?? '';
  });
}
const compose = yamlFile('infra/docker-compose.yml');
const services = obj(compose.services);
const vigilServices = Object.entries(services).filter(([, s]) => str(obj(obj(s).build).dockerfile) === 'infra/Dockerfile');
function composeEnv(service: Obj): Record<string, string> {
  const env: Record<string, string> = {};
  for (const [key, value] of Object.entries(obj(service.environment))) {
    if (value === null || value === undefined) continue; // passed through from the shell when set there
    env[key] = interpolate(String(value));
  }
  return env;
}

// ---------------------------------------------------------------------------------------------
// Kubernetes: the base as kustomize would load it (resources, generators' names, namespace).

function kustomizeResources(dir: string): Obj[] {
  const k = yamlFile(join(dir, 'kustomization.yaml'));
  return arr(k.resources).flatMap((r) => {
    const path = join(dir, str(r));
    return existsSync(join(root, path, 'kustomization.yaml')) ? kustomizeResources(path) : yamlDocs(path);
  });
}
const base = kustomizeResources('infra/k8s/base');
const byKind = (docs: Obj[], kind: string) => docs.filter((d) => d.kind === kind);
const named = (docs: Obj[], kind: string, name: string) => docs.find((d) => d.kind === kind && obj(d.metadata).name === name);

function containerEnv(docs: Obj[], container: Obj): Record<string, string> {
  const env: Record<string, string> = {};
  for (const source of arr(container.envFrom).map(obj)) {
    const cm = named(docs, 'ConfigMap', str(obj(source.configMapRef).name));
    const secret = named(docs, 'Secret', str(obj(source.secretRef).name));
    if (source.configMapRef) expect(cm, `ConfigMap ${str(obj(source.configMapRef).name)}`).toBeDefined();
    Object.assign(env, obj(cm?.data), obj(secret?.stringData));
  }
  for (const entry of arr(container.env).map(obj)) {
    const name = str(entry.name);
    if ('value' in entry) env[name] = str(entry.value);
    const from = obj(entry.valueFrom);
    const secretRef = obj(from.secretKeyRef);
    const cmRef = obj(from.configMapKeyRef);
    if (from.secretKeyRef) {
      const value = obj(named(docs, 'Secret', str(secretRef.name))?.stringData)[str(secretRef.key)];
      if (value === undefined && secretRef.optional !== true) throw new Error(`${name}: secret key ${str(secretRef.name)}/${str(secretRef.key)} does not exist`);
      if (value !== undefined) env[name] = str(value);
    }
    if (from.configMapKeyRef) {
      const value = obj(named(docs, 'ConfigMap', str(cmRef.name))?.data)[str(cmRef.key)];
      if (value === undefined) throw new Error(`${name}: ConfigMap key ${str(cmRef.name)}/${str(cmRef.key)} does not exist`);
      env[name] = str(value);
    }
  }
  return env;
}

/** The runtime's own checks of one Vigil container's environment; returns the parsed config. */
function expectRuntimeEnv(where: string, env: Record<string, string>, role: string) {
  const unknown = Object.keys(env).filter((k) => !runtimeEnv.has(k));
  expect(unknown, `${where}: variables the runtime never reads`).toEqual([]);
  const config = loadRuntimeConfig(env);
  // Without these three the process would silently fall back to the embedded default.
  expect(config.kafka, `${where}: KAFKA_BROKERS`).toBeDefined();
  expect(config.kafka!.brokers.length, `${where}: KAFKA_BROKERS`).toBeGreaterThan(0);
  expect(config.s3?.endpoint, `${where}: S3_ENDPOINT`).toMatch(/^https?:\/\//);
  expect(config.s3?.credentials, `${where}: S3 credentials`).toBeDefined();
  expect(config.databaseUrl, `${where}: DATABASE_URL`).toMatch(/^postgres(ql)?:\/\//);
  expect(config.kafka?.clientId, `${where}: KAFKA_CLIENT_ID names the role`).toBe(`vigil-${role}`);
  // The metrics listener must answer from outside the container, on the port Prometheus scrapes.
  expect(config.metrics, `${where}: VIGIL_METRICS_HOST / VIGIL_METRICS_PORT`).toEqual({ host: '0.0.0.0', port: 9464 });
  expect(config.home, `${where}: VIGIL_HOME`).toBe('/var/lib/vigil');
  if (role === 'scanner' || role === 'gateway') loadScannerConfig(env);
  if (role === 'gateway') {
    expect(config.gateway.host, `${where}: the gateway listens on every interface`).toBe('0.0.0.0');
    if (config.gateway.tokens) parseTokens(config.gateway.tokens);
  }
  if (role === 'reporter' && config.reports.sink.kind === 'outbox') expect(config.reports.sink.dir.startsWith(config.home), `${where}: the outbox lives on the writable volume`).toBe(true);
  return config;
}

// =============================================================================================

describe('infra files parse', () => {
  it('every YAML and JSON file under infra/ (kafka-mock aside) parses without errors or warnings', () => {
    const yamls = infraFiles.filter((p) => /\.ya?ml$/.test(p) || p.endsWith('.yamllint'));
    const jsons = infraFiles.filter((p) => p.endsWith('.json'));
    expect(yamls.length).toBeGreaterThanOrEqual(25);
    expect(jsons.length).toBeGreaterThanOrEqual(2);
    for (const path of yamls) {
      for (const doc of parseAllDocuments(readFileSync(path, 'utf8'), { merge: true })) {
        expect([...doc.errors, ...doc.warnings].map((e) => e.message), relative(root, path)).toEqual([]);
      }
    }
    for (const path of jsons) expect(() => JSON.parse(readFileSync(path, 'utf8')), relative(root, path)).not.toThrow();
  });
});

describe.skipIf(!yamllint.run)('yamllint', () => {
  it('passes on infra/ with infra/.yamllint, warnings included', async () => {
    const result = spawnSync(need(yamllint, 'yamllint'), ['--strict', '-f', 'parsable', '-c', join(infra, '.yamllint'), infra], { encoding: 'utf8' });
    expect(result.stdout + result.stderr).toBe('');
    expect(result.status).toBe(0);
  });

  it('would fail on a real problem (the linter and its config are live)', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'vigil-yamllint-'));
    await writeFile(join(dir, 'bad.yml'), 'a: 1\na: 2\nflag: yes\n');
    const result = spawnSync(need(yamllint, 'yamllint'), ['--strict', '-f', 'parsable', '-c', join(infra, '.yamllint'), dir], { encoding: 'utf8' });
    expect(result.status).not.toBe(0);
    expect(result.stdout).toMatch(/key-duplicates/);
    expect(result.stdout).toMatch(/truthy/);
  });
});

describe.skipIf(!promtool.run)('promtool', () => {
  it('check config: the compose Prometheus config and the rule file it loads', async () => {
    const { stdout } = await exec(need(promtool, 'promtool'), ['check', 'config', join(infra, 'prometheus/prometheus.yml')]);
    expect(stdout).toMatch(/SUCCESS: 1 rule files found/);
    expect(stdout).toMatch(/is valid prometheus config file syntax/);
  });

  it('check config: the Kubernetes scrape config (discovery swapped for a static target when this promtool lacks it)', async () => {
    const path = join(infra, 'prometheus/prometheus-kubernetes.yml');
    const direct = spawnSync(need(promtool, 'promtool'), ['check', 'config', path], { encoding: 'utf8' });
    if (direct.status === 0) return;
    // Debian builds Prometheus without Kubernetes discovery; everything else is still checked.
    expect(direct.stdout + direct.stderr).toMatch(/field kubernetes_sd_configs not found/);
    const dir = await mkdtemp(join(tmpdir(), 'vigil-promtool-'));
    const text = readFileSync(path, 'utf8').replace(/kubernetes_sd_configs:\n(?:\s{6,}.*\n)+/, 'static_configs:\n      - targets: ["vigil-pod:9464"]\n');
    expect(text).not.toMatch(/kubernetes_sd_configs/);
    await writeFile(join(dir, 'prometheus.yml'), text);
    await copyFile(join(infra, 'prometheus/alerts.yml'), join(dir, 'alerts.yml'));
    const { stdout } = await exec(need(promtool, 'promtool'), ['check', 'config', join(dir, 'prometheus.yml')]);
    expect(stdout).toMatch(/is valid prometheus config file syntax/);
  });

  it('check rules: alerts.yml', async () => {
    const { stdout } = await exec(need(promtool, 'promtool'), ['check', 'rules', join(infra, 'prometheus/alerts.yml')]);
    expect(stdout).toMatch(new RegExp(`SUCCESS: ${alertRules.length} rules found`));
  });

  it('test rules: every alert fires on its fixture and stays quiet otherwise (alerts.test.yml)', async () => {
    const tests = arr(yamlFile('infra/prometheus/alerts.test.yml').tests).map(obj);
    const tested = new Set(tests.flatMap((t) => arr(t.alert_rule_test).map((a) => str(obj(a).alertname))));
    const firing = new Set(tests.flatMap((t) => arr(t.alert_rule_test).filter((a) => arr(obj(a).exp_alerts).length > 0).map((a) => str(obj(a).alertname))));
    // The rules without a fixture yet are named here, so adding a rule without a test shows.
    const untested = alertRules.map((r) => str(r.alert)).filter((a) => !firing.has(a));
    expect(untested.sort()).toEqual(['VigilConsumerLagGrowing', 'VigilListEntriesSuspended', 'VigilLiveLatencyHigh', 'VigilReportFilingFailures'].sort());
    expect(tested.size).toBeGreaterThanOrEqual(14);
    const result = spawnSync(need(promtool, 'promtool'), ['test', 'rules', join(infra, 'prometheus/alerts.test.yml')], { encoding: 'utf8' });
    expect(result.stdout + result.stderr).toMatch(/SUCCESS/);
    expect(result.status).toBe(0);
  });
});

describe('alert rules', () => {
  it('cover the issue\'s cases, each with for:, a severity and a runbook-style description', () => {
    const names = alertRules.map((r) => str(r.alert));
    for (const wanted of ['VigilLiveLaneLagGrowing', 'VigilDeadLetterQueueNotEmpty', 'VigilUnscannableSpike', 'VigilReportHeld', 'VigilEvidenceFailures', 'VigilOutboxBacklogStuck', 'VigilScannerDown', 'VigilListNotLoaded']) {
      expect(names).toContain(wanted);
    }
    expect(new Set(names).size).toBe(names.length);
    const readme = read('infra/README.md');
    const anchors = new Set([...readme.matchAll(/^#+\s+(.+)$/gm)].map((m) => m[1]!.toLowerCase().replace(/[^a-z0-9 -]/g, '').replace(/ /g, '-')));
    for (const rule of alertRules) {
      const where = str(rule.alert);
      expect(rule.for, where).toMatch(/^\d+[smh]$/);
      expect(['critical', 'warning', 'info'], where).toContain(obj(rule.labels).severity);
      const annotations = obj(rule.annotations);
      expect(str(annotations.summary).length, where).toBeGreaterThan(10);
      expect(str(annotations.description).length, where).toBeGreaterThan(80);
      const runbook = str(annotations.runbook);
      expect(runbook, where).toMatch(/^infra\/README\.md#/);
      expect(anchors.has(runbook.split('#')[1]!), `${where}: README has a heading for ${runbook}`).toBe(true);
      expect(readme, `${where} is listed in the README`).toContain(where);
    }
  });

  it('use only metrics and labels of the catalogue, Vigil topics and the services\' consumer groups', () => {
    const problems = alertRules.flatMap((r) => promqlProblems(str(r.alert), str(r.expr)));
    expect(problems).toEqual([]);
  });

  it('take max() over the gateway-exported pipeline gauges, never sum() (each gateway replica reports them)', () => {
    const gauges = ['vigil_consumer_lag', 'vigil_dlq_depth', 'vigil_report_queue', 'vigil_evidence_queue', 'vigil_outbox_backlog', 'vigil_outbox_oldest_seconds', 'vigil_quarantine_active'];
    const exprs = [...alertRules.map((r) => str(r.expr)), ...dashboardPanels.flatMap((p) => arr(p.targets).map((t) => str(obj(t).expr)))];
    for (const expr of exprs) {
      for (const gauge of gauges) expect(expr, expr).not.toMatch(new RegExp(`sum(?: by \\([^)]*\\))? \\((?:[a-z]+\\()?${gauge}\\b`));
    }
  });

  it('the Prometheus Operator copy equals alerts.yml, byte for byte what its generator writes', async () => {
    const rule = yamlDocs('infra/k8s/components/prometheus-operator/prometheusrule.yaml')[0]!;
    expect(rule.kind).toBe('PrometheusRule');
    expect(obj(rule.spec).groups).toEqual(alertsDoc.groups);
    const out = join(await mkdtemp(join(tmpdir(), 'vigil-rule-')), 'rule.yaml');
    await exec(process.execPath, [join(infra, 'prometheus/write-prometheusrule.mjs'), out]);
    expect(await readFile(out, 'utf8')).toBe(read('infra/k8s/components/prometheus-operator/prometheusrule.yaml'));
  });

  it('the PromQL checker catches unknown metrics, labels, topics and groups', () => {
    expect(promqlProblems('x', 'sum(rate(vigil_scans_total{verdict="clean"}[5m]))')).toEqual([]);
    expect(promqlProblems('x', 'rate(vigil_scan_total[5m])')).toEqual(['x: unknown metric vigil_scan_total']);
    expect(promqlProblems('x', 'vigil_scans_total{stage="hash"}')).toEqual(['x: vigil_scans_total has no label stage']);
    expect(promqlProblems('x', 'vigil_consumer_lag{topic="uploads"}')).toEqual(['x: topic uploads is not a Vigil topic']);
    expect(promqlProblems('x', 'vigil_consumer_lag{group="scanners"}')).toEqual(['x: group scanners is not a consumer group of the services']);
    expect(promqlProblems('x', 'sum by (reason) (vigil_scans_total)')).toEqual(['x: grouping by reason, which none of vigil_scans_total has']);
    expect(promqlProblems('x', 'histogram_quantile(0.9, sum by (le) (rate(vigil_scan_stage_seconds_bucket[1m])))')).toEqual([]);
    expect(promqlProblems('x', 'histogram_quantile(0.9, rate(vigil_scan_stage_seconds[1m]))')).toEqual(['x: unknown metric vigil_scan_stage_seconds']);
  });
});

describe('Grafana', () => {
  const datasources = arr(yamlFile('infra/grafana/provisioning/datasources/prometheus.yml').datasources).map(obj);
  const uid = str(datasources[0]?.uid);

  it('provisions the Prometheus of compose and the dashboards directory compose mounts', () => {
    expect(datasources).toHaveLength(1);
    expect(datasources[0]!.type).toBe('prometheus');
    const url = new URL(str(datasources[0]!.url));
    expect(Object.keys(services)).toContain(url.hostname);
    expect(arr(obj(services[url.hostname]).ports).map(str)).toContain(`${url.port}:${url.port}`);
    const provider = obj(arr(yamlFile('infra/grafana/provisioning/dashboards/vigil.yml').providers)[0]);
    const mounts = arr(obj(services.grafana).volumes).map(str);
    expect(mounts).toContain(`./grafana/dashboards:${str(obj(provider.options).path)}:ro`);
    expect(mounts).toContain('./grafana/provisioning:/etc/grafana/provisioning:ro');
  });

  it('the board: unique ids, a tidy 24-column grid, every query on the provisioned datasource', () => {
    expect(dashboard.uid).toBe('vigil-overview');
    const ids = dashboardPanels.map((p) => p.id);
    expect(new Set(ids).size).toBe(ids.length);
    const cells = new Set<string>();
    for (const panel of dashboardPanels) {
      const { x, y, w, h } = obj(panel.gridPos) as { x: number; y: number; w: number; h: number };
      expect(x + w, str(panel.title)).toBeLessThanOrEqual(24);
      for (let i = x; i < x + w; i++) for (let j = y; j < y + h; j++) {
        expect(cells.has(`${i},${j}`), `${str(panel.title)} overlaps another panel`).toBe(false);
        cells.add(`${i},${j}`);
      }
      if (panel.type === 'row') continue;
      expect(str(panel.title).length).toBeGreaterThan(2);
      expect(obj(panel.datasource).uid, str(panel.title)).toBe(uid);
      const targets = arr(panel.targets).map(obj);
      expect(targets.length, str(panel.title)).toBeGreaterThan(0);
      expect(new Set(targets.map((t) => t.refId)).size).toBe(targets.length);
      for (const target of targets) expect(obj(target.datasource).uid).toBe(uid);
    }
  });

  it('never shows an image: no image panel, no <img>, no data URL', () => {
    const text = read('infra/grafana/dashboards/vigil.json');
    expect(text).not.toMatch(/<img|data:image|\.png|\.jpe?g|base64/i);
    for (const panel of dashboardPanels) expect(['image', 'text', 'news', 'dynamictext', 'marcusolsson-dynamictext-panel']).not.toContain(panel.type);
  });

  it('uses only catalogue metrics and labels, and shows every Vigil series family', () => {
    const exprs = dashboardPanels.flatMap((p) => arr(p.targets).map((t) => ({ where: str(p.title), expr: str(obj(t).expr) })));
    expect(exprs.flatMap(({ where, expr }) => promqlProblems(where, expr))).toEqual([]);
    const used = new Set(exprs.flatMap(({ expr }) => promql(expr).metrics.map((m) => catalogue.series.get(m)?.family ?? m)));
    expect(catalogue.vigilFamilies.filter((f) => !used.has(f)), 'catalogue series missing from the board').toEqual([]);
    // The stage latency percentiles come from the per-stage histogram.
    expect(exprs.some(({ expr }) => /histogram_quantile\(0\.95, sum by \(le, stage\) \(rate\(vigil_scan_stage_seconds_bucket/.test(expr))).toBe(true);
  });

  it('has the sections of the built-in dashboard', () => {
    const titles = dashboardPanels.map((p) => str(p.title));
    for (const wanted of ['Scans per second by verdict', 'Verdict mix over the range', 'Stage latency (p50, p95, p99)', 'Upload to verdict (p50, p95, p99)', 'Consumer lag per lane and group', 'Matches per list', 'Unscannable by reason', 'Reports', 'Evidence', 'Loaded lists', 'Retro-matches per list', 'Dead letters', 'Outbox']) {
      expect(titles).toContain(wanted);
    }
  });
});

describe('topics and consumer groups', () => {
  it('topics.txt holds exactly the event catalog and its dead-letter topics', () => {
    const expected = [...EVENT_TYPES, ...EVENT_TYPES.map((t) => dlqTopic(t))].sort();
    expect(topics.map((t) => t.name).sort()).toEqual(expected);
    for (const t of topics) {
      expect(Number.isInteger(t.partitions) && t.partitions > 0, t.name).toBe(true);
      expect(t.retentionHours, t.name).toBeGreaterThanOrEqual(24);
    }
  });

  it('the live lane has more partitions than the bulk lane, and as many as the autoscalers allow', () => {
    const live = partitionsOf('upload.received.v1');
    expect(live).toBeGreaterThan(partitionsOf('rescan.requested.v1'));
    const scaled = yamlDocs('infra/k8s/components/keda/scaledobject.yaml')[0]!;
    expect(obj(scaled.spec).maxReplicaCount).toBe(live);
    const hpa = yamlDocs('infra/k8s/components/hpa-prometheus-adapter/hpa.yaml')[0]!;
    expect(obj(hpa.spec).maxReplicas).toBe(live);
    const readme = read('infra/README.md');
    expect(readme).toContain('--scale scanner=N');
    expect(readme).toContain(`N ≤ ${live}`);
    expect(readme).toContain(`${live} partitions`);
  });

  it('the Kubernetes topic Job uses identical copies of topics.txt and create-topics.sh', () => {
    expect(read('infra/k8s/base/kafka-topics/topics.txt')).toBe(read('infra/kafka/topics.txt'));
    expect(read('infra/k8s/base/kafka-topics/create-topics.sh')).toBe(read('infra/kafka/create-topics.sh'));
  });

  it('the KEDA triggers and the HPA metrics name the scanner\'s own consumer groups and topics', () => {
    expect(scannerSubscriptions).toEqual([
      { topic: 'upload.received.v1', group: 'scanner' },
      { topic: 'rescan.requested.v1', group: 'scanner-bulk' },
    ]);
    const scaled = yamlDocs('infra/k8s/components/keda/scaledobject.yaml')[0]!;
    const triggers = arr(obj(scaled.spec).triggers).map(obj);
    expect(triggers.map((t) => t.type)).toEqual(['kafka', 'kafka']);
    expect(triggers.map((t) => ({ topic: obj(t.metadata).topic, group: obj(t.metadata).consumerGroup }))).toEqual(scannerSubscriptions);
    for (const t of triggers) {
      const env = obj(t.metadata).bootstrapServersFromEnv;
      expect(obj(named(base, 'ConfigMap', 'vigil-config')?.data)[str(env)], 'the broker variable exists in vigil-config').toBeDefined();
      expect(obj(t.metadata).allowIdleConsumers).toBe('false');
    }
    const hpa = yamlDocs('infra/k8s/components/hpa-prometheus-adapter/hpa.yaml')[0]!;
    const metrics = arr(obj(hpa.spec).metrics).map((m) => obj(obj(obj(m).external).metric));
    expect(metrics.map((m) => m.name)).toEqual(['vigil_consumer_lag', 'vigil_consumer_lag']);
    expect(metrics.map((m) => obj(obj(m.selector).matchLabels))).toEqual(scannerSubscriptions.map(({ topic, group }) => ({ topic, group })));
    const adapter = obj(obj(yamlFile('infra/k8s/components/hpa-prometheus-adapter/prometheus-adapter-rules.yaml').rules));
    const rule = obj(arr(adapter.external)[0]);
    expect(promqlProblems('adapter seriesQuery', str(rule.seriesQuery))).toEqual([]);
    expect(obj(rule.name).as).toBe('vigil_consumer_lag');
    expect(str(rule.metricsQuery)).toMatch(/^max by \(topic, group\)/);
  });

  it('create-topics.sh creates each topic with its partitions, replication and retention, and raises partitions only when allowed', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'vigil-topics-'));
    const log = join(dir, 'calls.log');
    // A stand-in for kafka-topics.sh: logs its arguments; --describe reports 2 partitions for
    // upload.received.v1 (an older, smaller deployment) and the wanted count for the rest.
    await writeFile(join(dir, 'kafka-topics.sh'), `#!/bin/sh
echo "$*" >> "${log}"
case "$*" in
  *--describe*upload.received.v1\\ *|*--describe*--topic\\ upload.received.v1) echo "Topic: upload.received.v1 TopicId: x PartitionCount: 2 ReplicationFactor: 3" ;;
  *--describe*) echo "Topic: t TopicId: x PartitionCount: 99 ReplicationFactor: 3" ;;
esac
exit 0
`);
    await chmod(join(dir, 'kafka-topics.sh'), 0o755);
    const run = (extra: Record<string, string>) =>
      spawnSync('sh', [join(infra, 'kafka/create-topics.sh')], {
        encoding: 'utf8',
        env: { PATH: process.env.PATH, KAFKA_BIN: dir, TOPICS_FILE: join(infra, 'kafka/topics.txt'), KAFKA_BOOTSTRAP: 'broker:9092', KAFKA_REPLICATION_FACTOR: '3', KAFKA_MIN_INSYNC_REPLICAS: '2', WAIT_SECONDS: '2', ...extra },
      });
    const first = run({});
    expect(first.status, first.stderr).toBe(0);
    expect(first.stdout).toContain(`create-topics: ${topics.length} topics ready`);
    expect(first.stderr).toMatch(/upload\.received\.v1 has 2 partitions, 12 wanted/);
    const calls = (await readFile(log, 'utf8')).trim().split('\n');
    const creates = calls.filter((c) => c.includes('--create'));
    expect(creates).toHaveLength(topics.length);
    for (const t of topics) {
      const call = creates.find((c) => c.includes(`--topic ${t.name} `));
      expect(call, t.name).toBeDefined();
      expect(call).toContain('--bootstrap-server broker:9092');
      expect(call).toContain(`--partitions ${t.partitions} `);
      expect(call).toContain('--replication-factor 3');
      expect(call).toContain(`--config retention.ms=${t.retentionHours * 3_600_000}`);
      expect(call).toContain('--config min.insync.replicas=2');
      expect(call).toContain('--if-not-exists');
    }
    expect(calls.some((c) => c.includes('--alter'))).toBe(false);
    const second = run({ ALLOW_PARTITION_INCREASE: '1' });
    expect(second.status, second.stderr).toBe(0);
    const alters = (await readFile(log, 'utf8')).split('\n').filter((c) => c.includes('--alter'));
    expect(alters).toEqual(['--bootstrap-server broker:9092 --alter --topic upload.received.v1 --partitions 12']);
  });

  it('create-topics.sh fails when Kafka never answers, and on a malformed line', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'vigil-topics-'));
    await writeFile(join(dir, 'kafka-topics.sh'), '#!/bin/sh\nexit 1\n');
    await chmod(join(dir, 'kafka-topics.sh'), 0o755);
    const down = spawnSync('sh', [join(infra, 'kafka/create-topics.sh')], { encoding: 'utf8', env: { PATH: process.env.PATH, KAFKA_BIN: dir, TOPICS_FILE: join(infra, 'kafka/topics.txt'), WAIT_SECONDS: '0' } });
    expect(down.status).not.toBe(0);
    expect(down.stderr).toMatch(/did not answer/);
    await writeFile(join(dir, 'kafka-topics.sh'), '#!/bin/sh\nexit 0\n');
    await writeFile(join(dir, 'topics.txt'), 'upload.received.v1 twelve 168\n');
    const bad = spawnSync('sh', [join(infra, 'kafka/create-topics.sh')], { encoding: 'utf8', env: { PATH: process.env.PATH, KAFKA_BIN: dir, TOPICS_FILE: join(dir, 'topics.txt') } });
    expect(bad.status).not.toBe(0);
    expect(bad.stderr).toMatch(/bad line for topic 'upload.received.v1'/);
  });
});

describe('docker-compose.yml', () => {
  it('runs every role once, each from infra/Dockerfile as `serve --role <role>`', () => {
    const roles = vigilServices.map(([name, s]) => {
      const command = arr(obj(s).command).map(str);
      expect(command.slice(0, 2), name).toEqual(['serve', '--role']);
      expect(command[2], `${name} runs the role it is named after`).toBe(name);
      return command[2];
    });
    expect(roles.sort()).toEqual([...ROLES].sort());
  });

  it('gives each Vigil container an environment the runtime accepts, naming only variables it reads', () => {
    expect(runtimeEnv.size).toBeGreaterThan(40);
    for (const [name, service] of vigilServices) expectRuntimeEnv(`compose ${name}`, composeEnv(obj(service)), name);
  });

  it('the environment check rejects a variable the runtime does not read, and a bad value', () => {
    const [name, service] = vigilServices.find(([n]) => n === 'scanner')!;
    const env = composeEnv(obj(service));
    expect(() => expectRuntimeEnv(name, { ...env, VIGIL_SCANER_LIVE_CONCURRENCY: '4' }, name)).toThrow(/never reads/);
    expect(() => expectRuntimeEnv(name, { ...env, VIGIL_EVIDENCE_RETENTION_DAYS: '30' }, name)).toThrow(/VIGIL_EVIDENCE_RETENTION_DAYS/);
    expect(() => expectRuntimeEnv(name, { ...env, VIGIL_SCANNER_LIVE_CONCURRENCY: '0' }, name)).toThrow(/scanner configuration/);
    const { KAFKA_BROKERS: _k, ...noKafka } = env;
    expect(() => expectRuntimeEnv(name, noKafka, name)).toThrow(/KAFKA_BROKERS/);
  });

  it('credentials and addresses agree: Postgres, MinIO and Kafka as the services define them', () => {
    const pg = composeEnv(obj(services.postgres));
    const minio = composeEnv(obj(services.minio));
    const kafka = composeEnv(obj(services.kafka));
    for (const [name, service] of vigilServices) {
      const env = composeEnv(obj(service));
      const db = new URL(env.DATABASE_URL!);
      expect([db.hostname, db.username, db.password, db.pathname.slice(1)], name).toEqual(['postgres', pg.POSTGRES_USER, pg.POSTGRES_PASSWORD, pg.POSTGRES_DB]);
      expect([env.S3_ACCESS_KEY_ID, env.S3_SECRET_ACCESS_KEY], name).toEqual([minio.MINIO_ROOT_USER, minio.MINIO_ROOT_PASSWORD]);
      expect(new URL(env.S3_ENDPOINT!).host, name).toBe('minio:9000');
      for (const broker of env.KAFKA_BROKERS!.split(',')) expect(kafka.KAFKA_ADVERTISED_LISTENERS!.split(','), name).toContain(`PLAINTEXT://${broker}`);
    }
    expect(kafka.KAFKA_AUTO_CREATE_TOPICS_ENABLE).toBe('false');
    expect(kafka.KAFKA_PROCESS_ROLES).toBe('broker,controller');
    // The image formats its storage with this id, which must be a base64url UUID (16 bytes).
    expect(kafka.CLUSTER_ID).toMatch(/^[A-Za-z0-9_-]{22}$/);
    expect(Buffer.from(kafka.CLUSTER_ID!, 'base64url')).toHaveLength(16);
    expect(str(obj(services.kafka).image)).toMatch(/^apache\/kafka:/);
    expect(str(obj(services.postgres).image)).toMatch(/^postgres:17/);
  });

  it('starts Vigil only after Postgres is healthy and the topic and bucket inits completed', () => {
    for (const [name, service] of vigilServices) {
      const s = obj(service);
      expect(s.depends_on, name).toEqual({
        postgres: { condition: 'service_healthy' },
        'kafka-init': { condition: 'service_completed_successfully' },
        'minio-init': { condition: 'service_completed_successfully' },
      });
      expect(arr(obj(s.healthcheck).test).length, `${name} healthcheck`).toBeGreaterThan(1);
      expect(s.read_only, name).toBe(true);
    }
    expect(JSON.stringify(obj(services.gateway).healthcheck)).toContain('/readyz');
    const gatewayPort = composeEnv(obj(services.gateway)).VIGIL_GATEWAY_PORT;
    expect(arr(obj(services.gateway).ports)).toContain(`${gatewayPort}:${gatewayPort}`);
    for (const name of ['postgres', 'kafka', 'minio']) expect(arr(obj(obj(services[name]).healthcheck).test).length, name).toBeGreaterThan(1);
    for (const [name, dep] of Object.entries(obj(services['kafka-init']).depends_on as Obj)) expect([name, obj(dep).condition]).toEqual(['kafka', 'service_healthy']);
  });

  it('kafka-init runs create-topics.sh on infra/kafka; minio-init makes the buckets, the evidence one with Object Lock', () => {
    const kafkaInit = obj(services['kafka-init']);
    expect(arr(kafkaInit.volumes)).toContain('./kafka:/vigil:ro');
    expect(arr(kafkaInit.entrypoint)).toEqual(['/bin/sh', '/vigil/create-topics.sh']);
    expect(composeEnv(kafkaInit).TOPICS_FILE).toBe('/vigil/topics.txt');
    const script = arr(obj(services['minio-init']).command).map(str).join('\n');
    const env = composeEnv(obj(services.scanner));
    expect(script).toContain(`mc mb --ignore-existing --with-lock vigil/${env.VIGIL_EVIDENCE_BUCKET}`);
    expect(script).toContain(`mc mb --ignore-existing vigil/${env.VIGIL_QUARANTINE_BUCKET}`);
    expect(script).toContain(`mc version enable vigil/${env.VIGIL_QUARANTINE_BUCKET}`);
    expect(script).toContain(`mc mb --ignore-existing vigil/${env.VIGIL_UPLOAD_BUCKET}`);
    expect(script).toContain(`mc retention info --default vigil/${env.VIGIL_EVIDENCE_BUCKET}`);
    for (const line of script.split('\n').filter((l) => l.startsWith('mc mb') && l.includes(`/${env.VIGIL_EVIDENCE_BUCKET}`))) expect(line).toContain('--with-lock');
  });

  it('Prometheus scrapes every Vigil service on its metrics port, and every bind mount exists', () => {
    const prometheus = yamlFile('infra/prometheus/prometheus.yml');
    const job = arr(prometheus.scrape_configs).map(obj).find((j) => j.job_name === 'vigil')!;
    const sd = obj(arr(job.dns_sd_configs)[0]);
    expect(arr(sd.names).map(str).sort()).toEqual(vigilServices.map(([n]) => n).sort());
    expect(String(sd.port)).toBe(composeEnv(obj(services.scanner)).VIGIL_METRICS_PORT);
    expect(arr(job.relabel_configs).map(obj)).toContainEqual({ source_labels: ['__meta_dns_name'], target_label: 'role' });
    for (const [name, service] of Object.entries(services)) {
      for (const volume of arr(obj(service).volumes).map(str)) {
        if (!volume.startsWith('.')) continue;
        expect(existsSync(join(infra, volume.split(':')[0]!)), `${name}: ${volume}`).toBe(true);
      }
    }
  });
});

describe('Dockerfile and dockerignore', () => {
  const dockerfile = read('infra/Dockerfile');
  const lines = dockerfile.replace(/\\\n/g, ' ').split('\n').map((l) => l.trim()).filter((l) => l && !l.startsWith('#'));
  const stages = lines.filter((l) => l.startsWith('FROM '));
  const finalStage = lines.slice(lines.lastIndexOf(stages.at(-1)!));

  it('is multi-stage on node:24-bookworm-slim: npm ci, build, prune, then a runtime stage', () => {
    expect(lines).toContain('ARG NODE_IMAGE=node:24-bookworm-slim');
    expect(stages.length).toBeGreaterThanOrEqual(3);
    for (const from of stages) expect(from).toMatch(/^FROM (\$\{NODE_IMAGE\}|\w+) AS \w+$/);
    expect(dockerfile).toMatch(/npm ci\b/);
    expect(dockerfile).toMatch(/npm run build/);
    expect(dockerfile).toMatch(/npm prune --omit=dev/);
    expect(stages.at(-1)).toBe('FROM ${NODE_IMAGE} AS runtime');
  });

  it('runs the vigil bin as a numeric non-root user, checks sharp loads, and exposes the API and metrics ports', () => {
    const bin = obj(JSON.parse(read('services/cli/package.json')).bin).vigil;
    expect(finalStage.join('\n')).toContain(`ln -s /app/${str(bin).replace(/^\.\//, 'services/cli/')} /usr/local/bin/vigil`);
    expect(existsSync(join(root, 'services/cli', str(bin)))).toBe(true);
    const user = finalStage.find((l) => l.startsWith('USER '));
    expect(user).toMatch(/^USER [1-9]\d*:[1-9]\d*$/);
    expect(finalStage.find((l) => l.startsWith('ENTRYPOINT '))).toBe('ENTRYPOINT ["/usr/bin/tini", "--", "vigil"]');
    expect(finalStage.find((l) => l.startsWith('CMD '))).toBe('CMD ["serve"]');
    expect(finalStage.join('\n')).toMatch(/import sharp from 'sharp'/);
    expect(finalStage.find((l) => l.startsWith('EXPOSE '))).toBe('EXPOSE 8080 9464');
    for (const env of finalStage.filter((l) => l.startsWith('ENV ')).flatMap((l) => [...l.matchAll(/([A-Z_]+)=/g)].map((m) => m[1]!))) {
      expect(env === 'NODE_ENV' || runtimeEnv.has(env), env).toBe(true);
    }
    for (const copy of finalStage.filter((l) => l.startsWith('COPY --from=build /app/'))) {
      const source = copy.split(' ')[2]!.replace('/app/', '');
      expect(existsSync(join(root, source)), source).toBe(true);
    }
  });

  it('the dockerignore keeps local state out and every workspace manifest in', () => {
    const ignore = read('.dockerignore').split('\n').map((l) => l.trim()).filter((l) => l && !l.startsWith('#'));
    for (const pattern of ['.git', 'node_modules', '**/node_modules', '**/dist', '.env', '.scratch']) expect(ignore).toContain(pattern);
    const workspaces = (JSON.parse(read('package.json')) as { workspaces: string[] }).workspaces;
    for (const ws of workspaces) {
      const top = ws.split('/')[0]!;
      const excluded = ignore.includes(top) || ignore.includes(`${top}/*`);
      if (excluded) expect(ignore, `${top}/package.json stays in the context for npm ci`).toContain(`!${top}/package.json`);
    }
    for (const needed of ['libs', 'services', 'hashlists', 'package.json', 'package-lock.json']) expect(ignore).not.toContain(needed);
  });
});

describe('Kubernetes manifests', () => {
  const deployments = byKind(base, 'Deployment');

  it('every object has apiVersion, kind and metadata.name; every kustomization file reference exists', () => {
    expect(base.length).toBeGreaterThanOrEqual(20);
    for (const doc of base) {
      expect(doc.apiVersion, JSON.stringify(doc).slice(0, 80)).toBeTruthy();
      expect(doc.kind).toBeTruthy();
      expect(str(obj(doc.metadata).name)).toMatch(/^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/);
    }
    const kustomizations = infraFiles.filter((p) => p.endsWith('kustomization.yaml'));
    expect(kustomizations.length).toBeGreaterThanOrEqual(6);
    for (const path of kustomizations) {
      const k = parseYaml(readFileSync(path, 'utf8')) as Obj;
      const refs = [...arr(k.resources), ...arr(k.components), ...arr(k.configMapGenerator).flatMap((g) => arr(obj(g).files))].map(str);
      for (const ref of refs) expect(existsSync(join(dirname(path), ref)), `${relative(root, path)}: ${ref}`).toBe(true);
    }
  });

  it('one Deployment per role, each running `serve --role <role>`', () => {
    const roles = deployments.map((d) => {
      const container = obj(arr(obj(obj(obj(d.spec).template).spec).containers)[0]);
      const args = arr(container.args).map(str);
      expect(args.slice(0, 2)).toEqual(['serve', '--role']);
      expect(obj(d.metadata).name).toBe(`vigil-${args[2]}`);
      return args[2];
    });
    expect(roles.sort()).toEqual([...ROLES].sort());
  });

  it('workloads: image, resources, probes on declared ports, non-root, read-only root, no privilege escalation', () => {
    for (const workload of [...deployments, ...byKind(base, 'Job')]) {
      const name = str(obj(workload.metadata).name);
      const pod = obj(obj(obj(workload.spec).template).spec);
      const podSecurity = obj(pod.securityContext);
      expect(pod.automountServiceAccountToken, name).toBe(false);
      expect(obj(podSecurity.seccompProfile).type, name).toBe('RuntimeDefault');
      const mounts = new Set(arr(pod.volumes).map((v) => str(obj(v).name)));
      for (const container of arr(pod.containers).map(obj)) {
        const where = `${name}/${str(container.name)}`;
        expect(str(container.image), where).toBeTruthy();
        const resources = obj(container.resources);
        expect(obj(resources.requests).cpu, where).toBeTruthy();
        expect(obj(resources.requests).memory, where).toBeTruthy();
        expect(obj(resources.limits).memory, where).toBeTruthy();
        const security = obj(container.securityContext);
        expect(security.runAsNonRoot ?? podSecurity.runAsNonRoot, where).toBe(true);
        expect(Number(security.runAsUser ?? podSecurity.runAsUser), where).toBeGreaterThan(0);
        expect(security.allowPrivilegeEscalation, where).toBe(false);
        expect(security.readOnlyRootFilesystem, where).toBe(true);
        expect(obj(security.capabilities).drop, where).toEqual(['ALL']);
        for (const mount of arr(container.volumeMounts).map(obj)) expect(mounts.has(str(mount.name)), `${where}: volume ${str(mount.name)}`).toBe(true);
        if (workload.kind !== 'Deployment') continue;
        expect(arr(container.volumeMounts).map((m) => str(obj(m).mountPath)), where).toEqual(expect.arrayContaining(['/tmp', '/var/lib/vigil']));
        const ports = new Map(arr(container.ports).map((p) => [str(obj(p).name), Number(obj(p).containerPort)]));
        expect(ports.get('metrics'), where).toBe(9464);
        for (const probe of ['livenessProbe', 'readinessProbe', 'startupProbe']) {
          const get = obj(obj(container[probe]).httpGet);
          expect(get.path, `${where} ${probe}`).toMatch(/^\/(healthz|readyz|metrics)$/);
          expect(ports.has(str(get.port)), `${where} ${probe} port ${str(get.port)}`).toBe(true);
        }
      }
      if (workload.kind === 'Deployment') {
        expect(obj(obj(workload.spec).selector).matchLabels, name).toEqual(obj(obj(obj(workload.spec).template).metadata).labels);
        const annotations = obj(obj(obj(workload.spec).template).metadata).annotations as Obj;
        expect(annotations['prometheus.io/scrape'], name).toBe('true');
        expect(annotations['prometheus.io/port'], name).toBe('9464');
      }
    }
    const gateway = obj(arr(obj(obj(obj(named(base, 'Deployment', 'vigil-gateway')!.spec).template).spec).containers)[0]);
    expect(obj(obj(gateway.livenessProbe).httpGet).path).toBe('/healthz');
    expect(obj(obj(gateway.readinessProbe).httpGet).path).toBe('/readyz');
  });

  it('each container\'s environment (ConfigMap, Secret, its own) parses with the runtime\'s loader', () => {
    for (const d of deployments) {
      const container = obj(arr(obj(obj(obj(d.spec).template).spec).containers)[0]);
      const role = str(arr(container.args)[2]);
      expectRuntimeEnv(`k8s ${str(obj(d.metadata).name)}`, containerEnv(base, container), role);
    }
    const cm = obj(named(base, 'ConfigMap', 'vigil-config')?.data);
    expect(Object.keys(cm).filter((k) => !runtimeEnv.has(k))).toEqual([]);
  });

  it('secrets go to the roles that need them only; the example Secret holds placeholders and a token digest no secret matches', () => {
    const secret = obj(named(base, 'Secret', 'vigil-secrets')!.stringData);
    const tokens = parseTokens(str(secret.VIGIL_GATEWAY_TOKENS));
    expect(tokens.length).toBeGreaterThan(0);
    expect(str(secret.DATABASE_URL)).toContain('CHANGE-ME');
    for (const d of deployments) {
      const container = obj(arr(obj(obj(obj(d.spec).template).spec).containers)[0]);
      const keys = arr(container.env).map((e) => str(obj(obj(obj(e).valueFrom).secretKeyRef).key)).filter(Boolean);
      const role = str(arr(container.args)[2]);
      expect(keys.includes('VIGIL_GATEWAY_TOKENS'), role).toBe(role === 'gateway');
      expect(keys.some((k) => k.startsWith('NCMEC_')), role).toBe(role === 'reporter');
      expect(arr(container.envFrom).some((e) => obj(e).secretRef), `${role} takes no whole Secret`).toBe(false);
    }
  });

  it('Services, PDBs and the ServiceMonitor select existing pods and ports', () => {
    const podLabels = deployments.map((d) => ({ labels: obj(obj(obj(obj(d.spec).template).metadata).labels), ports: arr(obj(arr(obj(obj(obj(d.spec).template).spec).containers)[0]).ports).map((p) => str(obj(p).name)) }));
    const selects = (selector: Obj) => podLabels.filter(({ labels }) => Object.entries(selector).every(([k, v]) => labels[k] === v));
    for (const service of byKind(base, 'Service')) {
      const matched = selects(obj(obj(service.spec).selector));
      expect(matched.length, str(obj(service.metadata).name)).toBeGreaterThan(0);
      for (const port of arr(obj(service.spec).ports).map(obj)) for (const pod of matched) expect(pod.ports, str(obj(service.metadata).name)).toContain(str(port.targetPort));
    }
    expect(selects(obj(obj(named(base, 'Service', 'vigil-metrics')!.spec).selector))).toHaveLength(ROLES.length);
    for (const pdb of byKind(base, 'PodDisruptionBudget')) expect(selects(obj(obj(pdb.spec).selector).matchLabels as Obj), str(obj(pdb.metadata).name)).toHaveLength(1);
    const monitor = yamlDocs('infra/k8s/components/prometheus-operator/servicemonitor.yaml')[0]!;
    const metricsService = named(base, 'Service', 'vigil-metrics')!;
    expect(obj(obj(metricsService.metadata).labels)).toMatchObject(obj(obj(obj(monitor.spec).selector).matchLabels));
    const endpoint = obj(arr(obj(monitor.spec).endpoints)[0]);
    expect(arr(obj(metricsService.spec).ports).map((p) => str(obj(p).name))).toContain(str(endpoint.port));
    expect(arr(endpoint.relabelings)).toContainEqual({ action: 'replace', targetLabel: 'job', replacement: 'vigil' });
    const scaled = yamlDocs('infra/k8s/components/keda/scaledobject.yaml')[0]!;
    expect(named(base, 'Deployment', str(obj(obj(scaled.spec).scaleTargetRef).name))).toBeDefined();
  });

  it('NetworkPolicies: ingress denied by default, the API and the metrics port admitted from named sources only', () => {
    const policies = byKind(base, 'NetworkPolicy');
    const deny = policies.find((p) => Object.keys(obj(obj(p.spec).podSelector)).length === 0 && !obj(p.spec).ingress);
    expect(deny, 'a default-deny ingress policy').toBeDefined();
    const portsOf = (p: Obj) => arr(obj(p.spec).ingress).flatMap((rule) => arr(obj(rule).ports).map((port) => Number(obj(port).port)));
    const gatewayPolicy = policies.find((p) => obj(obj(obj(p.spec).podSelector).matchLabels)['app.kubernetes.io/component'] === 'gateway')!;
    expect(portsOf(gatewayPolicy)).toEqual([composeEnv(obj(services.gateway)).VIGIL_GATEWAY_PORT].map(Number));
    const metricsPolicy = policies.find((p) => portsOf(p).includes(9464))!;
    expect(portsOf(metricsPolicy)).toEqual([9464]);
    for (const policy of [gatewayPolicy, metricsPolicy]) {
      for (const rule of arr(obj(policy.spec).ingress).map(obj)) {
        expect(arr(rule.from).length, 'no open `from`').toBeGreaterThan(0);
        for (const peer of arr(rule.from).map(obj)) expect(Object.keys(obj(peer.podSelector ?? peer.namespaceSelector).matchLabels as Obj).length).toBeGreaterThan(0);
      }
    }
  });

  describe.skipIf(!kubectl)('rendered with kubectl kustomize', () => {
    const render = (dir: string) => parseAllDocuments(spawnSync(kubectl!, ['kustomize', join(infra, dir)], { encoding: 'utf8', maxBuffer: 32 * 1024 * 1024 }).stdout).map((d) => d.toJS() as Obj);

    it('base, production and hpa overlays render; namespaced objects land in vigil; the image is pinned', () => {
      const rendered = { base: render('k8s/base'), production: render('k8s/overlays/production'), hpa: render('k8s/overlays/hpa') };
      expect(rendered.base.length).toBe(base.length + 1); // + the generated topics ConfigMap
      for (const [overlay, docs] of Object.entries(rendered)) {
        for (const doc of docs) {
          if (doc.kind === 'Namespace') continue;
          expect(obj(doc.metadata).namespace, `${overlay} ${String(doc.kind)}`).toBe('vigil');
        }
        for (const d of byKind(docs, 'Deployment')) {
          const image = str(obj(arr(obj(obj(obj(d.spec).template).spec).containers)[0]).image);
          expect(image, overlay).toMatch(/^[\w./-]+:[\w.-]+$/);
        }
      }
      expect(byKind(rendered.production, 'ScaledObject')).toHaveLength(1);
      expect(byKind(rendered.production, 'HorizontalPodAutoscaler')).toHaveLength(0);
      expect(byKind(rendered.hpa, 'HorizontalPodAutoscaler')).toHaveLength(1);
      expect(byKind(rendered.hpa, 'ScaledObject')).toHaveLength(0);
      // The production overlay drops the example Secret, and its endpoint patch still parses.
      expect(byKind(rendered.production, 'Secret')).toHaveLength(0);
      const job = byKind(rendered.production, 'Job')[0]!;
      const topicsVolume = obj(arr(obj(obj(obj(job.spec).template).spec).volumes).map(obj).find((v) => v.name === 'scripts')!.configMap);
      expect(named(rendered.production, 'ConfigMap', str(topicsVolume.name)), 'the Job mounts the generated (hashed) ConfigMap').toBeDefined();
      const secret = named(base, 'Secret', 'vigil-secrets')!;
      for (const d of byKind(rendered.production, 'Deployment')) {
        const container = obj(arr(obj(obj(obj(d.spec).template).spec).containers)[0]);
        expectRuntimeEnv(`production ${str(obj(d.metadata).name)}`, containerEnv([...rendered.production, secret], container), str(arr(container.args)[2]));
      }
    });
  });
});
