import type { Event } from '@vigil/events';
import { beforeEach, describe, expect, it } from 'vitest';
import { freshDatabase, postgres, rescanEvent, waitFor } from '../test/database.ts';
import { createOutboxRelay, enqueue, migrate, withTransaction, type OutboxRelay, type Pool } from './index.ts';

async function outboxDatabase(): Promise<Pool> {
  const pool = (await freshDatabase()).pool();
  await migrate(pool);
  return pool;
}

async function unsent(pool: Pool): Promise<number> {
  return (await pool.query(`SELECT count(*)::int AS n FROM outbox WHERE sent_at IS NULL`)).rows[0].n;
}

/** Events for `keys` objects, interleaved: k0#0, k1#0, ..., k0#1, ... */
function interleaved(keys: number, perKey: number): Event[] {
  return Array.from({ length: keys * perKey }, (_, i) => rescanEvent(`k${i % keys}`, Math.floor(i / keys)));
}

/** Per key, the event sequence numbers in the order they were published. */
function sequencesByKey(published: Event[]): Map<string, number[]> {
  const byKey = new Map<string, number[]>();
  for (const event of published) {
    const n = Number((event.payload as { rescanId: string }).rescanId.split('-').at(-1));
    byKey.set(event.key, [...(byKey.get(event.key) ?? []), n]);
  }
  return byKey;
}

