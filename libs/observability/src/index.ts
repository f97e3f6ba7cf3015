// @vigil/observability: the root logger, the metrics catalogue and the metrics listener.
export { createLogger, REDACT_PATHS, scrubText, type LoggerOptions, type RootLogger } from './logger.ts';
export { cachedRead, createMetrics, type ListStat, type MetricsOptions, type PipelineState, type ScanStage, type VigilMetrics } from './metrics.ts';
export { startMetricsServer, type MetricsServer, type MetricsServerOptions } from './metrics-server.ts';
