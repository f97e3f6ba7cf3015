// @vigil/bus: the Bus port and its adapters. Transport only; handlers decide outcomes.
export * from './bus.ts';
export { abortableSleep, backoffMs, dispatchBatch, type DispatchOptions, type DispatchResult, type RawRecord } from './dispatcher.ts';
export { KafkaBus, type KafkaBusConfig } from './kafka-bus.ts';
export { silentLogger, type Logger } from './logger.ts';
export { partitionFor, PostgresBus, type PostgresBusOptions } from './postgres-bus.ts';
export { BUS_MIGRATIONS } from './postgres-bus-schema.ts';
export { onShutdown, type ShutdownOptions } from './shutdown.ts';
