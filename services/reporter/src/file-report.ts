// The filing use case: claim the next due report, build it, and drive the sink's sequence (open,
// each file, finish), recording how far it got so that a retry resumes or retracts and never
// files twice. Outcomes: filed (report.filed.v1 per covered request), held with a reason (never
// dropped), or retried with backoff. Files are read through the audited evidence read: actor
// `service:<producer>`, scope `report:<id>`, the report as the reason.

import { withTransaction, type Logger, type Pool } from '@vigil/db';
import { readEvidence } from '@vigil/evidence';
import type { ObjectStore } from '@vigil/storage';
import { buildReport, type ReporterIdentity } from './build-report.ts';
import { SinkError, type ReportSink } from './report-sink.ts';
import { claimNextReport, loadReportFiles, markFiled, markHeld, markRetry, recordFileSent, recordStage, type ClaimedReport } from './report-queue.ts';

export interface FilingContext {
  pool: Pool;
  store: ObjectStore;
  sink: ReportSink;
  reporter: ReporterIdentity;
  publiclyAvailable: boolean;
  log: Logger;
  producer: string;
  now: () => Date;
  /** A claim's lease: a worker that dies mid-report frees it after this long. */
  leaseMs: number;
  /** How long a report waits for its files' evidence before it is held. */
  evidenceWaitMs: number;
  retryInitialMs: number;
  retryMaxMs: number;
}

export type FilingOutcome =
  | { kind: 'idle' }
  | { kind: 'filed'; reportId: string; externalReportId: string }
  | { kind: 'held'; reportId: string; reason: string }
  | { kind: 'retry'; reportId: string; reason: string; delayMs: number };

export async function fileNextReport(ctx: FilingContext): Promise<FilingOutcome> {
  const claimed = await claimNextReport(ctx.pool, ctx.leaseMs);
  if (claimed === null) return { kind: 'idle' };
  const log = ctx.log.child({ reportId: claimed.id, attempt: claimed.attempts });
  try {
    return await fileClaimed(ctx, claimed, log);
  } catch (err) {
    const delayMs = backoff(ctx, claimed.attempts);
    log.error({ err }, 'report filing failed; will retry');
    await markRetry(ctx.pool, claimed.id, `reporter_error: ${(err as Error)?.message ?? String(err)}`, delayMs);
    return { kind: 'retry', reportId: claimed.id, reason: 'reporter_error', delayMs };
  }
}

