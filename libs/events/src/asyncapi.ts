// The catalog as an AsyncAPI 3.0 document (infra/asyncapi.json), generated from the zod schemas so
// the document and the code cannot disagree. Pure: returns the document; the script writes it.

import { z } from 'zod';
import { EVENT_TYPES, EVENTS } from './catalog.ts';

export function asyncApiDocument(): Record<string, unknown> {
  const channels: Record<string, unknown> = {};
  const operations: Record<string, unknown> = {};
  const messages: Record<string, unknown> = {};
  for (const type of EVENT_TYPES) {
    const name = messageName(type);
    messages[name] = {
      name: type,
      title: type,
      summary: EVENTS[type].description,
      contentType: 'application/json',
      payload: envelopeSchema(z.toJSONSchema(EVENTS[type].payload, { target: 'draft-7' })),
    };
    channels[type] = {
      address: type,
      description: `${EVENTS[type].description} Poison messages go to ${type}.dlq with the reason.`,
      messages: { [name]: { $ref: `#/components/messages/${name}` } },
    };
    operations[`publish-${name}`] = { action: 'send', channel: { $ref: `#/channels/${escapeRef(type)}` } };
  }
  return {
    asyncapi: '3.0.0',
    info: {
      title: 'Vigil events',
      version: '1.0.0',
      description:
        'Every event Vigil publishes. The topic is the event type; the partition key is the object identity (tenant, bucket, key). Delivery is at least once: consumers are idempotent on the envelope id.',
    },
    defaultContentType: 'application/json',
    channels,
    operations,
    components: { messages },
  };
}

function envelopeSchema(payload: unknown): Record<string, unknown> {
  return {
    type: 'object',
    required: ['id', 'type', 'version', 'occurredAt', 'producer', 'traceId', 'key', 'payload'],
    properties: {
      id: { type: 'string', format: 'uuid' },
      type: { type: 'string' },
      version: { type: 'integer', minimum: 1 },
      occurredAt: { type: 'string', format: 'date-time' },
      producer: { type: 'string' },
      traceId: { type: 'string' },
      key: { type: 'string' },
      payload,
    },
  };
}

function messageName(type: string): string {
  return type.replace(/\.v(\d+)$/, 'V$1').replace(/\.(\w)/g, (_, c: string) => c.toUpperCase());
}

/** JSON pointer escaping is not needed for dots, but keep channel refs literal and safe. */
function escapeRef(key: string): string {
  return key.replace(/~/g, '~0').replace(/\//g, '~1');
}
