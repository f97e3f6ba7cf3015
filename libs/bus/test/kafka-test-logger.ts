// VIGIL_TEST_LOG=1 shows what KafkaBus and kafkajs went through in a test (crashes, rejoins,
// retries) as one line per entry on stderr; otherwise silent. Test-only.

import { silentLogger, type Logger } from '../src/logger.ts';

export function testLogger(bindings: Record<string, unknown> = {}): Logger {
  if (process.env.VIGIL_TEST_LOG !== '1') return silentLogger;
  const line = (level: string) => (object: object, message?: string) =>
    process.stderr.write(
      `${new Date().toISOString()} ${level} ${message ?? ''} ${JSON.stringify({ ...bindings, ...object }, (_key, value: unknown) => (value instanceof Error ? value.message : value))}\n`,
    );
  return { debug: line('debug'), info: line('info'), warn: line('warn'), error: line('error'), child: (more) => testLogger({ ...bindings, ...more }) };
}
