// The pipeline's state for the scrape-time gauges: queues and the quarantine from Postgres, lag
// and dead letters from the bus. Read by the process running the gateway role only, so each
// number is exported once however many replicas there are.

import type { Bus } from '@vigil/bus';
import type { Pool } from '@vigil/db';
import { CONSUMER as ACTIONER_CONSUMER } from '@vigil/actioner';
import { PRESERVE_CONSUMER, RECEIPT_CONSUMER } from '@vigil/evidence';
import { RETRO_CONSUMER } from '@vigil/hashlists';
import type { PipelineState } from '@vigil/observability';
import { REPORTER_CONSUMER } from '@vigil/reporter';
import { BULK_CONSUMER, LIVE_CONSUMER } from '@vigil/scanner';

/** Every consumer group of Vigil and its topic: lag is read for these whether or not they run here. */
export const VIGIL_CONSUMERS: ReadonlyArray<{ group: string; topic: string }> = [
  { group: LIVE_CONSUMER, topic: 'upload.received.v1' },
  { group: BULK_CONSUMER, topic: 'rescan.requested.v1' },
  { group: ACTIONER_CONSUMER, topic: 'match.found.v1' },
  { group: PRESERVE_CONSUMER, topic: 'evidence.requested.v1' },
  { group: RECEIPT_CONSUMER, topic: 'report.filed.v1' },
  { group: REPORTER_CONSUMER, topic: 'report.requested.v1' },
  { group: RETRO_CONSUMER, topic: 'hashlist.updated.v1' },
];

/** Report states a queue holds (filed reports are done); `submitting` shows as `filing`. */
const REPORT_STATES = ['queued', 'filing', 'held', 'failed'] as const;

export async function readPipelineState(pool: Pool, bus: Pick<Bus, 'consumerLag' | 'deadLetterDepth'>): Promise<PipelineState> {
  const [db, consumerLag, dlqDepth] = await Promise.all([
    pool.query<{ reports: Record<string, number>; evidence_pending: number; quarantine_active: number; outbox_backlog: number; outbox_oldest: number }>(
      `SELECT
         (SELECT coalesce(json_object_agg(state, n), '{}')
            FROM (SELECT CASE status WHEN 'submitting' THEN 'filing' ELSE status END AS state, count(*)::int AS n
                    FROM reports WHERE status <> 'filed' GROUP BY 1) r) AS reports,
         -- Quarantined copies whose evidence is not preserved yet (the actioner requests it with every
         -- quarantine; a release does not withdraw the request): the dashboard's definition too.
         (SELECT count(*)::int FROM quarantine_records q
           WHERE q.status IN ('applied', 'released') AND NOT EXISTS (SELECT 1 FROM evidence_items e WHERE e.match_id = q.match_id)) AS evidence_pending,
         (SELECT count(*)::int FROM quarantine_records WHERE status = 'applied') AS quarantine_active,
         (SELECT count(*)::int FROM outbox WHERE sent_at IS NULL) AS outbox_backlog,
         (SELECT coalesce(extract(epoch FROM now() - min(created_at)), 0)::float8 FROM outbox WHERE sent_at IS NULL) AS outbox_oldest`,
    ),
    bus.consumerLag(VIGIL_CONSUMERS),
    bus.deadLetterDepth(),
  ]);
  const row = db.rows[0]!;
  const reportQueue: Record<string, number> = Object.fromEntries(REPORT_STATES.map((state) => [state, row.reports[state] ?? 0]));
  return {
    reportQueue,
    // Failed evidence is what the evidence service parked for a person: its dead letters.
    evidenceQueue: { pending: row.evidence_pending, failed: dlqDepth.find((d) => d.topic === 'evidence.requested.v1')?.depth ?? 0 },
    quarantineActive: row.quarantine_active,
    outboxBacklog: row.outbox_backlog,
    outboxOldestSeconds: row.outbox_oldest,
    consumerLag,
    dlqDepth,
  };
}
