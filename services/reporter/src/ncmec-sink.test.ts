// NcmecSink against a local CyberTipline stand-in: the request sequence, the XML it sends,
// retries on transient failures, refusals as final, and retract.

import { createHash, randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startFakeNcmec, type FakeNcmec } from '../test/fake-ncmec.ts';
import { INCIDENT_CSAM, type CyberTiplineReport, type FileDetails } from './cybertip-xml.ts';
import { NcmecSink } from './ncmec-sink.ts';
import { SinkError, type SinkFile } from './report-sink.ts';

const report: CyberTiplineReport = {
  incidentSummary: { incidentType: INCIDENT_CSAM, incidentDateTime: '2025-06-01T12:00:00.000Z' },
  reporter: { reportingPerson: { firstName: 'Ada', lastName: 'Lovelace', email: 'ts@example.org' } },
  personOrUserReported: { espIdentifier: 'account-42', ipCaptureEvents: [{ ipAddress: '203.0.113.7', eventName: 'Upload', dateTime: '2025-06-01T11:59:00.000Z' }] },
};

function file(name: string): SinkFile & { bytes: Buffer } {
  const bytes = randomBytes(2048);
  const details: FileDetails = {
    originalFileName: name, fileViewedByEsp: false, exifViewedByEsp: false, publiclyAvailable: false, fileRelevance: 'Reported',
    originalFileHashes: [{ hashType: 'MD5', value: createHash('md5').update(bytes).digest('hex') }], ipCaptureEvents: [],
  };
  return { reportRequestId: `rr-${name}`, evidenceId: `ev-${name}`, details, bytes, read: async () => bytes };
}

describe('NcmecSink', () => {
  let api: FakeNcmec;
  let sink: NcmecSink;
  beforeAll(async () => {
    api = await startFakeNcmec();
    sink = new NcmecSink({ baseUrl: api.url, username: api.username, password: api.password, initialBackoffMs: 5, maxBackoffMs: 20 });
  });
  afterAll(async () => api?.close());

  it('submits, uploads each file with its details, and finishes, in that order', async () => {
    const files = [file('a.jpg'), file('b.png')];
    const { submissionId } = await sink.open('rp-1', report);
    for (const f of files) await sink.addFile(submissionId, f);
    const { externalReportId } = await sink.finish(submissionId);
    expect(externalReportId).toBe(submissionId);
    const received = api.reports.get(submissionId)!;
    expect(api.calls.slice(-6)).toEqual(['submit', `upload:${submissionId}`, `fileinfo:${submissionId}`, `upload:${submissionId}`, `fileinfo:${submissionId}`, `finish:${submissionId}`]);
    expect(received.report.personOrUserReported.espIdentifier).toBe('account-42');
    expect(received.files.map((f) => [f.name, f.md5])).toEqual(files.map((f) => [f.details.originalFileName, createHash('md5').update(f.bytes).digest('hex')]));
    expect(received.files[0]!.details).toMatchObject({ originalFileName: 'a.jpg', fileViewedByEsp: 'false', fileRelevance: 'Reported' });
    expect(api.violations).toEqual([]);
  });

  it('retries transient failures with backoff and treats refusals as final', async () => {
    api.fail('upload', { status: 503 });
    api.fail('upload', { status: 502 });
    const { submissionId } = await sink.open('rp-2', report);
    await sink.addFile(submissionId, file('c.jpg'));
    expect(api.calls.filter((c) => c.startsWith('upload')).slice(-3)).toEqual(['upload:http-503', 'upload:http-502', `upload:${submissionId}`]);

    api.fail('fileinfo', { responseCode: 3000 });
    const refused = await sink.addFile(submissionId, file('d.jpg')).catch((err: unknown) => err);
    expect(refused).toBeInstanceOf(SinkError);
    expect(refused).toMatchObject({ transient: false, message: expect.stringContaining('3000') });
    await sink.retract(submissionId);
    expect(api.reports.get(submissionId)).toMatchObject({ retracted: true, finished: false });

    for (let i = 0; i < 4; i++) api.fail('submit', { status: 500 });
    await expect(sink.open('rp-3', report)).rejects.toMatchObject({ transient: true });
    expect(api.violations).toEqual([]);
  });

  it('never sends with wrong credentials silently', async () => {
    const wrong = new NcmecSink({ baseUrl: api.url, username: 'x', password: 'y', initialBackoffMs: 1 });
    await expect(wrong.open('rp-4', report)).rejects.toMatchObject({ transient: false, message: expect.stringContaining('401') });
    api.violations.length = 0;
  });
});
