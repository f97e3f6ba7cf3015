// KafkaBus: the Bus port over Kafka (kafkajs), for the distributed deployment. Topic = event type,
// key = the event's partition key, value = the envelope's JSON. Transport only: outcomes come from
// handlers through the shared dispatcher; this file produces, consumes, commits and dead-letters.

import { EVENT_TYPES, type Event, type EventType } from '@vigil/events';
import kafkajs, { type Admin, type ConsumerConfig, type KafkaConfig, type Producer, type RetryOptions } from 'kafkajs';
import {
  DEFAULT_RETRY,
  dlqTopic,
  isDlqTopic,
  sourceTopic,
  sumLag,
  type ConsumerLag,
  type DeadLetterDepth,
  type DeadLetterListener,
  type Bus,
  type DeadLetter,
  type Handler,
  type PartitionLag,
  type SubscribeOptions,
  type Subscription,
} from './bus.ts';
import { encodeDeadLetter, encodeEvent, type KafkaRecord, type ReceivedHeaders } from './kafka-codec.ts';
import { kafkaLogCreator, kafkaLogLevels, type KafkaLogLevel } from './kafka-log.ts';
import { KafkaDeadLetterReader } from './kafka-dlq-reader.ts';
import { KafkaSubscription } from './kafka-subscription.ts';
import { silentLogger, type Logger } from './logger.ts';

const { Kafka, Partitioners, CompressionTypes } = kafkajs;

export interface KafkaBusConfig {
  readonly brokers: readonly string[];
  readonly clientId?: string;
  readonly ssl?: KafkaConfig['ssl'];
  readonly sasl?: KafkaConfig['sasl'];
  readonly connectionTimeoutMs?: number;
  readonly requestTimeoutMs?: number;
  /**
   * kafkajs retries for connections, metadata, produce and group calls. The default rides out a
   * broker restart of several seconds: ~18 s before a send to a dead broker fails (measured).
   */
  readonly retry?: RetryOptions;
  /** Group membership: how long a silent member keeps its partitions (kafkajs default 30 s). */
  readonly sessionTimeoutMs?: number;
  readonly heartbeatIntervalMs?: number;
  /** How long the group waits for members to rejoin in a rebalance (kafkajs default 60 s). */
  readonly rebalanceTimeoutMs?: number;
  /** Longest a fetch waits for data: bounds the latency of a quiet partition (kafkajs default 5 s). */
  readonly maxWaitTimeMs?: number;
  /**
   * Partitions each consumer works on at once (default 8); `concurrency` applies within each. A
   * partition in a long retry backoff holds one of these, never the others.
   */
  readonly partitionsConsumedConcurrently?: number;
  /**
   * A batch still running after this long (slow handlers, a retry backoff) continues in the
   * background with its partition paused, so the other partitions of its broker keep flowing
   * (default 500 ms).
   */
  readonly detachBatchAfterMs?: number;
  readonly compression?: 'none' | 'gzip';
  /**
   * Idempotent producer (exactly-once per partition for retried sends). Off by default: kafkajs marks
   * it experimental and the test mock cannot serve it; consumers dedupe by event id regardless.
   */
  readonly idempotent?: boolean;
  /** kafkajs's own log lines, routed to the bus logger (default warn). */
  readonly logLevel?: KafkaLogLevel;
  /** subscribe() rejects if the group is not joined by then (default 60 s). */
  readonly subscribeTimeoutMs?: number;
  /** Backoff between re-creations of a crashed consumer (default 500 ms doubling to 30 s). */
  readonly restartDelayMs?: { readonly initial: number; readonly max: number };
  /** readDeadLetters() gives up reading after this long (default 30 s). */
  readonly readTimeoutMs?: number;
  /** A dead-letter reader left unused this long leaves its group (default 30 s). */
  readonly readerIdleMs?: number;
  /** Told of each dead letter once the broker acknowledged it (metrics). */
  readonly onDeadLettered?: DeadLetterListener;
}

const DEFAULT_CLIENT_RETRY: RetryOptions = { retries: 8, initialRetryTime: 100, maxRetryTime: 2000 };

