// The event catalog: every event's name (which is its topic), version, payload schema and
// meaning, and the one envelope they all travel in. Pure. A breaking change to a payload is a
// new version (`.v2`), published beside the old one until every consumer has moved.

import { z } from 'zod';
import * as P from './schemas.ts';

export const EVENTS = {
  'upload.received.v1': { payload: P.UploadReceived, description: 'A hosting product received an object; scan it (the live lane).' },
  'scan.completed.v1': { payload: P.ScanCompleted, description: 'A scan reached its verdict, with the list versions and hashes that decided it.' },
  'match.found.v1': { payload: P.MatchFound, description: 'Content matched a list: quarantine, preserve evidence, report.' },
  'quarantine.applied.v1': { payload: P.QuarantineApplied, description: 'A verified copy is in the quarantine bucket and the public object is gone.' },
  'evidence.requested.v1': { payload: P.EvidenceRequested, description: 'Preserve the quarantined object and its manifest under retention.' },
  'evidence.preserved.v1': { payload: P.EvidencePreserved, description: 'Evidence is stored immutably until retainUntil.' },
  'report.requested.v1': { payload: P.ReportRequested, description: 'Build and file a CyberTipline report (deduplicated, CSAM first).' },
  'report.filed.v1': { payload: P.ReportFiled, description: 'A report was filed, held for a person, or failed.' },
  'hashlist.updated.v1': { payload: P.HashlistUpdated, description: 'A list version was imported; retro-match its additions against stored hashes.' },
  'rescan.requested.v1': { payload: P.RescanRequested, description: 'Rescan a stored object (the bulk lane, never ahead of uploads).' },
} as const;

export type EventType = keyof typeof EVENTS;
export const EVENT_TYPES = Object.keys(EVENTS) as EventType[];
export type Payload<T extends EventType> = z.infer<(typeof EVENTS)[T]['payload']>;

const Envelope = z.object({
  /** Unique per event; consumers are idempotent on it (the inbox). */
  id: z.uuid(),
  type: z.enum(EVENT_TYPES as [EventType, ...EventType[]]),
  version: z.number().int().positive(),
  occurredAt: z.iso.datetime({ offset: true }),
  /** The service that published it. */
  producer: z.string().min(1).max(100),
  traceId: z.string().min(1).max(100),
  /** Partition key: the object's identity, so one object's events stay in order. */
  key: z.string().min(1).max(2048),
  payload: z.unknown(),
});

export interface Event<T extends EventType = EventType> {
  id: string;
  type: T;
  version: number;
  occurredAt: string;
  producer: string;
  traceId: string;
  key: string;
  payload: Payload<T>;
}

/** The version is the type's `.vN` suffix. */
export function versionOf(type: EventType): number {
  return Number(type.slice(type.lastIndexOf('.v') + 2));
}

/** tenant + bucket + key: every event about one object lands on one partition, in order. */
export function partitionKey(object: { tenantId: string; bucket: string; key: string }): string {
  return JSON.stringify([object.tenantId, object.bucket, object.key]);
}

export interface EventContext {
  producer: string;
  traceId: string;
  /** Defaults to the payload's object identity, or its list id for list events. */
  key?: string;
  id?: string;
  now?: () => Date;
}

/** A validated event ready to publish. Throws if the payload breaks its schema: a producer bug. */
export function createEvent<T extends EventType>(type: T, payload: Payload<T>, context: EventContext): Event<T> {
  const parsed = EVENTS[type].payload.parse(payload) as Payload<T>;
  const key = context.key ?? defaultKey(parsed);
  return {
    id: context.id ?? crypto.randomUUID(),
    type,
    version: versionOf(type),
    occurredAt: (context.now?.() ?? new Date()).toISOString(),
    producer: context.producer,
    traceId: context.traceId,
    key,
    payload: parsed,
  };
}

function defaultKey(payload: unknown): string {
  const p = payload as { object?: P.ObjectRef; original?: P.ObjectRef; listId?: string };
  const object = p.object ?? p.original;
  if (object) return partitionKey(object);
  if (p.listId) return JSON.stringify(['hashlist', p.listId]);
  throw new Error('no partition key: pass context.key');
}

/** Why a message cannot be processed: it goes to `<topic>.dlq` with this reason. */
export type PoisonReason = 'bad_json' | 'not_an_event' | 'unknown_type' | 'wrong_topic' | 'schema_violation';

export type ParsedEvent =
  | { ok: true; event: Event }
  | { ok: false; reason: PoisonReason; message: string };

/**
 * Parses a message from the bus: JSON text or an already-decoded value. Never throws; a message
 * that fails is poison, to be dead-lettered with the reason (issue paths only, never values:
 * payloads carry IP addresses).
 */
export function parseEvent(raw: string | Uint8Array | unknown, topic?: string): ParsedEvent {
  let value: unknown = raw;
  if (typeof raw === 'string' || raw instanceof Uint8Array) {
    try {
      value = JSON.parse(typeof raw === 'string' ? raw : new TextDecoder().decode(raw));
    } catch {
      return { ok: false, reason: 'bad_json', message: 'the message is not valid JSON' };
    }
  }
  const type = (value as { type?: unknown } | null)?.type;
  if (typeof type === 'string' && !(type in EVENTS)) {
    return { ok: false, reason: 'unknown_type', message: `unknown event type ${JSON.stringify(type).slice(0, 100)}` };
  }
  const envelope = Envelope.safeParse(value);
  if (!envelope.success) return { ok: false, reason: 'not_an_event', message: describe(envelope.error) };
  const event = envelope.data;
  if (topic !== undefined && event.type !== topic) {
    return { ok: false, reason: 'wrong_topic', message: `a ${event.type} event on topic ${topic}` };
  }
  if (event.version !== versionOf(event.type)) {
    return { ok: false, reason: 'schema_violation', message: `version ${event.version} does not match ${event.type}` };
  }
  const payload = EVENTS[event.type].payload.safeParse(event.payload);
  if (!payload.success) return { ok: false, reason: 'schema_violation', message: describe(payload.error) };
  return { ok: true, event: { ...event, payload: payload.data } as Event };
}

/** Paths and problems only: zod's messages here never include the offending values. */
function describe(error: z.ZodError): string {
  return error.issues
    .slice(0, 5)
    .map((issue) => `${issue.path.join('.') || '(root)'}: ${issue.code}`)
    .join('; ');
}
