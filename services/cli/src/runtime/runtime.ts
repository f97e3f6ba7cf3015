// The composition root of every Vigil service: picks the adapters (Kafka or the Postgres bus,
// S3 or the filesystem store, a Postgres server or the embedded one), then starts the roles
// asked for in this process, with one outbox relay publishing what they commit. `vigil serve`
// and `vigil scan` run on it. Shutdown goes in reverse: stop taking work, drain, then close.

import { randomBytes } from 'node:crypto';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { createActioner, subscribeActioner } from '@vigil/actioner';
import { startEvidenceService } from '@vigil/evidence';
import { BUS_MIGRATIONS, KafkaBus, PostgresBus, type Bus, type Subscription } from '@vigil/bus';
import { createOutboxRelay, openDatabase, type Database, type Logger } from '@vigil/db';
import { buildGateway, hashTokenSecret, parseTokens, PostgresDashboardSource, SCOPES, type GatewayToken } from '@vigil/gateway';
import { createHashPool, type HashPool } from '@vigil/hashing';
import { ListRegistry, PgListStore } from '@vigil/lists';
import { createCorpusLookup, createListsAdmin, startRetroService, startSourceSync } from '@vigil/hashlists';
import { NcmecSink, OutboxSink, startReporter, type ReportSink } from '@vigil/reporter';
import { createCheckCore, createContentScanner, loadScannerConfig, ruleChanges, startScanner, unscannablePolicy, type ScannerService } from '@vigil/scanner';
import { createMetrics, startMetricsServer, type VigilMetrics } from '@vigil/observability';
import { FsObjectStore, S3ObjectStore, type ObjectStore } from '@vigil/storage';
import type { RuntimeConfig } from './config.ts';
import { listSourcesFrom } from './list-sources.ts';
import { readPipelineState, VIGIL_CONSUMERS } from './pipeline-state.ts';

export const ROLES = ['scanner', 'actioner', 'gateway', 'evidence', 'reporter', 'hashlists'] as const;
export type Role = (typeof ROLES)[number];

export interface Runtime {
  database: Database;
  bus: Bus;
  store: ObjectStore;
  registry: ListRegistry | null;
  /** The gateway's address, when it runs here. */
  gatewayUrl: string | null;
  /** Where the generated local token's secret was written, when no tokens were configured. */
  localTokenFile: string | null;
  /** This process's metrics (one registry for every role it runs). */
  metrics: VigilMetrics;
  /** The metrics listener's GET /metrics address, or null when VIGIL_METRICS_PORT=off (or serveMetrics is false). */
  metricsUrl: string | null;
  close(): Promise<void>;
}

/** Adapters a caller supplies instead of the configured ones (tests wrap the store to watch it). */
export interface RuntimeOverrides {
  store?: ObjectStore;
  /** The metrics to count into (default: a new registry for this runtime). */
  metrics?: VigilMetrics;
  /** false: no metrics listener, whatever the config says (one-shot commands such as `vigil scan`). */
  serveMetrics?: boolean;
}

