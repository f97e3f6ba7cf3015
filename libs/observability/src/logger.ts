// The pino root logger every service and the CLI create once, in their composition root. Redacts
// what must never reach a log: credentials, presigned URLs, uploader IP addresses and user
// agents, and anything carrying list contents. Components log through `child({component})`.

import { pino, type Logger as PinoLogger, type DestinationStream } from 'pino';

export type RootLogger = PinoLogger;

/** Paths pino censors wherever they appear (one level of nesting covered by the wildcards). */
export const REDACT_PATHS = [
  'authorization',
  '*.authorization',
  'req.headers.authorization',
  'req.headers.cookie',
  'password',
  '*.password',
  'secret',
  '*.secret',
  'secretAccessKey',
  '*.secretAccessKey',
  'token',
  '*.token',
  'url',
  '*.url',
  'presignedUrl',
  '*.presignedUrl',
  'connectionString',
  '*.connectionString',
  'ip',
  '*.ip',
  'uploader.ip',
  '*.uploader.ip',
  'userAgent',
  '*.userAgent',
  'entries',
  '*.entries',
  'hashes',
  '*.hashes',
];

export interface LoggerOptions {
  service: string;
  level?: string;
  /** Where lines go (tests); standard error by default, so command output stays clean. */
  destination?: DestinationStream;
}

export function createLogger(options: LoggerOptions): RootLogger {
  return pino(
    {
      level: options.level ?? 'info',
      base: { service: options.service },
      redact: { paths: REDACT_PATHS, censor: '[redacted]' },
      serializers: { err: pino.stdSerializers.err },
      timestamp: pino.stdTimeFunctions.isoTime,
    },
    options.destination ?? pino.destination({ fd: 2, sync: false }),
  );
}
