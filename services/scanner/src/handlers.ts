// Bus handlers of the scanner: upload.received.v1 on the live lane, rescan.requested.v1 on the
// bulk lane. Each maps the use case's outcome to an acknowledgement; anything thrown (a store or
// database hiccup) is retried with backoff by the bus and dead-lettered only when retries run
// out, so an upload is never silently dropped.

import { done, type Handler } from '@vigil/bus';
import type { Logger } from '@vigil/db';
import { scanStoredObject, type ObjectScanDeps, type ObjectScanOutcome } from './scan-object.ts';

export function handleUploadReceived(deps: ObjectScanDeps, log: Logger): Handler<'upload.received.v1'> {
  return async (event) => {
    const { payload } = event;
    const eventLog = log.child({ eventId: event.id, traceId: event.traceId });
    const outcome = await scanStoredObject(deps, {
      eventId: event.id,
      traceId: event.traceId,
      eventTime: event.occurredAt,
      lane: 'live',
      source: payload.source,
      trigger: 'upload',
      object: payload.object,
      uploadId: payload.uploadId,
      uploader: payload.uploader,
      uploadedAt: payload.uploadedAt,
    });
    logOutcome(eventLog, outcome, { uploadId: payload.uploadId, tenantId: payload.object.tenantId });
    return done;
  };
}

export function handleRescanRequested(deps: ObjectScanDeps, log: Logger): Handler<'rescan.requested.v1'> {
  return async (event) => {
    const { payload } = event;
    const eventLog = log.child({ eventId: event.id, traceId: event.traceId });
    const outcome = await scanStoredObject(deps, {
      eventId: event.id,
      traceId: event.traceId,
      eventTime: event.occurredAt,
      lane: 'bulk',
      source: 'rescan',
      trigger: 'rescan',
      object: payload.object,
      rescanId: payload.rescanId,
    });
    logOutcome(eventLog, outcome, { rescanId: payload.rescanId, tenantId: payload.object.tenantId });
    return done;
  };
}

function logOutcome(log: Logger, outcome: ObjectScanOutcome, ids: Record<string, string>): void {
  if (outcome.status === 'gone') return log.info(ids, 'object gone before it was scanned');
  if (outcome.status === 'duplicate') return log.debug({ ...ids, scanId: outcome.scanId }, 'already scanned: redelivery');
  const { decision } = outcome;
  const fields = {
    ...ids,
    scanId: outcome.scanId,
    verdict: decision.verdict,
    ...(outcome.matchId && { matchId: outcome.matchId }),
    ...(decision.decisive && { listId: decision.decisive.listId, algorithm: decision.decisive.algorithm, distance: decision.decisive.distance }),
    ...(decision.verdict === 'unscannable' && { reason: decision.reason }),
    reused: outcome.content?.reused ?? false,
  };
  if (decision.verdict === 'matched') log.warn(fields, 'match');
  else log.info(fields, 'scanned');
}
