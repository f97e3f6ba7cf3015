import { describe, expect, it } from 'vitest';
import { evidenceFailures, latencyOf, reportsOf, throughputOf, unscannableOf, windowStart } from './assemble.ts';

const NOW = new Date('2025-06-01T12:30:42.500Z');

describe('throughputOf', () => {
  it('has sixty minutes, oldest first, ending with the current minute, zero-filled', () => {
    const t = throughputOf(NOW, [], []);
    expect(t.minutes).toHaveLength(60);
    expect(t.minutes[0]!.at).toBe('2025-06-01T11:31:00.000Z');
    expect(t.minutes[59]!.at).toBe('2025-06-01T12:30:00.000Z');
    expect(windowStart(NOW).toISOString()).toBe('2025-06-01T11:31:00.000Z');
    expect(t.minutes.every((m) => m.clean === 0 && m.matched === 0 && m.unscannable === 0)).toBe(true);
    expect(t.lastHour).toEqual({ total: 0, clean: 0, matched: 0, unscannable: 0, blocked: 0, review: 0 });
  });

  it('places each group in its minute, totals the hour and the day, and orders lanes by volume', () => {
    const t = throughputOf(
      NOW,
      [
        { minute: new Date('2025-06-01T11:31:00Z'), verdict: 'clean', n: 4, blocked: 0, review: 0 },
        { minute: new Date('2025-06-01T12:30:00Z'), verdict: 'matched', n: 2, blocked: 1, review: 1 },
        { minute: new Date('2025-06-01T12:30:00Z'), verdict: 'unscannable', n: 3, blocked: 3, review: 0 },
        // Outside the window (a row the query should not have returned): ignored, not misplaced.
        { minute: new Date('2025-06-01T11:30:00Z'), verdict: 'clean', n: 100, blocked: 0, review: 0 },
      ],
      [
        { verdict: 'clean', lane: 'live', reason: null, n: 10, blocked: 0, review: 0 },
        { verdict: 'clean', lane: 'check', reason: null, n: 30, blocked: 0, review: 0 },
        { verdict: 'matched', lane: 'live', reason: null, n: 2, blocked: 1, review: 1 },
        { verdict: 'unscannable', lane: 'live', reason: 'truncated', n: 2, blocked: 2, review: 0 },
        { verdict: 'unscannable', lane: 'check', reason: 'too_large', n: 5, blocked: 5, review: 0 },
      ],
    );
    expect(t.minutes[0]).toEqual({ at: '2025-06-01T11:31:00.000Z', clean: 4, matched: 0, unscannable: 0 });
    expect(t.minutes[59]).toEqual({ at: '2025-06-01T12:30:00.000Z', clean: 0, matched: 2, unscannable: 3 });
    expect(t.minutes.slice(1, 59).every((m) => m.clean + m.matched + m.unscannable === 0)).toBe(true);
    expect(t.lastHour).toEqual({ total: 9, clean: 4, matched: 2, unscannable: 3, blocked: 4, review: 1 });
    expect(t.last24h).toEqual({ total: 49, clean: 40, matched: 2, unscannable: 7, blocked: 8, review: 1 });
    expect(t.lanes24h).toEqual([{ lane: 'check', count: 35 }, { lane: 'live', count: 14 }]);
  });
});

describe('unscannableOf', () => {
  it('sums reasons across lanes, most frequent first', () => {
    expect(
      unscannableOf([
        { verdict: 'unscannable', lane: 'live', reason: 'truncated', n: 2, blocked: 2, review: 0 },
        { verdict: 'unscannable', lane: 'check', reason: 'too_large', n: 1, blocked: 1, review: 0 },
        { verdict: 'unscannable', lane: 'check', reason: 'truncated', n: 3, blocked: 3, review: 0 },
        { verdict: 'clean', lane: 'live', reason: null, n: 9, blocked: 0, review: 0 },
      ]),
    ).toEqual([{ reason: 'truncated', count: 5 }, { reason: 'too_large', count: 1 }]);
  });
});

describe('latencyOf', () => {
  it('says why there is no timing data', () => {
    expect(latencyOf(null, 15)).toEqual({ windowMinutes: 15, status: 'no_timing_column', stages: [] });
    expect(latencyOf([], 15)).toEqual({ windowMinutes: 15, status: 'no_samples', stages: [] });
  });

  it('orders stages as the pipeline runs them and rounds to 0.1 ms', () => {
    const latency = latencyOf(
      [
        { stage: 'endToEnd', samples: 3, percentiles: [120.04, 300.26, 410] },
        { stage: 'hash', samples: 3, percentiles: [11.111, 19.99, 25] },
        { stage: 'bogus', samples: 3, percentiles: [1, 2, 3] },
      ],
      15,
    );
    expect(latency.status).toBe('ok');
    expect(latency.stages).toEqual([
      { stage: 'hash', samples: 3, p50Ms: 11.1, p95Ms: 20, p99Ms: 25 },
      { stage: 'endToEnd', samples: 3, p50Ms: 120, p95Ms: 300.3, p99Ms: 410 },
    ]);
  });
});

describe('reportsOf', () => {
  it('counts by status, held by reason, and keeps the oldest queued time', () => {
    const reports = reportsOf([
      { status: 'queued', heldReason: null, n: 2, filedLast24h: 0, oldestQueuedAt: new Date('2025-06-01T10:00:00Z') },
      { status: 'held', heldReason: 'reporter_incomplete', n: 3, filedLast24h: 0, oldestQueuedAt: null },
      { status: 'held', heldReason: 'refused', n: 1, filedLast24h: 0, oldestQueuedAt: null },
      { status: 'filed', heldReason: null, n: 7, filedLast24h: 4, oldestQueuedAt: null },
      { status: 'submitting', heldReason: null, n: 1, filedLast24h: 0, oldestQueuedAt: null },
    ]);
    expect(reports).toEqual({
      queued: 2,
      submitting: 1,
      held: 4,
      heldByReason: [{ reason: 'reporter_incomplete', count: 3 }, { reason: 'refused', count: 1 }],
      filed: 7,
      failed: 0,
      filedLast24h: 4,
      oldestQueuedAt: '2025-06-01T10:00:00.000Z',
    });
  });
});

describe('evidenceFailures', () => {
  it('reads the evidence dead-letter topic by either name, and says unknown without a bus', () => {
    expect(evidenceFailures(null)).toBeNull();
    expect(evidenceFailures([])).toBe(0);
    expect(evidenceFailures([{ topic: 'evidence.requested.v1', depth: 2 }, { topic: 'match.found.v1', depth: 5 }])).toBe(2);
    expect(evidenceFailures([{ topic: 'evidence.requested.v1.dlq', depth: 1 }])).toBe(1);
  });
});
