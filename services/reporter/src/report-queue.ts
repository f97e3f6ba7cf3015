// The report queue in Postgres: intake of report.requested (grouping into the account's report
// for the incident window, deduplicating content), the worker's claim (CSAM first, then oldest
// due), and the status changes with their report.filed.v1 events (outbox) and audit entries.
// SQL and state transitions only; building and sending live elsewhere.

import { appendAudit, enqueue, type Client, type Pool } from '@vigil/db';
import { createEvent, type Event, type Payload } from '@vigil/events';
import { incidentKey, reportIdFor, uuidFromName, windowStart } from './incident.ts';

type ReportRequested = Payload<'report.requested.v1'>;

export interface IntakeOptions {
  windowMs: number;
  /** How long a new report waits for more of the account's files before it is sent. */
  groupDelayMs: number;
  producer: string;
  now: Date;
}

export type IntakeOutcome =
  | { kind: 'attached'; reportId: string; created: boolean }
  /** Same content from the same account already in a report: attached, not sent twice. */
  | { kind: 'duplicate_content'; reportId: string; reportStatus: string }
  | { kind: 'known' };

export async function intakeRequest(client: Client, event: Event<'report.requested.v1'>, options: IntakeOptions): Promise<IntakeOutcome> {
  const p = event.payload;
  const known = await client.query('SELECT 1 FROM report_files WHERE report_request_id = $1', [p.reportRequestId]);
  if ((known.rowCount ?? 0) > 0) return { kind: 'known' };
  const tenantId = p.object.tenantId;
  const accountId = p.uploader?.accountId ?? null;
  // One account's grouping at a time, so two files of a window cannot open two reports.
  await client.query('SELECT pg_advisory_xact_lock(hashtext($1))', [`vigil-report:${tenantId}:${accountId ?? ''}`]);
  const detectedAt = new Date(p.detectedAt);

  const original = await client.query<{ report_request_id: string; report_id: string; status: string; external_report_id: string | null }>(
    `SELECT f.report_request_id, f.report_id, r.status, r.external_report_id FROM report_files f JOIN reports r ON r.id = f.report_id
      WHERE f.content_key = $1 AND f.duplicate_of IS NULL ORDER BY f.created_at LIMIT 1`,
    [p.dedupeKey],
  );
  const first = original.rows[0];
  if (first) {
    await insertFile(client, p, first.report_id, first.report_request_id, detectedAt);
    if (first.status === 'filed') {
      // Already reported: this request is covered by that report, and its evidence's clock too.
      const object = p.object;
      await enqueue(client, [filedEvent(first.report_id, p.reportRequestId, p.dedupeKey, object, 'filed', first.external_report_id ?? undefined, undefined, options, event.traceId, 'dup')]);
    }
    return { kind: 'duplicate_content', reportId: first.report_id, reportStatus: first.status };
  }

  const start = windowStart(detectedAt, options.windowMs);
  const open = await client.query<{ id: string }>(
    `SELECT id FROM reports WHERE tenant_id = $1 AND account_id IS NOT DISTINCT FROM $2 AND window_start = $3 AND status = 'queued'
      ORDER BY window_seq DESC LIMIT 1 FOR UPDATE`,
    [tenantId, accountId, start],
  );
  if (open.rows[0]) {
    const reportId = open.rows[0].id;
    await client.query(
      `UPDATE reports SET priority = CASE WHEN $2 = 'csam' THEN 'csam' ELSE priority END,
              incident_at = LEAST(incident_at, $3), updated_at = now() WHERE id = $1`,
      [reportId, p.priority, detectedAt],
    );
    await insertFile(client, p, reportId, null, detectedAt);
    return { kind: 'attached', reportId, created: false };
  }
  const seqRow = await client.query<{ seq: number }>(
    `SELECT COALESCE(max(window_seq), 0) + 1 AS seq FROM reports WHERE tenant_id = $1 AND account_id IS NOT DISTINCT FROM $2 AND window_start = $3`,
    [tenantId, accountId, start],
  );
  const seq = seqRow.rows[0]!.seq;
  const reportId = reportIdFor(tenantId, accountId, start, seq);
  await client.query(
    `INSERT INTO reports (id, report_request_id, match_id, dedupe_key, priority, category, tenant_id, bucket, object_key, version_id,
                          account_id, window_start, window_seq, incident_at, next_attempt_at)
     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15)`,
    [
      reportId, p.reportRequestId, p.matchId, incidentKey(tenantId, accountId, start, seq), p.priority, p.category, tenantId, p.object.bucket, p.object.key,
      p.object.versionId ?? null, accountId, start, seq, detectedAt, new Date(options.now.getTime() + options.groupDelayMs),
    ],
  );
  await insertFile(client, p, reportId, null, detectedAt);
  return { kind: 'attached', reportId, created: true };
}

