// OutboxSink (the default): writes each report as the XML NcmecSink would send, the fileDetails
// XML per file and a JSON copy, into <dir>/<reportId>/, for manual submission on the CyberTipline
// site. It holds no image bytes: the preserved files stay in the vault, read through the audited
// `vigil evidence read`. A report directory appears whole (written aside, then renamed).

import { access, mkdir, rename, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { fileDetailsXml, reportXml, type CyberTiplineReport } from './cybertip-xml.ts';
import { SinkError, type ReportSink, type SinkFile } from './report-sink.ts';

interface Pending {
  reportId: string;
  report: CyberTiplineReport;
  files: Array<{ fileId: string; reportRequestId: string; evidenceId: string; details: SinkFile['details'] }>;
}

export class OutboxSink implements ReportSink {
  readonly kind = 'outbox';
  private readonly pending = new Map<string, Pending>();

  private readonly dir: string;

  constructor(dir: string) {
    this.dir = dir;
  }

  async open(reportId: string, report: CyberTiplineReport): Promise<{ submissionId: string }> {
    const submissionId = `outbox:${reportId}`;
    this.pending.set(submissionId, { reportId, report, files: [] });
    return { submissionId };
  }

  async addFile(submissionId: string, file: SinkFile): Promise<{ fileId: string }> {
    const pending = this.get(submissionId);
    const fileId = `file-${pending.files.length + 1}`;
    pending.files.push({ fileId, reportRequestId: file.reportRequestId, evidenceId: file.evidenceId, details: file.details });
    return { fileId };
  }

  async finish(submissionId: string): Promise<{ externalReportId: string }> {
    const final = join(this.dir, safeName(submissionId.replace(/^outbox:/, '')));
    const pending = this.pending.get(submissionId);
    if (pending === undefined) {
      // A finish repeated after a restart: done if the directory is there; otherwise the open
      // submission died with the process and a person decides (the report is held, not lost).
      if (await exists(join(final, 'report.json'))) return { externalReportId: submissionId };
      throw new SinkError('outbox: the open submission was lost before it was written', false);
    }
    const staging = `${final}.partial`;
    await rm(staging, { recursive: true, force: true });
    await mkdir(staging, { recursive: true, mode: 0o700 });
    await writeFile(join(staging, 'report.xml'), reportXml(pending.report), { mode: 0o600 });
    for (const file of pending.files) await writeFile(join(staging, `${file.fileId}.fileinfo.xml`), fileDetailsXml('(assigned by NCMEC)', '(assigned by NCMEC)', file.details), { mode: 0o600 });
    const json = { reportId: pending.reportId, writtenAt: new Date().toISOString(), report: pending.report, files: pending.files };
    await writeFile(join(staging, 'report.json'), `${JSON.stringify(json, null, 2)}\n`, { mode: 0o600 });
    await rm(final, { recursive: true, force: true });
    await rename(staging, final);
    this.pending.delete(submissionId);
    return { externalReportId: submissionId };
  }

  async retract(submissionId: string): Promise<void> {
    this.pending.delete(submissionId);
  }

  private get(submissionId: string): Pending {
    const pending = this.pending.get(submissionId);
    if (pending === undefined) throw new Error(`outbox: no open submission ${submissionId}`);
    return pending;
  }
}

function safeName(id: string): string {
  return id.replace(/[^A-Za-z0-9._-]/g, '_');
}

async function exists(path: string): Promise<boolean> {
  return access(path).then(
    () => true,
    () => false,
  );
}
