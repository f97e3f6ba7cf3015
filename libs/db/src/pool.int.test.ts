import { describe, expect, it } from 'vitest';
import { freshDatabase, postgres } from '../test/database.ts';
import { isRetriableTransactionError, withTransaction, type Pool } from './index.ts';

/** Resolves once `parties` callers have arrived: makes two transactions collide on purpose. */
function barrier(parties: number): () => Promise<void> {
  let arrived = 0;
  let release!: () => void;
  const all = new Promise<void>((resolve) => (release = resolve));
  return () => {
    if (++arrived === parties) release();
    return all;
  };
}

async function counterTable(pool: Pool): Promise<void> {
  await pool.query(`CREATE TABLE counters (id int PRIMARY KEY, n int NOT NULL); INSERT INTO counters VALUES (1, 0), (2, 0)`);
}

describe.skipIf(!postgres.available)('withTransaction', () => {
  it('commits on success, rolls back on error, and returns the client to the pool', async () => {
    const pool = (await freshDatabase()).pool({ max: 2 });
    await counterTable(pool);
    expect(await withTransaction(pool, async (c) => (await c.query(`UPDATE counters SET n = 5 WHERE id = 1 RETURNING n`)).rows[0].n)).toBe(5);
    await expect(
      withTransaction(pool, async (c) => {
        await c.query(`UPDATE counters SET n = 99 WHERE id = 1`);
        throw new Error('handler failed');
      }),
    ).rejects.toThrow('handler failed');
    expect((await pool.query(`SELECT n FROM counters WHERE id = 1`)).rows[0].n).toBe(5);
    expect(pool.totalCount - pool.idleCount).toBe(0);
  });

  it('retries a serialization failure until both transactions commit', async () => {
    const pool = (await freshDatabase()).pool();
    await counterTable(pool);
    const meet = barrier(2);
    let calls = 0;
    const increment = () =>
      withTransaction(
        pool,
        async (c) => {
          const first = ++calls <= 2;
          const { rows } = await c.query(`SELECT n FROM counters WHERE id = 1`);
          if (first) await meet(); // both have read before either writes
          await c.query(`UPDATE counters SET n = $1 WHERE id = 1`, [rows[0].n + 1]);
        },
        { isolation: 'serializable' },
      );
    await Promise.all([increment(), increment()]);
    expect((await pool.query(`SELECT n FROM counters WHERE id = 1`)).rows[0].n).toBe(2); // no lost update
    expect(calls).toBe(3); // one of them ran twice
  });

  it('retries the victim of a deadlock', async () => {
    const pool = (await freshDatabase()).pool();
    await counterTable(pool);
    await pool.query(`ALTER DATABASE ${(await pool.query('SELECT current_database() AS d')).rows[0].d} SET deadlock_timeout = '100ms'`);
    const meet = barrier(2);
    let calls = 0;
    const lockBoth = (a: number, b: number) =>
      withTransaction(pool, async (c) => {
        const first = ++calls <= 2;
        await c.query(`UPDATE counters SET n = n + 1 WHERE id = $1`, [a]);
        if (first) await meet();
        await c.query(`UPDATE counters SET n = n + 1 WHERE id = $1`, [b]);
      });
    await Promise.all([lockBoth(1, 2), lockBoth(2, 1)]);
    expect((await pool.query(`SELECT array_agg(n ORDER BY id) AS n FROM counters`)).rows[0].n).toEqual([2, 2]);
    expect(calls).toBe(3);
  });

  it('does not retry other errors', async () => {
    const pool = (await freshDatabase()).pool();
    let calls = 0;
    await expect(
      withTransaction(pool, async (c) => {
        calls++;
        await c.query(`SELECT 1/0`);
      }),
    ).rejects.toMatchObject({ code: '22012' });
    expect(calls).toBe(1);
    expect(isRetriableTransactionError({ code: '40001' })).toBe(true);
    expect(isRetriableTransactionError({ code: '40P01' })).toBe(true);
    expect(isRetriableTransactionError(new Error('x'))).toBe(false);
  });
});
