// What the scanner tells the metrics catalogue (@vigil/observability's VigilMetrics fits these
// ports; the scanner depends on no metrics library). One call per recorded verdict, so a
// redelivery that finds its scan already written counts nothing.

import type { Decision } from './decide.ts';

export interface CounterPort<L extends string> {
  inc(labels: Partial<Record<L, string>>, value?: number): void;
}
export interface HistogramPort<L extends string> {
  observe(labels: Partial<Record<L, string>>, value: number): void;
}

export interface ScanMetrics {
  scans: CounterPort<'verdict' | 'lane' | 'source'>;
  scanStage: HistogramPort<'stage' | 'lane'>;
  scanEndToEnd: HistogramPort<'lane'>;
  matches: CounterPort<'list' | 'action' | 'trigger'>;
  unscannable: CounterPort<'reason' | 'lane'>;
}

export interface CheckMetrics extends ScanMetrics {
  checkDuration: HistogramPort<'verdict'>;
}

/** Milliseconds per stage of one scan, as stored in scans.timings; absent stages did not run. */
export interface ScanTimings {
  fetchMs?: number;
  decodeMs?: number;
  hashMs?: number;
  matchMs?: number;
  recordMs?: number;
  endToEndMs?: number;
}

export type MetricsLane = 'live' | 'bulk' | 'check';

/** The trigger label of a lane's matches: uploads (live), rescans, or the synchronous check. */
const TRIGGER: Record<MetricsLane, string> = { live: 'live', bulk: 'rescan', check: 'check' };

const STAGES = [
  ['fetch', 'fetchMs'],
  ['decode', 'decodeMs'],
  ['hash', 'hashMs'],
  ['match', 'matchMs'],
  ['record', 'recordMs'],
] as const;

export function observeScan(
  metrics: ScanMetrics | undefined,
  scan: { lane: MetricsLane; source: string; decision: Decision; timings: ScanTimings },
): void {
  if (!metrics) return;
  const { lane, decision, timings } = scan;
  metrics.scans.inc({ verdict: decision.verdict, lane, source: scan.source });
  if (decision.verdict === 'unscannable') metrics.unscannable.inc({ reason: decision.reason, lane });
  if (decision.verdict === 'matched') {
    // One count per list and action that joined the verdict (a list hit by several hashes counts once).
    const seen = new Set<string>();
    for (const hit of decision.hits) {
      const key = `${hit.listId}\u0000${hit.action}`;
      if (seen.has(key)) continue;
      seen.add(key);
      metrics.matches.inc({ list: hit.listId, action: hit.action, trigger: TRIGGER[lane] });
    }
  }
  for (const [stage, field] of STAGES) {
    const ms = timings[field];
    if (ms !== undefined) metrics.scanStage.observe({ stage, lane }, ms / 1000);
  }
  if (timings.endToEndMs !== undefined) metrics.scanEndToEnd.observe({ lane }, timings.endToEndMs / 1000);
}

/** Timings as stored: rounded to 0.01 ms, absent stages left out. */
export function storedTimings(timings: ScanTimings): ScanTimings {
  const out: ScanTimings = {};
  for (const [key, value] of Object.entries(timings) as Array<[keyof ScanTimings, number | undefined]>) {
    if (value !== undefined && Number.isFinite(value)) out[key] = Math.round(Math.max(0, value) * 100) / 100;
  }
  return out;
}
