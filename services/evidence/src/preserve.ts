// The preservation use case (evidence.requested.v1): a server-side copy of the quarantined object
// into the vault bucket under COMPLIANCE Object Lock, verified (size and SHA-256 against what was
// scanned and quarantined, SHA-1 and MD5 against the scan's where it has them), a manifest beside
// it under the same lock, then one transaction: the evidence row, evidence.preserved.v1 (outbox)
// and an audit entry. Never deletes anything; never reads bytes beyond verifying the copy.
//
// Idempotency: one evidence row per evidenceRequestId (unique). A redo after a crash finds the
// verified copy and the manifest at the match's keys and reuses them instead of writing again.

import { createHash } from 'node:crypto';
import { appendAudit, enqueue, handleOnce, type Logger, type Pool } from '@vigil/db';
import { createEvent, nameBasedUuid, type Event, type Payload } from '@vigil/events';
import { isObjectStoreError, type ObjectStore } from '@vigil/storage';
import { digestObject, sha256Hex, type ObjectDigests } from './digests.ts';
import {
  auditHead,
  getEvidenceByRequest,
  insertEvidence,
  latestReceipt,
  loadListNames,
  loadQuarantineCopy,
  loadScanContext,
  loadStoredHashes,
  type EvidenceRecord,
} from './evidence-records.ts';
import { buildManifest, evidenceKeys, serializeManifest, type EvidenceManifest } from './manifest.ts';
import { initialRetention, type RetentionPolicy } from './retention.ts';

/** Inbox consumer and bus group of evidence.requested. */
export const PRESERVE_CONSUMER = 'evidence';

export interface PreserveContext {
  pool: Pool;
  store: ObjectStore;
  /** The vault: a bucket created with Object Lock. */
  evidenceBucket: string;
  retention: RetentionPolicy;
  log: Logger;
  producer: string;
  now: () => Date;
  maxBytes: number;
}

export type PreserveOutcome =
  | { kind: 'preserved'; record: EvidenceRecord; copied: boolean }
  | { kind: 'duplicate'; record: EvidenceRecord | null }
  /** The quarantine copy is not what was scanned: preserving it would preserve the wrong thing. */
  | { kind: 'mismatch'; reason: string }
  | { kind: 'retry'; reason: string; delayMs?: number };

/** Metadata the vault objects carry, so an object found without its row still says what it is. */
const META = { request: 'vigil-evidence-request-id', match: 'vigil-match-id', manifestSha256: 'vigil-manifest-sha256' } as const;

/** The evidence id of a request: stable, so a redo writes the same row. */
export function evidenceIdFor(evidenceRequestId: string): string {
  const plain = `ev_${evidenceRequestId.replace(/^er_/, '')}`;
  return plain.length <= 200 ? plain : `ev_h${createHash('sha256').update(evidenceRequestId).digest('hex').slice(0, 40)}`;
}

