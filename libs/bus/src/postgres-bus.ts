// PostgresBus: the embedded default's Bus, a durable partitioned log in Postgres with Kafka's
// semantics (per-key order within a partition, per-group committed offsets, at-least-once,
// dead-letter topics), so one-machine Vigil loses nothing across a restart. Transport only.
//
// Group membership: members heartbeat into bus_members; the live members, sorted, split the
// partitions round-robin. Exclusive ownership of a partition is a session advisory lock held on
// the subscription's own connection, so a member that dies (connection gone) frees its partitions
// at once, and one that lost its connection can no longer commit (commits go over that same
// connection).

import { createHash, randomUUID } from 'node:crypto';
import { migrate } from '@vigil/db';
import { type Event, type EventType } from '@vigil/events';
import pg from 'pg';
import {
  DEFAULT_RETRY,
  dlqTopic,
  isDlqTopic,
  sourceTopic,
  sumLag,
  type Bus,
  type ConsumerLag,
  type DeadLetter,
  type DeadLetterDepth,
  type DeadLetterListener,
  type DeadLetterReason,
  type Handler,
  type PartitionLag,
  type SubscribeOptions,
  type Subscription,
} from './bus.ts';
import { abortableSleep, dispatchBatch, type RawRecord } from './dispatcher.ts';
import { silentLogger, type Logger } from './logger.ts';
import { BUS_MIGRATIONS } from './postgres-bus-schema.ts';

export interface PostgresBusOptions {
  /** Shared with the service (the bus never ends a pool it was given), or a URL to own one. */
  pool?: pg.Pool;
  connectionString?: string;
  /** Partitions of a topic created on first publish. */
  partitions?: number;
  log?: Logger;
  /** Events fetched per partition per round. */
  batchSize?: number;
  /** Fallback poll when no NOTIFY arrives (another database, a lost notification). */
  pollIntervalMs?: number;
  heartbeatIntervalMs?: number;
  /** A member silent this long is presumed dead and its partitions are reassigned. */
  sessionTimeoutMs?: number;
  /** Told of each dead letter once it is written (metrics). */
  onDeadLettered?: DeadLetterListener;
}

const CHANNEL = 'vigil_bus';

export class PostgresBus implements Bus {
  readonly #pool: pg.Pool;
  readonly #ownsPool: boolean;
  readonly #partitions: number;
  readonly #log: Logger;
  readonly #options: Required<Pick<PostgresBusOptions, 'batchSize' | 'pollIntervalMs' | 'heartbeatIntervalMs' | 'sessionTimeoutMs'>>;
  readonly #subscriptions = new Set<PgSubscription>();
  readonly #knownTopics = new Map<string, number>();
  #ready: Promise<void> | undefined;
  #closed = false;
  readonly #onDeadLettered: DeadLetterListener | undefined;

