// Where the services' adapters come from, parsed once from the environment: KAFKA_BROKERS,
// S3_ENDPOINT and DATABASE_URL pick the distributed adapters; without them everything runs on
// the embedded default under VIGIL_HOME. Only this module and main.ts read process.env.

import { readFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { join } from 'node:path';
import { loadDetectionRule, type LoadedDetectionRule } from '@vigil/scanner';
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
  // Largest list delta retro-matched past the list threshold (crop/text-free views to their cap, near misses).
  VIGIL_RETRO_WIDE_MAX_DELTA: z.coerce.number().int().min(0).default(10_000),
  /** The detection rule's overrides: a JSON file's path, or the JSON itself (scanner, gateway and retro-matching read it). */
  VIGIL_DETECTION_RULE: z.string().optional(),
  /** The metrics listener (GET /metrics): a port, `0` for any free one, or `off`. */
  VIGIL_METRICS_PORT: z.union([z.literal('off'), z.coerce.number().int().min(0).max(65535)]).default(9464),
  /** 127.0.0.1 by default; 0.0.0.0 in a container, so Prometheus can reach it. */
  VIGIL_METRICS_HOST: z.string().min(1).default('127.0.0.1'),
  /** How long the Postgres bus keeps events (the embedded default's topic retention). */
  VIGIL_BUS_RETENTION_HOURS: z.coerce.number().positive().default(24 * 7),
  /** The evidence vault: a bucket with S3 Object Lock (created with it when missing). */
  VIGIL_EVIDENCE_BUCKET: z.string().min(3).default('vigil-evidence'),
  /** Days evidence is kept after the report's receipt: 365 at least (18 U.S.C. 2258A(h)). */
  VIGIL_EVIDENCE_RETENTION_DAYS: z.coerce.number().int().min(365).default(365),
  VIGIL_EVIDENCE_EXPIRY_MINUTES: z.coerce.number().positive().default(60),
  /** Where reports go: `outbox` (files for manual submission, the default) or `ncmec` (the CyberTipline API). */
  VIGIL_REPORT_SINK: z.enum(['outbox', 'ncmec']).default('outbox'),
  VIGIL_REPORT_OUTBOX_DIR: z.string().min(1).optional(),
  VIGIL_REPORT_WINDOW_HOURS: z.coerce.number().positive().default(24),
  VIGIL_REPORT_GROUP_DELAY_MS: z.coerce.number().int().min(0).default(5000),
  VIGIL_REPORT_PUBLICLY_AVAILABLE: z.enum(['true', 'false']).default('false'),
  /** The reporting person NCMEC contacts (required to file; reports are held until set). */
  VIGIL_REPORTER_FIRST_NAME: z.string().min(1).optional(),
  VIGIL_REPORTER_LAST_NAME: z.string().min(1).optional(),
  VIGIL_REPORTER_EMAIL: z.string().min(1).optional(),
  VIGIL_REPORTER_PHONE: z.string().min(1).optional(),
  VIGIL_REPORTER_COMPANY: z.string().min(1).optional(),
  VIGIL_REPORTER_ESP_SERVICE: z.string().min(1).optional(),
  /** `test` (exttest.cybertip.org) or `production` (report.cybertip.org); NCMEC_URL overrides both. */
  NCMEC_ENV: z.enum(['test', 'production']).default('test'),
  NCMEC_URL: z.string().url().optional(),
  NCMEC_USERNAME: z.string().min(1).optional(),
  NCMEC_PASSWORD: z.string().min(1).optional(),
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
  /** Largest list delta the retro-match joins past the list threshold (VIGIL_RETRO_WIDE_MAX_DELTA). */
  retroWideMaxDelta: number;
  /** The detection rule every scan and retro-match runs under (VIGIL_DETECTION_RULE over the default). */
  detection: LoadedDetectionRule;
  logLevel: string;
  gateway: { host: string; port: number; tokens?: string };
  actionerConcurrency: number;
  /** The metrics listener; port null when it is off. */
  metrics: { host: string; port: number | null };
  busRetentionMs: number;
  evidence: { bucket: string; retentionDays: number; expiryIntervalMs: number };
  reports: {
    sink: { kind: 'outbox'; dir: string } | { kind: 'ncmec'; baseUrl: string; username: string; password: string };
    windowMs: number;
    groupDelayMs: number;
    publiclyAvailable: boolean;
    reporter: {
      reportingPerson: { firstName?: string; lastName?: string; email?: string; phone?: string };
      companyName?: string;
      espService?: string;
    };
  };
}

