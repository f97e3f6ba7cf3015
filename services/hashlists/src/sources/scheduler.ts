// Keeps lists current from their sources while the hashlists role runs: each source is synced
// every interval (plus jitter, so a fleet's fetches spread out). A failed fetch (an HTTP error, a
// refused file) is logged with its reason and tried again at the next tick; the list stays at
// its last good version. Each version written publishes hashlist.updated.v1, which the
// retro-matcher picks up. Never logs entries.

import { setTimeout as delay } from 'node:timers/promises';
import { silentLogger, type Logger, type Pool } from '@vigil/db';
import type { ListStore } from '@vigil/lists';
import { SourceError, type HashListSource } from './source.ts';
import { syncSource, type SyncedVersion, type SyncTarget } from './sync.ts';

export interface ScheduledSource {
  source: HashListSource;
  target: SyncTarget;
  intervalMs: number;
}

export interface SourceScheduler {
  /** Resolves once every source finished its current sync. */
  stop(): Promise<void>;
}

export function startSourceSync(
  deps: { pool: Pool; store: ListStore; logger?: Logger; onSynced?: (listId: string, versions: SyncedVersion[]) => void },
  sources: readonly ScheduledSource[],
): SourceScheduler {
  const log = deps.logger ?? silentLogger;
  const stop = new AbortController();
  const loops = sources.map(async ({ source, target, intervalMs }) => {
    while (!stop.signal.aborted) {
      try {
        await syncSource(
          {
            ...deps,
            onVersion: (version) => {
              log.info({ listId: target.name, source: source.kind, version: version.version, added: version.added, removed: version.removed }, 'list synced from its source');
              deps.onSynced?.(target.name, [version]);
            },
          },
          source,
          target,
          stop.signal,
        );
      } catch (err) {
        if (err instanceof SourceError) log.warn({ listId: target.name, source: source.kind, reason: err.message, retriable: err.retriable }, 'list source sync failed; keeping the current version');
        else log.error({ err, listId: target.name, source: source.kind }, 'list source sync failed');
      }
      await delay(intervalMs + Math.random() * intervalMs * 0.1, undefined, { signal: stop.signal }).catch(() => undefined);
    }
  });
  return {
    async stop() {
      stop.abort();
      await Promise.all(loops);
    },
  };
}
