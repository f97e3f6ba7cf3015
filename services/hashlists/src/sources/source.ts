// The HashListSource port: where list versions come from, fetched incrementally from a
// checkpoint the caller keeps. A source reads its upstream and returns the next delivery after
// the checkpoint (a whole snapshot, or a delta of additions and withdrawals) together with the
// checkpoint that follows it; it never writes anything. Adapters: a folder drop, a URL drop, one
// file re-read, NCMEC's hash-sharing API and StopNCII's FetchHashes (shapes from their public
// documentation). Entries are sensitive: errors name lines, ids and counts, never hash values.

import type { ListAlgorithm, ListFormat, ParseIssue } from '@vigil/matching';

export interface SourceEntry {
  /** Lowercase hex of the source's algorithm. */
  hash: string;
  externalId?: string;
  category?: string;
}

/** Opaque to callers: stored as JSON and handed back on the next fetch. */
export type Checkpoint = Record<string, string | number | boolean | null>;

interface DeliveryBase {
  /** What the upstream calls this delivery (a file name, an etag, a timestamp range). */
  label: string;
  /** The format the version is recorded under. */
  format: ListFormat;
  /** sha256 of the delivery's bytes (or of its canonical content): a version traces back to it. */
  sha256: string;
  /** Where to continue from once this delivery is imported. */
  checkpoint: Checkpoint;
}

export type Delivery =
  | (DeliveryBase & { kind: 'snapshot'; entries: SourceEntry[] })
  /** Withdrawals name a hash, or an upstream id (NCMEC deletes by id). */
  | (DeliveryBase & { kind: 'delta'; added: SourceEntry[]; removed: Array<{ hash?: string; externalId?: string }> });

export interface HashListSource {
  /** Stable id: the key its checkpoint is kept under. */
  readonly id: string;
  readonly kind: string;
  readonly algorithm: ListAlgorithm;
  /**
   * The next delivery after `checkpoint` (null: the start), or null when nothing is new. Reading
   * the same checkpoint again returns the same delivery (or a later superset): safe to retry.
   * Throws SourceError for a delivery that cannot be used whole (a bad file, an HTTP error).
   */
  fetch(checkpoint: Checkpoint | null, signal?: AbortSignal): Promise<Delivery | null>;
}

export class SourceError extends Error {
  override readonly name = 'SourceError';
  readonly issues: ParseIssue[];
  /** Worth retrying later (a network error, a 5xx) rather than a bad delivery. */
  readonly retriable: boolean;

  constructor(message: string, options: { issues?: ParseIssue[]; retriable?: boolean } = {}) {
    super(message);
    this.issues = options.issues ?? [];
    this.retriable = options.retriable ?? false;
  }
}

/** The HTTP client sources use (global fetch by default; tests pass their own). */
export type Fetch = typeof fetch;
