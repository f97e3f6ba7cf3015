// The reporter's composition: report.requested.v1 into the queue (group `reporter`, idempotent
// on the event id through the inbox), and a filing loop that works the queue CSAM first. Logs ids
// and reasons only, never uploader details.

import { done, retry, type Bus, type Outcome, type Subscription } from '@vigil/bus';
import { handleOnce, type Logger, type Pool } from '@vigil/db';
import type { Event } from '@vigil/events';
import type { ObjectStore } from '@vigil/storage';
import type { ReporterIdentity } from './build-report.ts';
import { fileNextReport, type FilingContext, type FilingOutcome } from './file-report.ts';
import { DEFAULT_WINDOW_MS } from './incident.ts';
import type { ReportSink } from './report-sink.ts';
import { intakeRequest, type IntakeOutcome } from './report-queue.ts';

export const REPORTER_CONSUMER = 'reporter';

export interface ReporterOptions {
  bus: Bus;
  pool: Pool;
  store: ObjectStore;
  sink: ReportSink;
  reporter: ReporterIdentity;
  logger: Logger;
  producer?: string;
  now?: () => Date;
  publiclyAvailable?: boolean;
  /** Incident window (default one day). */
  windowMs?: number;
  /** How long a new report collects the account's other files before it is sent (default 5 s). */
  groupDelayMs?: number;
  /** Queue poll when idle (default 500 ms). */
  pollMs?: number;
  leaseMs?: number;
  evidenceWaitMs?: number;
  retryInitialMs?: number;
  retryMaxMs?: number;
  /** vigil_reports_total: filed, held (for a person), failed (an attempt to retry later). */
  metrics?: { reports: { inc(labels: { outcome: string }): void } };
}

export interface Reporter {
  handleRequested(event: Event<'report.requested.v1'>): Promise<Outcome>;
  /** One pass of the filing loop (tests, `vigil reports file`). */
  fileNext(): Promise<FilingOutcome>;
  stop(): Promise<void>;
}

export function createReporter(options: Omit<ReporterOptions, 'bus'>): Omit<Reporter, 'stop'> {
  const log = options.logger.child({ component: 'reporter' });
  const producer = options.producer ?? 'reporter';
  const now = options.now ?? (() => new Date());
  const filing: FilingContext = {
    pool: options.pool, store: options.store, sink: options.sink, reporter: options.reporter, publiclyAvailable: options.publiclyAvailable ?? false,
    log, producer, now, leaseMs: options.leaseMs ?? 10 * 60 * 1000, evidenceWaitMs: options.evidenceWaitMs ?? 15 * 60 * 1000,
    retryInitialMs: options.retryInitialMs ?? 30_000, retryMaxMs: options.retryMaxMs ?? 60 * 60 * 1000,
  };
  return {
    async handleRequested(event) {
      try {
        const result = await handleOnce(options.pool, REPORTER_CONSUMER, event.id, (client): Promise<IntakeOutcome> =>
          intakeRequest(client, event, { windowMs: options.windowMs ?? DEFAULT_WINDOW_MS, groupDelayMs: options.groupDelayMs ?? 5000, producer, now: now() }),
        );
        if (result.applied) log.info({ eventId: event.id, traceId: event.traceId, reportRequestId: event.payload.reportRequestId, outcome: result.value.kind, reportId: 'reportId' in result.value ? result.value.reportId : undefined }, 'report request queued');
        return done;
      } catch (err) {
        log.error({ err, eventId: event.id, traceId: event.traceId }, 'report intake failed; will retry');
        return retry(`reporter_error: ${(err as Error)?.name ?? 'Error'}`);
      }
    },
    async fileNext() {
      const outcome = await fileNextReport(filing);
      if (outcome.kind === 'filed' || outcome.kind === 'held') options.metrics?.reports.inc({ outcome: outcome.kind });
      else if (outcome.kind === 'retry') options.metrics?.reports.inc({ outcome: 'failed' });
      return outcome;
    },
  };
}

export async function startReporter(options: ReporterOptions): Promise<Reporter> {
  const reporter = createReporter(options);
  const log = options.logger.child({ component: 'reporter-loop' });
  const subscription: Subscription = await options.bus.subscribe({ topic: 'report.requested.v1', group: REPORTER_CONSUMER }, (e) => reporter.handleRequested(e));
  let running = true;
  let wake: (() => void) | undefined;
  const loop = (async () => {
    while (running) {
      let outcome: FilingOutcome = { kind: 'idle' };
      try {
        outcome = await reporter.fileNext();
      } catch (err) {
        log.error({ err }, 'filing pass failed');
      }
      if (outcome.kind !== 'idle') continue;
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, options.pollMs ?? 500);
        wake = () => (clearTimeout(timer), resolve());
      });
    }
  })();
  return {
    ...reporter,
    async stop() {
      running = false;
      wake?.();
      await subscription.stop();
      await loop;
    },
  };
}
