// Pure: rows as the dashboard queries return them, to the snapshot's pieces (zero-filled minute
// series, verdict totals, sorted breakdowns). No I/O, no clock: the reference time is an argument.

import { SCAN_VERDICTS, THROUGHPUT_MINUTES, TIMING_STAGES, type DashboardSnapshot } from './snapshot.ts';

type Verdict = (typeof SCAN_VERDICTS)[number];
type Throughput = DashboardSnapshot['throughput'];
type VerdictCounts = Throughput['lastHour'];

/** One group of the minute-by-verdict aggregate. */
export interface MinuteRow {
  minute: Date;
  verdict: string;
  n: number;
  blocked: number;
  review: number;
}

/** One group of the 24 h aggregate. */
export interface DayRow {
  verdict: string;
  lane: string;
  reason: string | null;
  n: number;
  blocked: number;
  review: number;
}

const MINUTE_MS = 60_000;

/** The start of the minute `at` falls in, in UTC (minutes are the same in every modern zone). */
export function minuteStart(at: Date): Date {
  return new Date(Math.floor(at.getTime() / MINUTE_MS) * MINUTE_MS);
}

/** The first minute of the throughput window: the current minute is the last of 60. */
export function windowStart(now: Date): Date {
  return new Date(minuteStart(now).getTime() - (THROUGHPUT_MINUTES - 1) * MINUTE_MS);
}

function isVerdict(value: string): value is Verdict {
  return (SCAN_VERDICTS as readonly string[]).includes(value);
}

function emptyCounts(): VerdictCounts {
  return { total: 0, clean: 0, matched: 0, unscannable: 0, blocked: 0, review: 0 };
}

function addTo(counts: VerdictCounts, row: { verdict: string; n: number; blocked: number; review: number }): void {
  counts.total += row.n;
  if (isVerdict(row.verdict)) counts[row.verdict] += row.n;
  counts.blocked += row.blocked;
  counts.review += row.review;
}

/** Sixty minutes, oldest first, with every minute present; rows outside the window are ignored. */
export function throughputOf(now: Date, minuteRows: readonly MinuteRow[], dayRows: readonly DayRow[]): Throughput {
  const start = windowStart(now).getTime();
  const minutes = Array.from({ length: THROUGHPUT_MINUTES }, (_, i) => ({
    at: new Date(start + i * MINUTE_MS).toISOString(),
    clean: 0,
    matched: 0,
    unscannable: 0,
  }));
  const lastHour = emptyCounts();
  for (const row of minuteRows) {
    const index = Math.round((row.minute.getTime() - start) / MINUTE_MS);
    const slot = minutes[index];
    if (slot === undefined) continue;
    if (isVerdict(row.verdict)) slot[row.verdict] += row.n;
    addTo(lastHour, row);
  }
  const last24h = emptyCounts();
  const lanes = new Map<string, number>();
  for (const row of dayRows) {
    addTo(last24h, row);
    lanes.set(row.lane, (lanes.get(row.lane) ?? 0) + row.n);
  }
  return {
    windowMinutes: THROUGHPUT_MINUTES,
    minutes,
    lastHour,
    last24h,
    lanes24h: sortedCounts(lanes, 'lane'),
  };
}

/** Unscannable verdicts by reason over the day, most frequent first. */
export function unscannableOf(dayRows: readonly DayRow[]): Array<{ reason: string; count: number }> {
  const reasons = new Map<string, number>();
  for (const row of dayRows) {
    if (row.verdict === 'unscannable') reasons.set(row.reason ?? 'unknown', (reasons.get(row.reason ?? 'unknown') ?? 0) + row.n);
  }
  return sortedCounts(reasons, 'reason');
}

function sortedCounts<K extends string>(counts: Map<string, number>, key: K): Array<Record<K, string> & { count: number }> {
  return [...counts]
    .sort(([a, x], [b, y]) => y - x || a.localeCompare(b))
    .map(([name, n]) => ({ [key]: name, count: n }) as Record<K, string> & { count: number });
}

export interface StageRow {
  stage: string;
  samples: number;
  /** p50, p95, p99 in ms. */
  percentiles: number[];
}

type Latency = DashboardSnapshot['latency'];

/** Stages in pipeline order; percentiles to 0.1 ms. */
export function latencyOf(rows: readonly StageRow[] | null, windowMinutes: Latency['windowMinutes']): Latency {
  if (rows === null) return { windowMinutes, status: 'no_timing_column', stages: [] };
  const byStage = new Map(rows.map((row) => [row.stage, row]));
  const stages: Latency['stages'] = [];
  for (const stage of TIMING_STAGES) {
    const row = byStage.get(stage);
    if (!row || row.samples === 0) continue;
    const [p50 = 0, p95 = 0, p99 = 0] = row.percentiles.map(round1);
    stages.push({ stage, samples: row.samples, p50Ms: p50, p95Ms: p95, p99Ms: p99 });
  }
  return { windowMinutes, status: stages.length === 0 ? 'no_samples' : 'ok', stages };
}

function round1(ms: number): number {
  return Math.round(ms * 10) / 10;
}

export interface ReportRow {
  status: string;
  heldReason: string | null;
  n: number;
  filedLast24h: number;
  oldestQueuedAt: Date | null;
}

export function reportsOf(rows: readonly ReportRow[]): DashboardSnapshot['reports'] {
  const reports: DashboardSnapshot['reports'] = {
    queued: 0, submitting: 0, held: 0, heldByReason: [], filed: 0, failed: 0, filedLast24h: 0, oldestQueuedAt: null,
  };
  const held = new Map<string, number>();
  let oldest: Date | null = null;
  for (const row of rows) {
    reports.filedLast24h += row.filedLast24h;
    switch (row.status) {
      case 'queued':
      case 'submitting':
      case 'filed':
      case 'failed':
        reports[row.status] += row.n;
        break;
      case 'held':
        reports.held += row.n;
        held.set(row.heldReason ?? 'unknown', (held.get(row.heldReason ?? 'unknown') ?? 0) + row.n);
        break;
    }
    if (row.oldestQueuedAt && (oldest === null || row.oldestQueuedAt < oldest)) oldest = row.oldestQueuedAt;
  }
  reports.heldByReason = sortedCounts(held, 'reason');
  reports.oldestQueuedAt = oldest?.toISOString() ?? null;
  return reports;
}

/**
 * Dead-lettered evidence requests, from the bus's dead-letter depths: topics may be named for
 * their source (`evidence.requested.v1`) or as the DLQ itself (`evidence.requested.v1.dlq`).
 */
export function evidenceFailures(deadLetters: ReadonlyArray<{ topic: string; depth: number }> | null): number | null {
  if (deadLetters === null) return null;
  return deadLetters
    .filter((d) => d.topic === 'evidence.requested.v1' || d.topic === 'evidence.requested.v1.dlq')
    .reduce((sum, d) => sum + d.depth, 0);
}
