// One KafkaBus subscription: a kafkajs consumer in a group, fed batch by batch to the shared
// dispatcher, committing only what the dispatcher reports finished. Owns the consumer's lifecycle
// (recreating it after crashes, draining on stop); never decides an event's outcome.

import type { EventType } from '@vigil/events';
import type { Consumer, ConsumerConfig, EachBatchPayload, Kafka } from 'kafkajs';
import type { DeadLetter, Handler, RetryPolicy, SubscribeOptions, Subscription } from './bus.ts';
import { backoffMs, dispatchBatch, type RawRecord } from './dispatcher.ts';
import type { ReceivedHeaders } from './kafka-codec.ts';
import type { Logger } from './logger.ts';

export interface KafkaSubscriptionDeps<T extends EventType> {
  readonly kafka: Kafka;
  readonly options: SubscribeOptions<T>;
  readonly handler: Handler<T>;
  readonly retry: RetryPolicy;
  readonly concurrency: number;
  /** Everything but the group id and the restart decision, which this class owns. */
  readonly consumer: Omit<ConsumerConfig, 'groupId'>;
  readonly partitionsConsumedConcurrently: number;
  readonly heartbeatIntervalMs: number;
  /** A batch running longer than this continues in the background, its partition paused. */
  readonly detachAfterMs: number;
  /** Backoff between consumer re-creations after crashes. */
  readonly restartDelayMs: { readonly initial: number; readonly max: number };
  /** How long subscribe() waits for the first group join before giving up. */
  readonly startTimeoutMs: number;
  /** Must be durable when it resolves (acks from all in-sync replicas). */
  readonly deadLetter: (letter: DeadLetter, headers: ReceivedHeaders | undefined) => Promise<void>;
  readonly log: Logger;
}

/** kafkajs's own test (`isRebalancing`) is not exported; these mean "rejoin, your generation is gone". */
const REJOIN_ERRORS = new Set(['REBALANCE_IN_PROGRESS', 'NOT_COORDINATOR_FOR_GROUP', 'ILLEGAL_GENERATION', 'UNKNOWN_MEMBER_ID']);

export function needsRejoin(err: unknown): boolean {
  return REJOIN_ERRORS.has((err as { type?: string } | null)?.type ?? '');
}

export class KafkaSubscription<T extends EventType> implements Subscription {
  readonly topic: T;
  readonly group: string;
  private readonly deps: KafkaSubscriptionDeps<T>;
  private readonly log: Logger;
  /** Aborted by stop(): the dispatcher starts nothing new and abandons backoffs. */
  private readonly drain = new AbortController();
  private consumer: Consumer | undefined;
  private launching: Promise<void> | undefined;
  private relaunchTimer: NodeJS.Timeout | undefined;
  private failures = 0;
  private stopping: Promise<void> | undefined;
  /** Each partition's batch in the background; a partition has at most one. */
  private readonly inflight = new Map<number, Promise<void>>();
  private readonly slots: Semaphore;
  private epoch = 0;
  private revoked = new AbortController();
  private readonly joined: { promise: Promise<void>; resolve: () => void; reject: (err: Error) => void };

  constructor(deps: KafkaSubscriptionDeps<T>) {
    this.deps = deps;
    this.topic = deps.options.topic;
    this.group = deps.options.group;
    this.log = deps.log.child({ topic: this.topic, group: this.group });
    this.slots = new Semaphore(Math.max(1, deps.partitionsConsumedConcurrently));
    let resolve!: () => void;
    let reject!: (err: Error) => void;
    const promise = new Promise<void>((res, rej) => ((resolve = res), (reject = rej)));
    promise.catch(() => {});
    this.joined = { promise, resolve, reject };
  }

  /** Resolves on the first successful group join, through as many consumer re-creations as it takes. */
  async start(): Promise<void> {
    this.launch();
    const timer = setTimeout(
      () => this.joined.reject(new Error(`consumer group ${this.group} did not join within ${this.deps.startTimeoutMs} ms`)),
      this.deps.startTimeoutMs,
    );
    try {
      await this.joined.promise;
    } catch (err) {
      await this.stop();
      throw err;
    } finally {
      clearTimeout(timer);
    }
  }

  stop(): Promise<void> {
    this.stopping ??= (async () => {
      this.drain.abort();
      clearTimeout(this.relaunchTimer);
      this.joined.reject(new Error('subscription stopped'));
      // Running handlers finish and their progress is committed while we are still a member...
      await Promise.allSettled([...this.inflight.values()]);
      const consumer = this.consumer;
      if (!consumer) return;
      // ...then leave the group, so the partitions move at once instead of after a session timeout.
      await consumer.disconnect().catch((err: unknown) => this.log.warn({ err }, 'consumer disconnect failed'));
      // A launch caught mid-join fails once disconnected; wait for it (bounded) so nothing lingers.
      await Promise.race([this.launching, new Promise((resolve) => setTimeout(resolve, 5000).unref())]);
      this.log.info({}, 'subscription stopped');
    })();
    return this.stopping;
  }

