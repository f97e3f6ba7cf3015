// Writes one scan in the caller's transaction: the scan row with its decision provenance, the
// content's hashes (the corpus retro-matching searches later), the match with every hit that
// justified it, and scan.completed.v1 (+ match.found.v1) into the outbox, so the verdict and its
// events commit together. Idempotent on the triggering event id: a redelivery finds the scan it
// already wrote and writes nothing. Never logs hashes or uploader details.

import { randomUUID } from 'node:crypto';
import { enqueue, type Client } from '@vigil/db';
import { createEvent, type Event, type Payload } from '@vigil/events';
import type { ListVersionRef } from '@vigil/lists';
import type { Match } from '@vigil/matching';
import { packDihedral, type StoredHashes } from './content-hashes.ts';
import type { Decision } from './decide.ts';

type ObjectRef = Payload<'upload.received.v1'>['object'];
type Uploader = Payload<'upload.received.v1'>['uploader'];

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

export async function recordScan(client: Client, scan: ScanToRecord): Promise<RecordOutcome> {
  const { decision, object } = scan;
  const decisive = decision.decisive;
  const matchId = decision.verdict === 'matched' && scan.hashes ? (scan.matchId ?? newMatchId()) : null;
  const sha256 = scan.hashes ? Buffer.from(scan.hashes.sha256, 'hex') : null;
  const inserted = await client.query(
    `INSERT INTO scans (id, event_id, upload_id, rescan_id, tenant_id, bucket, object_key, version_id, sha256, verdict,
                        unscannable_reason, blocked, mode, lists, algorithm, threshold, distance, scanned_at, lane, source,
                        review, reused, match_id)
     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18, $19, $20, $21, $22, $23)
     ON CONFLICT (event_id) DO NOTHING`,
    [
      scan.scanId, scan.eventId, scan.uploadId ?? null, scan.rescanId ?? null, object.tenantId, object.bucket, object.key,
      object.versionId ?? null, sha256, decision.verdict, decision.verdict === 'unscannable' ? decision.reason : null,
      decision.blocked, scan.mode, JSON.stringify(scan.lists), decisive?.algorithm ?? null, decisive?.threshold ?? null,
      decisive?.distance ?? null, scan.scannedAt, scan.lane, scan.source, decision.review, scan.reused, matchId,
    ],
  );
  if (inserted.rowCount === 0) {
    const { rows } = await client.query<{ id: string; match_id: string | null }>('SELECT id, match_id FROM scans WHERE event_id = $1', [scan.eventId]);
    return { recorded: false, scanId: rows[0]!.id, matchId: rows[0]!.match_id };
  }

  if (scan.hashes) await upsertContentHashes(client, scan, scan.hashes);

  const provenance = [...decision.hits, ...decision.allowHits].map(toProvenance);
  const events: Event[] = [];
  const context = { producer: scan.producer, traceId: scan.traceId, now: () => scan.scannedAt };
  if (matchId && decision.verdict === 'matched') {
    await client.query(
      `INSERT INTO matches (id, scan_id, trigger, action, tenant_id, bucket, object_key, version_id, sha256, detected_at)
       VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)`,
      [matchId, scan.scanId, scan.trigger, decision.action, object.tenantId, object.bucket, object.key, object.versionId ?? null, sha256, scan.scannedAt],
    );
    await client.query(
      `INSERT INTO match_hits (match_id, ordinal, list_id, list_version, action, algorithm, entry_id, category, distance, threshold, variant)
       SELECT $1, ordinality - 1, h->>'listId', (h->>'listVersion')::int, h->>'action', h->>'algorithm', h->>'entryId', h->>'category',
              (h->>'distance')::int, (h->>'threshold')::int, h->>'variant'
         FROM jsonb_array_elements($2::jsonb) WITH ORDINALITY AS t(h, ordinality)`,
      [matchId, JSON.stringify(decision.hits)],
    );
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
  events.unshift(
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
  await enqueue(client, events);
  return { recorded: true, scanId: scan.scanId, matchId, events };
}

async function upsertContentHashes(client: Client, scan: ScanToRecord, hashes: StoredHashes): Promise<void> {
  const { object } = scan;
  await client.query(
    `INSERT INTO content_hashes (tenant_id, bucket, object_key, version_id, size, content_type, sha256, md5, sha1, pdq, pdq_quality,
                                 pdq_dihedral, blockhash, first_seen_at, last_seen_at, last_scan_id)
     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $14, $15)
     ON CONFLICT (tenant_id, bucket, object_key, version_id, sha256) DO UPDATE
       SET last_seen_at = greatest(content_hashes.last_seen_at, EXCLUDED.last_seen_at), last_scan_id = EXCLUDED.last_scan_id,
           pdq = coalesce(content_hashes.pdq, EXCLUDED.pdq), pdq_quality = coalesce(content_hashes.pdq_quality, EXCLUDED.pdq_quality),
           pdq_dihedral = coalesce(content_hashes.pdq_dihedral, EXCLUDED.pdq_dihedral),
           blockhash = coalesce(content_hashes.blockhash, EXCLUDED.blockhash)`,
    [
      object.tenantId, object.bucket, object.key, object.versionId ?? null, object.size, object.contentType ?? null,
      hex(hashes.sha256), hex(hashes.md5), hex(hashes.sha1), hex(hashes.pdq), hashes.pdq ? (hashes.pdqQuality ?? 0) : null,
      packDihedral(hashes.pdqDihedral), hex(hashes.blockhash), scan.scannedAt, scan.scanId,
    ],
  );
}

function hex(value: string | undefined): Buffer | null {
  return value === undefined ? null : Buffer.from(value, 'hex');
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
