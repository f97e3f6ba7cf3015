// Where the services' adapters come from, parsed once from the environment: KAFKA_BROKERS,
// S3_ENDPOINT and DATABASE_URL pick the distributed adapters; without them everything runs on
// the embedded default under VIGIL_HOME. Only this module and main.ts read process.env.

import { homedir } from 'node:os';
import { join } from 'node:path';
import { z } from 'zod';

const Env = z.object({
  VIGIL_HOME: z.string().min(1).optional(),
  DATABASE_URL: z.string().min(1).optional(),
  KAFKA_BROKERS: z.string().min(1).optional(),
  KAFKA_CLIENT_ID: z.string().min(1).optional(),
  S3_ENDPOINT: z.string().min(1).optional(),
  S3_REGION: z.string().min(1).default('us-east-1'),
  S3_ACCESS_KEY_ID: z.string().min(1).optional(),
  S3_SECRET_ACCESS_KEY: z.string().min(1).optional(),
  S3_FORCE_PATH_STYLE: z.enum(['true', 'false']).default('true'),
  /** `when_required` for S3 servers that cannot parse the SDK's checksum framing (s3rver, some gateways). */
  S3_REQUEST_CHECKSUMS: z.enum(['when_supported', 'when_required']).optional(),
  KAFKA_SESSION_TIMEOUT_MS: z.coerce.number().int().positive().optional(),
  KAFKA_HEARTBEAT_INTERVAL_MS: z.coerce.number().int().positive().optional(),
  KAFKA_REBALANCE_TIMEOUT_MS: z.coerce.number().int().positive().optional(),
  KAFKA_MAX_WAIT_MS: z.coerce.number().int().positive().optional(),
  VIGIL_QUARANTINE_BUCKET: z.string().min(3).default('vigil-quarantine'),
  VIGIL_UPLOAD_BUCKET: z.string().min(3).default('vigil-uploads'),
  VIGIL_HASH_THREADS: z.coerce.number().int().positive().optional(),
  VIGIL_LOG_LEVEL: z.enum(['trace', 'debug', 'info', 'warn', 'error', 'fatal', 'silent']).optional(),
  VIGIL_GATEWAY_HOST: z.string().min(1).default('127.0.0.1'),
  VIGIL_GATEWAY_PORT: z.coerce.number().int().min(0).max(65535).default(8080),
  VIGIL_GATEWAY_TOKENS: z.string().min(1).optional(),
  VIGIL_ACTIONER_CONCURRENCY: z.coerce.number().int().positive().default(4),
  /** How long the Postgres bus keeps events (the embedded default's topic retention). */
  VIGIL_BUS_RETENTION_HOURS: z.coerce.number().positive().default(24 * 7),
});

export interface RuntimeConfig {
  home: string;
  databaseUrl?: string;
  kafka?: {
    brokers: string[];
    clientId: string;
    sessionTimeoutMs?: number;
    heartbeatIntervalMs?: number;
    rebalanceTimeoutMs?: number;
    maxWaitTimeMs?: number;
  };
  s3?: {
    endpoint: string;
    region: string;
    credentials?: { accessKeyId: string; secretAccessKey: string };
    forcePathStyle: boolean;
    requestChecksums?: 'when_supported' | 'when_required';
  };
  quarantineBucket: string;
  uploadBucket: string;
  hashThreads?: number;
  logLevel: string;
  gateway: { host: string; port: number; tokens?: string };
  actionerConcurrency: number;
  busRetentionMs: number;
}

export function loadRuntimeConfig(env: NodeJS.ProcessEnv): RuntimeConfig {
  const parsed = Env.safeParse(env);
  if (!parsed.success) throw new Error(`configuration: ${parsed.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; ')}`);
  const e = parsed.data;
  return {
    home: e.VIGIL_HOME ?? join(homedir(), '.vigil'),
    ...(e.DATABASE_URL && { databaseUrl: e.DATABASE_URL }),
    ...(e.KAFKA_BROKERS && {
      kafka: {
        brokers: e.KAFKA_BROKERS.split(',').map((b) => b.trim()).filter(Boolean),
        clientId: e.KAFKA_CLIENT_ID ?? 'vigil',
        ...(e.KAFKA_SESSION_TIMEOUT_MS && { sessionTimeoutMs: e.KAFKA_SESSION_TIMEOUT_MS }),
        ...(e.KAFKA_HEARTBEAT_INTERVAL_MS && { heartbeatIntervalMs: e.KAFKA_HEARTBEAT_INTERVAL_MS }),
        ...(e.KAFKA_REBALANCE_TIMEOUT_MS && { rebalanceTimeoutMs: e.KAFKA_REBALANCE_TIMEOUT_MS }),
        ...(e.KAFKA_MAX_WAIT_MS && { maxWaitTimeMs: e.KAFKA_MAX_WAIT_MS }),
      },
    }),
    ...(e.S3_ENDPOINT && {
      s3: {
        endpoint: e.S3_ENDPOINT,
        region: e.S3_REGION,
        forcePathStyle: e.S3_FORCE_PATH_STYLE === 'true',
        ...(e.S3_REQUEST_CHECKSUMS && { requestChecksums: e.S3_REQUEST_CHECKSUMS }),
        ...(e.S3_ACCESS_KEY_ID && e.S3_SECRET_ACCESS_KEY && { credentials: { accessKeyId: e.S3_ACCESS_KEY_ID, secretAccessKey: e.S3_SECRET_ACCESS_KEY } }),
      },
    }),
    quarantineBucket: e.VIGIL_QUARANTINE_BUCKET,
    uploadBucket: e.VIGIL_UPLOAD_BUCKET,
    ...(e.VIGIL_HASH_THREADS && { hashThreads: e.VIGIL_HASH_THREADS }),
    logLevel: e.VIGIL_LOG_LEVEL ?? 'info',
    gateway: { host: e.VIGIL_GATEWAY_HOST, port: e.VIGIL_GATEWAY_PORT, ...(e.VIGIL_GATEWAY_TOKENS && { tokens: e.VIGIL_GATEWAY_TOKENS }) },
    actionerConcurrency: e.VIGIL_ACTIONER_CONCURRENCY,
    busRetentionMs: e.VIGIL_BUS_RETENTION_HOURS * 60 * 60 * 1000,
  };
}
