// The review use case: a `review` match holds its verdict for a person. One reviews row per
// match, written with the inbox claim; no bytes move and nothing is published (a person's
// decision later drives any action). Never decides the review itself.

import { handleOnce, type Pool } from '@vigil/db';
import type { Event } from '@vigil/events';
import { reviewIdFor } from './ids.ts';
import type { MatchRow } from './matches.ts';
import { CONSUMER } from './quarantine.ts';

export type ReviewOutcome =
  | { kind: 'recorded'; reviewId: string }
  /** The match already had its review (another event for it). */
  | { kind: 'exists'; reviewId: string }
  /** The inbox already held this event at commit. */
  | { kind: 'duplicate' };

export async function recordReview(pool: Pool, event: Event<'match.found.v1'>, match: MatchRow): Promise<ReviewOutcome> {
  const p = event.payload;
  const reviewId = reviewIdFor(p.matchId);
  const result = await handleOnce(pool, CONSUMER, event.id, async (client) => {
    const inserted = await client.query(
      `INSERT INTO reviews (id, match_id, scan_id, tenant_id, bucket, object_key, version_id)
       VALUES ($1, $2, $3, $4, $5, $6, $7) ON CONFLICT DO NOTHING`,
      [reviewId, p.matchId, match.scanId, p.object.tenantId, p.object.bucket, p.object.key, p.object.versionId ?? null],
    );
    return inserted.rowCount === 1;
  });
  if (!result.applied) return { kind: 'duplicate' };
  return result.value ? { kind: 'recorded', reviewId } : { kind: 'exists', reviewId };
}
