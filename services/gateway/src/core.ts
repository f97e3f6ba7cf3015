// What the gateway needs from the scanning core: the port the HTTP layer is written against.
// The scanner package implements it in-process (same hashing, matching and recording as the
// event-driven scanner); tests use a fake. Nothing here ever carries list contents: a match
// names its list, algorithm, distance and action, never the entry's hash.

export type CheckVerdict = 'allow' | 'block' | 'review' | 'unscannable';

export interface ObjectLocation {
  bucket: string;
  key: string;
  versionId?: string;
}

export interface Uploader {
  accountId: string;
  ip?: string;
  userAgent?: string;
}

export interface CheckRequest {
  /** The tenant the token acts for (the gateway checks the token may). */
  tenantId: string;
  /** The bytes to check, or a stored object to fetch and check. */
  content: { bytes: Uint8Array } | { object: ObjectLocation };
  /**
   * Where the product will publish the bytes (bytes mode), or the stored object (object mode):
   * the identity the follow-up events (quarantine, evidence, report) are about.
   */
  object?: ObjectLocation & { contentType?: string };
  uploader?: Uploader;
  /** The product's own id for the upload. */
  uploadId?: string;
  /** The hosting product asking. */
  source: 'stream' | 'workers' | 'gateway';
}

export interface MatchSummary {
  list: string;
  listVersion: number;
  algorithm: string;
  distance: number;
  action: 'block' | 'quarantine' | 'review' | 'allow';
}

export interface CheckResult {
  verdict: CheckVerdict;
  scanId: string;
  matches: MatchSummary[];
  /** The unscannable reason code (too_large, truncated, ...). */
  reason?: string;
  /** Answered from hashes stored for the same bytes (no decode). */
  reused: boolean;
  /** Milliseconds per stage. */
  timings: { fetchMs?: number; hashMs: number; matchMs: number; recordMs: number; totalMs: number };
}

/** Hashes a product computed at the edge: lowercase hex. */
export interface LookupQuery {
  pdq?: string;
  blockhash?: string;
  md5?: string;
  sha1?: string;
  sha256?: string;
}

export interface LookupResult {
  matches: Array<MatchSummary & { variant: string }>;
}

export interface ScanView {
  scanId: string;
  tenantId: string;
  object: ObjectLocation;
  verdict: CheckVerdict;
  reason?: string;
  blocked: boolean;
  review: boolean;
  mode: 'fast' | 'reference';
  /** Every list version consulted. */
  lists: Array<{ listId: string; version: number }>;
  matches: Array<MatchSummary & { variant: string }>;
  scannedAt: string;
}

export interface Readiness {
  ready: boolean;
  /** Loaded lists: ids, versions and entry counts (never entries). */
  lists: Array<{ listId: string; version: number; entries: number }>;
  reason?: string;
}

export interface GatewayCore {
  /** Never rejects for bad input: undecodable bytes are an `unscannable` verdict. */
  check(request: CheckRequest): Promise<CheckResult>;
  /** Matches hashes against every enabled list; records nothing. */
  lookup(queries: LookupQuery[]): Promise<LookupResult[]>;
  /** A recorded scan, or null. The gateway hides other tenants' scans. */
  getScan(scanId: string): Promise<ScanView | null>;
  readiness(): Readiness;
}