export async function startRuntime(config: RuntimeConfig, roles: readonly Role[], env: NodeJS.ProcessEnv, log: Logger, overrides: RuntimeOverrides = {}): Promise<Runtime> {
  const closers: Array<() => Promise<void>> = [];
  const close = async () => {
    for (const closer of closers.reverse()) {
      try {
        await closer();
      } catch (err) {
        log.error({ err }, 'error while shutting down');
      }
    }
  };
  try {
    const metrics = overrides.metrics ?? createMetrics();
    let metricsUrl: string | null = null;
    if (config.metrics.port !== null && overrides.serveMetrics !== false) {
      const listener = await startMetricsServer({ registry: metrics.registry, host: config.metrics.host, port: config.metrics.port });
      metricsUrl = listener.url;
      closers.push(() => listener.close());
    }
    const onDeadLettered = (letter: { topic: string; group: string }) => metrics.deadLettered.inc({ topic: letter.topic, group: letter.group });

    const database = await openDatabase({
      ...(config.databaseUrl && { databaseUrl: config.databaseUrl }),
      home: config.home,
      migrations: config.kafka ? [] : [{ namespace: 'bus', migrations: BUS_MIGRATIONS }],
      log: log.child({ component: 'database' }),
    });
    closers.push(() => database.close());

    const bus: Bus = config.kafka
      ? new KafkaBus({ ...config.kafka, onDeadLettered }, log.child({ component: 'bus' }))
      : new PostgresBus({ connectionString: database.url, log: log.child({ component: 'bus' }), onDeadLettered });
    closers.push(() => bus.close());
    if (bus instanceof KafkaBus) await bus.ensureTopics();
    if (bus instanceof PostgresBus) closers.push(schedulePrune(bus, config.busRetentionMs, log));

    const store = overrides.store ?? openStore(config);
    closers.push(() => store.close());
    // One copy per match key, so the quarantine bucket needs no versioning (not every S3 API has it).
    await store.ensureBucket(config.quarantineBucket);

    const relay = createOutboxRelay({ pool: database.pool, publish: (events) => bus.publish(events), log: log.child({ component: 'outbox' }) });
    await relay.start();
    closers.push(() => relay.stop());

    let registry: ListRegistry | null = null;
    let gatewayUrl: string | null = null;
    let localTokenFile: string | null = null;
    if (roles.includes('scanner') || roles.includes('gateway')) {
      const scannerConfig = loadScannerConfig(env);
      const hashPool: HashPool = createHashPool(config.hashThreads ? { threads: config.hashThreads } : {});
      closers.push(() => hashPool.close());
      registry = new ListRegistry({ pool: database.pool, logger: log.child({ component: 'lists' }) });
      await registry.refresh();
      registry.start(scannerConfig.listRefreshMs);
      const lists = registry;
      metrics.watchLists(() => lists.loaded());
      closers.push(() => lists.stop());
      const scanner = createContentScanner(database.pool, hashPool, registry, config.detection.rule);

      if (roles.includes('scanner')) {
        const service: ScannerService = await startScanner({ bus, pool: database.pool, store, scanner, config: scannerConfig, logger: log.child({ component: 'scanner' }), metrics });
        closers.push(() => service.stop());
      }
      if (roles.includes('gateway')) {
        const tokens = await gatewayTokens(config);
        localTokenFile = tokens.file;
        const app = await buildGateway({
          core: createCheckCore({
            pool: database.pool, store, scanner, registry, quarantineBucket: config.quarantineBucket, maxBytes: scannerConfig.maxBytes,
            fetchTimeoutMs: scannerConfig.fetchTimeoutMs, unscannablePolicy: unscannablePolicy(scannerConfig), producer: 'gateway', now: () => new Date(), metrics,
          }),
          // Trusted-reporter lookups answer from stored hashes (a head per match, never bytes); list imports are audited.
          corpus: { lookup: createCorpusLookup({ pool: database.pool, store }) },
          listsAdmin: createListsAdmin(database.pool),
          // The ops dashboard reads the shared Postgres (every replica sees the same numbers) and the bus's lag.
          dashboard: new PostgresDashboardSource({ db: database.pool, lag: () => bus.consumerLag(VIGIL_CONSUMERS), deadLetters: () => bus.deadLetterDepth() }),
          tokens: tokens.tokens,
          logger: false,
        });
        gatewayUrl = await app.listen({ host: config.gateway.host, port: config.gateway.port });
        // Queues, quarantine, outbox, lag and dead letters: exported by the gateway process only, read at scrape time.
        metrics.watchPipeline(() => readPipelineState(database.pool, bus));
        closers.push(() => app.close());
      }
    }
    if (roles.includes('actioner')) {
      const actioner = createActioner({ pool: database.pool, store, quarantineBucket: config.quarantineBucket, logger: log, metrics });
      const subscription: Subscription = await subscribeActioner(bus, actioner, { concurrency: config.actionerConcurrency });
      closers.push(() => subscription.stop());
    }
    if (roles.includes('evidence')) {
      const evidence = await startEvidenceService({
        bus, pool: database.pool, store, evidenceBucket: config.evidence.bucket, retention: { days: config.evidence.retentionDays },
        expiryIntervalMs: config.evidence.expiryIntervalMs, logger: log, metrics,
      });
      closers.push(() => evidence.stop());
    }
    if (roles.includes('reporter')) {
      const sink: ReportSink = config.reports.sink.kind === 'ncmec' ? new NcmecSink(config.reports.sink) : new OutboxSink(config.reports.sink.dir);
      const reporter = await startReporter({
        bus, pool: database.pool, store, sink, reporter: config.reports.reporter, logger: log, windowMs: config.reports.windowMs,
        groupDelayMs: config.reports.groupDelayMs, publiclyAvailable: config.reports.publiclyAvailable, metrics,
      });
      closers.push(() => reporter.stop());
    }
    if (roles.includes('hashlists')) {
      // Retro-matching of each new list version, in its own consumer group: never reads an object.
      const retro: Subscription = await startRetroService({
        bus, pool: database.pool, logger: log.child({ component: 'hashlists' }), metrics, wideMaxDelta: config.retroWideMaxDelta, rule: config.detection.rule,
      });
      closers.push(() => retro.stop());
      // Lists kept current from their sources (VIGIL_LIST_SOURCES); each version written is retro-matched above.
      const sources = listSourcesFrom(env);
      if (sources.length > 0) {
        const scheduler = startSourceSync({ pool: database.pool, store: new PgListStore(database.pool), logger: log.child({ component: 'list-sources' }) }, sources);
        closers.push(() => scheduler.stop());
      }
    }
    const { fingerprint, source, rule } = config.detection;
    if (roles.some((role) => role === 'scanner' || role === 'gateway' || role === 'hashlists')) {
      metrics.detectionRule.set({ fingerprint, default: String(source === 'default') }, 1);
    }
    log.info({ roles, bus: config.kafka ? 'kafka' : 'postgres', store: config.s3 ? 's3' : 'fs', gatewayUrl, metricsUrl, detectionRule: fingerprint }, 'vigil running');
    // A changed rule moves the false-positive rate measured for the default (docs/detection-quality.md): say so once, with what changed.
    if (source !== 'default') log.warn({ detectionRule: fingerprint, source, changes: ruleChanges(rule) }, 'detection rule differs from the default');
    return { database, bus, store, registry, gatewayUrl, localTokenFile, metrics, metricsUrl, close };
  } catch (err) {
    await close();
    throw err;
  }
}

