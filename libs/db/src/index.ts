// @vigil/db: Postgres for every service: pool and transactions, checksummed migrations and the
// Vigil schema, transactional outbox and inbox, the audit chain, embedded Postgres. No business logic.
export { appendAudit, verifyAuditChain, type AuditChainProblem, type AuditChainResult, type AuditEntry, type AuditRecord } from './audit.ts';
export { startEmbeddedPostgres, type EmbeddedPostgres, type EmbeddedPostgresOptions } from './embedded.ts';
export { claimInbox, handleOnce, pruneInbox, type HandleOnceResult } from './inbox.ts';
export { silentLogger, type LogFn, type Logger } from './logger.ts';
export {
  checksum,
  coreMigrations,
  loadMigrations,
  migrate,
  MigrationError,
  type MigrateOptions,
  type MigrateResult,
  type Migration,
} from './migrate.ts';
export { openDatabase, type Database, type OpenDatabaseOptions } from './open-database.ts';
export {
  createOutboxRelay,
  enqueue,
  OUTBOX_CHANNEL,
  pruneOutbox,
  type EnqueueOptions,
  type OutboxRelay,
  type OutboxRelayOptions,
  type Publish,
  type RelayResult,
} from './outbox.ts';
export {
  createPool,
  isRetriableTransactionError,
  POOL_DEFAULTS,
  withTransaction,
  type Client,
  type IsolationLevel,
  type Pool,
  type PoolOptions,
  type TransactionOptions,
} from './pool.ts';

/** SQLSTATEs raised by the schema's guards. */
export const SqlState = {
  /** evidence_items: a retained record was to be deleted or changed. */
  evidenceRetained: 'VG001',
  /** audit_log / audit_head: append-only. */
  appendOnly: 'VG002',
} as const;