export function loadRuntimeConfig(env: NodeJS.ProcessEnv): RuntimeConfig {
  const parsed = Env.safeParse(env);
  if (!parsed.success) throw new Error(`configuration: ${parsed.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; ')}`);
  const e = parsed.data;
  const home = e.VIGIL_HOME ?? join(homedir(), '.vigil');
  return {
    home,
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
    retroWideMaxDelta: e.VIGIL_RETRO_WIDE_MAX_DELTA,
    detection: detectionRule(e.VIGIL_DETECTION_RULE),
    metrics: { host: e.VIGIL_METRICS_HOST, port: e.VIGIL_METRICS_PORT === 'off' ? null : e.VIGIL_METRICS_PORT },
    busRetentionMs: e.VIGIL_BUS_RETENTION_HOURS * 60 * 60 * 1000,
    evidence: { bucket: e.VIGIL_EVIDENCE_BUCKET, retentionDays: e.VIGIL_EVIDENCE_RETENTION_DAYS, expiryIntervalMs: e.VIGIL_EVIDENCE_EXPIRY_MINUTES * 60 * 1000 },
    reports: {
      sink: reportSink(e, home),
      windowMs: e.VIGIL_REPORT_WINDOW_HOURS * 60 * 60 * 1000,
      groupDelayMs: e.VIGIL_REPORT_GROUP_DELAY_MS,
      publiclyAvailable: e.VIGIL_REPORT_PUBLICLY_AVAILABLE === 'true',
      reporter: {
        reportingPerson: {
          ...(e.VIGIL_REPORTER_FIRST_NAME && { firstName: e.VIGIL_REPORTER_FIRST_NAME }),
          ...(e.VIGIL_REPORTER_LAST_NAME && { lastName: e.VIGIL_REPORTER_LAST_NAME }),
          ...(e.VIGIL_REPORTER_EMAIL && { email: e.VIGIL_REPORTER_EMAIL }),
          ...(e.VIGIL_REPORTER_PHONE && { phone: e.VIGIL_REPORTER_PHONE }),
        },
        ...(e.VIGIL_REPORTER_COMPANY && { companyName: e.VIGIL_REPORTER_COMPANY }),
        ...(e.VIGIL_REPORTER_ESP_SERVICE && { espService: e.VIGIL_REPORTER_ESP_SERVICE }),
      },
    },
  };
}

/** VIGIL_DETECTION_RULE's rule; its problems are named under the variable, like every other setting's. */
function detectionRule(setting: string | undefined): LoadedDetectionRule {
  try {
    return loadDetectionRule(setting, (path) => readFileSync(path, 'utf8'));
  } catch (err) {
    throw new Error(`configuration: VIGIL_DETECTION_RULE: ${(err as Error).message}`);
  }
}

/** The report sink: the outbox under VIGIL_HOME by default; the NCMEC API needs its credentials. */
function reportSink(e: z.infer<typeof Env>, home: string): RuntimeConfig['reports']['sink'] {
  if (e.VIGIL_REPORT_SINK === 'outbox') return { kind: 'outbox', dir: e.VIGIL_REPORT_OUTBOX_DIR ?? join(home, 'reports-outbox') };
  if (!e.NCMEC_USERNAME || !e.NCMEC_PASSWORD) throw new Error('configuration: VIGIL_REPORT_SINK=ncmec needs NCMEC_USERNAME and NCMEC_PASSWORD');
  const baseUrl = e.NCMEC_URL ?? (e.NCMEC_ENV === 'production' ? 'https://report.cybertip.org/ispws' : 'https://exttest.cybertip.org/ispws');
  return { kind: 'ncmec', baseUrl, username: e.NCMEC_USERNAME, password: e.NCMEC_PASSWORD };
}