  constructor(options: PostgresBusOptions) {
    if (options.pool) {
      this.#pool = options.pool;
      this.#ownsPool = false;
    } else if (options.connectionString) {
      this.#pool = new pg.Pool({ connectionString: options.connectionString, max: 10, application_name: 'vigil-bus' });
      // An idle client dropped by the server (a restart, a failover) is discarded by the pool; an
      // 'error' event without a listener would end the process instead.
      this.#pool.on('error', (err) => this.#log.warn({ err }, 'idle bus connection failed; discarded'));
      this.#ownsPool = true;
    } else {
      throw new Error('PostgresBus needs a pool or a connectionString');
    }
    this.#partitions = options.partitions ?? 4;
    this.#onDeadLettered = options.onDeadLettered;
    this.#log = options.log ?? silentLogger;
    this.#options = {
      batchSize: options.batchSize ?? 100,
      pollIntervalMs: options.pollIntervalMs ?? 1000,
      heartbeatIntervalMs: options.heartbeatIntervalMs ?? 500,
      sessionTimeoutMs: options.sessionTimeoutMs ?? 6000,
    };
  }

  /** Applies the bus schema (idempotent, safe from concurrent processes). */
  ready(): Promise<void> {
    this.#ready ??= migrate(this.#pool, { namespace: 'bus', migrations: [...BUS_MIGRATIONS] }).then(() => undefined);
    return this.#ready;
  }

  async publish(events: readonly Event[]): Promise<void> {
    if (events.length === 0) return;
    await this.append(events.map((event) => ({ topic: event.type, key: event.key, value: encode(event), headers: { id: event.id, type: event.type, traceId: event.traceId } })));
  }

  /**
   * Appends raw records (the DLQ and tests use it). One transaction: all or nothing. Partition
   * rows are locked in a fixed order, so concurrent publishers cannot deadlock.
   */
  async append(records: readonly { topic: string; key: string | null; value: Uint8Array | null; headers?: Record<string, unknown> }[]): Promise<void> {
    this.#assertOpen();
    await this.ready();
    const byPartition = new Map<string, { topic: string; partition: number; rows: typeof records[number][] }>();
    for (const record of records) {
      const partitions = await this.#topicPartitions(record.topic);
      const partition = record.key === null ? Math.floor(Math.random() * partitions) : partitionFor(record.key, partitions);
      const slot = `${record.topic}\u0000${String(partition).padStart(6, '0')}`;
      const entry = byPartition.get(slot) ?? { topic: record.topic, partition, rows: [] };
      entry.rows.push(record);
      byPartition.set(slot, entry);
    }
    const client = await this.#pool.connect();
    try {
      await client.query('BEGIN');
      for (const slot of [...byPartition.keys()].sort()) {
        const { topic, partition, rows } = byPartition.get(slot)!;
        const { rows: [row] } = await client.query<{ next_offset: string }>(
          'UPDATE bus_partitions SET next_offset = next_offset + $3 WHERE topic = $1 AND partition = $2 RETURNING next_offset',
          [topic, partition, rows.length],
        );
        const first = BigInt(row!.next_offset) - BigInt(rows.length);
        await client.query(
          `INSERT INTO bus_log (topic, partition, "offset", key, value, headers)
           SELECT $1, $2, o, k, v, h FROM unnest($3::bigint[], $4::text[], $5::bytea[], $6::jsonb[]) AS t(o, k, v, h)`,
          [
            topic,
            partition,
            rows.map((_, i) => (first + BigInt(i)).toString()),
            rows.map((r) => r.key),
            rows.map((r) => (r.value ? Buffer.from(r.value) : null)),
            rows.map((r) => JSON.stringify(r.headers ?? {})),
          ],
        );
      }
      // Delivered at commit, only if it commits: consumers wake without polling.
      for (const topic of new Set(records.map((r) => r.topic))) await client.query('SELECT pg_notify($1, $2)', [CHANNEL, topic]);
      await client.query('COMMIT');
    } catch (err) {
      await client.query('ROLLBACK').catch(() => undefined);
      throw err;
    } finally {
      client.release();
    }
  }

  async subscribe<T extends EventType>(options: SubscribeOptions<T>, handler: Handler<T>): Promise<Subscription> {
    this.#assertOpen();
    await this.ready();
    await this.#topicPartitions(options.topic);
    const subscription = new PgSubscription(this, options as SubscribeOptions, handler as Handler, this.#log.child({ component: 'postgres-bus', topic: options.topic, group: options.group }));
    this.#subscriptions.add(subscription);
    subscription.onStopped = () => this.#subscriptions.delete(subscription);
    await subscription.start();
    return subscription;
  }

  async lag(groups?: readonly { group: string; topic: string }[]): Promise<PartitionLag[]> {
    await this.ready();
    const wanted = groups ?? [...this.#subscriptions].map((s) => ({ group: s.group, topic: s.topic }));
    if (wanted.length === 0) return [];
    const { rows } = await this.#pool.query<{ group_id: string; topic: string; partition: number; committed: string | null; end_offset: string; low: string | null }>(
      `SELECT w.group_id, p.topic, p.partition, o.next_offset AS committed, p.next_offset AS end_offset,
              (SELECT min("offset") FROM bus_log l WHERE l.topic = p.topic AND l.partition = p.partition) AS low
         FROM unnest($1::text[], $2::text[]) AS w(group_id, topic)
         JOIN bus_partitions p ON p.topic = w.topic
         LEFT JOIN bus_group_offsets o ON o.group_id = w.group_id AND o.topic = p.topic AND o.partition = p.partition
        ORDER BY w.group_id, p.topic, p.partition`,
      [wanted.map((w) => w.group), wanted.map((w) => w.topic)],
    );
    return rows.map((row) => {
      const end = BigInt(row.end_offset);
      // A group that never committed starts at the oldest retained event.
      const from = row.committed !== null ? BigInt(row.committed) : BigInt(row.low ?? row.end_offset);
      return { group: row.group_id, topic: row.topic, partition: row.partition, committed: row.committed, end: end.toString(), lag: Number(end > from ? end - from : 0n) };
    });
  }

  async consumerLag(groups?: readonly { group: string; topic: string }[]): Promise<ConsumerLag[]> {
    await this.ready();
    let wanted = groups;
    if (!wanted) {
      // Every group that committed or is a member now, and this bus's own (not yet committed) ones.
      const { rows } = await this.#pool.query<{ group_id: string; topic: string }>(
        `SELECT group_id, topic FROM bus_group_offsets UNION SELECT group_id, topic FROM bus_members`,
      );
      const pairs = new Map<string, { group: string; topic: string }>();
      for (const pair of [...rows.map((r) => ({ group: r.group_id, topic: r.topic })), ...[...this.#subscriptions].map((s) => ({ group: s.group, topic: s.topic }))]) {
        if (!isDlqTopic(pair.topic)) pairs.set(`${pair.group}\u0000${pair.topic}`, pair);
      }
      wanted = [...pairs.values()];
    }
    return sumLag(await this.lag(wanted));
  }

  async deadLetterDepth(): Promise<DeadLetterDepth[]> {
    await this.ready();
    const { rows } = await this.#pool.query<{ topic: string; depth: string }>(
      `SELECT p.topic, (SELECT count(*) FROM bus_log l WHERE l.topic = p.topic) AS depth
         FROM (SELECT DISTINCT topic FROM bus_partitions WHERE topic LIKE '%.dlq') p ORDER BY p.topic`,
    );
    return rows.map((row) => ({ topic: sourceTopic(row.topic), depth: Number(row.depth) }));
  }

  /** Tells the listener of a dead letter just written; a throwing listener never fails the write. */
  noteDeadLettered(letter: DeadLetter): void {
    try {
      this.#onDeadLettered?.(letter);
    } catch (err) {
      this.#log.warn({ err }, 'dead-letter listener failed');
    }
  }

  async readDeadLetters(topic: string, options: { limit?: number; fromOffset?: string } = {}): Promise<DeadLetter[]> {
    await this.ready();
    const { rows } = await this.#pool.query<{ key: string | null; value: Buffer | null; headers: Record<string, unknown> }>(
      `SELECT key, value, headers FROM bus_log WHERE topic = $1 AND "offset" >= $2
        ORDER BY published_at, partition, "offset" LIMIT $3`,
      [dlqTopic(topic), options.fromOffset ?? '0', options.limit ?? 1000],
    );
    return rows.map((row) => {
      const h = row.headers as Record<string, string | number>;
      return {
        topic: String(h.topic),
        partition: Number(h.partition),
        offset: String(h.offset),
        group: String(h.group),
        key: row.key,
        value: row.value ? new Uint8Array(row.value) : null,
        reason: String(h.reason) as DeadLetterReason,
        message: String(h.message),
        attempts: Number(h.attempts),
        failedAt: String(h.failedAt),
      };
    });
  }

  /** Deletes log entries older than the retention, as Kafka's time-based retention does. */
  async prune(retentionMs: number): Promise<number> {
    await this.ready();
    const result = await this.#pool.query(`DELETE FROM bus_log WHERE published_at < now() - make_interval(secs => $1)`, [retentionMs / 1000]);
    return result.rowCount ?? 0;
  }

  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    await Promise.all([...this.#subscriptions].map((s) => s.stop()));
    if (this.#ownsPool) await this.#pool.end();
  }

  /** @internal */
  get pool(): pg.Pool {
    return this.#pool;
  }

  /** @internal */
  get timing() {
    return this.#options;
  }

  /** Partition count of a topic, creating its partitions on first use. */
  async #topicPartitions(topic: string): Promise<number> {
    const known = this.#knownTopics.get(topic);
    if (known !== undefined) return known;
    await this.#pool.query(
      `INSERT INTO bus_partitions (topic, partition) SELECT $1, p FROM generate_series(0, $2 - 1) AS p ON CONFLICT DO NOTHING`,
      [topic, this.#partitions],
    );
    const { rows: [row] } = await this.#pool.query<{ n: number }>('SELECT count(*)::int AS n FROM bus_partitions WHERE topic = $1', [topic]);
    this.#knownTopics.set(topic, row!.n);
    return row!.n;
  }

  #assertOpen(): void {
    if (this.#closed) throw new Error('PostgresBus is closed');
  }
}

