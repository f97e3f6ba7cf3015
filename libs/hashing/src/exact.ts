// Cryptographic digests of the original bytes: what NCMEC and industry exact-match lists carry.
// Pure apart from node:crypto (no I/O). One pass per algorithm, using OpenSSL (SHA-NI where the
// CPU has it).

import { createHash } from 'node:crypto';

export const EXACT_ALGORITHMS = ['sha256', 'sha1', 'md5'] as const;
export type ExactAlgorithm = (typeof EXACT_ALGORITHMS)[number];
export type ExactHashes = Partial<Record<ExactAlgorithm, string>>;

/** Lowercase hex digests of `bytes` for each requested algorithm. */
export function exactHashes(bytes: Uint8Array, algorithms: Iterable<ExactAlgorithm> = EXACT_ALGORITHMS): ExactHashes {
  const out: ExactHashes = {};
  for (const algorithm of algorithms) out[algorithm] = createHash(algorithm).update(bytes).digest('hex');
  return out;
}
