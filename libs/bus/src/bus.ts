// The Bus port: what services publish and consume through, whatever carries it (Kafka, or the
// Postgres log of the embedded default). Delivery is at least once; handlers are idempotent on
// the event id (the inbox in @vigil/db). Transport only: no business logic here.

import type { Event, EventType, PoisonReason } from '@vigil/events';

/**
 * What a handler decided for one event. Expected situations are values, not exceptions: a handler
 * that throws is treated as `retry` with the error's message (a bug or an outage looks the same
 * from here, and retrying is the safe answer for both).
 */
export type Outcome =
  | { readonly kind: 'done' }
  /** Try again after a backoff (exponential with full jitter, or `delayMs` if given). */
  | { readonly kind: 'retry'; readonly reason: string; readonly delayMs?: number }
  /** Never going to work: park it on `<topic>.dlq` with the reason and move on. */
  | { readonly kind: 'dead_letter'; readonly reason: string };

export const done: Outcome = Object.freeze({ kind: 'done' });
export function retry(reason: string, delayMs?: number): Outcome {
  return delayMs === undefined ? { kind: 'retry', reason } : { kind: 'retry', reason, delayMs };
}
export function deadLetter(reason: string): Outcome {
  return { kind: 'dead_letter', reason };
}

/** Where an event came from, for logs and metrics. Offsets are decimal strings (Kafka's int64). */
export interface Delivery {
  readonly topic: string;
  readonly group: string;
  readonly partition: number;
  readonly offset: string;
  /** 1 on first delivery to this handler invocation chain; grows with each retry. */
  readonly attempt: number;
}

export type Handler<T extends EventType = EventType> = (event: Event<T>, delivery: Delivery) => Promise<Outcome>;

export interface RetryPolicy {
  /** Attempts in all, the first included; then the event is dead-lettered as `retries_exhausted`. */
  maxAttempts: number;
  initialDelayMs: number;
  maxDelayMs: number;
  multiplier: number;
}

export const DEFAULT_RETRY: RetryPolicy = { maxAttempts: 8, initialDelayMs: 200, maxDelayMs: 30_000, multiplier: 2 };

export interface SubscribeOptions<T extends EventType = EventType> {
  topic: T;
  /** Consumer group: each group sees every event once (at least); members share partitions. */
  group: string;
  /**
   * Handlers in flight per partition. Events with the same key are never concurrent and run in
   * offset order, whatever this is; it only lets different objects of one partition overlap.
   */
  concurrency?: number;
  retry?: Partial<RetryPolicy>;
}

export interface Subscription {
  readonly topic: string;
  readonly group: string;
  /**
   * Graceful drain: fetch nothing new, let running handlers finish, abandon pending backoffs
   * (those events stay uncommitted and are redelivered), commit what finished, leave the group.
   */
  stop(): Promise<void>;
}

export interface PartitionLag {
  readonly group: string;
  readonly topic: string;
  readonly partition: number;
  /** Next offset the group will read (committed position), or null if it never committed. */
  readonly committed: string | null;
  /** Log end offset (next offset to be written). */
  readonly end: string;
  /** Events published but not yet committed by the group. */
  readonly lag: number;
}

/** Events behind, summed over a topic's partitions, for one consumer group. */
export interface ConsumerLag {
  readonly topic: string;
  readonly group: string;
  readonly lag: number;
}

/** Events retained on a dead-letter topic, named by the topic they were consumed from. */
export interface DeadLetterDepth {
  readonly topic: string;
  readonly depth: number;
}

/** Called once a dead letter is durable (metrics); must not throw. */
export type DeadLetterListener = (letter: DeadLetter) => void;

/** Per-partition lag summed per (topic, group), in a stable order. */
export function sumLag(partitions: readonly PartitionLag[]): ConsumerLag[] {
  const totals = new Map<string, { topic: string; group: string; lag: number }>();
  for (const p of partitions) {
    const key = `${p.group}\u0000${p.topic}`;
    const entry = totals.get(key) ?? { topic: p.topic, group: p.group, lag: 0 };
    entry.lag += p.lag;
    totals.set(key, entry);
  }
  return [...totals.values()].sort((a, b) => a.group.localeCompare(b.group) || a.topic.localeCompare(b.topic));
}

/** Why an event sits on a dead-letter topic. */
export type DeadLetterReason = PoisonReason | 'retries_exhausted' | 'rejected';

/**
 * A dead-lettered message as stored on `<topic>.dlq`: the original bytes untouched (they may not
 * even be JSON) plus where they came from and why they were parked.
 */
export interface DeadLetter {
  readonly topic: string;
  readonly partition: number;
  readonly offset: string;
  readonly group: string;
  readonly key: string | null;
  readonly value: Uint8Array | null;
  readonly reason: DeadLetterReason;
  /** Human-readable detail: schema paths, the handler's reason. Never payload values. */
  readonly message: string;
  readonly attempts: number;
  readonly failedAt: string;
}

export interface Bus {
  /**
   * Publishes events, each to the topic named by its type, partitioned by its key, so one key's
   * events keep their order. Resolves once every event is durably accepted (all in-sync replicas
   * for Kafka; committed for Postgres); rejects otherwise, in which case any subset may have been
   * written and the caller retries (consumers dedupe by event id).
   */
  publish(events: readonly Event[]): Promise<void>;
  /** Starts consuming; resolves once the consumer is running. Poison events are dead-lettered. */
  subscribe<T extends EventType>(options: SubscribeOptions<T>, handler: Handler<T>): Promise<Subscription>;
  /** Lag per partition of every topic the given groups consume (or this bus's subscriptions). */
  lag(groups?: readonly { group: string; topic: string }[]): Promise<PartitionLag[]>;
  /**
   * Lag summed over partitions, per topic and group: of the given pairs, or else of every group
   * the backing service knows (Postgres: committed offsets and members; Kafka: listGroups where
   * the broker serves it, plus the groups this bus consumed). Dead-letter topics are left out.
   */
  consumerLag(groups?: readonly { group: string; topic: string }[]): Promise<ConsumerLag[]>;
  /** Events retained on every dead-letter topic, by the topic they were consumed from. */
  deadLetterDepth(): Promise<DeadLetterDepth[]>;
  /** Reads a dead-letter topic from the start (operators, tests, replay tooling). */
  readDeadLetters(topic: string, options?: { limit?: number; fromOffset?: string }): Promise<DeadLetter[]>;
  /** Drains every subscription, then flushes and disconnects. Idempotent. */
  close(): Promise<void>;
}

export function dlqTopic(topic: string): string {
  return `${topic}.dlq`;
}

export function isDlqTopic(topic: string): boolean {
  return topic.endsWith('.dlq');
}

/** The topic a dead-letter topic holds letters of. */
export function sourceTopic(dlq: string): string {
  return isDlqTopic(dlq) ? dlq.slice(0, -'.dlq'.length) : dlq;
}