/** One consumer-group member on one topic. */
class PgSubscription implements Subscription {
  readonly topic: string;
  readonly group: string;
  onStopped: () => void = () => {};
  readonly #bus: PostgresBus;
  readonly #options: SubscribeOptions;
  readonly #handler: Handler;
  readonly #log: Logger;
  readonly #member = randomUUID();
  readonly #abort = new AbortController();
  readonly #workers = new Map<number, { abort: AbortController; done: Promise<void> }>();
  readonly #wakers = new Set<() => void>();
  #client: pg.Client | undefined;
  #loop: Promise<void> | undefined;
  #stopping: Promise<void> | undefined;

  constructor(bus: PostgresBus, options: SubscribeOptions, handler: Handler, log: Logger) {
    this.#bus = bus;
    this.#options = options;
    this.#handler = handler;
    this.#log = log;
    this.topic = options.topic;
    this.group = options.group;
  }

  async start(): Promise<void> {
    await this.#connect();
    await this.#rebalance();
    this.#loop = this.#coordinate();
  }

  stop(): Promise<void> {
    this.#stopping ??= (async () => {
      this.#abort.abort();
      this.#wake();
      await this.#loop?.catch(() => undefined);
      await Promise.all([...this.#workers.values()].map((w) => w.done));
      await this.#bus.pool.query('DELETE FROM bus_members WHERE group_id = $1 AND topic = $2 AND member_id = $3', [this.group, this.topic, this.#member]).catch(() => undefined);
      // Ending the session releases every advisory lock it held.
      await this.#client?.end().catch(() => undefined);
      this.onStopped();
    })();
    return this.#stopping;
  }

