// @vigil/testkit/services: real backing services for integration tests (see resolve.ts).
export { dockerAvailable, integrationRequired, unavailable, type Resolved, type ServiceSource } from './resolve.ts';
