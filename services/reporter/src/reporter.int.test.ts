// The reporter against Postgres, the filesystem vault and the real actioner and evidence
// handlers: grouping per account and incident window, content dedupe, CSAM first, holds with a
// reason, the OutboxSink's files, and NcmecSink against the local CyberTipline stand-in with
// audited evidence reads and a retried finish that files once.

import { mkdtemp, readFile, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createEvidenceHandlers, readEvidence } from '@vigil/evidence';
import { silentLogger, withTransaction } from '@vigil/db';
import { XMLParser } from 'fast-xml-parser';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { EVIDENCE_BUCKET, openHarness, outboxEvents, postgres, quarantineMatch, type Harness, type Quarantined } from '../../evidence/test/fixtures.ts';
import { startFakeNcmec, type FakeNcmec } from '../test/fake-ncmec.ts';
import type { ReporterIdentity } from './build-report.ts';
import { NcmecSink } from './ncmec-sink.ts';
import { OutboxSink } from './outbox-sink.ts';
import { listReports } from './report-records.ts';
import { confirmManualSubmission } from './report-queue.ts';
import type { ReportSink } from './report-sink.ts';
import { createReporter } from './reporter-service.ts';

const parser = new XMLParser({ ignoreAttributes: false, attributeNamePrefix: '@_', parseTagValue: false, isArray: (n) => ['originalFileHash', 'ipCaptureEvent'].includes(n) });
const IDENTITY: ReporterIdentity = { reportingPerson: { firstName: 'Ada', lastName: 'Lovelace', email: 'trust@example.org' }, companyName: 'Example Hosting' };

