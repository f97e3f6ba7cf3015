// Ordered, checksummed SQL migrations for every namespace that keeps tables in the Vigil database
// ('core' here, 'bus' for @vigil/bus). Owns schema_migrations and the order migrations run in;
// never edits or skips an applied migration: a changed file stops the service instead.

import { createHash } from 'node:crypto';
import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Pool } from './pool.ts';
import { silentLogger, type Logger } from './logger.ts';

export interface Migration {
  /** Positive integer; applied in ascending order, each exactly once per namespace. */
  version: number;
  /** For errors and schema_migrations: the file name when loaded from a directory. */
  name: string;
  /** One or more statements, run in one transaction. Must not contain BEGIN/COMMIT itself. */
  sql: string;
}

export interface MigrateOptions {
  /** Default 'core' (this package's schema). Each namespace has its own version sequence. */
  namespace?: string;
  /** Default: the core schema in libs/db/migrations. */
  migrations?: readonly Migration[];
  log?: Logger;
}

export interface MigrateResult {
  namespace: string;
  applied: { version: number; name: string }[];
  /** The highest version now applied (0 if none). */
  current: number;
}

/** Thrown when the database does not match the migrations in code; the service must not start. */
export class MigrationError extends Error {
  constructor(message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = 'MigrationError';
  }
}

const FILE = /^(\d+)_([A-Za-z0-9_-]+)\.sql$/;

/**
 * Reads `NNNN_name.sql` files from a directory (a file: URL, or a path) in version order. Other
 * files are ignored; two files with one version are an error.
 */
export async function loadMigrations(dir: URL | string): Promise<Migration[]> {
  const path = typeof dir === 'string' ? dir : fileURLToPath(dir);
  const names = (await readdir(path)).filter((name) => FILE.test(name));
  const migrations = await Promise.all(
    names.map(async (name) => ({ version: Number(FILE.exec(name)![1]), name, sql: await readFile(join(path, name), 'utf8') })),
  );
  return validate(migrations);
}

// `../migrations` from this module: src/ under vitest and --conditions=@vigil/source, dist/ once
// built. Both sit beside migrations/, which the package publishes ("files").
const CORE_DIR = new URL('../migrations/', import.meta.url);

let core: Promise<Migration[]> | undefined;

/** The core schema (DESIGN §4), read once per process. */
export function coreMigrations(): Promise<Migration[]> {
  core ??= loadMigrations(CORE_DIR);
  return core;
}

/**
 * sha256 of the text with line endings normalised, so a CRLF checkout on another machine does
 * not read as a changed migration.
 */
export function checksum(sql: string): Buffer {
  return createHash('sha256').update(sql.replace(/\r\n/g, '\n')).digest();
}

// pg_advisory_lock(int4, int4) key: one lock for every namespace, because namespaces share the
// schema_migrations table (creating it is itself racy) and may reference each other's tables.
// Migrations are rare; serialising them all costs nothing.
const LOCK_CLASS = 0x76_69_67; // 'vig'
const LOCK_MIGRATE = 1;

/**
 * Brings a namespace up to date. Safe to call from every service at boot, concurrently: a
 * session advisory lock lets one runner at a time in, and the others then find nothing to do.
 * Each pending migration runs in its own transaction with its schema_migrations row, so a
 * failure leaves the database at the last good version. Refuses (MigrationError) if an applied
 * migration's checksum changed, or if a pending version is older than one already applied.
 * Versions applied in the database but unknown to the code are logged, not refused: that is an
 * older build during a rolling deploy.
 */
export async function migrate(pool: Pool, options: MigrateOptions = {}): Promise<MigrateResult> {
  const namespace = options.namespace ?? 'core';
  const log = (options.log ?? silentLogger).child({ component: 'migrate', namespace });
  const migrations = validate([...(options.migrations ?? (await coreMigrations()))]);
  const client = await pool.connect();
  let broken: Error | undefined;
  try {
    await client.query('SELECT pg_advisory_lock($1, $2)', [LOCK_CLASS, LOCK_MIGRATE]);
    try {
      await client.query(`
        CREATE TABLE IF NOT EXISTS schema_migrations (
          namespace  text        NOT NULL,
          version    integer     NOT NULL CHECK (version > 0),
          name       text        NOT NULL,
          checksum   bytea       NOT NULL CHECK (octet_length(checksum) = 32),
          applied_at timestamptz NOT NULL DEFAULT now(),
          PRIMARY KEY (namespace, version)
        )`);
      const { rows } = await client.query<{ version: number; name: string; checksum: Buffer }>(
        'SELECT version, name, checksum FROM schema_migrations WHERE namespace = $1 ORDER BY version',
        [namespace],
      );
      const applied = new Map(rows.map((row) => [row.version, row]));
      const known = new Set(migrations.map((m) => m.version));
      for (const m of migrations) {
        const row = applied.get(m.version);
        if (row && !row.checksum.equals(checksum(m.sql))) {
          throw new MigrationError(
            `migration ${namespace} ${m.name} (version ${m.version}) was changed after it was applied ` +
              `(applied as ${row.name}); applied migrations are immutable: restore the file and add a new migration`,
          );
        }
      }
      const unknown = rows.filter((row) => !known.has(row.version)).map((row) => row.name);
      if (unknown.length > 0) log.warn({ unknown }, 'database has migrations this build does not know (newer build ran?)');
      const highest = rows.at(-1)?.version ?? 0;
      const pending = migrations.filter((m) => !applied.has(m.version));
      const early = pending.find((m) => m.version < highest);
      if (early) {
        throw new MigrationError(
          `migration ${namespace} ${early.name} (version ${early.version}) is pending but version ${highest} is already applied; ` +
            'renumber it after the latest applied migration',
        );
      }
      const done: MigrateResult['applied'] = [];
      for (const m of pending) {
        const started = performance.now();
        try {
          await client.query('BEGIN');
          await client.query(m.sql);
          await client.query('INSERT INTO schema_migrations (namespace, version, name, checksum) VALUES ($1, $2, $3, $4)', [
            namespace,
            m.version,
            m.name,
            checksum(m.sql),
          ]);
          await client.query('COMMIT');
        } catch (err) {
          await client.query('ROLLBACK').catch((rollbackErr: Error) => (broken = rollbackErr));
          throw new MigrationError(`migration ${namespace} ${m.name} (version ${m.version}) failed: ${(err as Error).message}`, {
            cause: err,
          });
        }
        done.push({ version: m.version, name: m.name });
        log.info({ version: m.version, name: m.name, ms: Math.round(performance.now() - started) }, 'migration applied');
      }
      return { namespace, applied: done, current: Math.max(highest, ...done.map((m) => m.version)) };
    } finally {
      // Released with the session too, but the pooled connection lives on: unlock explicitly.
      await client.query('SELECT pg_advisory_unlock($1, $2)', [LOCK_CLASS, LOCK_MIGRATE]).catch((err: Error) => (broken = err));
    }
  } finally {
    client.release(broken);
  }
}

function validate(migrations: Migration[]): Migration[] {
  migrations.sort((a, b) => a.version - b.version);
  for (const [i, m] of migrations.entries()) {
    if (!Number.isSafeInteger(m.version) || m.version <= 0) throw new MigrationError(`migration ${m.name}: version must be a positive integer`);
    const previous = migrations[i - 1];
    if (previous && previous.version === m.version) {
      throw new MigrationError(`migrations ${previous.name} and ${m.name} share version ${m.version}`);
    }
  }
  return migrations;
}
