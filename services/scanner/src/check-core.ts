// The gateway's synchronous check, in-process: the same scanning core and recording as the
// event-driven scanner, answered in milliseconds. A blocked upload was never stored, so its bytes
// go straight into the quarantine bucket (under the match's key) before the match is committed:
// the actioner then finds the copy there, and evidence and reporting follow as for any match.

import { randomUUID } from 'node:crypto';
import { GatewayError, type CheckRequest, type CheckResult, type GatewayCore, type LookupQuery, type LookupResult, type Readiness, type ScanView } from '@vigil/gateway';
import type { Pool } from '@vigil/db';
import type { ListRegistry } from '@vigil/lists';
import type { Match } from '@vigil/matching';
import { isObjectStoreError, quarantineKey, type ObjectStore } from '@vigil/storage';
import { checkVerdict, type UnscannablePolicy } from './decide.ts';
import { newMatchId, newScanId, recordScan } from './record-scan.ts';
import { decideContent, recordedContent, scanContent, type ContentScanner } from './scan-content.ts';
import { observeScan, type CheckMetrics, type ScanTimings } from './scan-metrics.ts';

export interface CheckCoreDeps {
  pool: Pool;
  store: ObjectStore;
  scanner: ContentScanner;
  registry: Pick<ListRegistry, 'match' | 'ready' | 'loaded'>;
  quarantineBucket: string;
  maxBytes: number;
  fetchTimeoutMs: number;
  unscannablePolicy: (source: string) => UnscannablePolicy;
  producer: string;
  now: () => Date;
  /** Check durations by verdict, and the check's scans, stages and matches on lane `check`. */
  metrics?: CheckMetrics;
}

export function createCheckCore(deps: CheckCoreDeps): GatewayCore {
  return {
    async check(request: CheckRequest): Promise<CheckResult> {
      const started = performance.now();
      // Null: the referenced object is over the byte cap, judged `too_large` without a read.
      let bytes: Uint8Array | null = null;
      let fetchMs: number | undefined;
      let versionId: string | undefined;
      if ('bytes' in request.content) {
        bytes = request.content.bytes;
      } else {
        const ref = request.content.object;
        try {
          const fetched = await deps.store.getBytes(ref, { maxBytes: deps.maxBytes, signal: AbortSignal.timeout(deps.fetchTimeoutMs) });
          bytes = fetched.bytes;
          versionId = fetched.info.versionId ?? ref.versionId;
        } catch (err) {
          if (isObjectStoreError(err, 'not_found')) throw new GatewayError('not_found', 'The referenced object does not exist');
          if (!isObjectStoreError(err, 'too_large')) throw err;
        }
        fetchMs = performance.now() - started;
      }

      const content = bytes ? await scanContent(deps.scanner, bytes, 'live') : null;
      const decision = decideContent(content, deps.unscannablePolicy(request.source));
      const scanId = newScanId();
      const matchId = decision.verdict === 'matched' ? newMatchId() : undefined;
      const recordStarted = performance.now();
      if (matchId && bytes && 'bytes' in request.content) {
        // Kept before the match commits: the actioner must find the copy when match.found arrives.
        await deps.store.put({ bucket: deps.quarantineBucket, key: quarantineKey(request.tenantId, matchId) }, bytes, {
          contentType: request.object?.contentType ?? 'application/octet-stream',
          metadata: { 'vigil-match-id': matchId, 'vigil-scan-id': scanId, 'vigil-origin': 'check' },
        });
      }
      const location = request.object ?? ('object' in request.content ? request.content.object : { bucket: 'gateway', key: `checks/${scanId}` });
      const recordedVersion = versionId ?? location.versionId;
      const timings: ScanTimings = {
        ...(fetchMs !== undefined && { fetchMs }),
        ...content?.timings,
        // The check's "upload event" is the request: its end to end is request to verdict.
        endToEndMs: recordStarted - started,
      };
      // One statement, committed on its own: the check's write costs a single round trip.
      await recordScan(deps.pool, {
          scanId,
          ...(matchId && { matchId }),
          eventId: randomUUID(),
          lane: 'check',
          source: request.source,
          trigger: 'upload',
          ...(request.uploadId && { uploadId: request.uploadId }),
          object: {
            tenantId: request.tenantId,
            bucket: location.bucket,
            key: location.key,
            ...(recordedVersion && { versionId: recordedVersion }),
            size: bytes?.byteLength ?? 0,
            ...(request.object?.contentType && { contentType: request.object.contentType }),
          },
          ...recordedContent(content),
          decision,
          mode: 'fast',
          ...(request.uploader && { uploader: request.uploader }),
          uploadedAt: deps.now().toISOString(),
          scannedAt: deps.now(),
          traceId: randomUUID(),
          producer: deps.producer,
          timings,
        });
      const finished = performance.now();
      const verdict = checkVerdict(decision);
      if (deps.metrics) {
        observeScan(deps.metrics, { lane: 'check', source: request.source, decision, timings: { ...timings, recordMs: finished - recordStarted } });
        deps.metrics.checkDuration.observe({ verdict }, (finished - started) / 1000);
      }
      return {
        verdict,
        scanId,
        matches: decision.hits.map(summary),
        ...(decision.verdict === 'unscannable' && { reason: decision.reason }),
        reused: content?.reused ?? false,
        timings: {
          ...(fetchMs !== undefined && { fetchMs: round(fetchMs) }),
          hashMs: round((content?.timings.decodeMs ?? 0) + (content?.timings.hashMs ?? 0)),
          matchMs: round(content?.timings.matchMs ?? 0),
          recordMs: round(finished - recordStarted),
          totalMs: round(finished - started),
        },
      };
    },

    async lookup(queries: LookupQuery[]): Promise<LookupResult[]> {
      return queries.map((query) => ({ matches: deps.registry.match(query).matches.map((m) => ({ ...summary(m), variant: m.variant })) }));
    },

    async getScan(scanId: string): Promise<ScanView | null> {
      return loadScanView(deps.pool, scanId);
    },

    readiness(): Readiness {
      const lists = deps.registry.loaded().map(({ listId, version, entries }) => ({ listId, version, entries }));
      return deps.registry.ready ? { ready: true, lists } : { ready: false, lists, reason: 'hash lists are still loading' };
    },
  };
}

