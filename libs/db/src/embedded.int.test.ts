// openDatabase / startEmbeddedPostgres on their own clusters (not the run's shared server):
// first start, restart on existing data, a stale postmaster.pid, a server orphaned by a killed
// process, two processes on one home.

import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { chmod, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import pg from 'pg';
import { afterAll, describe, expect, it } from 'vitest';
import { freshDatabase, postgres } from '../test/database.ts';
import { coreMigrations } from './migrate.ts';

/** Every core migration applied: the count grows with the schema. */
const CORE_MIGRATIONS = (await coreMigrations()).length;
import { openDatabase, startEmbeddedPostgres } from './index.ts';

const homes: string[] = [];
async function newHome(): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'vigil-home-'));
  await chmod(dir, 0o755); // as root, the server runs as `postgres` and must enter it
  homes.push(dir);
  return dir;
}
afterAll(async () => {
  await Promise.all(homes.map((dir) => rm(dir, { recursive: true, force: true })));
});

async function canConnect(url: string): Promise<boolean> {
  const client = new pg.Client({ connectionString: url, connectionTimeoutMillis: 2000 });
  client.on('error', () => {});
  try {
    await client.connect();
    await client.end();
    return true;
  } catch {
    return false;
  }
}

const pidFile = (home: string) => join(home, 'postgres', 'data', 'postmaster.pid');

describe('embedded postgres', () => {
  it('initialises, migrates, stops, and restarts on the same data with the saved password', async () => {
    const home = await newHome();
    const first = await openDatabase({ home, unsafeNoSync: true });
    expect(first.embedded?.started).toBe(true);
    expect(first.url).toMatch(/\/vigil$/);
    const applied = await first.pool.query(`SELECT count(*)::int AS n FROM schema_migrations`);
    expect(applied.rows[0].n).toBe(CORE_MIGRATIONS);
    await first.pool.query(`INSERT INTO inbox (consumer, event_id) VALUES ('persist', gen_random_uuid())`);
    await first.close();
    expect(await canConnect(first.url)).toBe(false);
    expect((await readFile(join(home, 'postgres', 'password'), 'utf8')).trim()).toBe(first.embedded?.password);

    const second = await openDatabase({ home, unsafeNoSync: true });
    try {
      expect(second.embedded?.started).toBe(true);
      expect((await second.pool.query(`SELECT count(*)::int AS n FROM inbox WHERE consumer = 'persist'`)).rows[0].n).toBe(1);
    } finally {
      await second.close();
    }
  });

  it('starts over a stale postmaster.pid (its pid dead, or reused by another process)', async () => {
    const home = await newHome();
    await (await openDatabase({ home, unsafeNoSync: true })).close();
    const dead = spawn(process.execPath, ['-e', '']);
    await once(dead, 'exit');
    const stale = (pid: number) => `${pid}\n${join(home, 'postgres', 'data')}\n1700000000\n54321\n\n127.0.0.1\n  1234   5678\nready   \n`;
    for (const pid of [dead.pid!, process.pid]) {
      await writeFile(pidFile(home), stale(pid));
      const db = await openDatabase({ home, unsafeNoSync: true });
      try {
        expect(db.embedded?.started).toBe(true);
        expect((await db.pool.query('SELECT 1 AS one')).rows[0].one).toBe(1);
      } finally {
        await db.close();
      }
    }
  });

  it('reuses a server left running by a process that was SIGKILLed', async () => {
    const home = await newHome();
    const script = `import { openDatabase } from '@vigil/db';
      const db = await openDatabase({ home: ${JSON.stringify(home)}, unsafeNoSync: true });
      process.stdout.write('READY ' + db.embedded.port + '\\n'); setInterval(() => {}, 60000);`;
    const child = spawn(process.execPath, ['--conditions=@vigil/source', '--input-type=module', '-e', script], {
      cwd: fileURLToPath(new URL('..', import.meta.url)),
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stderr = '';
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    const exited = once(child, 'exit');
    const port = await Promise.race([
      new Promise<number>((resolve) => createInterface({ input: child.stdout }).on('line', (l) => l.startsWith('READY ') && resolve(Number(l.slice(6))))),
      exited.then(() => Promise.reject(new Error(`child failed:\n${stderr}`))),
    ]);
    child.kill('SIGKILL');
    await exited;
    const orphan = Number((await readFile(pidFile(home), 'utf8')).split('\n')[0]);
    try {
      const db = await openDatabase({ home, unsafeNoSync: true });
      expect(db.embedded?.started).toBe(false);
      expect(db.embedded?.port).toBe(port);
      expect((await db.pool.query(`SELECT count(*)::int AS n FROM schema_migrations`)).rows[0].n).toBe(CORE_MIGRATIONS);
      await db.close(); // not ours: left running
      expect(await canConnect(db.url)).toBe(true);
    } finally {
      process.kill(orphan, 'SIGINT'); // fast shutdown of the orphan
      for (let i = 0; i < 100 && (await readFile(pidFile(home)).then(() => true, () => false)); i++) await new Promise((r) => setTimeout(r, 50));
    }
  });

  it('lets a second opener on the same home share the running server without stopping it', async () => {
    const home = await newHome();
    const owner = await openDatabase({ home, unsafeNoSync: true });
    try {
      const guest = await openDatabase({ home, unsafeNoSync: true });
      expect(guest.embedded?.started).toBe(false);
      await guest.close();
      expect((await owner.pool.query('SELECT 1 AS one')).rows[0].one).toBe(1);
    } finally {
      await owner.close();
    }
  });

  it('needs the password to start an existing cluster', async () => {
    const home = await newHome();
    await (await openDatabase({ home, unsafeNoSync: true })).close();
    await expect(startEmbeddedPostgres({ dataDir: join(home, 'postgres', 'data') })).rejects.toThrow(/pass the password it was created with/);
  });

  it.skipIf(process.getuid?.() !== 0)('as root, explains a data directory the postgres user cannot reach', async () => {
    const locked = await mkdtemp(join(tmpdir(), 'vigil-locked-')); // mode 0700
    homes.push(locked);
    await expect(startEmbeddedPostgres({ dataDir: join(locked, 'pg', 'data'), password: 'x' })).rejects.toThrow(/cannot enter .*vigil-locked-.*mode 700/);
  });

  it.skipIf(process.getuid?.() !== 0)('as root, keeps the cluster of a home postgres cannot enter (root’s ~) under /var/lib/vigil', async () => {
    const locked = await mkdtemp(join(tmpdir(), 'vigil-locked-')); // mode 0700, like /root
    homes.push(locked);
    const db = await openDatabase({ home: join(locked, 'home'), unsafeNoSync: true });
    try {
      const { rows } = await db.pool.query<{ data_directory: string }>('SHOW data_directory');
      expect(rows[0]!.data_directory).toMatch(/^\/var\/lib\/vigil\/clusters\/[0-9a-f]{16}\/data$/);
      homes.push(dirname(rows[0]!.data_directory));
    } finally {
      await db.close();
    }
  });

  it.skipIf(!postgres.available)('uses DATABASE_URL as given and migrates it', async () => {
    const { url } = await freshDatabase();
    const db = await openDatabase({ databaseUrl: url });
    try {
      expect(db.embedded).toBeUndefined();
      expect((await db.pool.query(`SELECT count(*)::int AS n FROM schema_migrations`)).rows[0].n).toBe(CORE_MIGRATIONS);
    } finally {
      await db.close();
    }
  });
});
