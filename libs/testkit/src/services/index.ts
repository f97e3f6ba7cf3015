// @vigil/testkit/services: real backing services for integration tests (see resolve.ts).
export { dockerAvailable, integrationRequired, unavailable, type Resolved, type ServiceSource } from './resolve.ts';
export {
  buildKafkaMock,
  kafkaTimings,
  resolveKafka,
  startKafkaMock,
  type KafkaFaults,
  type KafkaService,
  type KafkaTimings,
  type ResolveKafkaOptions,
} from './kafka.ts';
export {
  createDatabase,
  resolvePostgres,
  startPostgresServer,
  type PostgresServer,
  type PostgresService,
  type ProvidedPostgres,
} from './postgres.ts';
export { resolveS3, type ResolveS3Options, type S3Service } from './s3.ts';
