// The consumer core both adapters share: one fetched batch of one partition in, handler outcomes
// applied, the committable position out. Owns per-key ordering, bounded concurrency, retries with
// backoff, and dead-lettering. No transport: the adapter fetches, commits and writes the DLQ.

import { parseEvent, type EventType } from '@vigil/events';
import type { DeadLetter, DeadLetterReason, Delivery, Handler, Outcome, RetryPolicy } from './bus.ts';
import type { Logger } from './logger.ts';

export interface RawRecord {
  readonly partition: number;
  /** Decimal int64, as Kafka hands it over. */
  readonly offset: string;
  readonly key: string | null;
  readonly value: Uint8Array | null;
}

export interface DispatchOptions<T extends EventType = EventType> {
  readonly topic: T;
  readonly group: string;
  readonly handler: Handler<T>;
  readonly concurrency: number;
  readonly retry: RetryPolicy;
  /** Must be durable when it resolves: the dispatcher commits past the record right after. */
  readonly deadLetter: (letter: DeadLetter) => Promise<void>;
  /** Called whenever the contiguous finished prefix grows, with the next offset to read. */
  readonly onProgress: (nextOffset: string) => Promise<void> | void;
  /** Drain: start nothing new, abandon backoffs; unfinished records stay uncommitted. */
  readonly signal: AbortSignal;
  readonly log: Logger;
  readonly sleep?: (ms: number, signal: AbortSignal) => Promise<void>;
  readonly random?: () => number;
  readonly now?: () => Date;
}

export interface DispatchResult {
  /** Every record reached a final outcome (done or dead-lettered). */
  readonly complete: boolean;
  /** The next offset to read after the contiguous finished prefix, or null if none finished. */
  readonly nextOffset: string | null;
}

/**
 * Runs one batch (records of one partition in offset order). Records sharing a key form a lane
 * processed strictly in order; up to `concurrency` lanes run at once. A record counts as finished
 * when its handler said done, or once its dead letter is durable; commits only ever cover a
 * contiguous run of finished records, so a crash redelivers exactly the unfinished tail.
 */
export async function dispatchBatch<T extends EventType>(
  records: readonly RawRecord[],
  options: DispatchOptions<T>,
): Promise<DispatchResult> {
  const sleep = options.sleep ?? abortableSleep;
  const random = options.random ?? Math.random;
  const now = options.now ?? (() => new Date());
  const finished = new Uint8Array(records.length);
  let prefix = 0;
  let progress: Promise<void> = Promise.resolve();

  const lanes = new Map<string, number[]>();
  records.forEach((record, index) => {
    // A record without a key has no ordering to keep: a lane of its own.
    const lane = record.key ?? `\u0000${record.offset}`;
    const list = lanes.get(lane);
    if (list) list.push(index);
    else lanes.set(lane, [index]);
  });
  const queue = [...lanes.values()];

  const markFinished = (index: number): void => {
    finished[index] = 1;
    const before = prefix;
    while (prefix < records.length && finished[prefix] === 1) prefix++;
    if (prefix > before) {
      const next = (BigInt(records[prefix - 1]!.offset) + 1n).toString();
      // Serialized, so commits never go backwards.
      progress = progress.then(() => options.onProgress(next));
    }
  };

  const writeDeadLetter = async (record: RawRecord, reason: DeadLetterReason, message: string, attempts: number): Promise<boolean> => {
    const letter: DeadLetter = {
      topic: options.topic,
      partition: record.partition,
      offset: record.offset,
      group: options.group,
      key: record.key,
      value: record.value,
      reason,
      message: message.slice(0, 1000),
      attempts,
      failedAt: now().toISOString(),
    };
    // A dead letter may not be lost either: keep trying until it is written or we are draining.
    for (let attempt = 1; ; attempt++) {
      try {
        await options.deadLetter(letter);
        options.log.warn({ topic: options.topic, partition: record.partition, offset: record.offset, reason }, 'event dead-lettered');
        return true;
      } catch (err) {
        options.log.error({ err, topic: options.topic, offset: record.offset }, 'dead-letter write failed; retrying');
        if (options.signal.aborted) return false;
        await sleep(backoffMs(options.retry, attempt, random), options.signal);
        if (options.signal.aborted) return false;
      }
    }
  };

  /** Returns true when the record reached a final outcome. */
  const processRecord = async (record: RawRecord): Promise<boolean> => {
    const parsed = parseEvent(record.value ?? new Uint8Array(), options.topic);
    if (!parsed.ok) return writeDeadLetter(record, parsed.reason, parsed.message, 0);
    const event = parsed.event as Parameters<Handler<T>>[0];
    for (let attempt = 1; ; attempt++) {
      if (options.signal.aborted) return false;
      const delivery: Delivery = { topic: options.topic, group: options.group, partition: record.partition, offset: record.offset, attempt };
      let outcome: Outcome;
      try {
        outcome = await options.handler(event, delivery);
      } catch (err) {
        outcome = { kind: 'retry', reason: err instanceof Error ? err.message : String(err) };
        options.log.error({ err, eventId: event.id, topic: options.topic, attempt }, 'handler threw');
      }
      if (outcome.kind === 'done') return true;
      if (outcome.kind === 'dead_letter') return writeDeadLetter(record, 'rejected', outcome.reason, attempt);
      if (attempt >= options.retry.maxAttempts) {
        return writeDeadLetter(record, 'retries_exhausted', outcome.reason, attempt);
      }
      const delay = outcome.delayMs ?? backoffMs(options.retry, attempt, random);
      options.log.warn({ eventId: event.id, topic: options.topic, attempt, delayMs: delay, reason: outcome.reason }, 'handler asked for a retry');
      await sleep(delay, options.signal);
    }
  };

  const worker = async (): Promise<void> => {
    for (let lane = queue.shift(); lane; lane = queue.shift()) {
      for (const index of lane) {
        if (options.signal.aborted) return;
        // A lane stops at its first unfinished record: later events of that key must wait.
        if (!(await processRecord(records[index]!))) break;
        markFinished(index);
      }
    }
  };

  const workers = Math.max(1, Math.min(options.concurrency, queue.length));
  await Promise.all(Array.from({ length: workers }, worker));
  await progress;
  return {
    complete: prefix === records.length,
    nextOffset: prefix === 0 ? null : (BigInt(records[prefix - 1]!.offset) + 1n).toString(),
  };
}

/** Exponential backoff with equal jitter: half the step fixed, half random, capped. */
export function backoffMs(policy: RetryPolicy, attempt: number, random: () => number = Math.random): number {
  const step = Math.min(policy.maxDelayMs, policy.initialDelayMs * policy.multiplier ** Math.max(0, attempt - 1));
  return Math.round(step / 2 + random() * (step / 2));
}

export function abortableSleep(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    if (signal.aborted) return resolve();
    const onAbort = (): void => {
      clearTimeout(timer);
      resolve();
    };
    const timer = setTimeout(() => {
      signal.removeEventListener('abort', onAbort);
      resolve();
    }, ms);
    signal.addEventListener('abort', onAbort, { once: true });
  });
}