describe.skipIf(!postgres.available)('reporter', () => {
  let h: Harness;
  let evidence: ReturnType<typeof createEvidenceHandlers>;
  let outboxDir: string;
  let api: FakeNcmec;

  beforeAll(async () => {
    h = await openHarness();
    evidence = createEvidenceHandlers({ pool: h.pool, store: h.store, evidenceBucket: EVIDENCE_BUCKET, retention: { days: 365 }, logger: silentLogger });
    outboxDir = await mkdtemp(join(tmpdir(), 'vigil-report-outbox-'));
    api = await startFakeNcmec();
  });
  afterAll(async () => {
    await api?.close();
    await h?.close();
    if (outboxDir) await rm(outboxDir, { recursive: true, force: true });
  });

  const reporterWith = (sink: ReportSink, identity: ReporterIdentity = IDENTITY) =>
    createReporter({ pool: h.pool, store: h.store, sink, reporter: identity, logger: silentLogger, groupDelayMs: 0, retryInitialMs: 10, retryMaxMs: 20, evidenceWaitMs: 60_000 });

  async function matched(name: string, options: { accountId: string; category?: string | null; bytes?: Uint8Array; preserve?: boolean }): Promise<Quarantined> {
    const q = await quarantineMatch(h, { name, ...options });
    if (options.preserve ?? true) expect(await evidence.handleRequested(q.evidenceRequested)).toEqual({ kind: 'done' });
    return q;
  }

  async function drain(reporter: { fileNext(): Promise<{ kind: string }> }): Promise<string[]> {
    const kinds: string[] = [];
    for (let i = 0; i < 20; i++) {
      const outcome = await reporter.fileNext();
      if (outcome.kind === 'idle') break;
      kinds.push(outcome.kind);
    }
    return kinds;
  }

  it('files one report per account and window with all its files, content deduplicated, into the outbox', async () => {
    const reporter = reporterWith(new OutboxSink(outboxDir));
    const a1 = await matched('acct1-a', { accountId: 'acct-1' });
    const a2 = await matched('acct1-b', { accountId: 'acct-1' });
    const again = await matched('acct1-a-again', { accountId: 'acct-1', bytes: a1.bytes });
    const b1 = await matched('acct2-a', { accountId: 'acct-2' });
    for (const q of [a1, a2, again, b1]) {
      expect(await reporter.handleRequested(q.reportRequested)).toEqual({ kind: 'done' });
      expect(await reporter.handleRequested(q.reportRequested)).toEqual({ kind: 'done' });
    }
    expect(await drain(reporter)).toEqual(['filed', 'filed']);

    const reports = await listReports(h.pool, { status: 'filed' });
    const mine = reports.filter((r) => ['acct-1', 'acct-2'].includes(r.accountId ?? ''));
    expect(mine.map((r) => [r.accountId, r.files, r.duplicates, r.sink]).sort()).toEqual([['acct-1', 2, 1, 'outbox'], ['acct-2', 1, 0, 'outbox']]);
    const report1 = mine.find((r) => r.accountId === 'acct-1')!;

    const dir = join(outboxDir, report1.id);
    expect((await readdir(dir)).sort()).toEqual(['file-1.fileinfo.xml', 'file-2.fileinfo.xml', 'report.json', 'report.xml']);
    const xml = parser.parse(await readFile(join(dir, 'report.xml'), 'utf8')).report;
    expect(xml.incidentSummary.incidentType).toBe('Child Pornography (possession, manufacture, and distribution)');
    expect(xml.reporter.reportingPerson.email).toBe('trust@example.org');
    expect(xml.personOrUserReported.espIdentifier).toBe('acct-1');
    expect(xml.personOrUserReported.ipCaptureEvent).toHaveLength(2);
    const info = parser.parse(await readFile(join(dir, 'file-1.fileinfo.xml'), 'utf8')).fileDetails;
    expect(info).toMatchObject({ originalFileName: 'photo.jpg', fileViewedByEsp: 'false', exifViewedByEsp: 'false', industryClassification: 'A1' });
    expect(info.originalFileHash.map((x: { '@_hashType': string }) => x['@_hashType'])).toEqual(['SHA256', 'PDQ']);
    const json = JSON.parse(await readFile(join(dir, 'report.json'), 'utf8'));
    expect(json.files).toHaveLength(2);

    // report.filed.v1 for every covered request, the duplicate included, with the report's id.
    const filed = (await outboxEvents(h.pool, 'report.filed.v1')).filter((e) => e.payload.reportId === report1.id);
    expect(filed.map((e) => e.payload.reportRequestId).sort()).toEqual([a1, a2, again].map((q) => q.reportRequested.payload.reportRequestId).sort());
    expect(new Set(filed.map((e) => e.payload.externalReportId))).toEqual(new Set([`outbox:${report1.id}`]));
    // The outbox sink uploads nothing, so nothing read the evidence bytes.
    expect((await h.pool.query(`SELECT count(*)::int AS n FROM audit_log WHERE action = 'evidence.read'`)).rows[0].n).toBe(0);

    // The evidence clock starts at the outbox filing, then moves to NCMEC's receipt once an
    // operator records the manual submission.
    for (const e of filed) expect(await evidence.handleFiled(e)).toEqual({ kind: 'done' });
    const before = (await h.pool.query('SELECT retain_until, external_report_id FROM evidence_items WHERE match_id = $1', [a1.matchId])).rows[0];
    expect(before.external_report_id).toBe(`outbox:${report1.id}`);
    const receivedAt = new Date(Date.now() + 5 * 24 * 3600 * 1000);
    expect(await withTransaction(h.pool, (c) => confirmManualSubmission(c, report1.id, { externalReportId: '5550123', receivedAt, actor: 'cli:ops' }, 'reporter'))).toBe(true);
    const confirmed = (await outboxEvents(h.pool, 'report.filed.v1')).filter((e) => e.payload.externalReportId === '5550123');
    expect(confirmed).toHaveLength(3);
    for (const e of confirmed) expect(await evidence.handleFiled(e)).toEqual({ kind: 'done' });
    const after = (await h.pool.query('SELECT retain_until, external_report_id, reported_at FROM evidence_items WHERE match_id = $1', [a1.matchId])).rows[0];
    expect(after).toEqual({ retain_until: new Date(receivedAt.getTime() + 365 * 24 * 3600 * 1000), external_report_id: '5550123', reported_at: receivedAt });
    expect(after.retain_until.getTime()).toBeGreaterThan(before.retain_until.getTime());
  });

  it('works CSAM first, and holds what cannot be filed with its reason', async () => {
    const reporter = reporterWith(new OutboxSink(outboxDir));
    const other = await matched('other-cat', { accountId: 'acct-3', category: 'terrorism' });
    const csam = await matched('csam-later', { accountId: 'acct-4' });
    await reporter.handleRequested(other.reportRequested);
    await reporter.handleRequested(csam.reportRequested);
    const first = await reporter.fileNext();
    expect(first).toMatchObject({ kind: 'filed' });
    const second = await reporter.fileNext();
    expect(second).toMatchObject({ kind: 'held', reason: expect.stringContaining('not_reportable') });
    const held = await listReports(h.pool, { status: 'held' });
    expect(held.find((r) => r.accountId === 'acct-3')).toMatchObject({ priority: 'other', heldReason: expect.stringContaining('terrorism') });
    const heldEvent = (await outboxEvents(h.pool, 'report.filed.v1')).find((e) => e.payload.reportRequestId === other.reportRequested.payload.reportRequestId);
    expect(heldEvent?.payload).toMatchObject({ status: 'held', reason: expect.stringContaining('not_reportable') });

    // Without the reporting person configured, a CSAM report is held, not dropped.
    const incomplete = reporterWith(new OutboxSink(outboxDir), { reportingPerson: { firstName: 'Ada' } });
    const q = await matched('no-reporter', { accountId: 'acct-5' });
    await incomplete.handleRequested(q.reportRequested);
    expect(await incomplete.fileNext()).toMatchObject({ kind: 'held', reason: expect.stringContaining('lastName, email') });
  });

  it('waits for evidence before filing', async () => {
    const reporter = reporterWith(new OutboxSink(outboxDir));
    const q = await matched('late-evidence', { accountId: 'acct-6', preserve: false });
    await reporter.handleRequested(q.reportRequested);
    expect(await reporter.fileNext()).toMatchObject({ kind: 'retry', reason: expect.stringContaining('evidence_missing') });
    await evidence.handleRequested(q.evidenceRequested);
    await h.pool.query(`UPDATE reports SET next_attempt_at = now() WHERE account_id = 'acct-6'`);
    expect(await reporter.fileNext()).toMatchObject({ kind: 'filed' });
  });

  it('files through the CyberTipline API with audited reads, and a retried finish files once', async () => {
    const sink = new NcmecSink({ baseUrl: api.url, username: api.username, password: api.password, attempts: 2, initialBackoffMs: 5, maxBackoffMs: 10 });
    const reporter = reporterWith(sink);
    const viewed = await matched('api-viewed', { accountId: 'acct-7' });
    const unseen = await matched('api-unseen', { accountId: 'acct-7' });
    // A person opened one file before the report went out (audited): the report says so.
    const viewedId = (await h.pool.query('SELECT id FROM evidence_items WHERE match_id = $1', [viewed.matchId])).rows[0].id;
    await readEvidence({ pool: h.pool, store: h.store }, { evidenceId: viewedId, actor: 'user:moderator-1', scope: 'review', reason: 'confirming the match' });
    await reporter.handleRequested(viewed.reportRequested);
    await reporter.handleRequested(unseen.reportRequested);

    api.fail('finish', { status: 503 });
    api.fail('finish', { status: 503 });
    const submitsBefore = api.calls.filter((c) => c === 'submit').length;
    expect(await reporter.fileNext()).toMatchObject({ kind: 'retry', reason: expect.stringContaining('finish_unconfirmed') });
    await h.pool.query(`UPDATE reports SET next_attempt_at = now() WHERE account_id = 'acct-7'`);
    const filed = await reporter.fileNext();
    expect(filed).toMatchObject({ kind: 'filed' });
    expect(api.calls.filter((c) => c === 'submit').length).toBe(submitsBefore + 1);
    const externalId = (filed as { externalReportId: string }).externalReportId;
    const received = api.reports.get(externalId)!;
    expect(received.finished).toBe(true);
    expect(received.files).toHaveLength(2);
    const byViewed = Object.fromEntries(received.files.map((f) => [f.details!.fileViewedByEsp, f.details]));
    expect(Object.keys(byViewed).sort()).toEqual(['false', 'true']);
    expect(byViewed.true).toMatchObject({ exifViewedByEsp: 'true', ipCaptureEvent: [{ ipAddress: '203.0.113.77', eventName: 'Upload' }] });
    expect(api.violations).toEqual([]);

    // Each upload read the evidence through the audited path, as the reporter, for this report.
    const reportId = (await listReports(h.pool, { status: 'filed' })).find((r) => r.accountId === 'acct-7')!.id;
    const reads = await h.pool.query(`SELECT actor, details->>'scope' AS scope FROM audit_log WHERE action = 'evidence.read' AND actor = 'service:reporter'`);
    expect(reads.rows).toEqual([{ actor: 'service:reporter', scope: `report:${reportId}` }, { actor: 'service:reporter', scope: `report:${reportId}` }]);
    const row = (await h.pool.query('SELECT external_report_id, submission_stage FROM reports WHERE id = $1', [reportId])).rows[0];
    expect(row).toEqual({ external_report_id: externalId, submission_stage: null });
  });
});