  private launch(): void {
    if (this.drain.signal.aborted) return;
    const consumer = this.deps.kafka.consumer({
      ...this.deps.consumer,
      groupId: this.group,
      retry: {
        ...this.deps.consumer.retry,
        // Every restart goes through relaunch(): one path, our backoff, a fresh consumer, and
        // none at all once draining (a kafkajs self-restart could otherwise outlive stop()).
        restartOnFailure: async () => false,
      },
    });
    this.consumer = consumer;
    this.newEpoch();
    consumer.on(consumer.events.REBALANCING, () => {
      if (this.consumer === consumer) this.newEpoch();
    });
    consumer.on(consumer.events.GROUP_JOIN, ({ payload }) => {
      if (this.consumer === consumer) this.newEpoch();
      this.failures = 0;
      const partitions = payload.memberAssignment[this.topic] ?? [];
      this.log.info({ memberId: payload.memberId, leader: payload.isLeader, partitions, duration: payload.duration }, 'joined consumer group');
      this.joined.resolve();
    });
    consumer.on(consumer.events.CRASH, ({ payload }) => {
      if (this.drain.signal.aborted) return;
      this.log.error({ err: payload.error }, 'consumer crashed; recreating it');
      this.relaunch(consumer);
    });
    this.launching = (async () => {
      await consumer.connect();
      await consumer.subscribe({ topic: this.topic, fromBeginning: true }); // a new group misses nothing
      await consumer.run({
        autoCommit: false,
        eachBatchAutoResolve: false,
        partitionsConsumedConcurrently: this.deps.partitionsConsumedConcurrently,
        eachBatch: (payload) => this.eachBatch(payload),
      });
    })().catch((err: unknown) => {
      if (this.drain.signal.aborted) return;
      this.log.error({ err }, 'consumer failed to start; recreating it');
      this.relaunch(consumer);
    });
  }

  /**
   * Replaces a crashed consumer. kafkajs gives up for good on non-retriable errors (`restart:
   * false`), among them a SyncGroup race the mock cluster provokes ("request being malformed");
   * a fresh consumer rejoins within seconds. Exponential backoff keeps an outage from spinning.
   */
  private relaunch(dead: Consumer): void {
    if (this.consumer !== dead || this.drain.signal.aborted || this.relaunchTimer) return;
    this.failures++;
    const { initial, max } = this.deps.restartDelayMs;
    const delay = backoffMs({ maxAttempts: Infinity, initialDelayMs: initial, maxDelayMs: max, multiplier: 2 }, this.failures);
    this.log.warn({ attempt: this.failures, delayMs: delay }, 'recreating the consumer');
    this.relaunchTimer = setTimeout(() => {
      this.relaunchTimer = undefined;
      void dead
        .disconnect()
        .catch(() => {})
        .then(() => this.launch());
    }, delay);
  }

  /**
   * Runs the batch; if it outlasts `detachAfterMs`, pauses its partition and lets it finish in the
   * background. kafkajs fetches again only once every batch of the previous fetch has returned, so
   * awaiting a slow batch (a retry backoff can last minutes) would stall every other partition on
   * that broker: the live lane must not wait behind one slow object. Fast batches stay inline,
   * because a paused partition is only fetched again after the broker's next long poll.
   */
  private async eachBatch(payload: EachBatchPayload): Promise<void> {
    const { batch, pause, heartbeat, isRunning, isStale } = payload;
    // Draining, or the partition was re-seeked: leave everything unresolved for the next owner.
    if (this.drain.signal.aborted || !isRunning() || isStale()) return;
    const { partition } = batch;
    // The partition came back to us while its previous batch is still finishing (after a
    // rebalance): one key must never run twice at once, so wait for it.
    const previous = this.inflight.get(partition);
    if (previous) await this.whileBeating(previous, heartbeat);
    await this.whileBeating(this.slots.acquire(), heartbeat).catch((err: unknown) => {
      this.slots.release();
      throw err;
    });
    if (this.drain.signal.aborted || !isRunning()) {
      this.slots.release();
      return;
    }
    let resume: (() => void) | undefined;
    let finished = false;
    const work = this.process(payload)
      .catch((err: unknown) => this.log.error({ err, partition }, 'batch failed; its unfinished events will be redelivered'))
      .finally(() => {
        finished = true;
        this.slots.release();
        if (this.inflight.get(partition) === work) this.inflight.delete(partition);
        // Resuming a partition that moved to another member is harmless; a paused one that comes
        // back to us would otherwise never be fetched again.
        resume?.();
      });
    this.inflight.set(partition, work);
    let timer: NodeJS.Timeout | undefined;
    const detach = new Promise<boolean>((resolve) => (timer = setTimeout(() => resolve(true), this.deps.detachAfterMs)));
    const detached = await Promise.race([work.then(() => false), detach]);
    clearTimeout(timer);
    if (!detached) return;
    resume = pause();
    // It may have finished between the timer and here: then nothing else will resume it.
    if (finished) resume();
  }