export async function preserveEvidence(ctx: PreserveContext, event: Event<'evidence.requested.v1'>): Promise<PreserveOutcome> {
  const p = event.payload;
  const existing = await getEvidenceByRequest(ctx.pool, p.evidenceRequestId);
  if (existing) {
    await handleOnce(ctx.pool, PRESERVE_CONSUMER, event.id, async () => {});
    return { kind: 'duplicate', record: existing };
  }
  const quarantine = await loadQuarantineCopy(ctx.pool, p.quarantineId);
  if (!quarantine || quarantine.bucket === null || quarantine.key === null || quarantine.sha256 === null) {
    // evidence.requested is enqueued with the applied quarantine: a missing one is an outage or
    // a bug, never a reason to drop evidence.
    return { kind: 'retry', reason: 'quarantine_missing: no applied quarantine record for the request', delayMs: 30_000 };
  }
  if (quarantine.sha256 !== p.hashes.sha256) return { kind: 'mismatch', reason: 'quarantine record sha256 differs from the request' };

  const keys = evidenceKeys(p.object.tenantId, p.matchId);
  const source = { bucket: quarantine.bucket, key: quarantine.key, ...(quarantine.versionId ? { versionId: quarantine.versionId } : {}) };
  const receipt = await latestReceipt(ctx.pool, p.matchId);
  const preservedAt = ctx.now();
  const retention = initialRetention(ctx.retention, preservedAt, receipt?.receivedAt ?? null);
  const lock = { mode: 'COMPLIANCE' as const, retainUntil: retention.retainUntil };

  // 1. The copy: reuse a verified one from an earlier attempt, else copy server-side and verify.
  let copied = false;
  let content = await verifiedAt(ctx, { bucket: ctx.evidenceBucket, key: keys.content }, p);
  if (content === null) {
    const sourceInfo = await ctx.store.head(source);
    if (sourceInfo === null) return { kind: 'retry', reason: 'quarantine_object_missing: the quarantine copy is not in its bucket', delayMs: 60_000 };
    await ctx.store.copy(source, { bucket: ctx.evidenceBucket, key: keys.content }, {
      metadata: vaultMetadata(sourceInfo.metadata, { [META.request]: encodeURIComponent(p.evidenceRequestId), [META.match]: encodeURIComponent(p.matchId) }),
      contentType: sourceInfo.contentType,
      retention: lock,
    });
    copied = true;
    content = await verifiedAt(ctx, { bucket: ctx.evidenceBucket, key: keys.content }, p);
    if (content === null) return { kind: 'mismatch', reason: 'the vault copy does not verify against the scanned sha256 and size' };
  }
  if (!copied) {
    // A copy left by an earlier attempt carries that attempt's date: bring it up to this one's
    // (extend-only, so a later date already there stays).
    const ref = { bucket: ctx.evidenceBucket, key: keys.content, ...(content.info.versionId ? { versionId: content.info.versionId } : {}) };
    await ctx.store.putRetention(ref, lock).catch((err: unknown) => {
      if (!isObjectStoreError(err, 'locked') && !isObjectStoreError(err, 'invalid')) throw err;
    });
  }
  const stored = await loadStoredHashes(ctx.pool, p.object, p.hashes.sha256);
  for (const name of ['sha1', 'md5'] as const) {
    const known = p.hashes[name] ?? stored?.[name] ?? null;
    if (known !== null && known !== content[name]) return { kind: 'mismatch', reason: `the preserved bytes' ${name} differs from the scan's` };
  }

  // 2. The manifest, under the same lock (reused when an earlier attempt wrote it).
  const manifestRef = { bucket: ctx.evidenceBucket, key: keys.manifest };
  const previous = await ctx.store.head(manifestRef);
  let manifestBytes: Uint8Array;
  let manifestVersionId: string | null;
  let manifest: EvidenceManifest;
  if (previous !== null && previous.metadata[META.request] === encodeURIComponent(p.evidenceRequestId)) {
    const read = await ctx.store.getBytes(manifestRef, { maxBytes: 4 * 1024 * 1024 });
    manifestBytes = read.bytes;
    manifestVersionId = read.info.versionId;
    manifest = JSON.parse(Buffer.from(manifestBytes).toString('utf8')) as EvidenceManifest;
  } else {
    const scan = await loadScanContext(ctx.pool, p.matchId);
    const original = await ctx.store.head(source);
    manifest = buildManifest({
      evidenceId: evidenceIdFor(p.evidenceRequestId),
      request: p,
      content: {
        bucket: ctx.evidenceBucket,
        key: keys.content,
        versionId: content.info.versionId,
        size: content.size,
        contentType: content.info.contentType,
        digests: { sha256: content.sha256, sha1: content.sha1, md5: content.md5 },
      },
      perceptual: {
        pdq: p.hashes.pdq ?? stored?.pdq ?? null,
        pdqQuality: p.hashes.pdqQuality ?? stored?.pdqQuality ?? null,
        blockhash: p.hashes.blockhash ?? stored?.blockhash ?? null,
      },
      scan,
      listNames: await loadListNames(ctx.pool, p.matches.map((m) => m.listId)),
      originalMetadata: stripVigilMetadata(original?.metadata ?? {}),
      quarantine: { bucket: quarantine.bucket, key: quarantine.key, versionId: quarantine.versionId, appliedAt: quarantine.appliedAt },
      preservedAt,
      retention: { ...retention, policyDays: ctx.retention.days },
      auditAnchor: await auditHead(ctx.pool),
    });
    manifestBytes = serializeManifest(manifest);
    const written = await ctx.store.put(manifestRef, manifestBytes, {
      contentType: 'application/json',
      metadata: { [META.request]: encodeURIComponent(p.evidenceRequestId), [META.match]: encodeURIComponent(p.matchId), [META.manifestSha256]: sha256Hex(manifestBytes) },
      retention: lock,
    });
    manifestVersionId = written.versionId;
  }
  const manifestSha256 = sha256Hex(manifestBytes);
  const retainUntil = new Date(manifest.retention.retainUntil);
  const preservedAtFinal = new Date(manifest.times.preservedAt);

  // 3. One transaction: the row, the event, the audit entry.
  const result = await handleOnce(ctx.pool, PRESERVE_CONSUMER, event.id, async (client) => {
    const record = await insertEvidence(client, {
      id: manifest.evidenceId,
      evidenceRequestId: p.evidenceRequestId,
      matchId: p.matchId,
      quarantineId: p.quarantineId,
      tenantId: p.object.tenantId,
      bucket: p.object.bucket,
      key: p.object.key,
      versionId: p.object.versionId ?? null,
      location: { bucket: ctx.evidenceBucket, key: keys.content, versionId: manifest.content.versionId },
      manifestKey: keys.manifest,
      manifestVersionId,
      manifestSha256,
      sha256: content.sha256,
      size: content.size,
      retainUntil,
      retentionBasis: manifest.retention.basis,
      reportReceipt: manifest.retention.basis === 'report_receipt' ? receipt : null,
      uploader: manifest.uploader,
      uploadedAt: p.uploadedAt ? new Date(p.uploadedAt) : null,
      detectedAt: new Date(p.detectedAt),
      preservedAt: preservedAtFinal,
    });
    if (record === null) return null;
    await enqueue(client, [preservedEvent(event, record, ctx.producer, ctx.now)]);
    await appendAudit(client, {
      actor: `service:${ctx.producer}`,
      action: 'evidence.preserved',
      subjectType: 'evidence',
      subjectId: record.id,
      details: {
        matchId: p.matchId,
        eventId: event.id,
        location: record.location,
        manifestKey: record.manifestKey,
        manifestSha256,
        sha256: record.sha256,
        retainUntil: record.retainUntil.toISOString(),
        retentionBasis: record.retentionBasis,
      },
    });
    return record;
  });
  if (!result.applied || result.value === null) return { kind: 'duplicate', record: await getEvidenceByRequest(ctx.pool, p.evidenceRequestId) };
  return { kind: 'preserved', record: result.value, copied };
}

