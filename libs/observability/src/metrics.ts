// The metrics catalogue: every series a Vigil process exports at /metrics, defined once, so the
// services, the built-in dashboard, the Grafana board and the alert rules agree on names and
// labels. One registry per process (the embedded default runs every role in one process and
// shares it). Labels are bounded sets (verdicts, lanes, stages, reasons, list ids, topics):
// never a tenant, an object key, a hash or anything else a client controls.

import { collectDefaultMetrics, Counter, Gauge, Histogram, Registry } from 'prom-client';

/** Seconds; from a 1 ms cache hit to a 30 s fetch of a large object. */
const STAGE_BUCKETS = [0.001, 0.0025, 0.005, 0.01, 0.02, 0.03, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30];
/** Seconds from the upload event to the verdict: queueing included, so up to hours on a backlog. */
const END_TO_END_BUCKETS = [0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300, 900, 3600];

export type ScanStage = 'fetch' | 'decode' | 'hash' | 'match' | 'record';

export interface VigilMetrics {
  registry: Registry;
  /** Scans recorded, by verdict (clean|matched|unscannable), lane (live|bulk|check) and source (stream|workers|gateway|rescan|cli). */
  scans: Counter<'verdict' | 'lane' | 'source'>;
  /** Time per scanning stage (fetch, decode, hash, match, record), by lane. */
  scanStage: Histogram<'stage' | 'lane'>;
  /** Upload event time to verdict, by lane. */
  scanEndToEnd: Histogram<'lane'>;
  /** POST /v1/check, request to answer, by verdict (allow|block|review|unscannable). */
  checkDuration: Histogram<'verdict'>;
  /** List hits that decided or joined a verdict, by list, action and trigger (live|retro|check). */
  matches: Counter<'list' | 'action' | 'trigger'>;
  /** Unscannable verdicts by reason and lane. */
  unscannable: Counter<'reason' | 'lane'>;
  /** Quarantine operations by outcome (applied|review|released|failed). */
  quarantine: Counter<'outcome'>;
  /** Evidence operations by outcome (preserved|failed|expired). */
  evidence: Counter<'outcome'>;
  /** Reports by outcome (filed|held|failed). */
  reports: Counter<'outcome'>;
  /** Events sent to a dead-letter topic, by source topic and consumer group. */
  deadLettered: Counter<'topic' | 'group'>;
  /** Pipeline state read from Postgres and the bus at scrape time (see `pipelineGauges`). */
  reportQueue: Gauge<'state'>;
  evidenceQueue: Gauge<'state'>;
  quarantineActive: Gauge;
  outboxBacklog: Gauge;
  outboxOldestSeconds: Gauge;
  consumerLag: Gauge<'topic' | 'group'>;
  dlqDepth: Gauge<'topic'>;
  /** Loaded lists (per scanning process): version, live entries, suspended entries, index bytes. */
  listVersion: Gauge<'list'>;
  listEntries: Gauge<'list'>;
  listSuspended: Gauge<'list'>;
  listIndexBytes: Gauge<'list'>;
  /** Retro-matching: matches found, and when each list's last run finished (unix seconds). */
  retroMatches: Counter<'list'>;
  retroLastRun: Gauge<'list'>;
  /** Pipeline-state reads that failed; the pipeline gauges keep their last values meanwhile. */
  pipelineStateErrors: Counter;
  /**
   * 1, labelled with the detection rule's fingerprint and whether it is the default, in every
   * process that decides (scanner, gateway, hashlists): processes on different rules disagree on
   * verdicts, which VigilDetectionRuleSkew catches.
   */
  detectionRule: Gauge<'fingerprint' | 'default'>;
  /**
   * Serves the pipeline-state gauges from `read`, called at scrape time and cached for `ttlMs`
   * (default 2 s) so several gauges and scrapers share one read. Only the process that calls this
   * exports those gauges: one place per deployment, so sums across processes never double count.
   */
  watchPipeline(read: () => Promise<PipelineState>, options?: { ttlMs?: number }): void;
  /** Serves the list gauges from `read` (the process's loaded lists), read at scrape time. */
  watchLists(read: () => readonly ListStat[]): void;
}