  private async process({ batch, resolveOffset, commitOffsetsIfNecessary }: EachBatchPayload): Promise<void> {
    const { topic, partition } = batch;
    const log = this.log.child({ partition });
    // This batch belongs to the current group generation. Once it changes (a rebalance, a rejoin,
    // a new consumer) the partition may be someone else's: start nothing new, commit nothing more;
    // the uncommitted tail is redelivered to the next owner and deduplicated by the inbox.
    const epoch = this.epoch;
    const current = (): boolean => this.epoch === epoch;
    const abort = new AbortController();
    const stop = (): void => abort.abort();
    this.drain.signal.addEventListener('abort', stop, { once: true });
    this.revoked.signal.addEventListener('abort', stop, { once: true });

    const headers = new Map<string, ReceivedHeaders | undefined>();
    const records: RawRecord[] = batch.messages.map((message) => {
      headers.set(message.offset, message.headers);
      return { partition, offset: message.offset, key: message.key?.toString() ?? null, value: message.value };
    });

    let resolved: string | null = null;
    let committed: string | null = null;
    const commit = async (): Promise<void> => {
      if (resolved === null || resolved === committed || !current()) return;
      const offset = resolved;
      await commitOffsetsIfNecessary({ topics: [{ topic, partitions: [{ partition, offset }] }] });
      committed = offset;
    };

    const started = Date.now();
    log.debug({ first: batch.firstOffset(), last: batch.lastOffset(), size: records.length }, 'batch started');
    try {
      const result = await dispatchBatch(records, {
        topic: this.topic,
        group: this.group,
        handler: this.deps.handler,
        concurrency: this.deps.concurrency,
        retry: this.deps.retry,
        signal: abort.signal,
        log,
        deadLetter: (letter) => this.deps.deadLetter(letter, headers.get(letter.offset)),
        onProgress: async (next) => {
          if (!current()) return;
          // kafkajs resolves the last processed offset (the resumed fetch starts after it) and
          // commits that + 1.
          resolveOffset((BigInt(next) - 1n).toString());
          resolved = next;
          try {
            // Commit as the finished prefix grows: a crash then redelivers only the unfinished tail.
            await commit();
          } catch (err) {
            // Kept resolved; the next step or the end of the batch commits it.
            log.warn({ err, offset: next }, 'offset commit failed; will retry');
          }
        },
      });
      log.debug({ complete: result.complete, next: result.nextOffset, durationMs: Date.now() - started }, 'batch finished');
      // Nobody above us handles a failure now (kafkajs has moved on): retry a little, then leave
      // the tail uncommitted; it is redelivered and deduplicated.
      for (let attempt = 1; ; attempt++) {
        try {
          await commit();
          break;
        } catch (err) {
          if (attempt >= 3 || !current()) {
            log.warn({ err, offset: resolved }, 'final offset commit failed; the finished tail will be redelivered');
            break;
          }
          await new Promise((resolve) => setTimeout(resolve, 100 * attempt));
        }
      }
    } finally {
      this.drain.signal.removeEventListener('abort', stop);
      this.revoked.signal.removeEventListener('abort', stop);
    }
  }

  /** Keeps the membership alive while eachBatch waits; a rebalance surfaces as a throw to kafkajs. */
  private async whileBeating<T>(promise: Promise<T>, heartbeat: () => Promise<void>): Promise<T> {
    let rejoin: unknown;
    const ticker = setInterval(() => {
      heartbeat().catch((err: unknown) => {
        if (needsRejoin(err)) rejoin ??= err;
      });
    }, this.deps.heartbeatIntervalMs);
    try {
      const value = await promise;
      if (rejoin !== undefined) throw rejoin;
      return value;
    } finally {
      clearInterval(ticker);
    }
  }

  /** A new generation (or consumer): batches of the old one stop and commit nothing more. */
  private newEpoch(): void {
    this.epoch++;
    this.revoked.abort();
    this.revoked = new AbortController();
  }
}

/** Counting semaphore: bounds the partitions being worked on at once. */
class Semaphore {
  private available: number;
  private readonly waiting: (() => void)[] = [];

  constructor(size: number) {
    this.available = size;
  }

  acquire(): Promise<void> {
    if (this.available > 0) {
      this.available--;
      return Promise.resolve();
    }
    return new Promise((resolve) => this.waiting.push(resolve));
  }

  release(): void {
    const next = this.waiting.shift();
    if (next) next();
    else this.available++;
  }
}
