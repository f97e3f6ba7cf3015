// The evidence service's composition: evidence.requested.v1 to preservation (group `evidence`),
// report.filed.v1 to retention (group `evidence-receipts`), and the periodic expiry job. Maps use
// case outcomes to done, retry or dead-letter; logs ids only (never uploader details or bytes).

import { deadLetter, done, retry, type Bus, type Outcome, type Subscription } from '@vigil/bus';
import type { Logger, Pool } from '@vigil/db';
import type { Event } from '@vigil/events';
import { isObjectStoreError, type ObjectStore } from '@vigil/storage';
import { expireEvidence } from './expire.ts';
import { preserveEvidence, PRESERVE_CONSUMER, type PreserveContext } from './preserve.ts';
import { applyReportReceipt, RECEIPT_CONSUMER, type ReceiptContext } from './report-receipt.ts';
import { checkRetentionPolicy, type RetentionPolicy } from './retention.ts';

export interface EvidenceServiceOptions {
  bus: Bus;
  pool: Pool;
  store: ObjectStore;
  evidenceBucket: string;
  retention: RetentionPolicy;
  logger: Logger;
  producer?: string;
  now?: () => Date;
  /** Largest object preserved (default 512 MiB). */
  maxBytes?: number;
  concurrency?: number;
  /** How often the expiry job runs (default hourly; 0 turns it off). */
  expiryIntervalMs?: number;
  /** vigil_evidence_operations_total: preserved, failed (parked for a person), expired. */
  metrics?: { evidence: { inc(labels: { outcome: string }, value?: number): void } };
}

export interface EvidenceService {
  handleRequested(event: Event<'evidence.requested.v1'>): Promise<Outcome>;
  handleFiled(event: Event<'report.filed.v1'>): Promise<Outcome>;
  stop(): Promise<void>;
}

/** Storage refusals that need a person (a missing or unlocked vault): retry slowly, never drop. */
const CONFIG_RETRY_MS = 60_000;

export function createEvidenceHandlers(options: Omit<EvidenceServiceOptions, 'bus'>): Omit<EvidenceService, 'stop'> {
  const log = options.logger.child({ component: 'evidence' });
  const producer = options.producer ?? 'evidence';
  const retention = checkRetentionPolicy(options.retention);
  const preserveCtx: PreserveContext = {
    pool: options.pool, store: options.store, evidenceBucket: options.evidenceBucket, retention, log, producer,
    now: options.now ?? (() => new Date()), maxBytes: options.maxBytes ?? 512 * 1024 * 1024,
  };
  const receiptCtx: ReceiptContext = { pool: options.pool, store: options.store, retention, log, producer };

  return {
    async handleRequested(event) {
      const eventLog = log.child({ eventId: event.id, traceId: event.traceId, matchId: event.payload.matchId, evidenceRequestId: event.payload.evidenceRequestId });
      try {
        const outcome = await preserveEvidence(preserveCtx, event);
        switch (outcome.kind) {
          case 'preserved':
            options.metrics?.evidence.inc({ outcome: 'preserved' });
            eventLog.info({ evidenceId: outcome.record.id, retainUntil: outcome.record.retainUntil.toISOString(), copied: outcome.copied }, 'evidence preserved');
            return done;
          case 'duplicate':
            return done;
          case 'mismatch':
            options.metrics?.evidence.inc({ outcome: 'failed' });
            eventLog.error({ reason: outcome.reason }, 'evidence does not verify; dead-lettering for a person');
            return deadLetter(`evidence_mismatch: ${outcome.reason}`);
          case 'retry':
            eventLog.warn({ reason: outcome.reason }, 'evidence not preserved yet; will retry');
            return retry(outcome.reason, outcome.delayMs);
        }
      } catch (err) {
        if (isObjectStoreError(err) && !err.retriable) {
          eventLog.error({ errCode: err.code, operation: err.operation }, 'vault refused the preservation; needs an operator');
          return retry(`storage_${err.code}: ${err.operation ?? 'request'} refused`, CONFIG_RETRY_MS);
        }
        eventLog.error({ err }, 'evidence preservation failed; will retry');
        return retry(`evidence_error: ${(err as Error)?.name ?? 'Error'}`);
      }
    },
    async handleFiled(event) {
      const eventLog = log.child({ eventId: event.id, traceId: event.traceId, reportId: event.payload.reportId });
      try {
        const outcome = await applyReportReceipt(receiptCtx, event);
        if (outcome.kind === 'retry') return retry(outcome.reason);
        if (outcome.kind === 'extended') eventLog.info({ evidence: outcome.evidence.map((e) => e.id) }, 'retention counted from the report receipt');
        return done;
      } catch (err) {
        eventLog.error({ err }, 'retention update failed; will retry');
        return retry(`evidence_error: ${(err as Error)?.name ?? 'Error'}`);
      }
    },
  };
}

export async function startEvidenceService(options: EvidenceServiceOptions): Promise<EvidenceService> {
  const handlers = createEvidenceHandlers(options);
  await options.store.ensureBucket(options.evidenceBucket, { objectLock: true });
  const concurrency = options.concurrency !== undefined ? { concurrency: options.concurrency } : {};
  const subscriptions: Subscription[] = [];
  subscriptions.push(await options.bus.subscribe({ topic: 'evidence.requested.v1', group: PRESERVE_CONSUMER, ...concurrency }, (e) => handlers.handleRequested(e)));
  subscriptions.push(await options.bus.subscribe({ topic: 'report.filed.v1', group: RECEIPT_CONSUMER, ...concurrency }, (e) => handlers.handleFiled(e)));
  const log = options.logger.child({ component: 'evidence-expiry' });
  const interval = options.expiryIntervalMs ?? 60 * 60 * 1000;
  let timer: NodeJS.Timeout | undefined;
  let running: Promise<unknown> = Promise.resolve();
  if (interval > 0) {
    timer = setInterval(() => {
      running = expireEvidence({ pool: options.pool, store: options.store }, { actor: `service:${options.producer ?? 'evidence'}`, log }).then(
        (result) => result.removed.length > 0 && options.metrics?.evidence.inc({ outcome: 'expired' }, result.removed.length),
        (err: unknown) => log.error({ err }, 'evidence expiry pass failed; will run again'),
      );
    }, interval);
    timer.unref();
  }
  return {
    ...handlers,
    async stop() {
      clearInterval(timer);
      for (const s of subscriptions.reverse()) await s.stop();
      await running;
    },
  };
}
