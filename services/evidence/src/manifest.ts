// The evidence manifest: what was preserved, why it matched, where it came from, who uploaded it
// and when, as one JSON document stored beside the bytes under the same Object Lock. Pure: the
// document and its bytes. Its own SHA-256 cannot be inside it; it is recorded in the evidence
// row, in evidence.preserved.v1 and in the manifest object's metadata.

import type { Payload } from '@vigil/events';
import type { ExactDigests } from './digests.ts';
import type { RetentionBasis } from './retention.ts';

export const MANIFEST_SCHEMA = 'vigil.evidence-manifest/1';

type EvidenceRequested = Payload<'evidence.requested.v1'>;

export interface ManifestHit {
  listId: string;
  listName: string | null;
  listVersion: number;
  action: string;
  algorithm: string;
  threshold: number;
  distance: number;
  variant: string;
  entryId: string | null;
  category: string | null;
}

export interface EvidenceManifest {
  schema: typeof MANIFEST_SCHEMA;
  evidenceId: string;
  evidenceRequestId: string;
  matchId: string;
  quarantineId: string;
  content: {
    bucket: string;
    key: string;
    versionId: string | null;
    size: number;
    contentType: string;
    /** Computed on the preserved bytes. */
    digests: ExactDigests;
    /** From the scan (the content_hashes row or the event): lowercase hex. */
    perceptual: { pdq: string | null; pdqQuality: number | null; blockhash: string | null };
  };
  provenance: {
    scanId: string | null;
    trigger: string | null;
    mode: string | null;
    /** Every list version the scan consulted. */
    listsConsulted: Array<{ listId: string; version: number }>;
    hits: ManifestHit[];
  };
  original: {
    tenantId: string;
    bucket: string;
    key: string;
    versionId: string | null;
    etag: string | null;
    size: number;
    contentType: string | null;
    /** User metadata the object carried (copied to the quarantine object). */
    metadata: Record<string, string>;
  };
  quarantine: { bucket: string; key: string; versionId: string | null; appliedAt: string | null };
  uploader: { accountId: string; ip: string | null; userAgent: string | null } | null;
  times: { uploadedAt: string | null; detectedAt: string; scannedAt: string | null; preservedAt: string };
  retention: { mode: 'COMPLIANCE'; retainUntil: string; basis: RetentionBasis; policyDays: number };
  /** The audit chain's head when this was written: anchors the log outside the database. */
  auditAnchor: { seq: number; hash: string };
}

export interface ManifestInput {
  evidenceId: string;
  request: EvidenceRequested;
  content: { bucket: string; key: string; versionId: string | null; size: number; contentType: string; digests: ExactDigests };
  perceptual: EvidenceManifest['content']['perceptual'];
  scan: { scanId: string; trigger: string; mode: string; lists: Array<{ listId: string; version: number }>; scannedAt: Date } | null;
  listNames: ReadonlyMap<string, string>;
  originalMetadata: Record<string, string>;
  quarantine: { bucket: string; key: string; versionId: string | null; appliedAt: Date | null };
  preservedAt: Date;
  retention: { retainUntil: Date; basis: RetentionBasis; policyDays: number };
  auditAnchor: { seq: number; hash: string };
}

export function buildManifest(input: ManifestInput): EvidenceManifest {
  const r = input.request;
  return {
    schema: MANIFEST_SCHEMA,
    evidenceId: input.evidenceId,
    evidenceRequestId: r.evidenceRequestId,
    matchId: r.matchId,
    quarantineId: r.quarantineId,
    content: { ...input.content, perceptual: input.perceptual },
    provenance: {
      scanId: input.scan?.scanId ?? null,
      trigger: input.scan?.trigger ?? null,
      mode: input.scan?.mode ?? null,
      listsConsulted: input.scan?.lists ?? [],
      hits: r.matches.map((hit) => ({
        listId: hit.listId,
        listName: input.listNames.get(hit.listId) ?? null,
        listVersion: hit.listVersion,
        action: hit.action,
        algorithm: hit.algorithm,
        threshold: hit.threshold,
        distance: hit.distance,
        variant: hit.variant,
        entryId: hit.entryId,
        category: hit.category,
      })),
    },
    original: {
      tenantId: r.object.tenantId,
      bucket: r.object.bucket,
      key: r.object.key,
      versionId: r.object.versionId ?? null,
      etag: r.object.etag ?? null,
      size: r.object.size,
      contentType: r.object.contentType ?? null,
      metadata: input.originalMetadata,
    },
    quarantine: { ...input.quarantine, appliedAt: input.quarantine.appliedAt?.toISOString() ?? null },
    uploader: r.uploader ? { accountId: r.uploader.accountId, ip: r.uploader.ip ?? null, userAgent: r.uploader.userAgent ?? null } : null,
    times: {
      uploadedAt: r.uploadedAt ?? null,
      detectedAt: r.detectedAt,
      scannedAt: input.scan?.scannedAt.toISOString() ?? null,
      preservedAt: input.preservedAt.toISOString(),
    },
    retention: { mode: 'COMPLIANCE', retainUntil: input.retention.retainUntil.toISOString(), basis: input.retention.basis, policyDays: input.retention.policyDays },
    auditAnchor: input.auditAnchor,
  };
}

/** The stored bytes: stable key order (as built) and a trailing newline. */
export function serializeManifest(manifest: EvidenceManifest): Buffer {
  return Buffer.from(`${JSON.stringify(manifest, null, 2)}\n`, 'utf8');
}

/**
 * Checks a manifest against the preserved bytes' digests: what `vigil evidence verify` and the
 * tests run. Returns the fields that disagree (empty when it verifies).
 */
export function manifestMismatches(manifest: EvidenceManifest, digests: ExactDigests & { size: number }): string[] {
  const out: string[] = [];
  if (manifest.content.size !== digests.size) out.push('size');
  for (const name of ['sha256', 'sha1', 'md5'] as const) if (manifest.content.digests[name] !== digests[name]) out.push(name);
  return out;
}

/** Where a match's evidence lives in the vault: one prefix per match, grouped by tenant. */
export function evidenceKeys(tenantId: string, matchId: string): { content: string; manifest: string } {
  return { content: `${tenantId}/${matchId}/content`, manifest: `${tenantId}/${matchId}/manifest.json` };
}