export class KafkaBus implements Bus {
  private readonly config: KafkaBusConfig;
  private readonly log: Logger;
  private readonly kafka: kafkajs.Kafka;
  private producerReady: Promise<Producer> | undefined;
  private adminReady: Promise<Admin> | undefined;
  private readonly subscriptions = new Set<KafkaSubscription<EventType>>();
  /** Every (group, topic) this bus has consumed, for lag() without arguments. */
  private readonly consumed = new Map<string, { group: string; topic: string }>();
  private readonly readers = new Map<string, KafkaDeadLetterReader>();
  private closing: Promise<void> | undefined;

  constructor(config: KafkaBusConfig, log: Logger = silentLogger) {
    if (config.brokers.length === 0) throw new Error('KafkaBus needs at least one broker');
    this.config = config;
    this.log = log;
    this.kafka = new Kafka({
      brokers: [...config.brokers],
      clientId: config.clientId ?? 'vigil',
      ...(config.ssl === undefined ? {} : { ssl: config.ssl }),
      ...(config.sasl === undefined ? {} : { sasl: config.sasl }),
      connectionTimeout: config.connectionTimeoutMs ?? 3000,
      requestTimeout: config.requestTimeoutMs ?? 30_000,
      retry: config.retry ?? DEFAULT_CLIENT_RETRY,
      logLevel: kafkaLogLevels[config.logLevel ?? 'warn'],
      logCreator: kafkaLogCreator(log),
    });
  }

  /**
   * Publishes with acks from all in-sync replicas. Events of one key go to one partition in the
   * order given (murmur2, Java-compatible, so other Kafka clients agree on the partition).
   */
  async publish(events: readonly Event[]): Promise<void> {
    this.assertOpen();
    if (events.length === 0) return;
    const byTopic = new Map<string, KafkaRecord[]>();
    for (const event of events) {
      const records = byTopic.get(event.type);
      if (records) records.push(encodeEvent(event));
      else byTopic.set(event.type, [encodeEvent(event)]);
    }
    const producer = await this.producer();
    await producer.sendBatch({
      acks: -1,
      compression: this.compression(),
      topicMessages: [...byTopic].map(([topic, messages]) => ({ topic, messages })),
    });
  }

  async subscribe<T extends EventType>(options: SubscribeOptions<T>, handler: Handler<T>): Promise<Subscription> {
    this.assertOpen();
    const c = this.config;
    const subscription = new KafkaSubscription<T>({
      kafka: this.kafka,
      options,
      handler,
      retry: { ...DEFAULT_RETRY, ...options.retry },
      concurrency: Math.max(1, options.concurrency ?? 1),
      consumer: this.consumerConfig(),
      partitionsConsumedConcurrently: c.partitionsConsumedConcurrently ?? 8,
      heartbeatIntervalMs: c.heartbeatIntervalMs ?? 3000,
      detachAfterMs: c.detachBatchAfterMs ?? 500,
      restartDelayMs: c.restartDelayMs ?? { initial: 500, max: 30_000 },
      startTimeoutMs: c.subscribeTimeoutMs ?? 60_000,
      deadLetter: (letter, headers) => this.writeDeadLetter(letter, headers),
      log: this.log.child({ component: 'kafka-consumer' }),
    });
    const erased = subscription as unknown as KafkaSubscription<EventType>;
    this.subscriptions.add(erased);
    this.consumed.set(`${options.group}\u0000${options.topic}`, { group: options.group, topic: options.topic });
    try {
      await subscription.start();
    } catch (err) {
      this.subscriptions.delete(erased);
      throw err;
    }
    return {
      topic: subscription.topic,
      group: subscription.group,
      stop: async () => {
        await subscription.stop();
        this.subscriptions.delete(erased);
      },
    };
  }

  /**
   * Committed position against the log end, per partition. A group that never committed a
   * partition would start at its earliest retained offset (subscriptions read from the beginning),
   * so its lag counts from there.
   */
  async lag(groups?: readonly { group: string; topic: string }[]): Promise<PartitionLag[]> {
    this.assertOpen();
    const admin = await this.admin();
    const pairs = groups ?? [...this.consumed.values()];
    const ends = new Map<string, Awaited<ReturnType<Admin['fetchTopicOffsets']>>>();
    for (const { topic } of pairs) if (!ends.has(topic)) ends.set(topic, await this.topicOffsets(topic));
    const result: PartitionLag[] = [];
    for (const { group, topic } of pairs) {
      const [fetched] = await admin.fetchOffsets({ groupId: group, topics: [topic] });
      const committedBy = new Map((fetched?.partitions ?? []).map((p) => [p.partition, p.offset]));
      for (const { partition, high, low } of ends.get(topic) ?? []) {
        const raw = committedBy.get(partition);
        const committed = raw === undefined || BigInt(raw) < 0n ? null : raw;
        const from = committed === null ? BigInt(low) : BigInt(committed);
        const lag = BigInt(high) > from ? Number(BigInt(high) - from) : 0;
        result.push({ group, topic, partition, committed, end: high, lag });
      }
    }
    return result.sort((a, b) => a.group.localeCompare(b.group) || a.topic.localeCompare(b.topic) || a.partition - b.partition);
  }

