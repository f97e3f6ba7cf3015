// The inbox: exactly-once effects on top of at-least-once delivery. A consumer records the event
// id in the same transaction as the event's effects, so a redelivery finds it and does nothing.
// Never publishes; effects that leave the database go through the outbox.

import { withTransaction, type Client, type Pool, type TransactionOptions } from './pool.ts';

/**
 * Records that `consumer` applies `eventId`, inside the caller's transaction. True the first
 * time; false if already applied (committed). A concurrent claim of the same id waits for the
 * other transaction: false if it commits, true if it rolls back. Ids are event ids (uuid).
 */
export async function claimInbox(client: Client, consumer: string, eventId: string): Promise<boolean> {
  const result = await client.query('INSERT INTO inbox (consumer, event_id) VALUES ($1, $2) ON CONFLICT DO NOTHING', [consumer, eventId]);
  return result.rowCount === 1;
}

export type HandleOnceResult<T> = { applied: true; value: T } | { applied: false };

/**
 * Runs fn in a transaction with the inbox claim, unless `consumer` already applied `eventId`.
 * If fn throws, the claim rolls back with its effects and a redelivery applies it again. fn may
 * run more than once on serialization failures (see withTransaction), never twice to commit.
 */
export async function handleOnce<T>(
  pool: Pool,
  consumer: string,
  eventId: string,
  fn: (client: Client) => Promise<T>,
  options: TransactionOptions = {},
): Promise<HandleOnceResult<T>> {
  return withTransaction(
    pool,
    async (client): Promise<HandleOnceResult<T>> => {
      if (!(await claimInbox(client, consumer, eventId))) return { applied: false };
      return { applied: true, value: await fn(client) };
    },
    options,
  );
}

/**
 * Forgets applied ids older than `olderThan`. Only safe past the longest time a message can be
 * redelivered (the bus's retention and the outbox's own retention): after that, a replay of a
 * forgotten id would be applied again. Returns the number of rows removed.
 */
export async function pruneInbox(pool: Pool, olderThan: Date): Promise<number> {
  const result = await pool.query('DELETE FROM inbox WHERE applied_at < $1', [olderThan]);
  return result.rowCount ?? 0;
}
