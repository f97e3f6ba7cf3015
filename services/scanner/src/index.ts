// @vigil/scanner: upload and rescan events to verdicts, and the same core in-process for the
// gateway's synchronous check.
export { createCheckCore, loadScanView, matchHitsJson, type CheckCoreDeps } from './check-core.ts';
export { loadScannerConfig, ScannerConfig, unscannablePolicy } from './config.ts';
export {
  ContentHashCache,
  coversViews,
  fromImageHashes,
  storedHashesOf,
  toQuery,
  toScanQuery,
  uncropSource,
  upscaleSource,
  viewsFor,
  type ComputedViews,
  type ContentHashesRow,
  type StoredHashes,
} from './content-hashes.ts';
export {
  applyRule,
  checkVerdict,
  compensationCap,
  decide,
  DEFAULT_DETECTION_RULE,
  suppresses,
  type Action,
  type Decision,
  type DetectionRule,
  type UnscannablePolicy,
} from './decide.ts';
export { detectionRuleFrom, DetectionRuleOverrides, loadDetectionRule, ruleChanges, ruleFingerprint, type LoadedDetectionRule } from './rule-config.ts';
export { handleRescanRequested, handleUploadReceived } from './handlers.ts';
export { createLaneScheduler, type Lane, type LaneScheduler } from './lane-scheduler.ts';
export { newMatchId, newScanId, recordScan, type RecordOutcome, type ScanToRecord } from './record-scan.ts';
export { scanContent, type ContentScan, type ContentScanner } from './scan-content.ts';
export { observeScan, storedTimings, type CheckMetrics, type CounterPort, type HistogramPort, type ScanMetrics, type ScanTimings } from './scan-metrics.ts';
export { scanStoredObject, type ObjectScanDeps, type ObjectScanOutcome, type ObjectScanRequest } from './scan-object.ts';
export { BULK_CONSUMER, createContentScanner, LIVE_CONSUMER, startScanner, type ScannerService, type ScannerServiceDeps } from './scanner-service.ts';
