// Writes one scan in the caller's transaction: the scan row with its decision provenance, the
// content's hashes (the corpus retro-matching searches later), the match with every hit that
// justified it, and scan.completed.v1 (+ match.found.v1) into the outbox, so the verdict and its
// events commit together. Idempotent on the triggering event id: a redelivery finds the scan it
// already wrote and writes nothing. Never logs hashes or uploader details.

import { randomUUID } from 'node:crypto';
import type { Client } from '@vigil/db';
import { createEvent, type Event, type Payload } from '@vigil/events';
import type { ListVersionRef } from '@vigil/lists';
import type { Match } from '@vigil/matching';
import { derivedHashes, packDihedral, type StoredHashes } from './content-hashes.ts';
import type { Decision } from './decide.ts';
import { storedTimings, type ScanTimings } from './scan-metrics.ts';

type ObjectRef = Payload<'upload.received.v1'>['object'];
type Uploader = Payload<'upload.received.v1'>['uploader'];
/** A pool (the statement commits on its own) or a client inside the caller's transaction. */
export type Queryable = Pick<Client, 'query'>;

export interface ScanToRecord {
  scanId: string;
  /** The match id to use if the scan matched (the gateway names the quarantine copy after it first). */
  matchId?: string;
  /** The event that asked for the scan (a generated id for a synchronous check). */
  eventId: string;
  lane: 'live' | 'bulk' | 'check';
  source: string;
  trigger: 'upload' | 'rescan';
  uploadId?: string;
  rescanId?: string;
  object: ObjectRef;
  /** Null when no byte was read (too large to fetch). */
  hashes: StoredHashes | null;
  decision: Decision;
  lists: ListVersionRef[];
  reused: boolean;
  mode: 'fast' | 'reference';
  uploader?: Uploader;
  uploadedAt?: string;
  scannedAt: Date;
  traceId: string;
  producer: string;
  /** Where the scan's time went (scans.timings); stages that did not run are absent. */
  timings?: ScanTimings;
}

export type RecordOutcome =
  | { recorded: true; scanId: string; matchId: string | null; events: Event[] }
  | { recorded: false; scanId: string; matchId: string | null };

export function newScanId(): string {
  return `scan_${randomUUID()}`;
}

export function newMatchId(): string {
  return `match_${randomUUID()}`;
}

/**
 * One round trip (record_scan, migration 0008): on a pool it commits on its own; on a client in
 * a transaction (the consumers' inbox) it joins that transaction.
 */
