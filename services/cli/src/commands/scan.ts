// `vigil scan PATH|s3://bucket/prefix`: the main job on one machine. Files under PATH are
// uploaded into the upload bucket as a hosting product would store them and announced as
// upload.received.v1 (the live lane); objects under s3://bucket/prefix are announced as
// rescan.requested.v1 (the bulk lane). The scanner and actioner in this process do the rest;
// this command waits for each object's verdict (and, for a match, its quarantine, its preserved
// evidence and the report that covers it) and prints it.
// Output names lists, distances and actions: never list contents, never image bytes.

import { createReadStream } from 'node:fs';
import { stat } from 'node:fs/promises';
import { relative, resolve, sep } from 'node:path';
import { randomUUID } from 'node:crypto';
import type { Bus } from '@vigil/bus';
import type { Pool } from '@vigil/db';
import { createEvent, type Event } from '@vigil/events';
import { isObjectStoreError, type ObjectStore } from '@vigil/storage';
import { matchHitsJson } from '@vigil/scanner';
import { expandInputs } from '../inputs.ts';
import type { Progress } from './hash.ts';
import { followUpColumns, followUpJoins, type FollowUpColumns } from '../follow-ups.ts';

export interface ScanTarget {
  /** What the user named the object: a file path, or s3://bucket/key. */
  display: string;
  eventId: string;
}

export interface ScanLine {
  object: string;
  verdict?: 'clean' | 'matched' | 'unscannable';
  action?: 'block' | 'quarantine' | 'review';
  matches?: Array<{ list: string; listVersion: number; algorithm: string; distance: number; action: string; variant: string }>;
  reason?: string;
  quarantine?: { status: string; bucket?: string; key?: string; reason?: string };
  /** The preserved copy, for a quarantined match. */
  evidence?: { id: string; retainUntil: string };
  /** The CyberTipline report that covers the match: filed (with the receiver's id), held (with why), or still queued. */
  report?: { id: string; status: string; externalReportId?: string; reason?: string };
  error?: string;
}

export interface ScanDeps {
  bus: Bus;
  pool: Pool;
  store: ObjectStore;
  uploadBucket: string;
  tenantId: string;
  accountId: string;
  write: (line: ScanLine) => void;
  progress?: (total: number) => Progress;
  /** Give up on objects without a verdict after this long without any progress. */
  idleTimeoutMs: number;
  pollMs?: number;
}

export interface ScanSummary {
  total: number;
  clean: number;
  matched: number;
  quarantined: number;
  review: number;
  unscannable: number;
  failed: number;
}

const PUBLISH_BATCH = 200;

export async function runScan(target: string, deps: ScanDeps): Promise<ScanSummary> {
  const targets = target.startsWith('s3://') ? await announceStored(target, deps) : await uploadFiles(target, deps);
  return awaitVerdicts(targets, deps);
}

/** Uploads every file under `path` into the upload bucket and announces each upload. */
async function uploadFiles(path: string, deps: ScanDeps): Promise<ScanTarget[]> {
  // Versioned where the store can (a quarantine then removes every version); plain where it cannot.
  await deps.store.ensureBucket(deps.uploadBucket, { versioning: true }).catch((err: unknown) => {
    if (isObjectStoreError(err, 'invalid')) return deps.store.ensureBucket(deps.uploadBucket);
    throw err;
  });
  const root = resolve(path);
  const rootIsDir = (await stat(root).catch(() => null))?.isDirectory() ?? false;
  const targets: ScanTarget[] = [];
  const announce = publisher(deps.bus);
  const runId = randomUUID().slice(0, 8);
  for await (const input of expandInputs([path])) {
    if (input.error) {
      deps.write({ object: input.path, error: `cannot read: ${input.error}` });
      continue;
    }
    const relativeKey = (rootIsDir ? relative(root, resolve(input.path)) : resolve(input.path).split(sep).pop()!).split(sep).join('/');
    const key = `${deps.tenantId}/${runId}/${relativeKey}`;
    const { size } = await stat(input.path);
    const written = await deps.store.put({ bucket: deps.uploadBucket, key }, createReadStream(input.path));
    const event = createEvent(
      'upload.received.v1',
      {
        uploadId: `cli-${runId}-${targets.length + 1}`,
        source: 'workers',
        mode: 'async',
        object: { tenantId: deps.tenantId, bucket: deps.uploadBucket, key, size, ...(written.versionId && { versionId: written.versionId }) },
        uploader: { accountId: deps.accountId },
        uploadedAt: new Date().toISOString(),
      },
      { producer: 'cli', traceId: randomUUID() },
    );
    targets.push({ display: input.path, eventId: event.id });
    await announce.add(event);
  }
  await announce.flush();
  return targets;
}

