// Opens the Vigil database the way every composition root does: DATABASE_URL when given, else
// the embedded cluster under VIGIL_HOME; then creates the database if needed and migrates it.
// Owns the layout of ${home}/postgres; never decides anything about the schema's content.

import { createHash, randomBytes } from 'node:crypto';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { homedir } from 'node:os';
import { join, resolve } from 'node:path';
import pg from 'pg';
import { startEmbeddedPostgres, unsearchableAncestor, type EmbeddedPostgres } from './embedded.ts';
import { silentLogger, type Logger } from './logger.ts';
import { migrate, type Migration } from './migrate.ts';
import { createPool, type Pool, type PoolOptions } from './pool.ts';

export interface OpenDatabaseOptions {
  /** A server to use as is (distributed mode). The database must exist. */
  databaseUrl?: string;
  /**
   * Vigil's state directory (the CLI passes VIGIL_HOME, default ~/.vigil). The embedded cluster
   * lives in ${home}/postgres, except as root when the postgres user cannot enter home (root's
   * own ~ is 0700): then under /var/lib/vigil/clusters, one per home.
   */
  home?: string;
  /** Database on the embedded cluster (default `vigil`). */
  database?: string;
  pool?: PoolOptions;
  /** Migrations to apply after the core schema, e.g. `{ namespace: 'bus', migrations }`. */
  migrations?: { namespace: string; migrations: readonly Migration[] }[];
  /** Apply migrations (default true). */
  migrate?: boolean;
  /** Passed to the embedded cluster; tests only. */
  unsafeNoSync?: boolean;
  log?: Logger;
}

export interface Database {
  pool: Pool;
  url: string;
  /** The embedded cluster, when one is in use. */
  embedded?: EmbeddedPostgres;
  /** Ends the pool, then stops the embedded server if this call started it. */
  close(): Promise<void>;
}

export async function openDatabase(options: OpenDatabaseOptions = {}): Promise<Database> {
  const log = options.log ?? silentLogger;
  let url: string;
  let embedded: EmbeddedPostgres | undefined;
  if (options.databaseUrl) {
    url = options.databaseUrl;
  } else {
    const home = options.home ?? join(homedir(), '.vigil');
    const root = await clusterRoot(home);
    if (root !== join(home, 'postgres')) log.info({ home, clusterDir: root }, 'running as root: the embedded cluster lives outside a home the postgres user cannot enter');
    await mkdir(root, { recursive: true, mode: 0o755 });
    const password = await ensurePassword(join(root, 'password'));
    embedded = await startEmbeddedPostgres({
      dataDir: join(root, 'data'),
      password,
      log,
      ...(options.unsafeNoSync ? { unsafeNoSync: true } : {}),
    });
    const database = options.database ?? 'vigil';
    try {
      await ensureDatabase(embedded.url(), database);
    } catch (err) {
      await embedded.stop();
      throw err;
    }
    url = embedded.url(database);
  }
  const pool = createPool(url, { log, ...options.pool });
  const close = async (): Promise<void> => {
    await pool.end();
    await embedded?.stop();
  };
  try {
    if (options.migrate ?? true) {
      await migrate(pool, { log });
      for (const extra of options.migrations ?? []) await migrate(pool, { ...extra, log });
    }
  } catch (err) {
    await close();
    throw err;
  }
  return embedded ? { pool, url, embedded, close } : { pool, url, close };
}

async function clusterRoot(home: string): Promise<string> {
  const preferred = join(home, 'postgres');
  if (process.getuid?.() !== 0 || (await unsearchableAncestor(home)) === undefined) return preferred;
  return join('/var/lib/vigil/clusters', createHash('sha256').update(resolve(home)).digest('hex').slice(0, 16));
}

/**
 * The embedded superuser's password, generated once and kept beside the data directory (mode
 * 0600; root or the invoking user only). Written before initdb so a crash in between cannot
 * leave a cluster nobody can log in to.
 */
async function ensurePassword(file: string): Promise<string> {
  const fresh = randomBytes(24).toString('base64url');
  try {
    await writeFile(file, `${fresh}\n`, { mode: 0o600, flag: 'wx' });
    return fresh;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
    return (await readFile(file, 'utf8')).trim();
  }
}

async function ensureDatabase(maintenanceUrl: string, database: string): Promise<void> {
  const client = new pg.Client({ connectionString: maintenanceUrl });
  await client.connect();
  try {
    const found = await client.query('SELECT 1 FROM pg_database WHERE datname = $1', [database]);
    if (found.rowCount === 0) {
      // Two services booting at once may both get here: the loser's duplicate is fine.
      await client.query(`CREATE DATABASE ${client.escapeIdentifier(database)}`).catch((err: { code?: string }) => {
        if (err.code !== '42P04' && err.code !== '23505') throw err;
      });
    }
  } finally {
    await client.end();
  }
}
