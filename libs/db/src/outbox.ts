// The transactional outbox: events are written in the producer's transaction (enqueue) and
// published afterwards by a relay, so a crash between commit and publish loses nothing. Delivery
// is at least once (a publish whose acknowledgement is lost is repeated); consumers dedupe with
// the inbox. Owns the outbox table; never decides what an event means.

import pg from 'pg';
import { setTimeout as delay } from 'node:timers/promises';
import type { Event } from '@vigil/events';
import { silentLogger, type Logger } from './logger.ts';
import { withTransaction, type Client, type Pool } from './pool.ts';

/** NOTIFY channel: a commit that enqueued wakes the relays at once instead of at the next poll. */
export const OUTBOX_CHANNEL = 'vigil_outbox';


export interface EnqueueOptions {
  /** NOTIFY the relays on commit (default true). Off for bulk loads that a poll can pick up. */
  notify?: boolean;
}

/**
 * Writes events to the outbox inside the caller's transaction: they are published only if it
 * commits, and then in enqueue order per key.
 *
 * Ordering: the relay publishes in id order, so one key's ids must follow commit order. Two
 * transactions enqueueing for the same key could otherwise take ids in one order and commit in
 * the other; a transaction-scoped advisory lock per key makes the second wait for the first to
 * finish. Keys are locked in hash order so two enqueues cannot deadlock each other (several
 * enqueue calls in one transaction still can: Postgres then aborts one, and withTransaction
 * retries it).
 *
 * Idempotent on the event id: an event already in the outbox is skipped.
 */
export async function enqueue(client: Client, events: readonly Event[], options: EnqueueOptions = {}): Promise<void> {
  if (events.length === 0) return;
  // One round trip: the key locks, the rows and the notification run in outbox_enqueue (0008).
  await client.query('SELECT outbox_enqueue($1::jsonb, $2)', [JSON.stringify(events), options.notify ?? true]);
}

/**
 * Publishes events to the bus. Resolves once all are durably accepted; rejects otherwise (any
 * subset may have gone out: they are published again). Receives them in enqueue order.
 */
export type Publish = (events: Event[]) => Promise<void>;

export interface OutboxRelayOptions {
  pool: Pool;
  publish: Publish;
  log?: Logger;
  /** Events claimed per transaction (default 100). */
  batchSize?: number;
  /** Poll when no notification arrives (default 1000 ms): covers a lost LISTEN connection. */
  pollIntervalMs?: number;
  /**
   * Give up waiting for a publish after this long (default 30 s) and treat it as failed. The
   * claimed rows stay locked while publishing, so this must stay below the pool's
   * idleInTransactionTimeoutMs.
   */
  publishTimeoutMs?: number;
  /** After a failed publish, wait initialBackoffMs * 2^(failures-1), capped, with jitter. */
  initialBackoffMs?: number;
  maxBackoffMs?: number;
  /** LISTEN for enqueue notifications (default true). */
  listen?: boolean;
}

export interface RelayResult {
  /** Rows locked by this pass. */
  claimed: number;
  /** Events published and marked sent. */
  published: number;
  /** Claimed but left for later: an earlier event of their key is held by another relay. */
  deferred: number;
  /** The publish failed: nothing was marked sent. */
  failed: boolean;
}

export interface OutboxRelay {
  /** Starts the loop (listen, relay, wait for a notification or the poll interval). */
  start(): Promise<void>;
  /** Stops the loop after the pass in progress and closes the listener. Idempotent. */
  stop(): Promise<void>;
  /** One pass: claim a batch, publish, mark sent. Safe beside the loop and other relays. */
  relayOnce(): Promise<RelayResult>;
  /** Deletes sent rows older than the date; returns how many. */
  prune(olderThan: Date): Promise<number>;
}

/**
 * Several relays may run (one per service instance): claims use FOR UPDATE SKIP LOCKED, so each
 * pass takes rows no other pass holds, and a row whose key has an earlier unsent row held by
 * another relay is deferred, which keeps per-key order across relays.
 */
