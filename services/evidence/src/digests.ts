// Streams an object once and computes the exact digests a manifest records (SHA-256, SHA-1, MD5)
// and the byte count actually read. Memory stays flat; bounded by maxBytes.

import { createHash } from 'node:crypto';
import type { ObjectInfo, ObjectRef, ObjectStore } from '@vigil/storage';

export interface ExactDigests {
  sha256: string;
  sha1: string;
  md5: string;
}

export interface ObjectDigests extends ExactDigests {
  info: ObjectInfo;
  /** Bytes read, not the size the store claims. */
  size: number;
}

/** Rejects with ObjectStoreError (`not_found`, `too_large`, retriable `unavailable`). */
export async function digestObject(store: ObjectStore, ref: ObjectRef, maxBytes: number): Promise<ObjectDigests> {
  const { info, body } = await store.get(ref, { maxBytes });
  const sha256 = createHash('sha256');
  const sha1 = createHash('sha1');
  const md5 = createHash('md5');
  let size = 0;
  try {
    for await (const chunk of body as AsyncIterable<Uint8Array>) {
      sha256.update(chunk);
      sha1.update(chunk);
      md5.update(chunk);
      size += chunk.length;
    }
  } finally {
    body.destroy();
  }
  return { info, size, sha256: sha256.digest('hex'), sha1: sha1.digest('hex'), md5: md5.digest('hex') };
}

export function digestBytes(bytes: Uint8Array): ExactDigests {
  return {
    sha256: createHash('sha256').update(bytes).digest('hex'),
    sha1: createHash('sha1').update(bytes).digest('hex'),
    md5: createHash('md5').update(bytes).digest('hex'),
  };
}

export const sha256Hex = (bytes: Uint8Array | string): string => createHash('sha256').update(bytes).digest('hex');
