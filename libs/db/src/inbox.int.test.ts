import { randomUUID } from 'node:crypto';
import { beforeAll, describe, expect, it } from 'vitest';
import { freshDatabase, postgres } from '../test/database.ts';
import { claimInbox, handleOnce, migrate, pruneInbox, withTransaction, type Client, type Pool } from './index.ts';

describe.skipIf(!postgres.available)('inbox', () => {
  let pool: Pool;
  beforeAll(async () => {
    pool = (await freshDatabase()).pool();
    await migrate(pool);
    await pool.query(`CREATE TABLE effects (event_id uuid NOT NULL, consumer text NOT NULL)`);
  });
  const effect = (consumer: string, eventId: string) => async (c: Client) => {
    await c.query(`INSERT INTO effects VALUES ($1, $2)`, [eventId, consumer]);
    return `applied ${eventId}`;
  };
  const effects = async (eventId: string) =>
    (await pool.query(`SELECT consumer FROM effects WHERE event_id = $1 ORDER BY consumer`, [eventId])).rows.map((r) => r.consumer);

  it('claims an event id once per consumer', async () => {
    const id = randomUUID();
    expect(await withTransaction(pool, (c) => claimInbox(c, 'scanner', id))).toBe(true);
    expect(await withTransaction(pool, (c) => claimInbox(c, 'scanner', id))).toBe(false);
    expect(await withTransaction(pool, (c) => claimInbox(c, 'actioner', id))).toBe(true);
  });

  it('applies a redelivered event once', async () => {
    const id = randomUUID();
    expect(await handleOnce(pool, 'actioner', id, effect('actioner', id))).toEqual({ applied: true, value: `applied ${id}` });
    expect(await handleOnce(pool, 'actioner', id, effect('actioner', id))).toEqual({ applied: false });
    expect(await effects(id)).toEqual(['actioner']);
  });

  it('forgets the claim when the handler fails, so the redelivery applies it', async () => {
    const id = randomUUID();
    await expect(
      handleOnce(pool, 'reporter', id, async (c) => {
        await effect('reporter', id)(c);
        throw new Error('downstream failed');
      }),
    ).rejects.toThrow('downstream failed');
    expect(await effects(id)).toEqual([]);
    expect(await handleOnce(pool, 'reporter', id, effect('reporter', id))).toMatchObject({ applied: true });
    expect(await effects(id)).toEqual(['reporter']);
  });

  it('applies once when two deliveries race', async () => {
    const id = randomUUID();
    const slow = (c: Client) => effect('evidence', id)(c).then(async (v) => (await new Promise((r) => setTimeout(r, 100)), v));
    const results = await Promise.all([handleOnce(pool, 'evidence', id, slow), handleOnce(pool, 'evidence', id, slow)]);
    expect(results.map((r) => r.applied).sort()).toEqual([false, true]);
    expect(await effects(id)).toEqual(['evidence']);
  });

  it('prunes old claims', async () => {
    const id = randomUUID();
    await handleOnce(pool, 'pruned', id, async () => {});
    expect(await pruneInbox(pool, new Date(Date.now() - 3_600_000))).toBe(0);
    expect(await pruneInbox(pool, new Date(Date.now() + 3_600_000))).toBeGreaterThan(0);
    expect(await handleOnce(pool, 'pruned', id, async () => {})).toMatchObject({ applied: true });
  });
});