async function fileClaimed(ctx: FilingContext, claimed: ClaimedReport, log: Logger): Promise<FilingOutcome> {
  const hold = async (reason: string): Promise<FilingOutcome> => {
    await withTransaction(ctx.pool, (client) => markHeld(client, claimed.id, reason, claimed.attempts, ctx));
    log.warn({ reason }, 'report held for a person');
    return { kind: 'held', reportId: claimed.id, reason };
  };
  const later = async (reason: string, delayMs = backoff(ctx, claimed.attempts)): Promise<FilingOutcome> => {
    await markRetry(ctx.pool, claimed.id, reason, delayMs);
    return { kind: 'retry', reportId: claimed.id, reason, delayMs };
  };

  // A finish was sent and its answer lost: finishing the same submission again is safe; a new
  // submission is not (it would file the report twice).
  if (claimed.submissionStage === 'finishing' && claimed.submissionId !== null) {
    return finish(ctx, claimed, claimed.submissionId, null, log, hold, later);
  }
  // An earlier attempt opened a submission and died before finishing: withdraw it, start over.
  if (claimed.submissionStage === 'opened' && claimed.submissionId !== null) {
    try {
      await ctx.sink.retract(claimed.submissionId);
    } catch (err) {
      if (err instanceof SinkError && err.transient) return later(`retract_failed: ${err.message}`);
      log.warn({ err }, 'retract of the abandoned submission refused; starting a new one');
    }
    await recordStage(ctx.pool, claimed.id, null, null, ctx.sink.kind);
  }

  const files = await loadReportFiles(ctx.pool, claimed.id);
  const built = buildReport({
    reportId: claimed.id,
    priority: claimed.priority,
    tenantId: claimed.tenantId,
    accountId: claimed.accountId,
    files: files.map((f) => ({ reportRequestId: f.reportRequestId, request: f.request, evidence: f.evidence, viewedByPerson: f.viewedByPerson })),
    reporter: ctx.reporter,
    publiclyAvailable: ctx.publiclyAvailable,
  });
  if (built.kind === 'held') return hold(built.reason);
  if (built.kind === 'waiting') {
    if (ctx.now().getTime() - claimed.createdAt.getTime() > ctx.evidenceWaitMs) return hold(`${built.reason} after ${Math.round(ctx.evidenceWaitMs / 1000)} s`);
    return later(built.reason, 2000);
  }

  let submissionId: string;
  try {
    ({ submissionId } = await ctx.sink.open(claimed.id, built.report));
  } catch (err) {
    return sinkFailure(err, 'open', hold, later);
  }
  await recordStage(ctx.pool, claimed.id, 'opened', submissionId, ctx.sink.kind);
  try {
    for (const file of built.files) {
      const { fileId } = await ctx.sink.addFile(submissionId, {
        ...file,
        read: async () =>
          (
            await readEvidence(
              { pool: ctx.pool, store: ctx.store },
              {
                evidenceId: file.evidenceId,
                actor: `service:${ctx.producer}`,
                scope: `report:${claimed.id}`,
                reason: `CyberTipline submission of report ${claimed.id} (18 U.S.C. 2258A)`,
              },
            )
          ).bytes,
      });
      await recordFileSent(ctx.pool, file.reportRequestId, fileId);
    }
  } catch (err) {
    try {
      await ctx.sink.retract(submissionId);
      await recordStage(ctx.pool, claimed.id, null, null, ctx.sink.kind);
    } catch (retractErr) {
      // Left as `opened`: the next attempt retracts it before starting over.
      log.warn({ err: retractErr }, 'retract failed; the next attempt retracts first');
    }
    return sinkFailure(err, 'file', hold, later);
  }
  return finish(ctx, claimed, submissionId, built.report, log, hold, later);
}

async function finish(
  ctx: FilingContext,
  claimed: ClaimedReport,
  submissionId: string,
  report: unknown,
  log: Logger,
  hold: (reason: string) => Promise<FilingOutcome>,
  later: (reason: string, delayMs?: number) => Promise<FilingOutcome>,
): Promise<FilingOutcome> {
  await recordStage(ctx.pool, claimed.id, 'finishing', submissionId, ctx.sink.kind);
  let externalReportId: string;
  try {
    ({ externalReportId } = await ctx.sink.finish(submissionId));
  } catch (err) {
    if (err instanceof SinkError && err.transient) return later(`finish_unconfirmed: ${err.message}`);
    return hold(`finish_unconfirmed: submission ${submissionId} may or may not be filed (${(err as Error).message}); confirm with the receiver before requeueing`);
  }
  await withTransaction(ctx.pool, (client) => markFiled(client, claimed.id, { externalReportId, sink: ctx.sink.kind, payload: report ?? {} }, ctx));
  log.info({ externalReportId, sink: ctx.sink.kind }, 'report filed');
  return { kind: 'filed', reportId: claimed.id, externalReportId };
}

function sinkFailure(err: unknown, step: string, hold: (reason: string) => Promise<FilingOutcome>, later: (reason: string) => Promise<FilingOutcome>): Promise<FilingOutcome> {
  if (err instanceof SinkError) return err.transient ? later(`${step}: ${err.message}`) : hold(`refused: ${err.message}`);
  throw err;
}

function backoff(ctx: FilingContext, attempts: number): number {
  const ceiling = Math.min(ctx.retryMaxMs, ctx.retryInitialMs * 2 ** Math.max(0, attempts - 1));
  return Math.round(ceiling / 2 + (Math.random() * ceiling) / 2);
}
