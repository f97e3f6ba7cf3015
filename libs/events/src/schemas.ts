// Payload schemas of every event, shared pieces first. Pure: schemas and types only.
// Events carry ids, object references, hashes of the content and match provenance; never image
// bytes, never hash-list contents (a list update says which version changed, not what it holds).

import { z } from 'zod';

const id = z.string().min(1).max(200);
const timestamp = z.iso.datetime({ offset: true });
const hex = (length: number) => z.string().regex(new RegExp(`^[0-9a-f]{${length}}$`), `${length} lowercase hex characters`);

/** Where an object lives: the identity a partition key is made of. */
export const ObjectRef = z.object({
  tenantId: id,
  bucket: id,
  key: z.string().min(1).max(1024),
  versionId: z.string().max(1024).optional(),
  etag: z.string().max(200).optional(),
  size: z.number().int().nonnegative(),
  contentType: z.string().max(200).optional(),
});
export type ObjectRef = z.infer<typeof ObjectRef>;

export const Uploader = z.object({
  accountId: id,
  /** Kept for evidence and reports (18 U.S.C. 2258A); redacted from logs. */
  ip: z.union([z.ipv4(), z.ipv6()]).optional(),
  userAgent: z.string().max(1000).optional(),
});
export type Uploader = z.infer<typeof Uploader>;

export const ContentHashes = z.object({
  sha256: hex(64),
  sha1: hex(40).optional(),
  md5: hex(32).optional(),
  pdq: hex(64).optional(),
  pdqQuality: z.number().int().min(0).max(100).optional(),
  blockhash: hex(64).optional(),
});
export type ContentHashes = z.infer<typeof ContentHashes>;

export const Algorithm = z.enum(['pdq', 'blockhash', 'md5', 'sha1', 'sha256']);
export const ListAction = z.enum(['block', 'quarantine', 'review', 'allow']);
export const Variant = z.enum(['orig', 'rot90', 'rot180', 'rot270', 'flipx', 'flipy', 'flipplus1', 'flipminus1', 'exact']);
export const UnscannableReason = z.enum(['too_large', 'too_many_pixels', 'truncated', 'unsupported_format', 'decode_error', 'timeout', 'empty']);
export const HashMode = z.enum(['fast', 'reference']);

/** Why content matched: what a verdict and later a court needs. */
export const MatchProvenance = z.object({
  listId: id,
  listVersion: z.number().int().positive(),
  action: ListAction,
  algorithm: Algorithm,
  entryId: z.string().max(200).nullable(),
  category: z.string().max(200).nullable(),
  distance: z.number().int().min(0).max(256),
  threshold: z.number().int().min(0).max(256),
  variant: Variant,
  /** Set when a derived view matched, not the canonical hashes: the content region of a framed image, a crop, downscale or overlay compensation (caption text left out, or a faint watermark unblended). */
  query: z.string().regex(/^(region|uncrop-[0-9]{1,2}|upscale-[0-9]|overlay|watermark)$/).optional(),
  /** Beyond the list's threshold, counted only because the other perceptual algorithm hit the same entry (`corroborated`). */
  nearMiss: z.literal(true).optional(),
  corroborated: z.literal(true).optional(),
  /** The derived view's PDQ is below the quality floor (a flat view): counted only near-exact, or corroborated. */
  unstable: z.literal(true).optional(),
});
export type MatchProvenance = z.infer<typeof MatchProvenance>;

export const ListVersionRef = z.object({ listId: id, version: z.number().int().positive() });

// ---------------------------------------------------------------------------------------------

export const UploadReceived = z.object({
  uploadId: id,
  /** The hosting product the upload came from. */
  source: z.enum(['stream', 'workers']),
  object: ObjectRef,
  uploader: Uploader,
  uploadedAt: timestamp,
  /** `blocking`: the product waits for the verdict before publishing; `async`: scan after publishing. */
  mode: z.enum(['blocking', 'async']),
});