/** The vault copy's digests when it holds exactly the scanned bytes, else null. */
async function verifiedAt(ctx: PreserveContext, ref: { bucket: string; key: string }, p: Payload<'evidence.requested.v1'>): Promise<ObjectDigests | null> {
  let digests: ObjectDigests;
  try {
    const info = await ctx.store.head(ref);
    if (info === null) return null;
    digests = await digestObject(ctx.store, info.versionId ? { ...ref, versionId: info.versionId } : ref, ctx.maxBytes);
  } catch (err) {
    if (isObjectStoreError(err, 'not_found')) return null;
    throw err;
  }
  return digests.sha256 === p.hashes.sha256 && digests.size === p.object.size ? digests : null;
}

/** The original's own metadata: the quarantine copy's minus the names Vigil adds (`vigil-*`). */
function stripVigilMetadata(metadata: Record<string, string>): Record<string, string> {
  return Object.fromEntries(Object.entries(metadata).filter(([name]) => !name.startsWith('vigil-')));
}

/** The source's metadata plus our ids, within S3's 2 KB; our ids win when both do not fit. */
function vaultMetadata(source: Record<string, string>, ours: Record<string, string>): Record<string, string> {
  const all = { ...source, ...ours };
  const size = Object.entries(all).reduce((n, [k, v]) => n + k.length + v.length, 0);
  return size <= 2048 ? all : ours;
}

function preservedEvent(request: Event<'evidence.requested.v1'>, record: EvidenceRecord, producer: string, now: () => Date): Event<'evidence.preserved.v1'> {
  const p = request.payload;
  return createEvent(
    'evidence.preserved.v1',
    {
      evidenceId: record.id,
      evidenceRequestId: p.evidenceRequestId,
      matchId: p.matchId,
      object: p.object,
      location: { bucket: record.location.bucket, key: record.location.key, ...(record.location.versionId ? { versionId: record.location.versionId } : {}) },
      manifestKey: record.manifestKey,
      manifestSha256: record.manifestSha256,
      retainUntil: record.retainUntil.toISOString(),
      preservedAt: record.preservedAt.toISOString(),
    },
    { producer, traceId: request.traceId, id: uuidFromName(`evidence.preserved:${p.evidenceRequestId}`), now },
  );
}

/** A name-based uuid (v5 layout) so a redo enqueues the same event id, which the outbox skips. */
export function uuidFromName(name: string): string {
  return nameBasedUuid('vigil-evidence', name);
}
