// @vigil/events: the event catalog. Pure: names, versions, schemas, types; no transport.
export { asyncApiDocument } from './asyncapi.ts';
export {
  createEvent,
  EVENT_TYPES,
  EVENTS,
  parseEvent,
  partitionKey,
  versionOf,
  type Event,
  type EventContext,
  type EventType,
  type ParsedEvent,
  type Payload,
  type PoisonReason,
} from './catalog.ts';
export { nameBasedUuid } from './name-uuid.ts';
export * as Schemas from './schemas.ts';
