// The dashboard read from Postgres, the one store every process of a distributed deployment
// shares (per-process metrics would show one replica's view). A snapshot is seven set-based
// queries run side by side on the pool, each bounded by a time window or a small table, plus the
// bus's lag when given. Read-only; selects counts, ids, list names, versions, distances and
// actions, never hashes, object keys, uploader details or report payloads.
//
// Indexes relied on (migration 0011_dashboard.sql): scans (scanned_at) for the 60-minute and
// 24-hour windows, the partial scans_recent_decisions for the latest non-clean verdicts, and
// matches (detected_at) for matches per list.

import { evidenceFailures, latencyOf, reportsOf, throughputOf, unscannableOf, windowStart, type DayRow, type ReportRow, type StageRow } from './assemble.ts';
import {
  LATENCY_MINUTES,
  WINDOW_HOURS,
  type ConsumerLag,
  type DashboardSnapshot,
  type DashboardSource,
  type DeadLetterDepth,
} from './snapshot.ts';

/** What the source needs of a pg Pool (structural, so the gateway does not depend on pg). */
export interface Queryable {
  query(text: string, values?: unknown[]): Promise<{ rows: unknown[] }>;
}

export interface PostgresDashboardSourceOptions {
  db: Queryable;
  /** Events behind per topic and consumer group (`Bus.consumerLag`); absent: lag shows "not configured". */
  lag?: () => Promise<ConsumerLag[]>;
  /** Events per dead-letter topic (`Bus.deadLetterDepth`); absent: DLQ depth and failed evidence show as unknown. */
  deadLetters?: () => Promise<DeadLetterDepth[]>;
  /** How long to wait for the bus before showing lag as unavailable. Default 1500 ms. */
  busTimeoutMs?: number;
  /** Rows of recent decisions. Default 25. */
  recentLimit?: number;
  now?: () => Date;
}

const MINUTE_ROWS_SQL = `
SELECT verdict, lane, unscannable_reason AS reason,
       CASE WHEN scanned_at >= $2::timestamptz
            THEN least(date_bin('1 minute', scanned_at, TIMESTAMPTZ 'epoch'), date_bin('1 minute', $1::timestamptz, TIMESTAMPTZ 'epoch'))
       END AS minute,
       count(*)::int AS n, count(*) FILTER (WHERE blocked)::int AS blocked, count(*) FILTER (WHERE review)::int AS review
  FROM scans
 WHERE scanned_at >= $1::timestamptz - make_interval(hours => $3)
 GROUP BY 1, 2, 3, 4`;

// Stage keys of scans.timings (migration 0010): `fetchMs` is the stage `fetch`.
const LATENCY_SQL = `
SELECT left(e.key, -2) AS stage, count(*)::int AS samples,
       percentile_cont(ARRAY[0.5, 0.95, 0.99]) WITHIN GROUP (ORDER BY (e.value #>> '{}')::float8) AS percentiles
  FROM scans AS s, jsonb_each(s.timings) AS e(key, value)
 WHERE s.scanned_at >= $1::timestamptz - make_interval(mins => $2)
   AND jsonb_typeof(s.timings) = 'object'
   AND e.key IN ('fetchMs', 'decodeMs', 'hashMs', 'matchMs', 'recordMs', 'endToEndMs')
   AND jsonb_typeof(e.value) = 'number'
 GROUP BY 1`;

const TIMINGS_COLUMN_SQL = `
SELECT EXISTS (SELECT 1 FROM pg_attribute WHERE attrelid = to_regclass('scans') AND attname = 'timings' AND NOT attisdropped) AS present`;

const MATCHES_SQL = `
SELECT h.list_id AS list, h.action, m.trigger, count(*)::int AS n
  FROM matches AS m JOIN match_hits AS h ON h.match_id = m.id
 WHERE m.detected_at >= $1::timestamptz - make_interval(hours => $2)
 GROUP BY 1, 2, 3
 ORDER BY n DESC, list, action, trigger`;