function summary(match: Match) {
  return { list: match.listId, listVersion: match.listVersion, algorithm: match.algorithm, distance: match.distance, action: match.action };
}

function round(ms: number): number {
  return Math.round(ms * 100) / 100;
}

/**
 * SQL for a match's hits as a JSON array of {list, listVersion, algorithm, distance, action,
 * variant}, in decision order: what every view of a verdict shows (never entry hashes or ids).
 */
export function matchHitsJson(matchIdColumn: string): string {
  return `coalesce((SELECT json_agg(json_build_object('list', h.list_id, 'listVersion', h.list_version, 'algorithm', h.algorithm,
                     'distance', h.distance, 'action', h.action, 'variant', h.variant) ORDER BY h.ordinal)
                     FROM match_hits h WHERE h.match_id = ${matchIdColumn}), '[]')`;
}

/** A scan as the API shows it: ids, verdict and provenance; never hashes of list entries. */
export async function loadScanView(pool: Pool, scanId: string): Promise<ScanView | null> {
  const { rows } = await pool.query(
    `SELECT s.id, s.tenant_id, s.bucket, s.object_key, s.version_id, s.verdict, s.unscannable_reason, s.blocked, s.review, s.mode,
            s.lists, s.scanned_at,
            ${matchHitsJson('s.match_id')} AS matches
       FROM scans s WHERE s.id = $1`,
    [scanId],
  );
  const row = rows[0];
  if (!row) return null;
  const verdict = row.verdict === 'clean' ? 'allow' : row.verdict === 'unscannable' ? 'unscannable' : row.blocked ? 'block' : 'review';
  return {
    scanId: row.id,
    tenantId: row.tenant_id,
    object: { bucket: row.bucket, key: row.object_key, ...(row.version_id && { versionId: row.version_id }) },
    verdict,
    ...(row.unscannable_reason && { reason: row.unscannable_reason }),
    blocked: row.blocked,
    review: row.review,
    mode: row.mode,
    lists: row.lists,
    matches: row.matches,
    scannedAt: new Date(row.scanned_at).toISOString(),
  };
}
