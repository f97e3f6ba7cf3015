// The quarantine (and block) use case: a verified copy in the quarantine bucket, then every public
// version removed, then one transaction that marks the record applied and enqueues the follow-up
// events. Never removes anything public before the copy verifies against the scanned SHA-256, and
// never deletes from the quarantine bucket.
//
// Idempotency: every step can be repeated. The copy lives at the match's one key (a present,
// verified copy is reused), removal of what is already gone removes nothing, and the commit
// claims the event in the inbox and guards the status, with event ids derived from the match.

import { appendAudit, enqueue, handleOnce, type Logger, type Pool } from '@vigil/db';
import type { Event } from '@vigil/events';
import { isObjectStoreError, quarantineKey, type ObjectInfo, type ObjectRef, type ObjectStore } from '@vigil/storage';
import { quarantineMetadata } from './copy-metadata.ts';
import { digestObject, versionRef } from './digest.ts';
import { followUpEvents } from './follow-up-events.ts';
import { quarantineIdFor } from './ids.ts';
import {
  ensureQuarantineRecord,
  markApplied,
  markFailed,
  noteRemovedVersions,
  type QuarantineFailure,
  type QuarantineRecord,
} from './quarantine-records.ts';

/** The inbox consumer name, also the bus group. */
export const CONSUMER = 'actioner';

export interface QuarantineContext {
  pool: Pool;
  store: ObjectStore;
  quarantineBucket: string;
  log: Logger;
  producer: string;
  now: () => Date;
  maxVerifyBytes: number;
}

export type QuarantineOutcome =
  | { kind: 'applied'; record: QuarantineRecord; copied: boolean; removed: number }
  /** Another event for the match already quarantined (or a person released) it: nothing to do. */
  | { kind: 'already'; status: 'applied' | 'released' }
  /** The inbox already held this event at commit (a concurrent delivery won). */
  | { kind: 'duplicate' }
  | { kind: 'failed'; reason: QuarantineFailure }
  /** Storage or configuration trouble; nothing public was lost, try again later. */
  | { kind: 'retry'; reason: string; delayMs?: number };

/** Configuration problems need a person; retry slowly rather than spin. */
const CONFIG_RETRY_MS = 60_000;

interface VerifiedCopy {
  versionId: string | null;
  size: number;
  sha256: string;
}

export async function applyQuarantine(ctx: QuarantineContext, event: Event<'match.found.v1'>): Promise<QuarantineOutcome> {
  const p = event.payload;
  const quarantineId = quarantineIdFor(p.matchId);
  const log = ctx.log.child({ quarantineId });
  const record = await ensureQuarantineRecord(ctx.pool, {
    id: quarantineId,
    matchId: p.matchId,
    tenantId: p.object.tenantId,
    bucket: p.object.bucket,
    key: p.object.key,
    versionId: p.object.versionId ?? null,
  });
  if (record.status === 'applied' || record.status === 'released') {
    // Remember the event too, so its redeliveries stop at the cheap inbox check.
    await handleOnce(ctx.pool, CONSUMER, event.id, async () => {});
    log.info({ status: record.status }, 'match already quarantined; nothing to do');
    return { kind: 'already', status: record.status };
  }
  try {
    return await quarantineObject(ctx, event, record, log);
  } catch (err) {
    if (!isObjectStoreError(err)) throw err;
    const where = { errCode: err.code, operation: err.operation, storeBucket: err.bucket };
    if (err.retriable) {
      log.warn(where, 'object store unavailable; will retry');
      return { kind: 'retry', reason: `storage_unavailable: ${err.operation ?? 'request'} failed` };
    }
    // access_denied, invalid, locked: no retry by itself will fix these, but dead-lettering
    // would drop a match that must still be quarantined. Retry slowly and say so loudly.
    log.error(where, 'object store refused the quarantine; needs an operator');
    return { kind: 'retry', reason: `storage_${err.code}: ${err.operation ?? 'request'} refused`, delayMs: CONFIG_RETRY_MS };
  }
}

