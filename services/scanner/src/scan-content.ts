// Bytes to matches: the one scanning core the event-driven scanner and the gateway's
// synchronous check share. Bytes seen before (same SHA-256) are matched from their stored hashes
// without decoding; everything else goes through the hashing pool on its lane. Matching always
// runs against the lists as loaded now, so a re-upload is judged by today's lists.

import { createHash } from 'node:crypto';
import type { UnscannableReason } from '@vigil/hashing';
import type { ListRegistry, ListVersionRef } from '@vigil/lists';
import type { Match } from '@vigil/matching';
import { toScanQuery, fromImageHashes, viewsFor, type ContentHashCache, type StoredHashes } from './content-hashes.ts';
import { decide, DEFAULT_DETECTION_RULE, type Decision, type DetectionRule, type UnscannablePolicy } from './decide.ts';
import type { Lane, LaneScheduler } from './lane-scheduler.ts';

const WORKER_ALGORITHMS = ['pdq', 'blockhash', 'sha1', 'md5'] as const;

export interface ContentScanner {
  hasher: LaneScheduler;
  cache: ContentHashCache;
  registry: Pick<ListRegistry, 'match'>;
  /** The fused detection rule (extra queries, corroboration); DEFAULT_DETECTION_RULE when absent. */
  detection?: DetectionRule;
}

export interface ContentScan {
  hashes: StoredHashes;
  unscannable?: { reason: UnscannableReason; message: string };
  /** Answered from stored hashes: no decode happened. */
  reused: boolean;
  matches: Match[];
  lists: ListVersionRef[];
  /** The rule the matches were gathered under, which the decision applies. */
  detection: DetectionRule;
  /**
   * Milliseconds: decodeMs is the worker's decode (absent when stored hashes answered), hashMs
   * the rest of getting the hashes (queueing for a thread, hashing, or the stored-hash lookup).
   */
  timings: { decodeMs?: number; hashMs: number; matchMs: number };
}

export async function scanContent(scanner: ContentScanner, bytes: Uint8Array, lane: Lane): Promise<ContentScan> {
  const started = performance.now();
  const detection = scanner.detection ?? DEFAULT_DETECTION_RULE;
  const sha256 = createHash('sha256').update(bytes).digest('hex');
  const views = viewsFor(detection);
  // Stored hashes answer only when they hold every view this rule queries (else hashed again).
  let hashes = await scanner.cache.get(sha256, views);
  const reused = hashes !== null;
  let unscannable: ContentScan['unscannable'];
  let decodeMs: number | undefined;
  if (!hashes) {
    // SHA-256 is already computed above: the worker hashes the pixels and the other digests only.
    // The views asked for are the ones recorded as computed (`views`), so the two cannot drift.
    const outcome = await scanner.hasher.hash(bytes, lane, {
      mode: 'fast',
      algorithms: WORKER_ALGORITHMS,
      framing: views.region,
      ...(views.uncrop.length > 0 && { uncrop: views.uncrop }),
      ...(views.upscale.length > 0 && { upscale: views.upscale }),
      ...(views.overlay && { overlay: true }),
    });
    decodeMs = outcome.timings?.decodeMs;
    if (outcome.status === 'hashed') {
      hashes = { ...fromImageHashes({ ...outcome.hashes, sha256 }), computed: views };
      scanner.cache.remember(hashes);
    } else {
      // The digests still identify the file: exact-hash lists (NCMEC MD5/SHA-1) match it anyway.
      hashes = { sha256, ...(outcome.exact.sha1 && { sha1: outcome.exact.sha1 }), ...(outcome.exact.md5 && { md5: outcome.exact.md5 }) };
      unscannable = { reason: outcome.reason, message: outcome.message };
    }
  }
  const hashed = performance.now();
  const { matches, lists } = scanner.registry.match(toScanQuery(hashes, detection));
  const matched = performance.now();
  return {
    hashes,
    ...(unscannable && { unscannable }),
    reused,
    matches,
    lists,
    detection,
    timings: { ...(decodeMs !== undefined && { decodeMs }), hashMs: Math.max(0, hashed - started - (decodeMs ?? 0)), matchMs: matched - hashed },
  };
}

/** The verdict on scanned content; `null` is content too large to read (`unscannable: too_large`). */
export function decideContent(content: ContentScan | null, unscannablePolicy: UnscannablePolicy): Decision {
  const unscannable = content ? content.unscannable?.reason : 'too_large';
  return decide({
    matches: content?.matches ?? [],
    ...(content && { rule: content.detection }),
    ...(content?.hashes.pdqQuality !== undefined && { pdqQuality: content.hashes.pdqQuality }),
    ...(unscannable && { unscannable }),
    unscannablePolicy,
  });
}

/** What a scan record takes from the content scan (nothing was read when it is null). */
export function recordedContent(content: ContentScan | null): { hashes: StoredHashes | null; lists: ListVersionRef[]; reused: boolean } {
  return { hashes: content?.hashes ?? null, lists: content?.lists ?? [], reused: content?.reused ?? false };
}
