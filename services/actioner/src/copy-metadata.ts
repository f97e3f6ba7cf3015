// The metadata a quarantine copy carries: where it came from and for which match, so the copy
// explains itself to whoever finds it in the bucket; and the original's own metadata, so a
// release restores the object as it was. Pure. The database record stays the authority.

import type { Metadata } from '@vigil/storage';

/** Our names; a release strips them again. */
const PREFIX = 'vigil-';
/** S3 caps user metadata at 2 KB (names plus values). */
const MAX_BYTES = 2048;

export interface CopyOrigin {
  matchId: string;
  tenantId: string;
  bucket: string;
  key: string;
  versionId: string | null;
}

function size(metadata: Metadata): number {
  return Object.entries(metadata).reduce((total, [name, value]) => total + name.length + value.length, 0);
}

/**
 * Values are URI-encoded (metadata must be printable ASCII). What does not fit in 2 KB is left
 * out, the original's metadata first, then the original key (up to 1024 bytes, 3x that encoded),
 * then everything but the match id.
 */
export function quarantineMetadata(origin: CopyOrigin, original: Metadata): Metadata {
  const ids: Record<string, string> = {
    [`${PREFIX}match-id`]: encodeURIComponent(origin.matchId),
    [`${PREFIX}tenant-id`]: encodeURIComponent(origin.tenantId),
    [`${PREFIX}original-bucket`]: origin.bucket,
    ...(origin.versionId !== null ? { [`${PREFIX}original-version-id`]: encodeURIComponent(origin.versionId) } : {}),
  };
  const withKey = { ...ids, [`${PREFIX}original-key`]: encodeURIComponent(origin.key) };
  const kept = Object.fromEntries(Object.entries(original).filter(([name]) => !name.startsWith(PREFIX)));
  const full = { ...kept, ...withKey };
  if (size(full) <= MAX_BYTES) return full;
  if (size(withKey) <= MAX_BYTES) return withKey;
  if (size(ids) <= MAX_BYTES) return ids;
  return { [`${PREFIX}match-id`]: encodeURIComponent(origin.matchId) };
}

/** The original's metadata back from a quarantine copy's. */
export function restoredMetadata(copy: Metadata): Metadata {
  return Object.fromEntries(Object.entries(copy).filter(([name]) => !name.startsWith(PREFIX)));
}