async function insertFile(client: Client, p: ReportRequested, reportId: string, duplicateOf: string | null, detectedAt: Date): Promise<void> {
  await client.query(
    `INSERT INTO report_files (report_request_id, report_id, match_id, content_key, duplicate_of, priority, category, request, detected_at)
     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)`,
    [p.reportRequestId, reportId, p.matchId, p.dedupeKey, duplicateOf, p.priority, p.category, JSON.stringify(p), detectedAt],
  );
}

export interface ClaimedReport {
  id: string;
  priority: 'csam' | 'other';
  tenantId: string;
  accountId: string | null;
  attempts: number;
  createdAt: Date;
  submissionId: string | null;
  submissionStage: 'opened' | 'finishing' | null;
}

/**
 * Claims the next due report: CSAM first, then the oldest due; also a report whose claimant died
 * (its lease ran out). The claim commits at once, so a crash leaves it to the lease.
 */
export async function claimNextReport(pool: Pool, leaseMs: number): Promise<ClaimedReport | null> {
  const { rows } = await pool.query<{
    id: string; priority: 'csam' | 'other'; tenant_id: string; account_id: string | null; attempts: number; created_at: Date;
    submission_id: string | null; submission_stage: 'opened' | 'finishing' | null;
  }>(
    `UPDATE reports SET status = 'submitting', attempts = attempts + 1, claimed_until = now() + make_interval(secs => $1::double precision / 1000), updated_at = now()
      WHERE id = (SELECT id FROM reports
                   WHERE (status = 'queued' AND next_attempt_at <= now()) OR (status = 'submitting' AND claimed_until < now())
                   ORDER BY priority_rank, next_attempt_at, id LIMIT 1 FOR UPDATE SKIP LOCKED)
      RETURNING id, priority, tenant_id, account_id, attempts, created_at, submission_id, submission_stage`,
    [leaseMs],
  );
  const row = rows[0];
  if (!row) return null;
  return {
    id: row.id, priority: row.priority, tenantId: row.tenant_id, accountId: row.account_id, attempts: row.attempts, createdAt: row.created_at,
    submissionId: row.submission_id, submissionStage: row.submission_stage,
  };
}

export interface QueuedFile {
  reportRequestId: string;
  matchId: string;
  request: ReportRequested;
  evidence: { id: string; sha256: string; size: number } | null;
  viewedByPerson: boolean;
}

/** The report's files (duplicates left out), each with its evidence and whether a person viewed it. */
export async function loadReportFiles(db: Client | Pool, reportId: string): Promise<QueuedFile[]> {
  const { rows } = await db.query<{
    report_request_id: string; match_id: string; request: ReportRequested; evidence_id: string | null; sha256: Buffer | null; size: string | null; viewed: boolean;
  }>(
    `SELECT f.report_request_id, f.match_id, f.request, e.id AS evidence_id, e.sha256, e.size,
            EXISTS (SELECT 1 FROM audit_log a WHERE a.subject_type = 'evidence' AND a.subject_id = e.id AND a.action = 'evidence.read'
                     AND a.actor NOT LIKE 'service:%' AND a.details->>'part' = 'file') AS viewed
       FROM report_files f
       LEFT JOIN LATERAL (SELECT id, sha256, size FROM evidence_items WHERE match_id = f.match_id ORDER BY preserved_at LIMIT 1) e ON true
      WHERE f.report_id = $1 AND f.duplicate_of IS NULL
      ORDER BY f.detected_at, f.report_request_id`,
    [reportId],
  );
  return rows.map((r) => ({
    reportRequestId: r.report_request_id,
    matchId: r.match_id,
    request: r.request,
    evidence: r.evidence_id ? { id: r.evidence_id, sha256: r.sha256!.toString('hex'), size: Number(r.size) } : null,
    viewedByPerson: r.viewed,
  }));
}

export async function recordStage(pool: Pool, reportId: string, stage: 'opened' | 'finishing' | null, submissionId: string | null, sink: string): Promise<void> {
  await pool.query('UPDATE reports SET submission_stage = $2, submission_id = $3, sink = $4, updated_at = now() WHERE id = $1', [reportId, stage, submissionId, sink]);
}

export async function recordFileSent(pool: Pool, reportRequestId: string, fileId: string): Promise<void> {
  await pool.query('UPDATE report_files SET external_file_id = $2 WHERE report_request_id = $1', [reportRequestId, fileId]);
}

/** Every request the report covers (its files and their duplicates), for report.filed.v1. */
async function coveredRequests(client: Client, reportId: string): Promise<Array<{ report_request_id: string; request: ReportRequested }>> {
  const { rows } = await client.query<{ report_request_id: string; request: ReportRequested }>(
    'SELECT report_request_id, request FROM report_files WHERE report_id = $1 ORDER BY detected_at, report_request_id',
    [reportId],
  );
  return rows;
}

export interface TransitionContext {
  producer: string;
  now: () => Date;
}

