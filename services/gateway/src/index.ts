// @vigil/gateway: the HTTP API over a GatewayCore. The composition root builds the core, parses
// VIGIL_GATEWAY_TOKENS with parseTokens, calls buildGateway and listens.
export { buildGateway, DEFAULT_LIMITS, GATEWAY_REDACT_PATHS, type GatewayLimits, type GatewayOptions } from './app.ts';
export type {
  CheckRequest,
  CheckResult,
  CheckVerdict,
  GatewayCore,
  LookupQuery,
  LookupResult,
  MatchSummary,
  ObjectLocation,
  Readiness,
  ScanView,
  Uploader,
} from './core.ts';
export type { CorpusLookupContext, CorpusObjectView, CorpusPort, ListImportRequest, ListImportResult, ListsAdminPort, ObjectState } from './trusted.ts';
export {
  dashboardSnapshotSchema,
  PostgresDashboardSource,
  type ConsumerLag,
  type DashboardSnapshot,
  type DashboardSource,
  type DeadLetterDepth,
  type PostgresDashboardSourceOptions,
} from './dashboard/index.ts';
export { ERROR_CODES, GatewayError, type ErrorBody, type ErrorCode, type RequestIssue } from './errors.ts';
export { DEFAULT_RATE_LIMIT } from './rate-limit.ts';
export {
  hashTokenSecret,
  parseTokens,
  SCOPES,
  validateTokens,
  type GatewayToken,
  type RateLimitPolicy,
  type Scope,
} from './tokens.ts';