  async #connect(): Promise<void> {
    const client = new pg.Client({ ...(this.#bus.pool.options as pg.ClientConfig), application_name: 'vigil-bus-member' });
    client.on('error', (err) => {
      // The session is gone, and with it our locks: stop every partition worker; the loop reconnects.
      this.#log.error({ err }, 'bus member connection lost');
      if (this.#client === client) this.#client = undefined;
      for (const worker of this.#workers.values()) worker.abort.abort();
      this.#wake();
    });
    client.on('notification', (message) => {
      if (message.payload === this.topic) this.#wake();
    });
    await client.connect();
    await client.query(`LISTEN ${CHANNEL}`);
    this.#client = client;
  }

  #wake(): void {
    for (const wake of [...this.#wakers]) wake();
  }

  /** Waits for a notification, the poll interval, or a stop. */
  #idle(ms: number, signal: AbortSignal): Promise<void> {
    return new Promise((resolve) => {
      const finish = (): void => {
        clearTimeout(timer);
        this.#wakers.delete(finish);
        signal.removeEventListener('abort', finish);
        resolve();
      };
      const timer = setTimeout(finish, ms);
      this.#wakers.add(finish);
      signal.addEventListener('abort', finish, { once: true });
    });
  }

  async #coordinate(): Promise<void> {
    const { heartbeatIntervalMs } = this.#bus.timing;
    while (!this.#abort.signal.aborted) {
      await abortableSleep(heartbeatIntervalMs, this.#abort.signal);
      if (this.#abort.signal.aborted) break;
      try {
        if (!this.#client) await this.#connect();
        await this.#rebalance();
      } catch (err) {
        this.#log.error({ err }, 'bus rebalance failed; retrying');
      }
    }
  }

  /** Heartbeat, compute this member's share, drop what is no longer ours, take what is. */
  async #rebalance(): Promise<void> {
    const { sessionTimeoutMs } = this.#bus.timing;
    const pool = this.#bus.pool;
    await pool.query(
      `INSERT INTO bus_members (group_id, topic, member_id) VALUES ($1, $2, $3)
       ON CONFLICT (group_id, topic, member_id) DO UPDATE SET heartbeat_at = now()`,
      [this.group, this.topic, this.#member],
    );
    await pool.query(`DELETE FROM bus_members WHERE group_id = $1 AND topic = $2 AND heartbeat_at < now() - make_interval(secs => $3)`, [this.group, this.topic, sessionTimeoutMs / 1000]);
    const { rows: members } = await pool.query<{ member_id: string }>('SELECT member_id FROM bus_members WHERE group_id = $1 AND topic = $2 ORDER BY member_id', [this.group, this.topic]);
    const { rows: parts } = await pool.query<{ partition: number }>('SELECT partition FROM bus_partitions WHERE topic = $1 ORDER BY partition', [this.topic]);
    const index = members.findIndex((m) => m.member_id === this.#member);
    const mine = new Set(parts.map((p) => p.partition).filter((p) => members.length > 0 && index >= 0 && p % members.length === index));

    for (const [partition, worker] of this.#workers) {
      if (!mine.has(partition) || worker.abort.signal.aborted) {
        worker.abort.abort();
        await worker.done;
        this.#workers.delete(partition);
        await this.#unlock(partition);
      }
    }
    const client = this.#client;
    if (!client || this.#abort.signal.aborted) return;
    for (const partition of mine) {
      if (this.#workers.has(partition)) continue;
      // The previous owner may still be finishing its batch: it releases, we take it next round.
      const { rows: [row] } = await client.query<{ locked: boolean }>('SELECT pg_try_advisory_lock(hashtext($1), $2) AS locked', [this.#lockName(), partition]);
      if (!row?.locked) continue;
      const abort = new AbortController();
      const done = this.#consume(partition, client, abort.signal).catch((err) => {
        this.#log.error({ err, partition }, 'partition worker failed; it restarts on the next rebalance');
        abort.abort();
      });
      this.#workers.set(partition, { abort, done });
    }
  }

  #lockName(): string {
    return JSON.stringify(['vigil-bus', this.group, this.topic]);
  }

  async #unlock(partition: number): Promise<void> {
    await this.#client?.query('SELECT pg_advisory_unlock(hashtext($1), $2)', [this.#lockName(), partition]).catch(() => undefined);
  }

  /** Fetch, dispatch and commit one partition until stopped or reassigned. */
  async #consume(partition: number, client: pg.Client, workerSignal: AbortSignal): Promise<void> {
    const signal = AbortSignal.any([workerSignal, this.#abort.signal]);
    const pool = this.#bus.pool;
    const { batchSize, pollIntervalMs } = this.#bus.timing;
    const retryPolicy = { ...DEFAULT_RETRY, ...this.#options.retry };
    const { rows: [committed] } = await pool.query<{ next_offset: string }>(
      'SELECT next_offset FROM bus_group_offsets WHERE group_id = $1 AND topic = $2 AND partition = $3',
      [this.group, this.topic, partition],
    );
    let position = committed?.next_offset ?? '0';
    const commit = async (next: string): Promise<void> => {
      // Over the lock-holding session: a member that lost its session cannot commit.
      await client.query(
        `INSERT INTO bus_group_offsets (group_id, topic, partition, next_offset) VALUES ($1, $2, $3, $4)
         ON CONFLICT (group_id, topic, partition) DO UPDATE
           SET next_offset = GREATEST(bus_group_offsets.next_offset, EXCLUDED.next_offset), updated_at = now()`,
        [this.group, this.topic, partition, next],
      );
      position = next;
    };

    while (!signal.aborted) {
      const { rows } = await pool.query<{ offset: string; key: string | null; value: Buffer | null }>(
        `SELECT "offset", key, value FROM bus_log WHERE topic = $1 AND partition = $2 AND "offset" >= $3 ORDER BY "offset" LIMIT $4`,
        [this.topic, partition, position, batchSize],
      );
      if (rows.length === 0) {
        await this.#idle(pollIntervalMs, signal);
        continue;
      }
      const records: RawRecord[] = rows.map((row) => ({ partition, offset: row.offset, key: row.key, value: row.value ? new Uint8Array(row.value) : null }));
      const result = await dispatchBatch(records, {
        topic: this.#options.topic,
        group: this.group,
        handler: this.#handler,
        concurrency: this.#options.concurrency ?? 1,
        retry: retryPolicy,
        signal,
        log: this.#log,
        onProgress: commit,
        deadLetter: async (letter) => {
          await this.#bus.append([{ topic: dlqTopic(letter.topic), key: letter.key, value: letter.value, headers: deadLetterHeaders(letter) }]);
          this.#bus.noteDeadLettered(letter);
        },
      });
      if (!result.complete) break;
    }
  }
}

function deadLetterHeaders(letter: DeadLetter): Record<string, unknown> {
  const { key: _key, value: _value, ...rest } = letter;
  return rest;
}

function encode(event: Event): Uint8Array {
  return new TextEncoder().encode(JSON.stringify(event));
}

/** Stable key → partition (first 32 bits of SHA-1): one key always lands on one partition. */
export function partitionFor(key: string, partitions: number): number {
  const digest = createHash('sha1').update(key).digest();
  return digest.readUInt32BE(0) % partitions;
}