export async function markFiled(client: Client, reportId: string, result: { externalReportId: string; sink: string; payload: unknown }, ctx: TransitionContext): Promise<void> {
  const filedAt = ctx.now();
  await client.query(
    `UPDATE reports SET status = 'filed', external_report_id = $2, filed_at = $3, sink = $4, payload = $5, submission_stage = NULL,
            held_reason = NULL, last_error = NULL, claimed_until = NULL, updated_at = now() WHERE id = $1`,
    [reportId, result.externalReportId, filedAt, result.sink, JSON.stringify(result.payload)],
  );
  const options = { now: filedAt, producer: ctx.producer };
  const events = (await coveredRequests(client, reportId)).map((f) =>
    filedEvent(reportId, f.report_request_id, f.request.dedupeKey, f.request.object, 'filed', result.externalReportId, undefined, options, reportId, 'filed'),
  );
  await enqueue(client, events);
  await appendAudit(client, {
    actor: `service:${ctx.producer}`,
    action: 'report.filed',
    subjectType: 'report',
    subjectId: reportId,
    details: { externalReportId: result.externalReportId, sink: result.sink, files: events.length },
  });
}

export async function markHeld(client: Client, reportId: string, reason: string, attempt: number, ctx: TransitionContext): Promise<void> {
  await client.query(
    `UPDATE reports SET status = 'held', held_reason = $2, claimed_until = NULL, updated_at = now() WHERE id = $1`,
    [reportId, reason.slice(0, 1000)],
  );
  const options = { now: ctx.now(), producer: ctx.producer };
  const events = (await coveredRequests(client, reportId)).map((f) =>
    filedEvent(reportId, f.report_request_id, f.request.dedupeKey, f.request.object, 'held', undefined, reason, options, reportId, `held-${attempt}`),
  );
  await enqueue(client, events);
  await appendAudit(client, { actor: `service:${ctx.producer}`, action: 'report.held', subjectType: 'report', subjectId: reportId, details: { reason: reason.slice(0, 1000) } });
}

export async function markRetry(pool: Pool, reportId: string, error: string, delayMs: number): Promise<void> {
  await pool.query(
    `UPDATE reports SET status = 'queued', last_error = $2, next_attempt_at = now() + make_interval(secs => $3::double precision / 1000),
            claimed_until = NULL, updated_at = now() WHERE id = $1`,
    [reportId, error.slice(0, 1000), delayMs],
  );
}

/**
 * Records the CyberTipline receipt of a report an operator submitted by hand from the outbox:
 * NCMEC's report id and when it was received. Publishes report.filed.v1 again with them, so the
 * evidence's retention counts from the real receipt (it only extends). Audited.
 */
export async function confirmManualSubmission(
  client: Client,
  reportId: string,
  receipt: { externalReportId: string; receivedAt: Date; actor: string },
  producer: string,
): Promise<boolean> {
  const { rows } = await client.query<{ id: string }>(
    `UPDATE reports SET external_report_id = $2, filed_at = $3, updated_at = now() WHERE id = $1 AND status = 'filed' AND sink = 'outbox' RETURNING id`,
    [reportId, receipt.externalReportId, receipt.receivedAt],
  );
  if (rows.length === 0) return false;
  const options = { now: receipt.receivedAt, producer };
  const events = (await coveredRequests(client, reportId)).map((f) =>
    filedEvent(reportId, f.report_request_id, f.request.dedupeKey, f.request.object, 'filed', receipt.externalReportId, undefined, options, reportId, `confirmed:${receipt.externalReportId}`),
  );
  await enqueue(client, events);
  await appendAudit(client, {
    actor: receipt.actor,
    action: 'report.confirmed',
    subjectType: 'report',
    subjectId: reportId,
    details: { externalReportId: receipt.externalReportId, receivedAt: receipt.receivedAt.toISOString(), files: events.length },
  });
  return true;
}

/** Puts a held report back in the queue after a person fixed what held it. Audited. */
export async function requeueReport(client: Client, reportId: string, actor: string, reason: string): Promise<boolean> {
  const { rowCount } = await client.query(
    `UPDATE reports SET status = 'queued', next_attempt_at = now(), held_reason = NULL, submission_stage = NULL, submission_id = NULL, updated_at = now()
      WHERE id = $1 AND status = 'held'`,
    [reportId],
  );
  if ((rowCount ?? 0) === 0) return false;
  await appendAudit(client, { actor, action: 'report.requeued', subjectType: 'report', subjectId: reportId, details: { reason } });
  return true;
}

function filedEvent(
  reportId: string,
  reportRequestId: string,
  dedupeKey: string,
  object: ReportRequested['object'],
  status: 'filed' | 'held',
  externalReportId: string | undefined,
  reason: string | undefined,
  options: { now: Date; producer: string },
  traceSeed: string,
  variant: string,
): Event<'report.filed.v1'> {
  return createEvent(
    'report.filed.v1',
    {
      reportId,
      reportRequestId,
      dedupeKey,
      object,
      status,
      ...(externalReportId !== undefined ? { externalReportId } : {}),
      ...(reason !== undefined ? { reason: reason.slice(0, 1000) } : {}),
      at: options.now.toISOString(),
    },
    { producer: options.producer, traceId: traceSeed.slice(0, 100), id: uuidFromName(`report.filed:${reportRequestId}:${variant}`), now: () => options.now },
  );
}
