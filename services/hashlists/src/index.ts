// @vigil/hashlists: list versions from sources (checkpointed, incremental), retro-matching of new
// entries against the stored content hashes, tombstone review flags, the entry circuit breaker,
// full rescans, and the trusted-reporter corpus lookup. Never logs or serves list contents.
export { createCorpusLookup, type CorpusLookup, type CorpusLookupContext, type CorpusLookupDeps, type CorpusObject, type CorpusQuery, type ObjectState } from './corpus-lookup.ts';
export { DEFAULT_BREAKER, hitLimit, trippedEntries, type BreakerPolicy } from './retro/breaker.ts';
export { readCorpusPage, type CorpusPage, type CorpusPageOptions } from './retro/corpus-pages.ts';
export { DeltaIndex, type DeltaEntry, type DeltaHit } from './retro/delta-index.ts';
export { retroEventId, retroMatchesOf, runRetroMatch, type RetroDeps, type RetroProgress, type RetroRequest, type RetroSummary } from './retro/retro-match.ts';
export { handleHashlistUpdated, processListUpdate, RETRO_CONSUMER, startRetroService, type ListUpdateOutcome, type RetroMetrics, type RetroServiceDeps } from './retro-service.ts';
export { describeSource, parseSource, RescanError, rescanEventId, runRescan, type RescanDeps, type RescanProgress, type RescanReason, type RescanRequest, type RescanResult, type RescanSource } from './rescan.ts';
export { FileSource, FolderDropSource, parseDelivery, UrlDropSource, type DropSourceOptions } from './sources/drop-sources.ts';
export { NcmecSource, parseNcmecPage, StopNciiSource, type NcmecPage, type NcmecSourceOptions, type StopNciiSourceOptions } from './sources/exchange-sources.ts';
export { SourceError, type Checkpoint, type Delivery, type Fetch, type HashListSource, type SourceEntry } from './sources/source.ts';
export { startSourceSync, type ScheduledSource, type SourceScheduler } from './sources/scheduler.ts';
export { applyDelivery, loadCheckpoint, syncSource, type SyncedVersion, type SyncTarget } from './sources/sync.ts';
export { createListsAdmin, DEFAULT_THRESHOLDS, importList, type ImportOutcome, type ImportRequest } from './import-list.ts';
export { decideSuspension, keepFlagged, listFlags, listSuspensions, ReviewError, type QuarantineFlag, type Suspension } from './review.ts';
export { flagWithdrawn, type FlagOutcome } from './tombstones.ts';
