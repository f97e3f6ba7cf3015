// The scanner's use case: a stored object to a recorded verdict. Fetches under a byte cap and a
// deadline, scans the bytes with the shared core, decides, and records the scan with its events
// in one transaction. Expected situations are values (`gone`, a duplicate, an unscannable
// verdict); a throw means "try again" (a store or database hiccup), never a lost event.

import { withTransaction, type Pool } from '@vigil/db';
import type { Payload } from '@vigil/events';
import { isObjectStoreError, type ObjectStore } from '@vigil/storage';
import type { Decision, UnscannablePolicy } from './decide.ts';
import { newScanId, recordScan, type RecordOutcome } from './record-scan.ts';
import { decideContent, recordedContent, scanContent, type ContentScan, type ContentScanner } from './scan-content.ts';
import { observeScan, type ScanMetrics, type ScanTimings } from './scan-metrics.ts';

type ObjectRef = Payload<'upload.received.v1'>['object'];
type Uploader = Payload<'upload.received.v1'>['uploader'];

export interface ObjectScanDeps {
  pool: Pool;
  store: ObjectStore;
  scanner: ContentScanner;
  /** Largest object fetched; larger ones are `unscannable: too_large` without a read. */
  maxBytes: number;
  fetchTimeoutMs: number;
  unscannablePolicy: (source: string) => UnscannablePolicy;
  producer: string;
  now: () => Date;
  metrics?: ScanMetrics;
}

export interface ObjectScanRequest {
  eventId: string;
  traceId: string;
  lane: 'live' | 'bulk';
  source: string;
  trigger: 'upload' | 'rescan';
  object: ObjectRef;
  uploadId?: string;
  rescanId?: string;
  uploader?: Uploader;
  uploadedAt?: string;
  /** When the triggering event was created: end-to-end time runs from here to the verdict. */
  eventTime?: string;
}

export type ObjectScanOutcome =
  | { status: 'scanned'; scanId: string; matchId: string | null; decision: Decision; content: ContentScan | null }
  | { status: 'duplicate'; scanId: string; matchId: string | null }
  /** The object no longer exists: nothing public to judge. */
  | { status: 'gone' };

export async function scanStoredObject(deps: ObjectScanDeps, request: ObjectScanRequest): Promise<ObjectScanOutcome> {
  const existing = await deps.pool.query<{ id: string; match_id: string | null }>('SELECT id, match_id FROM scans WHERE event_id = $1', [request.eventId]);
  if (existing.rows[0]) return { status: 'duplicate', scanId: existing.rows[0].id, matchId: existing.rows[0].match_id };

  const { object } = request;
  let bytes: Uint8Array | null = null;
  let size = object.size;
  let versionId = object.versionId;
  const fetchStarted = performance.now();
  try {
    const fetched = await deps.store.getBytes(
      { bucket: object.bucket, key: object.key, ...(object.versionId && { versionId: object.versionId }) },
      { maxBytes: deps.maxBytes, signal: AbortSignal.timeout(deps.fetchTimeoutMs) },
    );
    bytes = fetched.bytes;
    size = fetched.bytes.byteLength;
    versionId = fetched.info.versionId ?? object.versionId;
  } catch (err) {
    if (isObjectStoreError(err) && err.code === 'not_found') return { status: 'gone' };
    if (!(isObjectStoreError(err) && err.code === 'too_large')) throw err;
  }

  const fetchMs = performance.now() - fetchStarted;
  const content = bytes ? await scanContent(deps.scanner, bytes, request.lane) : null;
  const decision = decideContent(content, deps.unscannablePolicy(request.source));
  const scannedAt = deps.now();
  const eventTime = request.eventTime ? Date.parse(request.eventTime) : Number.NaN;
  const timings: ScanTimings = {
    fetchMs,
    ...content?.timings,
    // A clock skewed between producer and scanner can put the event in the future: left out then.
    ...(Number.isFinite(eventTime) && scannedAt.getTime() >= eventTime && { endToEndMs: scannedAt.getTime() - eventTime }),
  };
  const recordStarted = performance.now();
  const outcome: RecordOutcome = await withTransaction(deps.pool, (client) =>
    recordScan(client, {
      scanId: newScanId(),
      eventId: request.eventId,
      lane: request.lane,
      source: request.source,
      trigger: request.trigger,
      ...(request.uploadId && { uploadId: request.uploadId }),
      ...(request.rescanId && { rescanId: request.rescanId }),
      object: { ...object, size, ...(versionId && { versionId }) },
      ...recordedContent(content),
      decision,
      mode: 'fast',
      ...(request.uploader && { uploader: request.uploader }),
      ...(request.uploadedAt && { uploadedAt: request.uploadedAt }),
      scannedAt,
      traceId: request.traceId,
      producer: deps.producer,
      timings,
    }),
  );
  if (!outcome.recorded) return { status: 'duplicate', scanId: outcome.scanId, matchId: outcome.matchId };
  observeScan(deps.metrics, { lane: request.lane, source: request.source, decision, timings: { ...timings, recordMs: performance.now() - recordStarted } });
  return { status: 'scanned', scanId: outcome.scanId, matchId: outcome.matchId, decision, content };
}