/** The pipeline's state as Postgres and the bus tell it, for the gauges. */
export interface PipelineState {
  /** Reports by state (queued, filing, held, failed). */
  reportQueue: Record<string, number>;
  /** Evidence not yet preserved (pending) and parked on the dead-letter topic (failed). */
  evidenceQueue: Record<string, number>;
  quarantineActive: number;
  outboxBacklog: number;
  /** 0 when the outbox is empty. */
  outboxOldestSeconds: number;
  consumerLag: ReadonlyArray<{ topic: string; group: string; lag: number }>;
  dlqDepth: ReadonlyArray<{ topic: string; depth: number }>;
}

export interface ListStat {
  listId: string;
  version: number;
  entries: number;
  suspended: number;
  indexBytes?: number;
}

/**
 * `read` at most once per `ttlMs`: concurrent callers share the read in flight, later ones get the
 * cached value until it is `ttlMs` old. A failed read is not cached.
 */
export function cachedRead<T>(read: () => Promise<T>, ttlMs: number, now: () => number = Date.now): () => Promise<T> {
  let cached: { at: number; value: Promise<T> } | null = null;
  return () => {
    if (cached && now() - cached.at < ttlMs) return cached.value;
    const entry = { at: now(), value: read() };
    cached = entry;
    entry.value.catch(() => {
      if (cached === entry) cached = null;
    });
    return entry.value;
  };
}

export interface MetricsOptions {
  /** Process metrics (CPU, memory, event-loop lag, GC); off in unit tests that count series. */
  processMetrics?: boolean;
  /** Labels on every series (e.g. `{ service: 'scanner' }` in a one-role container). */
  defaultLabels?: Record<string, string>;
}

