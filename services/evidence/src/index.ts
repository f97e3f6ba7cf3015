// @vigil/evidence: the evidence vault. Object Lock copies with verified manifests, retention that
// starts from the report's receipt, legal holds, the one audited read path, and expiry only after
// retention. Never shows bytes to anyone without an actor, a scope, a reason and an audit row.
export { digestBytes, digestObject, type ExactDigests, type ObjectDigests } from './digests.ts';
export { createEvidenceHandlers, startEvidenceService, type EvidenceService, type EvidenceServiceOptions } from './evidence-service.ts';
export { evidenceForMatch, getEvidence, listEvidence, type EvidenceRecord, type ListEvidenceOptions } from './evidence-records.ts';
export { expireEvidence, type ExpireOptions, type ExpireResult } from './expire.ts';
export { setLegalHold, type HoldRequest } from './legal-hold.ts';
export { buildManifest, evidenceKeys, manifestMismatches, MANIFEST_SCHEMA, serializeManifest, type EvidenceManifest } from './manifest.ts';
export { evidenceIdFor, preserveEvidence, PRESERVE_CONSUMER, type PreserveContext, type PreserveOutcome } from './preserve.ts';
export { EvidenceAccessError, isPersonActor, readEvidence, type EvidenceAccessErrorCode, type EvidenceRead, type EvidenceReadRequest } from './read-evidence.ts';
export { applyReportReceipt, RECEIPT_CONSUMER, type ReceiptOutcome } from './report-receipt.ts';
export { addDays, checkRetentionPolicy, DEFAULT_RETENTION_DAYS, initialRetention, retentionFromReceipt, type RetentionBasis, type RetentionPolicy } from './retention.ts';
