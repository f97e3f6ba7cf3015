// @vigil/actioner: match.found to actions. Verified quarantine (copy, check, remove every public
// version) with quarantine, evidence and report requests through the outbox; review holds; the
// audited release. Never decides matches; never destroys a quarantine copy.
export { createActioner, subscribeActioner, type Actioner, type ActionerDeps, type SubscribeActionerOptions } from './actioner.ts';
export { followUpEvents, type AppliedQuarantine, type FollowUpEvents } from './follow-up-events.ts';
export { DEFAULT_MAX_VERIFY_BYTES } from './digest.ts';
export { eventIdFor, evidenceRequestIdFor, quarantineIdFor, reportRequestIdFor, reviewIdFor } from './ids.ts';
export { applyQuarantine, CONSUMER, type QuarantineContext, type QuarantineOutcome } from './quarantine.ts';
export {
  getQuarantine,
  listQuarantine,
  type ListQuarantineOptions,
  type QuarantineFailure,
  type QuarantineRecord,
  type QuarantineStatus,
} from './quarantine-records.ts';
export { releaseQuarantine, ReleaseError, type ReleaseDeps, type ReleaseErrorCode, type ReleaseRequest } from './release.ts';
export { reportCategory, reportDedupeKey, reportPriority } from './report-policy.ts';
export { recordReview, type ReviewOutcome } from './review.ts';