export async function recordScan(db: Queryable, scan: ScanToRecord): Promise<RecordOutcome> {
  const { decision, object } = scan;
  const decisive = decision.decisive;
  const matchId = decision.verdict === 'matched' && scan.hashes ? (scan.matchId ?? newMatchId()) : null;
  const sha256 = scan.hashes ? bytea(scan.hashes.sha256) : null;
  const objectColumns = { tenant_id: object.tenantId, bucket: object.bucket, object_key: object.key, version_id: object.versionId ?? null };
  const scanRow = {
    id: scan.scanId, event_id: scan.eventId, upload_id: scan.uploadId ?? null, rescan_id: scan.rescanId ?? null, ...objectColumns,
    sha256, verdict: decision.verdict, unscannable_reason: decision.verdict === 'unscannable' ? decision.reason : null,
    blocked: decision.blocked, mode: scan.mode, lists: scan.lists, algorithm: decisive?.algorithm ?? null,
    threshold: decisive?.threshold ?? null, distance: decisive?.distance ?? null, scanned_at: scan.scannedAt.toISOString(),
    lane: scan.lane, source: scan.source, review: decision.review, reused: scan.reused, match_id: matchId,
    timings: scan.timings ? storedTimings(scan.timings) : null,
    // Kept for a later retro-match's report (the upload event is gone by then); sensitive.
    uploader: scan.uploader ?? null, uploaded_at: scan.uploadedAt ?? null,
  };
  const contentRow = scan.hashes && {
    ...objectColumns, size: object.size, content_type: object.contentType ?? null, sha256,
    md5: bytea(scan.hashes.md5), sha1: bytea(scan.hashes.sha1), pdq: bytea(scan.hashes.pdq),
    pdq_quality: scan.hashes.pdq ? (scan.hashes.pdqQuality ?? 0) : null,
    pdq_dihedral: bytea(packDihedral(scan.hashes.pdqDihedral)?.toString('hex')), blockhash: bytea(scan.hashes.blockhash),
    derived_hashes: derivedHashes(scan.hashes),
    last_seen_at: scan.scannedAt.toISOString(), last_scan_id: scan.scanId,
  };
  const matchRow = matchId && decision.verdict === 'matched' && {
    id: matchId, scan_id: scan.scanId, trigger: scan.trigger, action: decision.action, ...objectColumns, sha256,
    detected_at: scan.scannedAt.toISOString(),
  };

  const provenance = [...decision.hits, ...decision.allowHits].map(toProvenance);
  const events: Event[] = [];
  const context = { producer: scan.producer, traceId: scan.traceId, now: () => scan.scannedAt };
  events.push(
    createEvent(
      'scan.completed.v1',
      {
        scanId: scan.scanId,
        ...(scan.uploadId && { uploadId: scan.uploadId }),
        ...(scan.rescanId && { rescanId: scan.rescanId }),
        object,
        verdict: decision.verdict,
        ...(decision.verdict === 'unscannable' && { unscannableReason: decision.reason }),
        blocked: decision.blocked,
        ...(scan.hashes && { hashes: eventHashes(scan.hashes) }),
        mode: scan.mode,
        lists: scan.lists,
        matches: provenance,
        scannedAt: scan.scannedAt.toISOString(),
      },
      context,
    ),
  );
  if (matchId && decision.verdict === 'matched') {
    events.push(
      createEvent(
        'match.found.v1',
        {
          matchId,
          scanId: scan.scanId,
          trigger: scan.trigger,
          action: decision.action,
          object,
          hashes: eventHashes(scan.hashes!),
          matches: decision.hits.map(toProvenance),
          ...(scan.uploader && { uploader: scan.uploader }),
          ...(scan.uploadedAt && { uploadedAt: scan.uploadedAt }),
          detectedAt: scan.scannedAt.toISOString(),
        },
        context,
      ),
    );
  }

  const { rows } = await db.query<{ recorded: boolean; scan_id: string; match_id: string | null }>(
    'SELECT * FROM record_scan($1::jsonb, $2::jsonb, $3::jsonb, $4::jsonb, $5::jsonb)',
    [JSON.stringify(scanRow), contentRow ? JSON.stringify(contentRow) : null, matchRow ? JSON.stringify(matchRow) : null,
     JSON.stringify(matchRow ? decision.hits : []), JSON.stringify(events)],
  );
  const row = rows[0]!;
  return row.recorded ? { recorded: true, scanId: row.scan_id, matchId: row.match_id, events } : { recorded: false, scanId: row.scan_id, matchId: row.match_id };
}

/** Hex to the '\\x…' text form jsonb_populate_record reads as bytea. */
function bytea(hex: string | undefined): string | null {
  return hex === undefined ? null : `\\x${hex}`;
}

function eventHashes(hashes: StoredHashes): Payload<'scan.completed.v1'>['hashes'] & object {
  return {
    sha256: hashes.sha256,
    ...(hashes.sha1 && { sha1: hashes.sha1 }),
    ...(hashes.md5 && { md5: hashes.md5 }),
    ...(hashes.pdq && { pdq: hashes.pdq, pdqQuality: hashes.pdqQuality ?? 0 }),
    ...(hashes.blockhash && { blockhash: hashes.blockhash }),
  };
}

function toProvenance(match: Match): Payload<'match.found.v1'>['matches'][number] {
  return { ...match };
}
