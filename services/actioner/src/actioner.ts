// The match.found handler: checks the inbox and the match, runs the action's use case and maps
// its outcome to done, retry or dead-letter. Owns no storage or SQL of its own; logs ids only
// (never uploader details, never hashes of list entries).

import { deadLetter, done, retry, type Bus, type Outcome, type RetryPolicy, type Subscription } from '@vigil/bus';
import type { Logger, Pool } from '@vigil/db';
import type { Event } from '@vigil/events';
import type { ObjectStore } from '@vigil/storage';
import { DEFAULT_MAX_VERIFY_BYTES } from './digest.ts';
import { inboxHas, loadMatch, type MatchRow } from './matches.ts';
import { applyQuarantine, CONSUMER, type QuarantineContext } from './quarantine.ts';
import { recordReview } from './review.ts';

export interface ActionerDeps {
  pool: Pool;
  store: ObjectStore;
  /** Where verified copies go (must exist; a missing one is retried as a configuration error). */
  quarantineBucket: string;
  logger: Logger;
  /** The producer of the events it publishes (default 'actioner'). */
  producer?: string;
  now?: () => Date;
  /** The most bytes read to verify a copy (default 512 MiB). */
  maxVerifyBytes?: number;
  /** vigil_quarantine_operations_total (the process's VigilMetrics fits). */
  metrics?: { quarantine: { inc(labels: { outcome: string }): void } };
}

export interface Actioner {
  handle(event: Event<'match.found.v1'>): Promise<Outcome>;
}

export function createActioner(deps: ActionerDeps): Actioner {
  const log = deps.logger.child({ component: 'actioner' });
  const ctx: QuarantineContext = {
    pool: deps.pool,
    store: deps.store,
    quarantineBucket: deps.quarantineBucket,
    log,
    producer: deps.producer ?? 'actioner',
    now: deps.now ?? (() => new Date()),
    maxVerifyBytes: deps.maxVerifyBytes ?? DEFAULT_MAX_VERIFY_BYTES,
  };

  async function handle(event: Event<'match.found.v1'>): Promise<Outcome> {
    const p = event.payload;
    const eventLog = log.child({ eventId: event.id, traceId: event.traceId, matchId: p.matchId, tenantId: p.object.tenantId, bucket: p.object.bucket, action: p.action });
    try {
      // Cheap replay check before touching storage; handleOnce checks again at commit.
      if (await inboxHas(deps.pool, CONSUMER, event.id)) return done;
      const match = await loadMatch(deps.pool, p.matchId);
      if (match === null) {
        eventLog.error({}, 'match.found without its matches row; dead-lettering');
        return deadLetter('match_missing: no matches row for the event matchId');
      }
      const mismatch = describeMismatch(match, event);
      if (mismatch !== null) {
        // Acting on it could remove an object the match never named.
        eventLog.error({ mismatch }, 'match.found disagrees with its matches row; dead-lettering');
        return deadLetter(`match_mismatch: ${mismatch} differs from the matches row`);
      }
      const ctxForEvent = { ...ctx, log: eventLog };
      switch (p.action) {
        case 'review': {
          const outcome = await recordReview(deps.pool, event, match);
          if (outcome.kind === 'recorded') deps.metrics?.quarantine.inc({ outcome: 'review' });
          if (outcome.kind !== 'duplicate') eventLog.info({ reviewId: outcome.reviewId, outcome: outcome.kind }, 'match held for review');
          return done;
        }
        // A block differs from a quarantine only upstream (the gateway refuses the upload);
        // for a stored object both mean: verified copy aside, public versions gone.
        case 'quarantine':
        case 'block': {
          const outcome = await applyQuarantine(ctxForEvent, event);
          if (outcome.kind === 'applied' || outcome.kind === 'failed') deps.metrics?.quarantine.inc({ outcome: outcome.kind });
          return outcome.kind === 'retry' ? retry(outcome.reason, outcome.delayMs) : done;
        }
      }
    } catch (err) {
      eventLog.error({ err }, 'match.found handling failed; will retry');
      return retry(`actioner_error: ${(err as Error)?.name ?? 'Error'}`);
    }
  }

  return { handle };
}

/** Which identity field of the event disagrees with the row, or null. */
function describeMismatch(match: MatchRow, event: Event<'match.found.v1'>): string | null {
  const o = event.payload.object;
  if (match.tenantId !== o.tenantId) return 'tenantId';
  if (match.bucket !== o.bucket) return 'bucket';
  if (match.key !== o.key) return 'key';
  if (match.sha256 !== event.payload.hashes.sha256) return 'sha256';
  return null;
}

export interface SubscribeActionerOptions {
  /** Handlers in flight per partition (one object's events still run one at a time, in order). */
  concurrency?: number;
  retry?: Partial<RetryPolicy>;
}

/** Consumes match.found.v1 as group 'actioner'. */
export function subscribeActioner(bus: Bus, actioner: Actioner, options: SubscribeActionerOptions = {}): Promise<Subscription> {
  return bus.subscribe(
    {
      topic: 'match.found.v1',
      group: CONSUMER,
      ...(options.concurrency !== undefined ? { concurrency: options.concurrency } : {}),
      ...(options.retry !== undefined ? { retry: options.retry } : {}),
    },
    (event) => actioner.handle(event),
  );
}