export function createMetrics(options: MetricsOptions = {}): VigilMetrics {
  const registry = new Registry();
  if (options.defaultLabels) registry.setDefaultLabels(options.defaultLabels);
  if (options.processMetrics ?? true) collectDefaultMetrics({ register: registry });
  const registers = [registry];
  // Pipeline gauges join the registry only in the process that watches the pipeline (watchPipeline).
  let pipeline: (() => Promise<PipelineState | null>) | null = null;
  const pipelineGauge = <L extends string>(name: string, help: string, labelNames: readonly L[], fill: (gauge: Gauge<L>, state: PipelineState) => void) =>
    new Gauge<L>({
      name, help, labelNames, registers: [],
      async collect() {
        // A failed read keeps the last values (vigil_pipeline_state_errors_total says they are stale).
        const state = pipeline && (await pipeline());
        if (!state) return;
        this.reset();
        fill(this, state);
      },
    });
  let lists: (() => readonly ListStat[]) | null = null;
  const listGauge = (name: string, help: string, value: (list: ListStat) => number | undefined) =>
    new Gauge<'list'>({
      name, help, labelNames: ['list'], registers,
      collect() {
        if (!lists) return;
        this.reset();
        for (const list of lists()) {
          const v = value(list);
          if (v !== undefined) this.set({ list: list.listId }, v);
        }
      },
    });
  const pipelineStateErrors = new Counter({ name: 'vigil_pipeline_state_errors_total', help: 'Pipeline-state reads that failed at scrape time.', registers });
  const pipelineGauges = {
    reportQueue: pipelineGauge('vigil_report_queue', 'Reports by state (queued, filing, held, failed).', ['state'], (g, s) => Object.entries(s.reportQueue).forEach(([state, n]) => g.set({ state }, n))),
    evidenceQueue: pipelineGauge('vigil_evidence_queue', 'Evidence requests by state (pending, failed).', ['state'], (g, s) => Object.entries(s.evidenceQueue).forEach(([state, n]) => g.set({ state }, n))),
    quarantineActive: pipelineGauge('vigil_quarantine_active', 'Objects in quarantine now.', [], (g, s) => g.set(s.quarantineActive)),
    outboxBacklog: pipelineGauge('vigil_outbox_backlog', 'Committed events not yet published.', [], (g, s) => g.set(s.outboxBacklog)),
    outboxOldestSeconds: pipelineGauge('vigil_outbox_oldest_seconds', 'Age of the oldest unpublished event.', [], (g, s) => g.set(s.outboxOldestSeconds)),
    consumerLag: pipelineGauge('vigil_consumer_lag', 'Events behind, per topic and consumer group.', ['topic', 'group'], (g, s) => s.consumerLag.forEach(({ topic, group, lag }) => g.set({ topic, group }, lag))),
    dlqDepth: pipelineGauge('vigil_dlq_depth', 'Events in dead-letter topics, by the topic they were consumed from.', ['topic'], (g, s) => s.dlqDepth.forEach(({ topic, depth }) => g.set({ topic }, depth))),
  };
  return {
    registry,
    scans: new Counter({ name: 'vigil_scans_total', help: 'Scans recorded, by verdict, lane and source.', labelNames: ['verdict', 'lane', 'source'], registers }),
    scanStage: new Histogram({ name: 'vigil_scan_stage_seconds', help: 'Time per scanning stage.', labelNames: ['stage', 'lane'], buckets: STAGE_BUCKETS, registers }),
    scanEndToEnd: new Histogram({ name: 'vigil_scan_end_to_end_seconds', help: 'Upload event time to verdict.', labelNames: ['lane'], buckets: END_TO_END_BUCKETS, registers }),
    checkDuration: new Histogram({ name: 'vigil_check_duration_seconds', help: 'Upload-time check, request to answer.', labelNames: ['verdict'], buckets: STAGE_BUCKETS, registers }),
    matches: new Counter({ name: 'vigil_matches_total', help: 'List hits in verdicts, by list, action and trigger.', labelNames: ['list', 'action', 'trigger'], registers }),
    unscannable: new Counter({ name: 'vigil_unscannable_total', help: 'Unscannable verdicts by reason.', labelNames: ['reason', 'lane'], registers }),
    quarantine: new Counter({ name: 'vigil_quarantine_operations_total', help: 'Quarantine operations by outcome.', labelNames: ['outcome'], registers }),
    evidence: new Counter({ name: 'vigil_evidence_operations_total', help: 'Evidence operations by outcome.', labelNames: ['outcome'], registers }),
    reports: new Counter({ name: 'vigil_reports_total', help: 'Reports by outcome.', labelNames: ['outcome'], registers }),
    deadLettered: new Counter({ name: 'vigil_dead_lettered_total', help: 'Events sent to a dead-letter topic.', labelNames: ['topic', 'group'], registers }),
    ...pipelineGauges,
    listVersion: listGauge('vigil_list_version', 'Loaded list version.', (l) => l.version),
    listEntries: listGauge('vigil_list_entries', 'Live entries in the loaded list.', (l) => l.entries),
    listSuspended: listGauge('vigil_list_suspended_entries', 'Entries held out of matching by the circuit breaker.', (l) => l.suspended),
    listIndexBytes: listGauge('vigil_list_index_bytes', 'Memory of the loaded list index.', (l) => l.indexBytes),
    retroMatches: new Counter({ name: 'vigil_retro_matches_total', help: 'Retro-matching hits by list.', labelNames: ['list'], registers }),
    retroLastRun: new Gauge({ name: 'vigil_retro_last_run_timestamp_seconds', help: 'When the last retro-match of the list finished.', labelNames: ['list'], registers }),
    pipelineStateErrors,
    detectionRule: new Gauge({ name: 'vigil_detection_rule_info', help: 'The detection rule this process decides under (value 1).', labelNames: ['fingerprint', 'default'], registers }),
    watchPipeline(read, watchOptions = {}) {
      // A failed read counts once and leaves the gauges empty until the next read is due.
      pipeline = cachedRead(
        () => read().catch((): null => (pipelineStateErrors.inc(), null)),
        watchOptions.ttlMs ?? 2000,
      );
      for (const gauge of Object.values(pipelineGauges)) if (!registry.getSingleMetric((gauge as unknown as { name: string }).name)) registry.registerMetric(gauge);
    },
    watchLists(read) {
      lists = read;
    },
  };
}