async function quarantineObject(ctx: QuarantineContext, event: Event<'match.found.v1'>, record: QuarantineRecord, log: Logger): Promise<QuarantineOutcome> {
  const p = event.payload;
  const { store } = ctx;
  const target = { bucket: ctx.quarantineBucket, key: quarantineKey(p.object.tenantId, p.matchId) };
  const source: ObjectRef = versionRef(p.object, p.object.versionId);
  const fail = (reason: QuarantineFailure) => recordFailure(ctx, event, record.id, reason, log);

  // 1. A copy already at the match's key: the gateway kept an upload it blocked before storing
  //    it, or an earlier attempt of ours copied and then died before committing.
  let existing: ObjectInfo | null;
  try {
    existing = await store.head(target);
  } catch (err) {
    // head answers null for a missing key, so not_found here is the bucket itself.
    if (isObjectStoreError(err, 'not_found')) {
      log.error({ quarantineBucket: ctx.quarantineBucket }, 'quarantine bucket does not exist: configuration error; will retry');
      return { kind: 'retry', reason: 'quarantine_bucket_missing: create the quarantine bucket', delayMs: CONFIG_RETRY_MS };
    }
    throw err;
  }
  let copy: VerifiedCopy | null = null;
  let copied = false;
  try {
    if (existing !== null) {
      copy = await verify(ctx, versionRef(target, existing.versionId), existing.size, p.hashes.sha256);
      if (copy === null) log.warn({}, 'quarantine copy at the match key does not verify; copying again');
    }

    // 2. Otherwise copy server-side from the original, then verify the copy.
    if (copy === null) {
      const sourceInfo = await headOrNull(store, source);
      if (sourceInfo === null) return await fail('source_missing');
      // The size the scanner saw differs: the object was overwritten, no need to copy to know.
      if (sourceInfo.size !== p.object.size) return await fail('content_changed');
      let written;
      try {
        written = await store.copy(source, target, {
          metadata: quarantineMetadata(
            { matchId: p.matchId, tenantId: p.object.tenantId, bucket: p.object.bucket, key: p.object.key, versionId: p.object.versionId ?? null },
            sourceInfo.metadata,
          ),
          contentType: sourceInfo.contentType,
        });
      } catch (err) {
        // The target bucket exists (head above), so this is the source vanishing since its head.
        if (isObjectStoreError(err, 'not_found')) return await fail('source_missing');
        throw err;
      }
      copied = true;
      copy = await verify(ctx, versionRef(target, written.versionId), sourceInfo.size, p.hashes.sha256);
      // Not what the scanner matched (overwritten between scan and action): leave everything
      // public as it is; the copy at the match key is replaced by the next attempt.
      if (copy === null) return await fail('content_changed');
    }
  } catch (err) {
    if (isObjectStoreError(err, 'too_large')) return await fail('too_large');
    throw err;
  }

  // 3. Remove every public version. The port reports a count, not ids: record the ids we can
  //    see (the current version and the event's), noted before removing so a crash after the
  //    removal loses none of them.
  const visible = await Promise.all([
    headOrNull(store, { bucket: p.object.bucket, key: p.object.key }),
    p.object.versionId === undefined ? null : headOrNull(store, source),
  ]);
  const seen = visible.flatMap((info) => (info?.versionId ? [info.versionId] : []));
  const removedVersions = await noteRemovedVersions(ctx.pool, record.id, seen);
  const removed = await removeAllVersions(store, p.object.bucket, p.object.key);

  // 4. One transaction: record applied, follow-up events, audit. A redo after a crash here
  //    builds the same event ids, which the outbox skips.
  const verified: VerifiedCopy = copy;
  const appliedAt = ctx.now();
  const quarantined = { bucket: target.bucket, key: target.key, versionId: verified.versionId };
  const result = await handleOnce(ctx.pool, CONSUMER, event.id, async (client) => {
    const applied = await markApplied(client, record.id, {
      quarantineBucket: quarantined.bucket,
      quarantineKey: quarantined.key,
      quarantineVersionId: quarantined.versionId,
      sha256: verified.sha256,
      size: verified.size,
      removedVersions,
      appliedAt,
    });
    if (applied === null) return null;
    await enqueue(
      client,
      followUpEvents(event, { quarantineId: record.id, quarantined, sha256: verified.sha256, size: verified.size, removedVersions, appliedAt }, ctx.producer, () => appliedAt),
    );
    await appendAudit(client, {
      actor: `service:${ctx.producer}`,
      action: 'quarantine.applied',
      subjectType: 'quarantine',
      subjectId: record.id,
      details: {
        matchId: p.matchId,
        eventId: event.id,
        original: { tenantId: p.object.tenantId, bucket: p.object.bucket, key: p.object.key, versionId: p.object.versionId ?? null },
        quarantined,
        removedVersions,
        removedCount: removed,
      },
    });
    return applied;
  });
  if (!result.applied) return { kind: 'duplicate' };
  if (result.value === null) return { kind: 'already', status: 'applied' };
  log.info({ copied, removed, quarantineBucket: target.bucket }, 'quarantine applied');
  return { kind: 'applied', record: result.value, copied, removed };
}

/** The copy's digest when its bytes are the scanned content and its size the expected one. */
async function verify(ctx: QuarantineContext, ref: ObjectRef, expectedSize: number, expectedSha256: string): Promise<VerifiedCopy | null> {
  let digest;
  try {
    digest = await digestObject(ctx.store, ref, ctx.maxVerifyBytes);
  } catch (err) {
    if (isObjectStoreError(err, 'not_found')) return null;
    throw err;
  }
  if (digest.size !== expectedSize || digest.sha256 !== expectedSha256) return null;
  return { versionId: digest.info.versionId, size: digest.size, sha256: digest.sha256 };
}

async function recordFailure(
  ctx: QuarantineContext,
  event: Event<'match.found.v1'>,
  quarantineId: string,
  reason: QuarantineFailure,
  log: Logger,
): Promise<QuarantineOutcome> {
  await handleOnce(ctx.pool, CONSUMER, event.id, (client) => markFailed(client, quarantineId, reason));
  log.warn({ reason }, 'quarantine not applied; the public object was left as it is');
  return { kind: 'failed', reason };
}

/** A missing bucket means a missing object here: nothing public to copy or remove. */
async function headOrNull(store: ObjectStore, ref: ObjectRef): Promise<ObjectInfo | null> {
  try {
    return await store.head(ref);
  } catch (err) {
    if (isObjectStoreError(err, 'not_found')) return null;
    throw err;
  }
}

async function removeAllVersions(store: ObjectStore, bucket: string, key: string): Promise<number> {
  try {
    return await store.deleteAllVersions(bucket, key);
  } catch (err) {
    if (isObjectStoreError(err, 'not_found')) return 0;
    throw err;
  }
}
