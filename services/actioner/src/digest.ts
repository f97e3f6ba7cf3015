// Reads an object to the end and hashes it: how a copy is verified before anything public is
// removed (and before a release restores it). Streams, so memory stays flat; bounded by maxBytes.

import { createHash } from 'node:crypto';
import type { ObjectInfo, ObjectRef, ObjectStore } from '@vigil/storage';

/** How much a copy may weigh and still be read whole to verify it (default of maxVerifyBytes). */
export const DEFAULT_MAX_VERIFY_BYTES = 512 * 1024 * 1024;

export interface ObjectDigest {
  info: ObjectInfo;
  /** Bytes actually read (not the size the store claims). */
  size: number;
  /** Hex SHA-256 of those bytes. */
  sha256: string;
}

/** Rejects with ObjectStoreError: `not_found`, `too_large` past maxBytes, `unavailable` (retriable). */
export async function digestObject(store: ObjectStore, ref: ObjectRef, maxBytes: number): Promise<ObjectDigest> {
  const { info, body } = await store.get(ref, { maxBytes });
  const hash = createHash('sha256');
  let size = 0;
  try {
    for await (const chunk of body as AsyncIterable<Uint8Array>) {
      hash.update(chunk);
      size += chunk.length;
    }
  } finally {
    body.destroy();
  }
  return { info, size, sha256: hash.digest('hex') };
}

/** The ref of a written version: the version id when the bucket keeps versions. */
export function versionRef(location: { bucket: string; key: string }, versionId: string | null | undefined): ObjectRef {
  return versionId === null || versionId === undefined ? { bucket: location.bucket, key: location.key } : { ...location, versionId };
}
