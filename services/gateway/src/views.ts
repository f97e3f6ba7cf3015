// Core results to response bodies, field by field. Copying named fields (never spreading) is what
// guarantees a response carries only what the API documents: whatever the core grows later (entry
// ids, hashes, other tenants' data) stays out until someone adds it here on purpose.

import type { CheckResult, LookupResult, MatchSummary, ObjectLocation, Readiness, ScanView } from './core.ts';
import type { CheckResponse, LookupResponse, ReadyResponse, ScanResponse } from './schemas.ts';

type MatchView = CheckResponse['matches'][number];
type VariantMatchView = ScanResponse['matches'][number];

function matchView(match: MatchSummary): MatchView {
  return {
    list: match.list,
    listVersion: match.listVersion,
    algorithm: match.algorithm,
    distance: match.distance,
    action: match.action,
  };
}

function variantMatchView(match: MatchSummary & { variant: string }): VariantMatchView {
  return { ...matchView(match), variant: match.variant };
}

function locationView(object: ObjectLocation): ObjectLocation {
  return object.versionId === undefined
    ? { bucket: object.bucket, key: object.key }
    : { bucket: object.bucket, key: object.key, versionId: object.versionId };
}

export function checkView(result: CheckResult): CheckResponse {
  const { timings } = result;
  return {
    verdict: result.verdict,
    scanId: result.scanId,
    matches: result.matches.map(matchView),
    ...(result.reason === undefined ? {} : { reason: result.reason }),
    reused: result.reused,
    timings: {
      ...(timings.fetchMs === undefined ? {} : { fetchMs: timings.fetchMs }),
      hashMs: timings.hashMs,
      matchMs: timings.matchMs,
      recordMs: timings.recordMs,
      totalMs: timings.totalMs,
    },
  };
}

export function lookupView(results: LookupResult[]): LookupResponse {
  return { results: results.map((result) => ({ matches: result.matches.map(variantMatchView) })) };
}

export function scanView(scan: ScanView): ScanResponse {
  return {
    scanId: scan.scanId,
    tenantId: scan.tenantId,
    object: locationView(scan.object),
    verdict: scan.verdict,
    ...(scan.reason === undefined ? {} : { reason: scan.reason }),
    blocked: scan.blocked,
    review: scan.review,
    mode: scan.mode,
    lists: scan.lists.map((list) => ({ listId: list.listId, version: list.version })),
    matches: scan.matches.map(variantMatchView),
    scannedAt: scan.scannedAt,
  };
}

export function readyView(readiness: Readiness): ReadyResponse {
  return {
    ready: true,
    lists: readiness.lists.map((list) => ({ listId: list.listId, version: list.version, entries: list.entries })),
  };
}