  /**
   * Without pairs: the groups the cluster lists (ListGroups; a broker or proxy that refuses it
   * leaves only this bus's own), each with the topics it committed offsets for.
   */
  async consumerLag(groups?: readonly { group: string; topic: string }[]): Promise<ConsumerLag[]> {
    this.assertOpen();
    let pairs = groups;
    if (!pairs) {
      const found = new Map([...this.consumed].filter(([, pair]) => !isDlqTopic(pair.topic)));
      const admin = await this.admin();
      let listed: string[] = [];
      try {
        listed = (await admin.listGroups()).groups.filter((g) => g.protocolType === 'consumer' || g.protocolType === '').map((g) => g.groupId);
      } catch (err) {
        this.log.debug({ err }, 'listGroups refused; lag of this bus\'s own groups only');
      }
      for (const groupId of listed) {
        for (const { topic } of await admin.fetchOffsets({ groupId })) {
          if (!isDlqTopic(topic)) found.set(`${groupId}\u0000${topic}`, { group: groupId, topic });
        }
      }
      pairs = [...found.values()];
    }
    return sumLag(await this.lag(pairs));
  }

  /** High minus low watermark of every `.dlq` topic: the letters the topic retains. */
  async deadLetterDepth(): Promise<DeadLetterDepth[]> {
    this.assertOpen();
    const admin = await this.admin();
    const topics = (await admin.listTopics()).filter(isDlqTopic).sort();
    const depths: DeadLetterDepth[] = [];
    for (const topic of topics) {
      const offsets = await admin.fetchTopicOffsets(topic);
      depths.push({ topic: sourceTopic(topic), depth: offsets.reduce((sum, p) => sum + Number(BigInt(p.high) - BigInt(p.low)), 0) });
    }
    return depths;
  }

  /**
   * Reads `<topic>.dlq` (or the given `.dlq` topic) up to its end as of the call, through a consumer
   * group of its own that never commits, so reading changes nothing for anyone. Ordered by
   * partition, then offset (one key's letters keep their order); `fromOffset` applies within each
   * partition. Records without dead-letter headers are skipped. The first read of a topic pays a
   * group join (seconds); the reader then stays joined until idle for `readerIdleMs`.
   */
  async readDeadLetters(topic: string, options: { limit?: number; fromOffset?: string } = {}): Promise<DeadLetter[]> {
    this.assertOpen();
    const dlq = topic.endsWith('.dlq') ? topic : dlqTopic(topic);
    const limit = options.limit ?? 1000;
    const from = BigInt(options.fromOffset ?? '0');
    const start = new Map<number, bigint>();
    const last = new Map<number, bigint>();
    for (const { partition, high, low } of await this.topicOffsets(dlq)) {
      const first = BigInt(low) > from ? BigInt(low) : from;
      if (BigInt(high) <= first) continue;
      start.set(partition, first);
      last.set(partition, BigInt(high) - 1n);
    }
    if (last.size === 0 || limit <= 0) return [];
    let reader = this.readers.get(dlq);
    if (!reader) {
      reader = new KafkaDeadLetterReader(this.kafka, dlq, this.consumerConfig(), this.config.readerIdleMs ?? 30_000, this.log.child({ component: 'kafka-dlq-reader' }));
      this.readers.set(dlq, reader);
    }
    return reader.read({ start, last, limit, timeoutMs: this.config.readTimeoutMs ?? 30_000 });
  }