// Held reasons read `code: detail` (the detail may quote a receiver's message): the code only.
const REPORTS_SQL = `
SELECT status, CASE WHEN status = 'held' THEN left(split_part(held_reason, ':', 1), 64) END AS held_reason,
       count(*)::int AS n,
       count(*) FILTER (WHERE status = 'filed' AND filed_at >= $1::timestamptz - make_interval(hours => $2))::int AS filed_last24h,
       min(created_at) FILTER (WHERE status = 'queued') AS oldest_queued_at
  FROM reports
 GROUP BY 1, 2`;

// Evidence is requested with an applied quarantine: one without a preserved item is pending.
const STATE_SQL = `
WITH q AS (
  SELECT count(*) FILTER (WHERE status = 'pending')::int AS pending, count(*) FILTER (WHERE status = 'applied')::int AS applied,
         count(*) FILTER (WHERE status = 'released')::int AS released, count(*) FILTER (WHERE status = 'failed')::int AS failed
    FROM quarantine_records
), e AS (
  SELECT count(*)::int AS preserved, count(*) FILTER (WHERE legal_hold)::int AS legal_hold,
         count(*) FILTER (WHERE NOT legal_hold AND retain_until < $1::timestamptz + interval '30 days')::int AS expiring
    FROM evidence_items
), p AS (
  SELECT count(*)::int AS pending
    FROM quarantine_records AS r
   WHERE r.status IN ('applied', 'released') AND NOT EXISTS (SELECT 1 FROM evidence_items AS i WHERE i.match_id = r.match_id)
), o AS (
  SELECT count(*)::int AS backlog, min(created_at) AS oldest FROM outbox WHERE sent_at IS NULL
)
SELECT EXISTS (SELECT 1 FROM scans) AS has_scans,
       q.pending AS q_pending, q.applied AS q_applied, q.released AS q_released, q.failed AS q_failed,
       e.preserved, e.legal_hold, e.expiring, p.pending AS evidence_pending, o.backlog, o.oldest
  FROM q, e, p, o`;

const LISTS_SQL = `
SELECT l.id, l.name, l.algorithm, l.action, l.enabled, l.current_version AS version, v.entry_count AS entries, v.activated_at,
       (SELECT count(*)::int FROM entry_suspensions AS s WHERE s.list_id = l.id AND s.status = 'suspended') AS suspended,
       r.version AS retro_version, r.status AS retro_status, r.matched AS retro_matched, r.candidates AS retro_candidates,
       r.pass AS retro_pass, r.passes AS retro_passes, r.started_at AS retro_started_at, r.finished_at AS retro_finished_at
  FROM hash_lists AS l
  LEFT JOIN list_versions AS v ON v.list_id = l.id AND v.version = l.current_version
  LEFT JOIN LATERAL (SELECT * FROM retro_runs AS x WHERE x.list_id = l.id ORDER BY x.version DESC LIMIT 1) AS r ON true
 ORDER BY l.id`;

// The WHERE matches the partial index scans_recent_decisions exactly, so the planner can walk it.
const RECENT_SQL = `
SELECT s.id, s.match_id, s.verdict, s.unscannable_reason, s.lane, s.blocked, s.review, s.scanned_at,
       s.algorithm, s.distance, m.action AS match_action,
       h.list_id, h.list_version, h.algorithm AS hit_algorithm, h.distance AS hit_distance
  FROM (SELECT id, match_id, verdict, unscannable_reason, lane, blocked, review, scanned_at, algorithm, distance
          FROM scans WHERE verdict <> 'clean' OR review ORDER BY scanned_at DESC LIMIT $1) AS s
  LEFT JOIN matches AS m ON m.id = s.match_id
  LEFT JOIN match_hits AS h ON h.match_id = s.match_id AND h.ordinal = 0
 ORDER BY s.scanned_at DESC, s.id`;

