// Connection pools and transactions: the one way every service talks to Postgres. Owns pool
// defaults and the retry of transactions Postgres itself aborted as retriable; never retries
// anything else (a failed statement may have had effects outside the database).

import pg from 'pg';
import { silentLogger, type Logger } from './logger.ts';

export type Pool = pg.Pool;
/** A client inside a transaction: what enqueue, claimInbox and appendAudit take. */
export type Client = pg.ClientBase;

export interface PoolOptions {
  /** Shows in pg_stat_activity and server logs: `vigil-scanner`, `vigil-relay`. */
  applicationName?: string;
  /** Connections at most. Postgres' own limit is shared by every service: keep this small. */
  max?: number;
  idleTimeoutMs?: number;
  /** How long to wait for a connection (pool exhausted or server down) before failing. */
  connectionTimeoutMs?: number;
  /** Server-side cap per statement; 0 disables. */
  statementTimeoutMs?: number;
  /**
   * Server-side cap on a session sitting idle inside a transaction. A leaked transaction holds
   * row locks (outbox claims, the audit head) and blocks vacuum; the server ends it after this.
   * Must exceed the outbox relay's publish timeout, which waits inside its claiming transaction.
   */
  idleInTransactionTimeoutMs?: number;
  log?: Logger;
}

export const POOL_DEFAULTS = {
  applicationName: 'vigil',
  max: 10,
  idleTimeoutMs: 30_000,
  connectionTimeoutMs: 10_000,
  statementTimeoutMs: 0,
  idleInTransactionTimeoutMs: 120_000,
} as const;

export function createPool(url: string, options: PoolOptions = {}): Pool {
  const o = { ...POOL_DEFAULTS, ...options };
  const pool = new pg.Pool({
    connectionString: url,
    application_name: o.applicationName,
    max: o.max,
    idleTimeoutMillis: o.idleTimeoutMs,
    connectionTimeoutMillis: o.connectionTimeoutMs,
    statement_timeout: o.statementTimeoutMs,
    idle_in_transaction_session_timeout: o.idleInTransactionTimeoutMs,
  });
  // An idle client whose connection drops (server restart, failover) emits 'error' on the pool;
  // unhandled, that event would crash the process. The pool discards the client; the next query
  // opens a fresh connection, so logging is all there is to do.
  const log = o.log ?? silentLogger;
  pool.on('error', (err) => log.warn({ err }, 'idle postgres client failed; discarded'));
  return pool;
}

export type IsolationLevel = 'read committed' | 'repeatable read' | 'serializable';

export interface TransactionOptions {
  isolation?: IsolationLevel;
  readOnly?: boolean;
  /** Attempts in all for serialization failures and deadlocks (default 4). */
  maxAttempts?: number;
  log?: Logger;
}

/**
 * SQLSTATEs after which Postgres has rolled the transaction back and running it again is the
 * documented remedy: serialization_failure (also what REPEATABLE READ raises on a concurrent
 * update) and deadlock_detected (one victim of the cycle is aborted; the others proceed).
 */
const RETRIABLE = new Set(['40001', '40P01']);

export function isRetriableTransactionError(err: unknown): boolean {
  return RETRIABLE.has((err as { code?: unknown } | null)?.code as string);
}

/**
 * Runs fn inside BEGIN/COMMIT on one pooled client; rolls back if fn throws, then rethrows.
 * Serialization failures and deadlocks are retried with jittered backoff, so **fn may run more
 * than once**: it must do nothing outside the database it could not safely repeat.
 */
export async function withTransaction<T>(pool: Pool, fn: (client: Client) => Promise<T>, options: TransactionOptions = {}): Promise<T> {
  const maxAttempts = Math.max(1, options.maxAttempts ?? 4);
  const begin = beginStatement(options);
  for (let attempt = 1; ; attempt++) {
    const client = await pool.connect();
    let broken: Error | undefined;
    try {
      await client.query(begin);
      const value = await fn(client);
      await client.query('COMMIT');
      return value;
    } catch (err) {
      broken = await rollback(client);
      if (attempt < maxAttempts && isRetriableTransactionError(err)) {
        const delayMs = backoffMs(attempt);
        options.log?.debug({ err, attempt, delayMs }, 'retriable transaction failure; retrying');
        await sleep(delayMs);
        continue;
      }
      throw err;
    } finally {
      // A client whose ROLLBACK failed is in an unknown state: destroy it rather than return it.
      client.release(broken);
    }
  }
}

function beginStatement(options: TransactionOptions): string {
  let sql = 'BEGIN';
  if (options.isolation) sql += ` ISOLATION LEVEL ${options.isolation.toUpperCase()}`;
  if (options.readOnly) sql += ' READ ONLY';
  return sql;
}

async function rollback(client: Client): Promise<Error | undefined> {
  try {
    await client.query('ROLLBACK');
    return undefined;
  } catch (err) {
    return err instanceof Error ? err : new Error(String(err));
  }
}

/** Full jitter on 10 ms * 2^n, capped: colliding transactions spread out instead of re-colliding. */
function backoffMs(attempt: number): number {
  return Math.random() * Math.min(1000, 10 * 2 ** attempt);
}

export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
