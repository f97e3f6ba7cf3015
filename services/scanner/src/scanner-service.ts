// Wires the scanner's consumers: the live lane (upload.received.v1, group `scanner`) and the
// bulk lane (rescan.requested.v1, group `scanner-bulk`), each with its own concurrency, over one
// hashing pool that always serves live work first. Lists are loaded before the first event is
// taken and then kept current in place. Composition roots call this; it reads no environment.

import type { Bus, Subscription } from '@vigil/bus';
import type { Logger, Pool } from '@vigil/db';
import type { HashPool } from '@vigil/hashing';
import type { ListRegistry } from '@vigil/lists';
import type { ObjectStore } from '@vigil/storage';
import { unscannablePolicy, type ScannerConfig } from './config.ts';
import { ContentHashCache } from './content-hashes.ts';
import { handleRescanRequested, handleUploadReceived } from './handlers.ts';
import { createLaneScheduler } from './lane-scheduler.ts';
import type { DetectionRule } from './decide.ts';
import type { ContentScanner } from './scan-content.ts';
import type { ScanMetrics } from './scan-metrics.ts';
import type { ObjectScanDeps } from './scan-object.ts';

/** Consumer groups of the live and bulk lanes. */
export const LIVE_CONSUMER = 'scanner';
export const BULK_CONSUMER = 'scanner-bulk';

/** The shared scanning core: one per process, used by the consumers and the gateway's check. */
/** The scanning core over a hashing pool; `detection`: the operator's rule (DEFAULT_DETECTION_RULE when absent). */
export function createContentScanner(pool: Pool, hashPool: HashPool, registry: ListRegistry, detection?: DetectionRule): ContentScanner {
  return { hasher: createLaneScheduler(hashPool), cache: new ContentHashCache(pool), registry, ...(detection && { detection }) };
}

export interface ScannerServiceDeps {
  bus: Bus;
  pool: Pool;
  store: ObjectStore;
  scanner: ContentScanner;
  config: ScannerConfig;
  logger: Logger;
  producer?: string;
  now?: () => Date;
  /** Scans, stages, matches and unscannable reasons (the process's VigilMetrics). */
  metrics?: ScanMetrics;
}

export interface ScannerService {
  stop(): Promise<void>;
}

export async function startScanner(deps: ScannerServiceDeps): Promise<ScannerService> {
  const log = deps.logger;
  const objectDeps: ObjectScanDeps = {
    pool: deps.pool,
    store: deps.store,
    scanner: deps.scanner,
    maxBytes: deps.config.maxBytes,
    fetchTimeoutMs: deps.config.fetchTimeoutMs,
    unscannablePolicy: unscannablePolicy(deps.config),
    producer: deps.producer ?? 'scanner',
    now: deps.now ?? (() => new Date()),
    ...(deps.metrics && { metrics: deps.metrics }),
  };
  const subscriptions: Subscription[] = [];
  try {
    subscriptions.push(
      await deps.bus.subscribe(
        { topic: 'upload.received.v1', group: LIVE_CONSUMER, concurrency: deps.config.liveConcurrency },
        handleUploadReceived(objectDeps, log.child({ component: 'live' })),
      ),
      await deps.bus.subscribe(
        { topic: 'rescan.requested.v1', group: BULK_CONSUMER, concurrency: deps.config.bulkConcurrency },
        handleRescanRequested(objectDeps, log.child({ component: 'bulk' })),
      ),
    );
  } catch (err) {
    await Promise.all(subscriptions.map((s) => s.stop()));
    throw err;
  }
  log.info({ liveConcurrency: deps.config.liveConcurrency, bulkConcurrency: deps.config.bulkConcurrency }, 'scanner consuming');
  return {
    async stop() {
      await Promise.all(subscriptions.map((s) => s.stop()));
    },
  };
}
