// The logging surface @vigil/db needs: a subset of pino's, so a pino logger passes as is and this
// lib does not depend on the observability lib. Same shape as @vigil/bus's (which depends on us).

export interface LogFn {
  (object: object, message?: string): void;
}

export interface Logger {
  debug: LogFn;
  info: LogFn;
  warn: LogFn;
  error: LogFn;
  child(bindings: Record<string, unknown>): Logger;
}

const noop = (): void => {};

export const silentLogger: Logger = { debug: noop, info: noop, warn: noop, error: noop, child: () => silentLogger };
