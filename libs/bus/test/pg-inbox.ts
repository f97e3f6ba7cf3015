// The Postgres inbox (@vigil/db handleOnce) as the failover tests use it, shared across
// processes: an event's effect (a row in `effects`) and its inbox claim commit in one transaction,
// so a redelivered event is skipped and a crash between the two cannot happen. `effects` has no
// unique key on purpose: an event applied twice would show as two rows.

import { createPool, handleOnce, migrate } from '@vigil/db';

export interface Inbox {
  /** Applies the event's effect and records its id, atomically; false for a redelivery. */
  apply(eventId: string, appliedBy: string): Promise<boolean>;
  /** Every applied event id with who applied it; throws if any id was applied twice. */
  applied(): Promise<Map<string, string>>;
  close(): Promise<void>;
}

export async function createPgInbox(url: string, consumer: string): Promise<Inbox> {
  const pool = createPool(url, { max: 4 });
  await migrate(pool);
  await pool.query('CREATE TABLE IF NOT EXISTS effects (event_id uuid NOT NULL, applied_by text NOT NULL)');
  return {
    async apply(eventId, appliedBy) {
      const result = await handleOnce(pool, consumer, eventId, async (client) => {
        await client.query('INSERT INTO effects (event_id, applied_by) VALUES ($1, $2)', [eventId, appliedBy]);
      });
      return result.applied;
    },
    async applied() {
      const { rows } = await pool.query<{ event_id: string; applied_by: string }>('SELECT event_id, applied_by FROM effects');
      const map = new Map<string, string>();
      for (const row of rows) {
        if (map.has(row.event_id)) throw new Error(`event ${row.event_id} applied twice`);
        map.set(row.event_id, row.applied_by);
      }
      return map;
    },
    close: () => pool.end(),
  };
}
