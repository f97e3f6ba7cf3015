// How Vigil events and dead letters look on Kafka: key, value and headers. Pure; no client here.
// The value is the envelope's JSON, untouched by this layer, so any Kafka tool can read it; the
// headers duplicate the envelope's routing fields so tools can filter without parsing values.

import type { Event } from '@vigil/events';
import type { DeadLetter, DeadLetterReason } from './bus.ts';

/** A record as kafkajs produces it (a structural subset of its `Message`). */
export interface KafkaRecord {
  key: string | null;
  value: Buffer;
  headers: Record<string, string | Buffer>;
}

/** Headers as kafkajs hands them to consumers. */
export type ReceivedHeaders = Readonly<Record<string, Buffer | string | (Buffer | string)[] | undefined>>;

export const EventHeaders = {
  id: 'vigil-event-id',
  type: 'vigil-event-type',
  traceId: 'vigil-trace-id',
} as const;

/** Where a dead letter came from and why it was parked. Every one is always written. */
export const DeadLetterHeaders = {
  reason: 'vigil-dlq-reason',
  message: 'vigil-dlq-message',
  topic: 'vigil-dlq-topic',
  partition: 'vigil-dlq-partition',
  offset: 'vigil-dlq-offset',
  group: 'vigil-dlq-group',
  attempts: 'vigil-dlq-attempts',
  failedAt: 'vigil-dlq-failed-at',
} as const;

const DLQ_PREFIX = 'vigil-dlq-';

export function encodeEvent(event: Event): KafkaRecord {
  return {
    key: event.key,
    value: Buffer.from(JSON.stringify(event)),
    headers: { [EventHeaders.id]: event.id, [EventHeaders.type]: event.type, [EventHeaders.traceId]: event.traceId },
  };
}

/**
 * The original key and bytes, unchanged (they may not even be JSON), plus the original headers so
 * the event id and trace survive; dead-letter headers from an earlier parking are replaced.
 */
export function encodeDeadLetter(letter: DeadLetter, original: ReceivedHeaders = {}): KafkaRecord {
  const headers: Record<string, string | Buffer> = {};
  for (const [name, value] of Object.entries(original)) {
    if (name.startsWith(DLQ_PREFIX) || value === undefined) continue;
    const single = Array.isArray(value) ? value[0] : value;
    if (single !== undefined) headers[name] = single;
  }
  headers[DeadLetterHeaders.reason] = letter.reason;
  headers[DeadLetterHeaders.message] = letter.message;
  headers[DeadLetterHeaders.topic] = letter.topic;
  headers[DeadLetterHeaders.partition] = String(letter.partition);
  headers[DeadLetterHeaders.offset] = letter.offset;
  headers[DeadLetterHeaders.group] = letter.group;
  headers[DeadLetterHeaders.attempts] = String(letter.attempts);
  headers[DeadLetterHeaders.failedAt] = letter.failedAt;
  return {
    key: letter.key,
    value: letter.value === null ? Buffer.alloc(0) : Buffer.from(letter.value.buffer, letter.value.byteOffset, letter.value.byteLength),
    headers,
  };
}

/** Null when the record carries no dead-letter headers (something else wrote to the DLQ topic). */
export function decodeDeadLetter(record: { key: Buffer | null; value: Buffer | null; headers?: ReceivedHeaders }): DeadLetter | null {
  const headers = record.headers ?? {};
  const text = (name: string): string | undefined => {
    const value = headers[name];
    const single = Array.isArray(value) ? value[0] : value;
    return single === undefined ? undefined : single.toString();
  };
  const reason = text(DeadLetterHeaders.reason);
  const topic = text(DeadLetterHeaders.topic);
  const offset = text(DeadLetterHeaders.offset);
  if (reason === undefined || topic === undefined || offset === undefined) return null;
  return {
    topic,
    partition: Number(text(DeadLetterHeaders.partition) ?? -1),
    offset,
    group: text(DeadLetterHeaders.group) ?? '',
    key: record.key === null ? null : record.key.toString(),
    value: record.value === null ? null : new Uint8Array(record.value),
    reason: reason as DeadLetterReason,
    message: text(DeadLetterHeaders.message) ?? '',
    attempts: Number(text(DeadLetterHeaders.attempts) ?? 0),
    failedAt: text(DeadLetterHeaders.failedAt) ?? '',
  };
}
