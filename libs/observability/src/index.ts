// @vigil/observability: the root logger (issue 8 adds the metrics registry here).
export { createLogger, REDACT_PATHS, type LoggerOptions, type RootLogger } from './logger.ts';