/** Announces every stored object under s3://bucket/prefix for a rescan on the bulk lane. */
async function announceStored(url: string, deps: ScanDeps): Promise<ScanTarget[]> {
  const [bucket, ...rest] = url.slice('s3://'.length).split('/');
  const prefix = rest.join('/');
  const targets: ScanTarget[] = [];
  const rescanId = `cli-${randomUUID()}`;
  const announce = publisher(deps.bus);
  for await (const object of deps.store.list(bucket!, prefix ? { prefix } : {})) {
    const event = createEvent(
      'rescan.requested.v1',
      {
        rescanId,
        object: { tenantId: deps.tenantId, bucket: object.bucket, key: object.key, size: object.size, etag: object.etag },
        reason: 'operator',
        requestedBy: deps.accountId,
        requestedAt: new Date().toISOString(),
      },
      { producer: 'cli', traceId: randomUUID() },
    );
    targets.push({ display: `s3://${object.bucket}/${object.key}`, eventId: event.id });
    await announce.add(event);
  }
  await announce.flush();
  return targets;
}

/** Publishes events in batches: one bus round trip per PUBLISH_BATCH objects. */
function publisher(bus: Bus): { add(event: Event): Promise<void>; flush(): Promise<void> } {
  let batch: Event[] = [];
  const flush = async () => {
    if (batch.length > 0) await bus.publish(batch);
    batch = [];
  };
  return {
    async add(event) {
      batch.push(event);
      if (batch.length >= PUBLISH_BATCH) await flush();
    },
    flush,
  };
}

interface VerdictRow extends FollowUpColumns {
  event_id: string;
  verdict: 'clean' | 'matched' | 'unscannable';
  unscannable_reason: string | null;
  action: 'block' | 'quarantine' | 'review' | null;
  hits: ScanLine['matches'];
}

/**
 * Polls the database for each object's verdict and, for a quarantining match, the quarantine's
 * outcome; prints each object once it is final. Objects with nothing new for idleTimeoutMs are
 * reported as errors (their events stay on the bus and will still be processed).
 */
async function awaitVerdicts(targets: ScanTarget[], deps: ScanDeps): Promise<ScanSummary> {
  const summary: ScanSummary = { total: targets.length, clean: 0, matched: 0, quarantined: 0, review: 0, unscannable: 0, failed: 0 };
  const pending = new Map(targets.map((t) => [t.eventId, t]));
  const progress = targets.length > 0 ? deps.progress?.(targets.length) : undefined;
  let lastProgress = Date.now();
  try {
    while (pending.size > 0) {
      const { rows } = await deps.pool.query<VerdictRow>(
        `SELECT s.event_id, s.verdict, s.unscannable_reason, m.action,
                ${matchHitsJson('s.match_id')} AS hits,
                ${followUpColumns}
           FROM scans s
           LEFT JOIN matches m ON m.id = s.match_id
           ${followUpJoins('s.match_id')}
          WHERE s.event_id = ANY($1::uuid[])`,
        [[...pending.keys()]],
      );
      const timedOut = Date.now() - lastProgress > deps.idleTimeoutMs;
      for (const row of rows) {
        const waitingForQuarantine = row.action !== null && row.action !== 'review' && !['applied', 'failed', 'released'].includes(row.q_status ?? '');
        if (waitingForQuarantine) continue;
        // A quarantined match also waits for its evidence and its report (filed or held), unless
        // the wait ran out: then it prints with what is known (its events are still worked).
        const waitingForFollowUps = row.q_status === 'applied' && (row.e_id === null || !['filed', 'held', 'failed'].includes(row.r_status ?? ''));
        if (waitingForFollowUps && !timedOut) continue;
        const target = pending.get(row.event_id)!;
        pending.delete(row.event_id);
        lastProgress = Date.now();
        progress?.tick();
        count(summary, row);
        deps.write({
          object: target.display,
          verdict: row.verdict,
          ...(row.action && { action: row.action }),
          matches: row.hits ?? [],
          ...(row.unscannable_reason && { reason: row.unscannable_reason }),
          ...(row.q_status && {
            quarantine: { status: row.q_status, ...(row.q_bucket && { bucket: row.q_bucket }), ...(row.q_key && { key: row.q_key }), ...(row.q_reason && { reason: row.q_reason }) },
          }),
          ...(row.e_id && { evidence: { id: row.e_id, retainUntil: row.e_retain_until!.toISOString() } }),
          ...(row.r_id && {
            report: { id: row.r_id, status: row.r_status!, ...(row.r_external && { externalReportId: row.r_external }), ...(row.r_reason && { reason: row.r_reason }) },
          }),
        });
      }
      if (pending.size === 0) break;
      if (timedOut) {
        for (const target of pending.values()) {
          deps.write({ object: target.display, error: `no verdict within ${Math.round(deps.idleTimeoutMs / 1000)} s; its event stays queued` });
          summary.failed++;
        }
        break;
      }
      await new Promise((r) => setTimeout(r, deps.pollMs ?? 200));
    }
  } finally {
    progress?.stop();
  }
  return summary;
}

function count(summary: ScanSummary, row: VerdictRow): void {
  if (row.verdict === 'clean') summary.clean++;
  else if (row.verdict === 'unscannable') summary.unscannable++;
  else {
    summary.matched++;
    if (row.action === 'review') summary.review++;
    if (row.q_status === 'applied') summary.quarantined++;
  }
}