describe.skipIf(!postgres.available)('outbox', () => {
  let relays: OutboxRelay[] = [];
  beforeEach(() => async () => {
    await Promise.all(relays.map((relay) => relay.stop()));
    relays = [];
  });

  it('keeps nothing from a rolled-back transaction; is idempotent on the event id', async () => {
    const pool = await outboxDatabase();
    const event = rescanEvent('obj', 0);
    await expect(
      withTransaction(pool, async (c) => {
        await enqueue(c, [event]);
        throw new Error('use case failed after enqueue');
      }),
    ).rejects.toThrow();
    expect(await unsent(pool)).toBe(0);
    await withTransaction(pool, (c) => enqueue(c, [event]));
    await withTransaction(pool, (c) => enqueue(c, [event]));
    expect(await unsent(pool)).toBe(1);
  });

  it('publishes in enqueue order, in batches, and marks events sent', async () => {
    const pool = await outboxDatabase();
    const events = interleaved(5, 50);
    for (let i = 0; i < events.length; i += 25) await withTransaction(pool, (c) => enqueue(c, events.slice(i, i + 25)));
    const published: Event[] = [];
    const relay = createOutboxRelay({ pool, batchSize: 100, listen: false, publish: async (batch) => void published.push(...batch) });
    const passes = [await relay.relayOnce(), await relay.relayOnce(), await relay.relayOnce(), await relay.relayOnce()];
    expect(passes.map((p) => p.published)).toEqual([100, 100, 50, 0]);
    expect(published.map((e) => e.id)).toEqual(events.map((e) => e.id));
    expect(published[0]).toEqual(events[0]); // the envelope round-trips intact
    expect(await unsent(pool)).toBe(0);
  });

  it('leaves events unsent when publishing fails, records why, and sends them on a later pass', async () => {
    const pool = await outboxDatabase();
    const events = interleaved(2, 3);
    await withTransaction(pool, (c) => enqueue(c, events));
    let calls = 0;
    const published: Event[] = [];
    const relay = createOutboxRelay({
      pool,
      listen: false,
      publish: async (batch) => {
        if (++calls === 1) throw new Error('broker unavailable');
        published.push(...batch);
      },
    });
    expect(await relay.relayOnce()).toMatchObject({ claimed: 6, published: 0, failed: true });
    expect((await pool.query(`SELECT DISTINCT attempts, last_error FROM outbox`)).rows).toEqual([{ attempts: 1, last_error: 'broker unavailable' }]);
    expect(await relay.relayOnce()).toMatchObject({ published: 6, failed: false });
    expect(published.map((e) => e.id)).toEqual(events.map((e) => e.id));
    expect((await pool.query(`SELECT DISTINCT attempts, last_error FROM outbox`)).rows).toEqual([{ attempts: 2, last_error: null }]);
  });

  it('treats a publish that hangs as failed after publishTimeoutMs', async () => {
    const pool = await outboxDatabase();
    await withTransaction(pool, (c) => enqueue(c, [rescanEvent('obj', 0)]));
    const relay = createOutboxRelay({ pool, listen: false, publishTimeoutMs: 100, publish: () => new Promise(() => {}) });
    expect(await relay.relayOnce()).toMatchObject({ failed: true });
    expect((await pool.query(`SELECT last_error FROM outbox`)).rows[0].last_error).toMatch(/timed out after 100 ms/);
  });

  it('wakes on NOTIFY at commit, long before the poll interval', async () => {
    const pool = await outboxDatabase();
    const published: Event[] = [];
    const relay = createOutboxRelay({ pool, pollIntervalMs: 60_000, publish: async (batch) => void published.push(...batch) });
    relays.push(relay);
    await relay.start();
    await new Promise((resolve) => setTimeout(resolve, 100)); // let the first (empty) pass finish
    const started = Date.now();
    await withTransaction(pool, (c) => enqueue(c, [rescanEvent('obj', 0)]));
    await waitFor(() => published.length === 1, 5000, 'notified relay');
    expect(Date.now() - started).toBeLessThan(5000);
  });

  it('keeps running through publish failures (backoff) until the events go out', async () => {
    const pool = await outboxDatabase();
    const events = interleaved(3, 4);
    await withTransaction(pool, (c) => enqueue(c, events));
    let failuresLeft = 3;
    const published: Event[] = [];
    const relay = createOutboxRelay({
      pool,
      pollIntervalMs: 50,
      initialBackoffMs: 20,
      publish: async (batch) => {
        if (failuresLeft-- > 0) throw new Error('broker down');
        published.push(...batch);
      },
    });
    relays.push(relay);
    await relay.start();
    await waitFor(async () => (await unsent(pool)) === 0, 10_000, 'outbox drained');
    expect(published.map((e) => e.id)).toEqual(events.map((e) => e.id));
  });

  it('lets several relays share the outbox without reordering a key or sending twice', async () => {
    const pool = await outboxDatabase();
    const events = interleaved(4, 60);
    for (let i = 0; i < events.length; i += 10) await withTransaction(pool, (c) => enqueue(c, events.slice(i, i + 10)));
    // Recorded when publish is called: a later batch of a key can only be published once the
    // earlier one was acknowledged and committed, so this order must respect per-key order.
    const published: Event[] = [];
    const publish = async (batch: Event[]) => {
      published.push(...batch);
      await new Promise((resolve) => setTimeout(resolve, Math.random() * 15));
    };
    const relayA = createOutboxRelay({ pool, batchSize: 7, listen: false, publish });
    const relayB = createOutboxRelay({ pool, batchSize: 11, listen: false, publish });
    const drain = async (relay: OutboxRelay) => {
      while ((await unsent(pool)) > 0) await relay.relayOnce();
    };
    await Promise.all([drain(relayA), drain(relayB), drain(relayA)]);
    expect(published).toHaveLength(events.length);
    expect(new Set(published.map((e) => e.id)).size).toBe(events.length);
    for (const [, sequence] of sequencesByKey(published)) expect(sequence).toEqual(Array.from({ length: 60 }, (_, i) => i));
  });

  it('defers a key whose earlier event another relay is still publishing', async () => {
    const pool = await outboxDatabase();
    const [k0first, k0second, k1first] = [rescanEvent('k0', 0), rescanEvent('k0', 1), rescanEvent('k1', 0)];
    await withTransaction(pool, (c) => enqueue(c, [k0first, k0second, k1first]));
    let releaseA!: () => void;
    const aPublishing = new Promise<void>((resolve) => (releaseA = resolve));
    const byA: Event[] = [];
    const byB: Event[][] = [];
    const relayA = createOutboxRelay({ pool, batchSize: 1, listen: false, publish: async (batch) => (byA.push(...batch), aPublishing) });
    const relayB = createOutboxRelay({ pool, batchSize: 10, listen: false, publish: async (batch) => void byB.push(batch) });
    const passA = relayA.relayOnce(); // holds k0#0 while its publish waits
    await waitFor(() => byA.length === 1, 5000, 'relay A publishing');
    expect(await relayB.relayOnce()).toEqual({ claimed: 2, published: 1, deferred: 1, failed: false });
    expect(byB[0]!.map((e) => e.id)).toEqual([k1first.id]);
    releaseA();
    expect(await passA).toMatchObject({ published: 1 });
    expect(await relayB.relayOnce()).toMatchObject({ published: 1, deferred: 0 });
    expect(byB[1]!.map((e) => e.id)).toEqual([k0second.id]);
  });

  it('orders one key across concurrent producer transactions by commit', async () => {
    const pool = await outboxDatabase();
    // Producer A enqueues for the key and holds its transaction open; B then enqueues for the
    // same key and commits. Without enqueue's key lock, B's later id could be published first.
    let releaseA!: () => void;
    const holdA = new Promise<void>((resolve) => (releaseA = resolve));
    const a = withTransaction(pool, async (c) => {
      await enqueue(c, [rescanEvent('same', 0)]);
      await holdA;
    });
    await new Promise((resolve) => setTimeout(resolve, 50));
    const b = withTransaction(pool, (c) => enqueue(c, [rescanEvent('same', 1)]));
    await new Promise((resolve) => setTimeout(resolve, 50));
    const published: Event[] = [];
    const relay = createOutboxRelay({ pool, listen: false, publish: async (batch) => void published.push(...batch) });
    expect(await relay.relayOnce()).toMatchObject({ claimed: 0 }); // B is waiting behind A, nothing committed
    releaseA();
    await Promise.all([a, b]);
    while ((await relay.relayOnce()).claimed > 0);
    expect(sequencesByKey(published).get(rescanEvent('same', 0).key)).toEqual([0, 1]);
  });

  it('prunes sent rows older than the cutoff and keeps unsent ones', async () => {
    const pool = await outboxDatabase();
    await withTransaction(pool, (c) => enqueue(c, interleaved(1, 3)));
    const relay = createOutboxRelay({ pool, listen: false, publish: async () => {} });
    await relay.relayOnce();
    await withTransaction(pool, (c) => enqueue(c, [rescanEvent('later', 0)]));
    expect(await relay.prune(new Date(Date.now() - 60_000))).toBe(0);
    expect(await relay.prune(new Date(Date.now() + 60_000))).toBe(3);
    expect((await pool.query(`SELECT count(*)::int AS n FROM outbox`)).rows[0].n).toBe(1);
  });
});
