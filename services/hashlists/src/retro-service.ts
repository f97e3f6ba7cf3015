// The hashlists role: consumes hashlist.updated.v1 in its own group (`hashlists-retro`), so
// retro-matching never competes with the scanners' lanes. For each list version it runs (or
// resumes) the retro-match of the additions and flags quarantines that rested only on withdrawn
// entries. Both are idempotent and checkpointed; the inbox then records the event as applied.

import { done, retry, type Bus, type Handler, type Subscription } from '@vigil/bus';
import { claimInbox, silentLogger, withTransaction, type Logger, type Pool } from '@vigil/db';
import type { DetectionRule } from '@vigil/scanner';
import type { BreakerPolicy } from './retro/breaker.ts';
import { runRetroMatch, type RetroSummary } from './retro/retro-match.ts';
import { flagWithdrawn, type FlagOutcome } from './tombstones.ts';

export const RETRO_CONSUMER = 'hashlists-retro';

export interface RetroServiceDeps {
  bus: Bus;
  pool: Pool;
  logger?: Logger;
  breaker?: BreakerPolicy;
  pageSize?: number;
  /** Largest delta joined past the list threshold (RetroDeps.wideMaxDelta). */
  wideMaxDelta?: number;
  /** The scanners' detection rule (RetroDeps.rule): the same setting, so a list update finds what a scan would. */
  rule?: DetectionRule;
  /** Retro matches and last runs by list, and vigil_matches_total with trigger `retro` (VigilMetrics fits). */
  metrics?: RetroMetrics;
}

export interface RetroMetrics {
  retroMatches: { inc(labels: { list: string }, value?: number): void };
  retroLastRun: { set(labels: { list: string }, value: number): void };
  matches: { inc(labels: { list: string; action: string; trigger: string }, value?: number): void };
}

/** A finished run's counts; a skipped one (disabled or allow list) ran nothing. */
function observeRetro(metrics: RetroMetrics | undefined, retro: RetroSummary): void {
  if (!metrics || retro.status !== 'done') return;
  const list = retro.listId;
  if (retro.matched > 0) {
    metrics.retroMatches.inc({ list }, retro.matched);
    if (retro.action) metrics.matches.inc({ list, action: retro.action, trigger: 'retro' }, retro.matched);
  }
  metrics.retroLastRun.set({ list }, Date.now() / 1000);
}

export interface ListUpdateOutcome {
  retro: RetroSummary;
  flags: FlagOutcome;
}

/** What one list version needs after import: retro-match its additions, flag its withdrawals. */
export async function processListUpdate(
  deps: Omit<RetroServiceDeps, 'bus'>,
  update: { listId: string; version: number; previousVersion: number | null; traceId?: string },
): Promise<ListUpdateOutcome> {
  const retro = await runRetroMatch(
    {
      pool: deps.pool, ...(deps.logger && { logger: deps.logger }), ...(deps.breaker && { breaker: deps.breaker }), ...(deps.pageSize && { pageSize: deps.pageSize }),
      ...(deps.wideMaxDelta !== undefined && { wideMaxDelta: deps.wideMaxDelta }),
      ...(deps.rule && { rule: deps.rule }),
    },
    update,
  );
  const flags = await flagWithdrawn(deps.pool, update.listId, update.version, deps.logger);
  return { retro, flags };
}

export function handleHashlistUpdated(deps: Omit<RetroServiceDeps, 'bus'>): Handler<'hashlist.updated.v1'> {
  const log = (deps.logger ?? silentLogger).child({ component: 'hashlists' });
  return async (event) => {
    const { payload } = event;
    try {
      const applied = await deps.pool.query('SELECT 1 FROM inbox WHERE consumer = $1 AND event_id = $2', [RETRO_CONSUMER, event.id]);
      if ((applied.rowCount ?? 0) > 0) return done;
      const eventLog = log.child({ eventId: event.id, traceId: event.traceId });
      const { retro } = await processListUpdate({ ...deps, logger: eventLog }, { listId: payload.listId, version: payload.version, previousVersion: payload.previousVersion, traceId: event.traceId });
      await withTransaction(deps.pool, (client) => claimInbox(client, RETRO_CONSUMER, event.id));
      observeRetro(deps.metrics, retro);
      return done;
    } catch (err) {
      // A database hiccup: the run is checkpointed, so the retry continues where this one stopped.
      log.error({ err, eventId: event.id, traceId: event.traceId, listId: payload.listId, version: payload.version }, 'retro-match failed; will retry');
      return retry(`retro_error: ${(err as Error)?.name ?? 'Error'}`);
    }
  };
}

/** Consumes hashlist.updated.v1 as group `hashlists-retro`, one list update at a time. */
export function startRetroService(deps: RetroServiceDeps): Promise<Subscription> {
  return deps.bus.subscribe({ topic: 'hashlist.updated.v1', group: RETRO_CONSUMER, concurrency: 1 }, handleHashlistUpdated(deps));
}
