// Acceptance (issue 4): a producer commits state and outbox events, then dies by SIGKILL before
// publishing anything. A relay in another process publishes every event (at least once: here
// the first acknowledgement is lost, so every event goes out twice), and a consumer applying
// through the inbox applies each exactly once. Nothing lost, nothing applied twice.

import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import type { Event } from '@vigil/events';
import { describe, expect, it } from 'vitest';
import { freshDatabase, postgres, waitFor } from '../test/database.ts';
import { createOutboxRelay, handleOnce, migrate } from './index.ts';

const WRITER = fileURLToPath(new URL('../test/crash-writer.ts', import.meta.url));

describe.skipIf(!postgres.available)('crash between commit and publish', () => {
  it('loses nothing and applies nothing twice', async () => {
    const db = await freshDatabase();
    const pool = db.pool();
    await migrate(pool);
    await pool.query(`CREATE TABLE consumer_effects (event_id uuid NOT NULL, type text NOT NULL)`); // no unique: duplicates would show

    // 1. The producer commits, reports, and is killed before any publish.
    const child = spawn(process.execPath, ['--conditions=@vigil/source', WRITER, db.url], { stdio: ['ignore', 'pipe', 'pipe'] });
    let stderr = '';
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    const exited = once(child, 'exit');
    const lines = createInterface({ input: child.stdout });
    const committed = await Promise.race([
      new Promise<string>((resolve) => lines.on('line', (line) => line.startsWith('COMMITTED ') && resolve(line.slice(10)))),
      exited.then(() => Promise.reject(new Error(`writer exited before committing:\n${stderr}`))),
    ]);
    child.kill('SIGKILL');
    const [code, signal] = await exited;
    expect({ code, signal }).toEqual({ code: null, signal: 'SIGKILL' });
    const { scanIds, eventIds } = JSON.parse(committed) as { scanIds: string[]; eventIds: string[] };
    expect(eventIds).toHaveLength(6);

    // The state and the events are both durable; nothing was sent.
    expect((await pool.query(`SELECT id FROM scans ORDER BY id`)).rows.map((r) => r.id)).toEqual(scanIds);
    const outbox = await pool.query(`SELECT event_id, sent_at FROM outbox ORDER BY id`);
    expect(outbox.rows.map((r) => r.event_id)).toEqual(eventIds);
    expect(outbox.rows.every((r) => r.sent_at === null)).toBe(true);

    // 2. A relay here publishes them. The sink takes the first batch but its ack is "lost"
    // (throws after recording), so the relay publishes the same events again: at least once.
    const deliveries: Event[] = [];
    let calls = 0;
    const relay = createOutboxRelay({
      pool,
      pollIntervalMs: 50,
      initialBackoffMs: 20,
      publish: async (batch) => {
        deliveries.push(...batch);
        if (++calls === 1) throw new Error('acknowledgement lost');
      },
    });
    await relay.start();
    try {
      await waitFor(async () => (await pool.query(`SELECT count(*)::int AS n FROM outbox WHERE sent_at IS NULL`)).rows[0].n === 0, 10_000, 'outbox drained');
    } finally {
      await relay.stop();
    }
    expect(deliveries.map((e) => e.id)).toEqual([...eventIds, ...eventIds]);
    // Per object, scan.completed before match.found, in every delivery.
    for (const key of new Set(deliveries.map((e) => e.key))) {
      const types = deliveries.filter((e) => e.key === key).map((e) => e.type);
      expect(types).toEqual(['scan.completed.v1', 'match.found.v1', 'scan.completed.v1', 'match.found.v1']);
    }

    // 3. A consumer sees every delivery, duplicates included, and applies each event once.
    const outcomes = [];
    for (const event of deliveries) {
      outcomes.push(
        await handleOnce(pool, 'crash-test-consumer', event.id, async (client) => {
          await client.query(`INSERT INTO consumer_effects (event_id, type) VALUES ($1, $2)`, [event.id, event.type]);
        }),
      );
    }
    expect(outcomes.map((o) => o.applied)).toEqual([...eventIds.map(() => true), ...eventIds.map(() => false)]);
    const effects = await pool.query(`SELECT event_id, count(*)::int AS n FROM consumer_effects GROUP BY event_id`);
    expect(effects.rows).toHaveLength(6);
    expect(new Set(effects.rows.map((r) => r.event_id))).toEqual(new Set(eventIds));
    expect(effects.rows.every((r) => r.n === 1)).toBe(true);
  });
});