export function createOutboxRelay(options: OutboxRelayOptions): OutboxRelay {
  const { pool, publish } = options;
  const log = (options.log ?? silentLogger).child({ component: 'outbox-relay' });
  const batchSize = options.batchSize ?? 100;
  const pollIntervalMs = options.pollIntervalMs ?? 1000;
  const publishTimeoutMs = options.publishTimeoutMs ?? 30_000;
  const initialBackoffMs = options.initialBackoffMs ?? 500;
  const maxBackoffMs = options.maxBackoffMs ?? 30_000;

  let running = false;
  let stopping = new AbortController();
  let loop: Promise<void> | undefined;
  let listener: pg.Client | undefined;
  let listenRetry: NodeJS.Timeout | undefined;
  // A notification that arrives mid-pass must not be lost: it sets `woken` and the next wait
  // returns at once.
  let woken = false;
  let wake: (() => void) | undefined;

  function notify(): void {
    woken = true;
    wake?.();
  }

  async function waitForWork(ms: number): Promise<void> {
    if (woken) {
      woken = false;
      return;
    }
    await new Promise<void>((resolve) => {
      const timer = setTimeout(resolve, ms);
      wake = () => {
        clearTimeout(timer);
        resolve();
      };
    });
    wake = undefined;
    woken = false;
  }

  async function relayOnce(): Promise<RelayResult> {
    return withTransaction(pool, async (client) => {
      const claimed = await client.query<{ id: string; key: string; event: Event }>(
        `SELECT id, key, event FROM outbox WHERE sent_at IS NULL ORDER BY id LIMIT $1 FOR UPDATE SKIP LOCKED`,
        [batchSize],
      );
      if (claimed.rows.length === 0) return { claimed: 0, published: 0, deferred: 0, failed: false };
      const ids = claimed.rows.map((row) => row.id);
      // An unsent row of the same key with a smaller id that this pass did not claim is locked
      // by another relay (enqueue's key lock rules out one committing later): publishing ours
      // first would reorder the key. Leave those rows for a later pass.
      const blocked = await client.query<{ id: string }>(
        `SELECT c.id FROM unnest($1::bigint[], $2::text[]) AS c(id, key)
         WHERE EXISTS (SELECT 1 FROM outbox e
                       WHERE e.key = c.key AND e.sent_at IS NULL AND e.id < c.id AND NOT (e.id = ANY($1::bigint[])))`,
        [ids, claimed.rows.map((row) => row.key)],
      );
      const deferredIds = new Set(blocked.rows.map((row) => row.id));
      const ready = claimed.rows.filter((row) => !deferredIds.has(row.id));
      const result = { claimed: claimed.rows.length, published: 0, deferred: deferredIds.size, failed: false };
      if (ready.length === 0) return result;
      const readyIds = ready.map((row) => row.id);
      try {
        await withTimeout(publish(ready.map((row) => row.event)), publishTimeoutMs);
      } catch (err) {
        // Keep the rows (unsent) and record why; the commit below releases them for a retry.
        log.warn({ err, events: ready.length }, 'outbox publish failed; will retry');
        await client.query('UPDATE outbox SET attempts = attempts + 1, last_error = $2 WHERE id = ANY($1::bigint[])', [
          readyIds,
          String((err as Error)?.message ?? err).slice(0, 1000),
        ]);
        return { ...result, failed: true };
      }
      await client.query('UPDATE outbox SET sent_at = now(), attempts = attempts + 1, last_error = NULL WHERE id = ANY($1::bigint[])', [
        readyIds,
      ]);
      return { ...result, published: ready.length };
    });
  }

  async function run(): Promise<void> {
    let failures = 0;
    while (running) {
      let more = false;
      try {
        const result = await relayOnce();
        failures = result.failed ? failures + 1 : 0;
        more = !result.failed && result.claimed === batchSize;
        if (result.published > 0) log.debug({ published: result.published, deferred: result.deferred }, 'outbox relayed');
      } catch (err) {
        failures++;
        log.error({ err }, 'outbox relay pass failed');
      }
      if (!running) break;
      if (failures > 0) {
        // Back off even when notified (only stop() cuts it short): a publisher that is down gets
        // no relief from being asked faster. Equal jitter keeps relays of many instances apart.
        const ceiling = Math.min(maxBackoffMs, initialBackoffMs * 2 ** (failures - 1));
        await delay(ceiling / 2 + (Math.random() * ceiling) / 2, undefined, { signal: stopping.signal }).catch(() => {});
      } else if (!more) {
        await waitForWork(pollIntervalMs);
      }
    }
  }

  async function connectListener(attempt = 0): Promise<void> {
    if (!running || options.listen === false) return;
    const client = new pg.Client({ ...pool.options, application_name: `${pool.options.application_name ?? 'vigil'}-outbox-listen` });
    const retry = (err: unknown): void => {
      if (listener === client) listener = undefined;
      client.end().catch(() => {});
      if (!running) return;
      // The poll keeps events moving meanwhile; reconnect with a capped backoff.
      const delay = Math.min(30_000, 500 * 2 ** attempt);
      log.warn({ err, delayMs: delay }, 'outbox listener lost; polling until it reconnects');
      listenRetry = setTimeout(() => void connectListener(attempt + 1), delay);
    };
    client.on('notification', notify);
    client.on('error', retry);
    try {
      await client.connect();
      await client.query(`LISTEN ${OUTBOX_CHANNEL}`);
      if (!running) {
        await client.end();
        return;
      }
      listener = client;
      attempt = 0;
      // Events enqueued while we were not listening.
      notify();
    } catch (err) {
      retry(err);
    }
  }

  return {
    async start() {
      if (running) return;
      running = true;
      stopping = new AbortController();
      await connectListener();
      loop = run();
    },
    async stop() {
      if (!running) return;
      running = false;
      clearTimeout(listenRetry);
      stopping.abort();
      wake?.();
      await loop;
      const client = listener;
      listener = undefined;
      await client?.end().catch(() => {});
    },
    relayOnce,
    prune: (olderThan) => pruneOutbox(pool, olderThan),
  };
}

/** Deletes sent outbox rows older than the date, in batches so no statement runs long. */
export async function pruneOutbox(pool: Pool, olderThan: Date, batchSize = 10_000): Promise<number> {
  let total = 0;
  for (;;) {
    const result = await pool.query(
      `DELETE FROM outbox WHERE id IN (SELECT id FROM outbox WHERE sent_at < $1 ORDER BY sent_at LIMIT $2)`,
      [olderThan, batchSize],
    );
    total += result.rowCount ?? 0;
    if ((result.rowCount ?? 0) < batchSize) return total;
  }
}

function withTimeout<T>(promise: Promise<T>, ms: number): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`publish timed out after ${ms} ms`)), ms);
  });
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}