export const ScanCompleted = z.object({
  scanId: id,
  uploadId: id.optional(),
  rescanId: id.optional(),
  object: ObjectRef,
  verdict: z.enum(['clean', 'matched', 'unscannable']),
  unscannableReason: UnscannableReason.optional(),
  /** Whether the unscannable policy blocked the object (fail-closed) or passed it with a review flag. */
  blocked: z.boolean(),
  hashes: ContentHashes.optional(),
  mode: HashMode,
  /** Every list version the scan matched against: a scan is reproducible from these. */
  lists: z.array(ListVersionRef),
  matches: z.array(MatchProvenance),
  scannedAt: timestamp,
});

/** What is known about content that matched: carried by every event that acts on a match. */
const MatchedContent = z.object({
  object: ObjectRef,
  hashes: ContentHashes,
  matches: z.array(MatchProvenance).min(1),
  uploader: Uploader.optional(),
  uploadedAt: timestamp.optional(),
  detectedAt: timestamp,
});

export const MatchFound = MatchedContent.extend({
  matchId: id,
  scanId: id,
  /** `upload`: found when scanned; `retro`: a later list version found stored hashes; `rescan`: a full rescan. */
  trigger: z.enum(['upload', 'retro', 'rescan']),
  /** The strongest action among the matches (allow lists already applied). */
  action: ListAction.exclude(['allow']),
});

export const QuarantineApplied = z.object({
  quarantineId: id,
  matchId: id,
  original: ObjectRef,
  quarantined: z.object({ bucket: id, key: z.string().min(1).max(1024), versionId: z.string().max(1024).optional() }),
  sha256: hex(64),
  size: z.number().int().nonnegative(),
  /** Public versions removed after the verified copy (all of them in a versioned bucket). */
  removedVersions: z.array(z.string().max(1024)),
  appliedAt: timestamp,
});

export const EvidenceRequested = MatchedContent.extend({
  evidenceRequestId: id,
  matchId: id,
  quarantineId: id,
});

export const EvidencePreserved = z.object({
  evidenceId: id,
  evidenceRequestId: id,
  matchId: id,
  /** The original object: keys the event to the object's partition. */
  object: ObjectRef,
  location: z.object({ bucket: id, key: z.string().min(1).max(1024), versionId: z.string().max(1024).optional() }),
  manifestKey: z.string().min(1).max(1024),
  manifestSha256: hex(64),
  retainUntil: timestamp,
  preservedAt: timestamp,
});

export const ReportRequested = MatchedContent.extend({
  reportRequestId: id,
  matchId: id,
  /** One report per (uploader, content): replays and re-uploads do not file twice. */
  dedupeKey: id,
  /** CSAM reports go to the front of the queue. */
  priority: z.enum(['csam', 'other']),
  category: z.string().max(200).nullable(),
});

export const ReportFiled = z.object({
  reportId: id,
  reportRequestId: id,
  dedupeKey: id,
  /** The reported object: keys the event to the object's partition. */
  object: ObjectRef,
  status: z.enum(['filed', 'held', 'failed']),
  /** The CyberTipline report id when filed. */
  externalReportId: z.string().max(200).optional(),
  reason: z.string().max(1000).optional(),
  at: timestamp,
});

export const HashlistUpdated = z.object({
  listId: id,
  version: z.number().int().positive(),
  previousVersion: z.number().int().positive().nullable(),
  algorithm: Algorithm,
  /** Counts only: the entries stay in the database (lists are sensitive, never on the bus). */
  added: z.number().int().nonnegative(),
  removed: z.number().int().nonnegative(),
  updatedAt: timestamp,
});

export const RescanRequested = z.object({
  rescanId: id,
  object: ObjectRef,
  reason: z.enum(['hashing_changed', 'never_hashed', 'operator']),
  requestedBy: id,
  requestedAt: timestamp,
});
