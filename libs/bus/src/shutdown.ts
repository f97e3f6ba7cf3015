// Graceful shutdown for a composition root: on SIGTERM or SIGINT, run the closers in order
// (drain the bus first so running handlers finish and commit, then close what they used), then
// exit. A second signal, or a drain past its deadline, exits at once: the events left uncommitted
// are redelivered, which at-least-once delivery and the inbox make safe.

import type { Logger } from './logger.ts';

export interface ShutdownOptions {
  /** Longest the closers may take before the process exits anyway (default 30 s). */
  deadlineMs?: number;
  signals?: readonly NodeJS.Signals[];
  /** Injected in tests. */
  exit?: (code: number) => void;
}

/** Installs the handlers; returns a function that runs the same shutdown on demand. */
export function onShutdown(log: Logger, closers: readonly (() => Promise<void>)[], options: ShutdownOptions = {}): () => Promise<void> {
  const exit = options.exit ?? ((code: number) => process.exit(code));
  const signals = options.signals ?? ['SIGTERM', 'SIGINT'];
  let running: Promise<void> | undefined;

  const shutdown = (reason: string): Promise<void> => {
    if (running) {
      log.warn({ reason }, 'second shutdown request: exiting now');
      exit(1);
      return running;
    }
    log.info({ reason }, 'draining before exit');
    const timer = setTimeout(() => {
      log.error({ deadlineMs: options.deadlineMs ?? 30_000 }, 'drain passed its deadline: exiting');
      exit(1);
    }, options.deadlineMs ?? 30_000);
    timer.unref();
    running = (async () => {
      let code = 0;
      for (const close of closers) {
        try {
          await close();
        } catch (err) {
          code = 1;
          log.error({ err }, 'a closer failed during shutdown');
        }
      }
      clearTimeout(timer);
      log.info({ code }, 'drained');
      exit(code);
    })();
    return running;
  };

  for (const signal of signals) process.on(signal, () => void shutdown(signal));
  return () => shutdown('requested');
}