  /**
   * Creates the topics and their dead-letter topics where missing. Topics usually come from
   * infrastructure (and the test mock cannot serve CreateTopics at all), so a refusal is fine as
   * long as every topic exists afterwards; otherwise it throws naming the missing ones.
   */
  async ensureTopics(topics: readonly string[] = EVENT_TYPES, partitions = 4): Promise<void> {
    this.assertOpen();
    const wanted = [...new Set(topics.flatMap((t) => (t.endsWith('.dlq') ? [t] : [t, dlqTopic(t)])))];
    const admin = await this.admin();
    try {
      await admin.createTopics({ topics: wanted.map((topic) => ({ topic, numPartitions: partitions })), waitForLeaders: true });
    } catch (err) {
      const existing = new Set(await admin.listTopics());
      const missing = wanted.filter((topic) => !existing.has(topic));
      if (missing.length > 0) throw new Error(`cannot create topics ${missing.join(', ')}: ${(err as Error).message}`, { cause: err });
      this.log.debug({ err }, 'createTopics refused, but every topic exists');
    }
  }

  /** Drains every subscription (handlers finish, progress committed), then disconnects. Idempotent. */
  close(): Promise<void> {
    this.closing ??= (async () => {
      await Promise.all([...this.subscriptions].map((s) => s.stop()));
      this.subscriptions.clear();
      await Promise.all([...this.readers.values()].map((reader) => reader.close()));
      const producer = this.producerReady?.catch(() => undefined);
      const admin = this.adminReady?.catch(() => undefined);
      await Promise.all([(await producer)?.disconnect(), (await admin)?.disconnect()]);
    })();
    return this.closing;
  }

  /**
   * Per-partition low and high watermarks; none for a topic that does not exist yet (where topics
   * are auto-created, a DLQ appears with its first letter). Checked first because kafkajs retries
   * an unknown topic as a transient error for many seconds.
   */
  private async topicOffsets(topic: string): Promise<Awaited<ReturnType<Admin['fetchTopicOffsets']>>> {
    const admin = await this.admin();
    if (!(await admin.listTopics()).includes(topic)) return [];
    return admin.fetchTopicOffsets(topic);
  }

  private consumerConfig(): Omit<ConsumerConfig, 'groupId'> {
    const c = this.config;
    return {
      sessionTimeout: c.sessionTimeoutMs ?? 30_000,
      heartbeatInterval: c.heartbeatIntervalMs ?? 3000,
      rebalanceTimeout: c.rebalanceTimeoutMs ?? 60_000,
      maxWaitTimeInMs: c.maxWaitTimeMs ?? 5000,
      retry: c.retry ?? DEFAULT_CLIENT_RETRY,
    };
  }

  private async writeDeadLetter(letter: DeadLetter, headers: ReceivedHeaders | undefined): Promise<void> {
    const producer = await this.producer();
    // acks -1: the dispatcher commits past the event as soon as this resolves.
    await producer.send({ topic: dlqTopic(letter.topic), acks: -1, compression: this.compression(), messages: [encodeDeadLetter(letter, headers)] });
    try {
      this.config.onDeadLettered?.(letter);
    } catch (err) {
      this.log.warn({ err }, 'dead-letter listener failed');
    }
  }

  private producer(): Promise<Producer> {
    if (this.producerReady) return this.producerReady;
    const ready = (async () => {
      const producer = this.kafka.producer({
        // kafkajs 2's default: murmur2 like the Java client; explicit to say so (and to silence its warning).
        createPartitioner: Partitioners.DefaultPartitioner,
        idempotent: this.config.idempotent ?? false,
        // The idempotent producer requires one request in flight; otherwise retries may reorder.
        ...(this.config.idempotent ? { maxInFlightRequests: 1 } : {}),
        retry: this.config.retry ?? DEFAULT_CLIENT_RETRY,
      });
      await producer.connect();
      return producer;
    })();
    // A failed connect is not cached: the next publish tries again.
    ready.catch(() => {
      if (this.producerReady === ready) this.producerReady = undefined;
    });
    this.producerReady = ready;
    return ready;
  }

  private admin(): Promise<Admin> {
    if (this.adminReady) return this.adminReady;
    const ready = (async () => {
      const admin = this.kafka.admin({ retry: this.config.retry ?? DEFAULT_CLIENT_RETRY });
      await admin.connect();
      return admin;
    })();
    ready.catch(() => {
      if (this.adminReady === ready) this.adminReady = undefined;
    });
    this.adminReady = ready;
    return ready;
  }

  private compression(): kafkajs.CompressionTypes {
    return this.config.compression === 'gzip' ? CompressionTypes.GZIP : CompressionTypes.None;
  }

  private assertOpen(): void {
    if (this.closing) throw new Error('KafkaBus is closed');
  }
}
