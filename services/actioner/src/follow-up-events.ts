// The three events a verified quarantine publishes (through the outbox): quarantine.applied,
// evidence.requested and report.requested. Pure: ids come from the match, so building them again
// after a crash yields the same events, which the outbox then skips.

import { createEvent, type Event, type Payload } from '@vigil/events';
import { eventIdFor, evidenceRequestIdFor, reportRequestIdFor } from './ids.ts';
import { reportCategory, reportDedupeKey, reportPriority } from './report-policy.ts';

type MatchFound = Payload<'match.found.v1'>;
type MatchedContent = Pick<MatchFound, 'object' | 'hashes' | 'matches' | 'uploader' | 'uploadedAt' | 'detectedAt'>;

export interface AppliedQuarantine {
  quarantineId: string;
  quarantined: { bucket: string; key: string; versionId: string | null };
  sha256: string;
  size: number;
  removedVersions: readonly string[];
  appliedAt: Date;
}

export type FollowUpEvents = [Event<'quarantine.applied.v1'>, Event<'evidence.requested.v1'>, Event<'report.requested.v1'>];

/** The MatchedContent part of match.found, copied as is (optional fields only when present). */
function matchedContent(p: MatchFound): MatchedContent {
  return {
    object: p.object,
    hashes: p.hashes,
    matches: p.matches,
    ...(p.uploader !== undefined ? { uploader: p.uploader } : {}),
    ...(p.uploadedAt !== undefined ? { uploadedAt: p.uploadedAt } : {}),
    detectedAt: p.detectedAt,
  };
}

/** Every event keeps the incoming trace id and lands on the object's partition (the default key). */
export function followUpEvents(match: Event<'match.found.v1'>, applied: AppliedQuarantine, producer: string, now: () => Date): FollowUpEvents {
  const p = match.payload;
  const context = (type: string) => ({ producer, traceId: match.traceId, id: eventIdFor(type, p.matchId), now });
  const content = matchedContent(p);
  return [
    createEvent(
      'quarantine.applied.v1',
      {
        quarantineId: applied.quarantineId,
        matchId: p.matchId,
        original: p.object,
        quarantined: {
          bucket: applied.quarantined.bucket,
          key: applied.quarantined.key,
          ...(applied.quarantined.versionId !== null ? { versionId: applied.quarantined.versionId } : {}),
        },
        sha256: applied.sha256,
        size: applied.size,
        removedVersions: [...applied.removedVersions],
        appliedAt: applied.appliedAt.toISOString(),
      },
      context('quarantine.applied.v1'),
    ),
    createEvent(
      'evidence.requested.v1',
      { ...content, evidenceRequestId: evidenceRequestIdFor(p.matchId), matchId: p.matchId, quarantineId: applied.quarantineId },
      context('evidence.requested.v1'),
    ),
    createEvent(
      'report.requested.v1',
      {
        ...content,
        reportRequestId: reportRequestIdFor(p.matchId),
        matchId: p.matchId,
        dedupeKey: reportDedupeKey(p),
        priority: reportPriority(p.matches),
        category: reportCategory(p.matches),
      },
      context('report.requested.v1'),
    ),
  ];
}
