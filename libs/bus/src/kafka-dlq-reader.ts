// Reads a dead-letter topic for KafkaBus.readDeadLetters: one consumer per DLQ topic, in a group of
// its own that never commits, kept joined between reads and closed when idle. Joining a group
// costs seconds (group.initial.rebalance.delay.ms; 3 s on the mock), so a poll loop over the DLQ
// pays it once, not per read. Read-only: it never writes or commits anything.

import type { Consumer, ConsumerConfig, EachBatchPayload, Kafka } from 'kafkajs';
import type { DeadLetter } from './bus.ts';
import { decodeDeadLetter } from './kafka-codec.ts';
import type { Logger } from './logger.ts';

export interface DeadLetterRead {
  /** First offset to read per partition. */
  readonly start: ReadonlyMap<number, bigint>;
  /** Last offset to read per partition (what existed when the read began). */
  readonly last: ReadonlyMap<number, bigint>;
  readonly limit: number;
  readonly timeoutMs: number;
}

interface ActiveRead {
  readonly request: DeadLetterRead;
  readonly pending: Set<number>;
  readonly letters: Map<number, { offset: bigint; letter: DeadLetter }[]>;
  readonly finish: (err?: unknown) => void;
}

export class KafkaDeadLetterReader {
  private readonly kafka: Kafka;
  private readonly topic: string;
  private readonly config: Omit<ConsumerConfig, 'groupId'>;
  private readonly idleMs: number;
  private readonly log: Logger;
  private consumer: Consumer | undefined;
  private ready: Promise<Consumer> | undefined;
  private active: ActiveRead | undefined;
  /** Reads run one at a time: each one repositions the shared consumer. */
  private queue: Promise<unknown> = Promise.resolve();
  private idleTimer: NodeJS.Timeout | undefined;
  private closed = false;

  constructor(kafka: Kafka, topic: string, config: Omit<ConsumerConfig, 'groupId'>, idleMs: number, log: Logger) {
    this.kafka = kafka;
    this.topic = topic;
    this.config = config;
    this.idleMs = idleMs;
    this.log = log.child({ topic });
  }

  /** Dead letters in [start, last] of each partition, ordered by partition then offset, at most `limit`. */
  read(request: DeadLetterRead): Promise<DeadLetter[]> {
    const run = this.queue.then(() => this.readNow(request));
    this.queue = run.catch(() => {});
    return run;
  }

  async close(): Promise<void> {
    this.closed = true;
    clearTimeout(this.idleTimer);
    await this.reset();
  }

  private async readNow(request: DeadLetterRead): Promise<DeadLetter[]> {
    if (this.closed) throw new Error('dead-letter reader closed');
    clearTimeout(this.idleTimer);
    const consumer = await this.join();
    let finish!: (err?: unknown) => void;
    const done = new Promise<void>((resolve, reject) => (finish = (err) => (err === undefined ? resolve() : reject(err))));
    const active: ActiveRead = { request, pending: new Set(request.last.keys()), letters: new Map(), finish };
    const timer = setTimeout(() => finish(new Error(`reading ${this.topic} timed out after ${request.timeoutMs} ms`)), request.timeoutMs);
    try {
      // Same tick as the seeks: a batch fetched before them is stale from here on, and skipped.
      this.active = active;
      for (const [partition, offset] of request.start) consumer.seek({ topic: this.topic, partition, offset: offset.toString() });
      this.log.debug({ start: [...request.start].map(String), last: [...request.last].map(String) }, 'reading dead letters');
      await done;
    } catch (err) {
      // A consumer in an unknown state is not reused.
      await this.reset();
      throw err;
    } finally {
      clearTimeout(timer);
      this.active = undefined;
      if (!this.closed) this.idleTimer = setTimeout(() => void this.reset(), this.idleMs).unref();
    }
    return [...active.letters.entries()]
      .sort(([a], [b]) => a - b)
      .flatMap(([, list]) => list.map((entry) => entry.letter))
      .slice(0, request.limit);
  }

  private join(): Promise<Consumer> {
    this.ready ??= (async () => {
      const consumer = this.kafka.consumer({
        ...this.config,
        groupId: `vigil-dlq-reader-${crypto.randomUUID()}`,
        allowAutoTopicCreation: false,
        retry: { ...this.config.retry, restartOnFailure: async () => false },
      });
      this.consumer = consumer;
      const joined = new Promise<void>((resolve, reject) => {
        consumer.on(consumer.events.GROUP_JOIN, () => resolve());
        consumer.on(consumer.events.CRASH, ({ payload }) => {
          reject(payload.error);
          this.active?.finish(payload.error);
          if (this.consumer === consumer) void this.reset();
        });
      });
      joined.catch(() => {});
      await consumer.connect();
      await consumer.subscribe({ topic: this.topic, fromBeginning: true });
      await consumer.run({ autoCommit: false, partitionsConsumedConcurrently: 4, eachBatch: async (payload) => this.collect(payload) });
      await joined;
      return consumer;
    })();
    const ready = this.ready;
    ready.catch(() => {
      if (this.ready === ready) void this.reset();
    });
    return ready;
  }

  private collect({ batch, isStale }: EachBatchPayload): void {
    const active = this.active;
    if (!active || isStale() || !active.pending.has(batch.partition)) return;
    const start = active.request.start.get(batch.partition) ?? 0n;
    const last = active.request.last.get(batch.partition)!;
    const mine = active.letters.get(batch.partition) ?? [];
    active.letters.set(batch.partition, mine);
    for (const message of batch.messages) {
      const offset = BigInt(message.offset);
      if (offset < start) continue;
      if (offset > last) break;
      const letter = decodeDeadLetter(message);
      if (letter) mine.push({ offset, letter });
      // No partition can contribute more than `limit` to the first `limit` overall.
      if (mine.length >= active.request.limit) break;
    }
    if (BigInt(batch.lastOffset()) >= last || mine.length >= active.request.limit) active.pending.delete(batch.partition);
    if (active.pending.size === 0) active.finish();
  }

  private async reset(): Promise<void> {
    const consumer = this.consumer;
    this.consumer = undefined;
    this.ready = undefined;
    await consumer?.disconnect().catch((err: unknown) => this.log.warn({ err }, 'dead-letter reader disconnect failed'));
  }
}
