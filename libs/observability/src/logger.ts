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
  // Addresses under the names frameworks and proxies use.
  'remoteAddress',
  '*.remoteAddress',
  'clientIp',
  '*.clientIp',
  'req.headers["x-forwarded-for"]',
  'req.headers["x-real-ip"]',
  'req.ip',
];

/**
 * Secrets that hide inside free text (error messages, stacks, log messages) where no redact path
 * reaches: presigned URLs keep their address but lose the whole query string, bare signing
 * parameters and IPv4 addresses are replaced.
 */
const PRESIGNED_URL = /\b(https?:\/\/[^\s"'<>?]+)\?[^\s"'<>]*\b(?:X-Amz-Signature|X-Amz-Credential|X-Amz-Security-Token|Signature|sig)=[^\s"'<>]*/gi;
const SIGNING_PARAM = /\b(X-Amz-Signature|X-Amz-Credential|X-Amz-Security-Token)=[^\s&"'<>]+/gi;
const IPV4 = /(?<![\d.])(?:(?:25[0-5]|2[0-4]\d|1?\d?\d)\.){3}(?:25[0-5]|2[0-4]\d|1?\d?\d)(?![\d.])/g;

export function scrubText(text: string): string {
  return text.replace(PRESIGNED_URL, '$1?[redacted]').replace(SIGNING_PARAM, '$1=[redacted]').replace(IPV4, '[redacted-ip]');
}

/** String values of a log object (and of objects inside it, to `depth`) scrubbed; other values as they are. */
function scrubFields(value: unknown, depth: number): unknown {
  if (typeof value === 'string') return scrubText(value);
  if (depth === 0 || value === null || typeof value !== 'object' || value instanceof Error) return value;
  if (Array.isArray(value)) return value.map((item) => scrubFields(item, depth - 1));
  if (Object.getPrototypeOf(value) !== Object.prototype) return value;
  const out: Record<string, unknown> = {};
  for (const [key, item] of Object.entries(value)) out[key] = scrubFields(item, depth - 1);
  return out;
}

/** pino's error serializer, with the message and stack scrubbed (SDK errors quote the URL they failed on). */
function serializeError(err: unknown): unknown {
  const out = pino.stdSerializers.err(err as Error) as unknown as Record<string, unknown>;
  if (!out || typeof out !== 'object') return out;
  for (const field of ['message', 'stack']) if (typeof out[field] === 'string') out[field] = scrubText(out[field]);
  return out;
}

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
      serializers: { err: serializeError },
      formatters: { log: (object) => scrubFields(object, 2) as Record<string, unknown> },
      hooks: {
        // The message string (and any interpolation values) scrubbed of URLs' signatures and addresses.
        logMethod(args, method) {
          method.apply(this, args.map((arg) => (typeof arg === 'string' ? scrubText(arg) : arg)) as Parameters<typeof method>);
        },
      },
      timestamp: pino.stdTimeFunctions.isoTime,
    },
    options.destination ?? pino.destination({ fd: 2, sync: false }),
  );
}