interface StateRow {
  has_scans: boolean;
  q_pending: number;
  q_applied: number;
  q_released: number;
  q_failed: number;
  preserved: number;
  legal_hold: number;
  expiring: number;
  evidence_pending: number;
  backlog: number;
  oldest: Date | null;
}

interface ListRow {
  id: string;
  name: string;
  algorithm: string;
  action: string;
  enabled: boolean;
  version: number | null;
  entries: number | null;
  activated_at: Date | null;
  suspended: number;
  retro_version: number | null;
  retro_status: string | null;
  retro_matched: number | null;
  retro_candidates: number | null;
  retro_pass: number | null;
  retro_passes: number | null;
  retro_started_at: Date | null;
  retro_finished_at: Date | null;
}

interface RecentRow {
  id: string;
  match_id: string | null;
  verdict: 'clean' | 'matched' | 'unscannable';
  unscannable_reason: string | null;
  lane: string;
  blocked: boolean;
  review: boolean;
  scanned_at: Date;
  algorithm: string | null;
  distance: number | null;
  match_action: string | null;
  list_id: string | null;
  list_version: number | null;
  hit_algorithm: string | null;
  hit_distance: number | null;
}

type BusAnswer<T> = { ok: true; value: T } | { ok: false };

export class PostgresDashboardSource implements DashboardSource {
  readonly #db: Queryable;
  readonly #lag: (() => Promise<ConsumerLag[]>) | undefined;
  readonly #deadLetters: (() => Promise<DeadLetterDepth[]>) | undefined;
  readonly #busTimeoutMs: number;
  readonly #recentLimit: number;
  readonly #now: () => Date;
  /** Once migration 0010 has added scans.timings it stays; until then, asked again each time. */
  #hasTimings = false;

  constructor(options: PostgresDashboardSourceOptions) {
    this.#db = options.db;
    this.#lag = options.lag;
    this.#deadLetters = options.deadLetters;
    this.#busTimeoutMs = options.busTimeoutMs ?? 1500;
    this.#recentLimit = options.recentLimit ?? 25;
    this.#now = options.now ?? (() => new Date());
  }

  async snapshot(): Promise<DashboardSnapshot> {
    // One reference time for every query, so the panels agree with each other.
    const now = this.#now();
    const at = now.toISOString();
    const [dayRows, stageRows, matchRows, reportRows, [state], listRows, recentRows, lag, deadLetters] = await Promise.all([
      this.#rows<DayRow & { minute: Date | null }>(MINUTE_ROWS_SQL, [at, windowStart(now).toISOString(), WINDOW_HOURS]),
      this.#stageRows(at),
      this.#rows<{ list: string; action: string; trigger: string; n: number }>(MATCHES_SQL, [at, WINDOW_HOURS]),
      this.#rows<{ status: string; held_reason: string | null; n: number; filed_last24h: number; oldest_queued_at: Date | null }>(REPORTS_SQL, [at, WINDOW_HOURS]),
      this.#rows<StateRow>(STATE_SQL, [at]),
      this.#rows<ListRow>(LISTS_SQL),
      this.#rows<RecentRow>(RECENT_SQL, [this.#recentLimit]),
      this.#askBus(this.#lag),
      this.#askBus(this.#deadLetters),
    ]);
    if (state === undefined) throw new Error('dashboard state query returned no row');
    const minuteRows = dayRows.flatMap((row) => (row.minute === null ? [] : [{ ...row, minute: row.minute }]));
    const deadLetterDepths = deadLetters?.ok ? deadLetters.value.map((d) => ({ topic: d.topic, depth: d.depth })) : null;

    return {
      generatedAt: at,
      empty: !state.has_scans,
      throughput: throughputOf(now, minuteRows, dayRows),
      latency: latencyOf(stageRows, LATENCY_MINUTES),
      lag: {
        status: lag === null ? 'not_configured' : lag.ok ? 'ok' : 'unavailable',
        groups: lag?.ok ? lag.value.map((l) => ({ topic: l.topic, group: l.group, lag: l.lag })).sort((a, b) => b.lag - a.lag || a.topic.localeCompare(b.topic) || a.group.localeCompare(b.group)) : [],
        deadLetters: deadLetterDepths,
      },
      matches: { windowHours: WINDOW_HOURS, byList: matchRows.map((r) => ({ list: r.list, action: r.action, trigger: r.trigger, count: r.n })) },
      unscannable: { windowHours: WINDOW_HOURS, byReason: unscannableOf(dayRows) },
      quarantine: { pending: state.q_pending, applied: state.q_applied, released: state.q_released, failed: state.q_failed },
      reports: reportsOf(reportRows.map((r): ReportRow => ({ status: r.status, heldReason: r.held_reason, n: r.n, filedLast24h: r.filed_last24h, oldestQueuedAt: r.oldest_queued_at }))),
      evidence: {
        preserved: state.preserved,
        pending: state.evidence_pending,
        failed: evidenceFailures(deadLetterDepths),
        legalHold: state.legal_hold,
        expiringWithin30d: state.expiring,
      },
      outbox: { backlog: state.backlog, oldestAt: state.oldest?.toISOString() ?? null },
      lists: listRows.map(listView),
      recent: recentRows.map(recentView),
    };
  }