/**
 * The Postgres bus keeps events like a Kafka topic's retention: pruned by age (default 7 days),
 * hourly. A consumer further behind than that would miss events, as with Kafka.
 */
function schedulePrune(bus: PostgresBus, retentionMs: number, log: Logger): () => Promise<void> {
  const prune = () =>
    bus.prune(retentionMs).then(
      (removed) => removed > 0 && log.info({ removed }, 'pruned bus events past retention'),
      (err: unknown) => log.warn({ err }, 'bus prune failed; will retry'),
    );
  const timer = setInterval(prune, 60 * 60 * 1000);
  timer.unref();
  return async () => clearInterval(timer);
}

/** S3 when S3_ENDPOINT is set, else the filesystem store under VIGIL_HOME/objects. */
export function openStore(config: RuntimeConfig): ObjectStore {
  return config.s3 ? new S3ObjectStore(config.s3) : new FsObjectStore({ root: join(config.home, 'objects') });
}

/**
 * VIGIL_GATEWAY_TOKENS when set. Otherwise one local token with every scope, its secret in a
 * file only this user can read (printed by `vigil serve`): the embedded default works without
 * setup, and never with an open API.
 */
async function gatewayTokens(config: RuntimeConfig): Promise<{ tokens: GatewayToken[]; file: string | null }> {
  if (config.gateway.tokens) return { tokens: parseTokens(config.gateway.tokens), file: null };
  const file = join(config.home, 'gateway-token');
  let secret: string;
  try {
    secret = (await readFile(file, 'utf8')).trim();
  } catch {
    secret = randomBytes(32).toString('base64url');
    await mkdir(config.home, { recursive: true, mode: 0o700 });
    await writeFile(file, `${secret}\n`, { mode: 0o600 });
  }
  return { tokens: [{ id: 'local', sha256: hashTokenSecret(secret), scopes: [...SCOPES], tenants: '*' }], file };
}
