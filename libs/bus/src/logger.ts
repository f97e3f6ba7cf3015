// The bus logs through @vigil/db's pino-compatible surface (a pino logger passes as is), so
// neither lib depends on the observability lib.
export { silentLogger, type Logger } from '@vigil/db';