  async #rows<R>(sql: string, values: unknown[] = []): Promise<R[]> {
    return (await this.#db.query(sql, values)).rows as R[];
  }

  async #stageRows(at: string): Promise<StageRow[] | null> {
    if (!this.#hasTimings) {
      const [row] = await this.#rows<{ present: boolean }>(TIMINGS_COLUMN_SQL);
      if (!row?.present) return null;
      this.#hasTimings = true;
    }
    return this.#rows<StageRow>(LATENCY_SQL, [at, LATENCY_MINUTES]);
  }

  /** A bus that is down or slow shows as "unavailable"; it never holds up or fails the snapshot. */
  async #askBus<T>(ask: (() => Promise<T>) | undefined): Promise<BusAnswer<T> | null> {
    if (ask === undefined) return null;
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<BusAnswer<T>>((resolve) => {
      timer = setTimeout(() => resolve({ ok: false }), this.#busTimeoutMs);
    });
    try {
      return await Promise.race([ask().then((value): BusAnswer<T> => ({ ok: true, value }), (): BusAnswer<T> => ({ ok: false })), timeout]);
    } finally {
      clearTimeout(timer);
    }
  }
}

function iso(value: Date | null): string | null {
  return value === null ? null : value.toISOString();
}

function listView(row: ListRow): DashboardSnapshot['lists'][number] {
  return {
    list: row.id,
    name: row.name,
    algorithm: row.algorithm,
    action: row.action,
    enabled: row.enabled,
    version: row.version,
    entries: row.entries,
    suspended: row.suspended,
    activatedAt: iso(row.activated_at),
    lastRetro:
      row.retro_version === null || row.retro_started_at === null
        ? null
        : {
            version: row.retro_version,
            status: row.retro_status ?? 'unknown',
            matched: row.retro_matched ?? 0,
            candidates: row.retro_candidates ?? 0,
            pass: (row.retro_pass ?? 0) + 1,
            passes: row.retro_passes,
            startedAt: row.retro_started_at.toISOString(),
            finishedAt: iso(row.retro_finished_at),
          },
  };
}

/** The first hit names the list; a clean-but-held or unscannable scan has none. */
function recentView(row: RecentRow): DashboardSnapshot['recent'][number] {
  return {
    scanId: row.id,
    matchId: row.match_id,
    list: row.list_id,
    listVersion: row.list_version,
    algorithm: row.hit_algorithm ?? row.algorithm,
    distance: row.hit_distance ?? row.distance,
    action: row.match_action,
    verdict: row.verdict,
    reason: row.unscannable_reason,
    lane: row.lane,
    blocked: row.blocked,
    review: row.review,
    at: row.scanned_at.toISOString(),
  };
}
