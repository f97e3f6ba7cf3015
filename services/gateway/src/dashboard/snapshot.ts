// The dashboard's data: one snapshot of the whole pipeline, as a zod schema (it types the
// Postgres source, documents GET /v1/dashboard in OpenAPI, and tests validate answers with it)
// and the port the gateway reads it through. Counts, ids, list names, versions, distances and
// actions only: never an image, a thumbnail, an object URL or key, a hash or a list entry.

import { z } from 'zod';

/** Scan verdicts as recorded (the `scans.verdict` column and the vigil_scans_total label). */
export const SCAN_VERDICTS = ['clean', 'matched', 'unscannable'] as const;
/** Stages with a recorded time (`scans.timings`, migration 0010), in pipeline order. */
export const TIMING_STAGES = ['fetch', 'decode', 'hash', 'match', 'record', 'endToEnd'] as const;

export const THROUGHPUT_MINUTES = 60;
export const LATENCY_MINUTES = 15;
export const WINDOW_HOURS = 24;

const count = z.int().min(0);
const isoTime = z.iso.datetime({ offset: true });

const verdictCounts = z.object({
  total: count,
  clean: count,
  matched: count,
  unscannable: count,
  /** Blocked: a match, or an unscannable object under the fail-closed policy. */
  blocked: count,
  /** Held for a person (a review match, or an unscannable object passed with a flag). */
  review: count,
});

export const dashboardSnapshotSchema = z.object({
  generatedAt: isoTime,
  /** No scan has ever been recorded: the page explains how to get some. */
  empty: z.boolean(),
  throughput: z.object({
    windowMinutes: z.literal(THROUGHPUT_MINUTES),
    /** One per minute, oldest first, the current (partial) minute last; zero-filled. */
    minutes: z.array(z.object({ at: isoTime, clean: count, matched: count, unscannable: count })).length(THROUGHPUT_MINUTES),
    lastHour: verdictCounts,
    last24h: verdictCounts,
    /** Scans per lane (live, bulk, check, retro) over the last 24 h. */
    lanes24h: z.array(z.object({ lane: z.string(), count })),
  }),
  latency: z.object({
    windowMinutes: z.literal(LATENCY_MINUTES),
    /** `no_timing_column`: the database predates scan timings; `no_samples`: none recorded in the window. */
    status: z.enum(['ok', 'no_timing_column', 'no_samples']),
    stages: z.array(
      z.object({ stage: z.enum(TIMING_STAGES), samples: count, p50Ms: z.number(), p95Ms: z.number(), p99Ms: z.number() }),
    ),
  }),
  lag: z.object({
    /** `not_configured`: this gateway was given no bus to ask; `unavailable`: the bus did not answer. */
    status: z.enum(['ok', 'not_configured', 'unavailable']),
    groups: z.array(z.object({ topic: z.string(), group: z.string(), lag: count })),
    /** Events on dead-letter topics, when the bus can say. */
    deadLetters: z.array(z.object({ topic: z.string(), depth: count })).nullable(),
  }),
  matches: z.object({
    windowHours: z.literal(WINDOW_HOURS),
    /** List hits in matches detected in the window, by list, the list's action and the trigger. */
    byList: z.array(z.object({ list: z.string(), action: z.string(), trigger: z.string(), count })),
  }),
  unscannable: z.object({
    windowHours: z.literal(WINDOW_HOURS),
    byReason: z.array(z.object({ reason: z.string(), count })),
  }),
  quarantine: z.object({ pending: count, applied: count, released: count, failed: count }),
  reports: z.object({
    queued: count,
    submitting: count,
    held: count,
    heldByReason: z.array(z.object({ reason: z.string(), count })),
    filed: count,
    failed: count,
    filedLast24h: count,
    oldestQueuedAt: isoTime.nullable(),
  }),
  evidence: z.object({
    preserved: count,
    /** Applied quarantines whose evidence is not preserved yet. */
    pending: count,
    /** Evidence requests dead-lettered (a copy that did not verify), when the bus can say. */
    failed: count.nullable(),
    legalHold: count,
    expiringWithin30d: count,
  }),
  outbox: z.object({ backlog: count, oldestAt: isoTime.nullable() }),
  lists: z.array(
    z.object({
      list: z.string(),
      name: z.string(),
      algorithm: z.string(),
      action: z.string(),
      enabled: z.boolean(),
      version: z.int().nullable(),
      entries: count.nullable(),
      suspended: count,
      activatedAt: isoTime.nullable(),
      lastRetro: z
        .object({
          version: z.int(),
          status: z.string(),
          matched: count,
          candidates: count,
          /** The corpus pass it is in, 1-based, of `passes` (a large delta is joined in several; null: not known yet). */
          pass: z.int().min(1),
          passes: z.int().min(1).nullable(),
          startedAt: isoTime,
          finishedAt: isoTime.nullable(),
        })
        .nullable(),
    }),
  ),
  /** The latest decisions that were not a plain clean verdict (matched, unscannable, held), newest first. */
  recent: z.array(
    z.object({
      scanId: z.string(),
      matchId: z.string().nullable(),
      list: z.string().nullable(),
      listVersion: z.int().nullable(),
      algorithm: z.string().nullable(),
      distance: z.int().nullable(),
      action: z.string().nullable(),
      verdict: z.enum(SCAN_VERDICTS),
      reason: z.string().nullable(),
      lane: z.string(),
      blocked: z.boolean(),
      review: z.boolean(),
      at: isoTime,
    }),
  ),
});

export type DashboardSnapshot = z.output<typeof dashboardSnapshotSchema>;
export type RecentDecision = DashboardSnapshot['recent'][number];
export type ConsumerLag = DashboardSnapshot['lag']['groups'][number];
export type DeadLetterDepth = NonNullable<DashboardSnapshot['lag']['deadLetters']>[number];

/** Where the dashboard's numbers come from. */
export interface DashboardSource {
  /**
   * The pipeline as it stands now. Read-only; may be called every two seconds by every open
   * page, so it must stay cheap. Rejects only when its store does (the route answers 500).
   */
  snapshot(): Promise<DashboardSnapshot>;
}
