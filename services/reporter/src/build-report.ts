// From a queued report's rows to the CyberTipline report and its files, or the reason it must be
// held for a person. Pure. One report per account and incident window: the person reported is
// the account, with an IP capture event per upload that carried an address; each file carries
// its original hashes, whether a person at the provider viewed it (audit log), and the match's
// provenance in its additional information (list ids and versions, never list contents).

import type { Payload } from '@vigil/events';
import { INCIDENT_CSAM, industryClassification, type CyberTiplineReport, type FileDetails, type IpCaptureEvent, type ReportingPerson } from './cybertip-xml.ts';

type ReportRequested = Payload<'report.requested.v1'>;

export interface ReporterIdentity {
  reportingPerson: Partial<ReportingPerson>;
  companyName?: string;
  /** The product named as the service used (espService). */
  espService?: string;
}

export interface ReportFileInput {
  reportRequestId: string;
  request: ReportRequested;
  evidence: { id: string; sha256: string; size: number } | null;
  /** From the audit log: a person (not a service) read the preserved file. */
  viewedByPerson: boolean;
}

export interface ReportInput {
  reportId: string;
  priority: 'csam' | 'other';
  tenantId: string;
  accountId: string | null;
  files: ReportFileInput[];
  reporter: ReporterIdentity;
  publiclyAvailable: boolean;
}

export interface BuiltFile {
  reportRequestId: string;
  evidenceId: string;
  details: FileDetails;
}

export type BuildOutcome =
  | { kind: 'ready'; report: CyberTiplineReport; files: BuiltFile[] }
  | { kind: 'held'; reason: string }
  /** Evidence not preserved yet for some file: try again shortly. */
  | { kind: 'waiting'; reason: string };

const EMAIL = /^[^\s@]+@[^\s@]+\.[^\s@]+$/;

export function buildReport(input: ReportInput): BuildOutcome {
  const person = input.reporter.reportingPerson;
  const missing = (['firstName', 'lastName', 'email'] as const).filter((f) => !person[f]?.trim());
  if (missing.length > 0) return { kind: 'held', reason: `reporter_incomplete: set the reporting person's ${missing.join(', ')} (VIGIL_REPORTER_*)` };
  if (!EMAIL.test(person.email!)) return { kind: 'held', reason: 'reporter_incomplete: the reporting person\'s email is not an address' };
  if (input.priority !== 'csam') {
    const categories = [...new Set(input.files.map((f) => f.request.category ?? 'unknown'))].join(', ');
    return { kind: 'held', reason: `not_reportable: category ${categories} is not child sexual exploitation; route it to the right authority` };
  }
  if (input.files.length === 0) return { kind: 'held', reason: 'no_files: the report has no files' };
  const unpreserved = input.files.filter((f) => f.evidence === null);
  if (unpreserved.length > 0) return { kind: 'waiting', reason: `evidence_missing: ${unpreserved.length} file(s) not preserved yet` };

  const ipEvents: IpCaptureEvent[] = [];
  const userAgents = new Set<string>();
  const files: BuiltFile[] = [];
  for (const file of input.files) {
    const r = file.request;
    const at = r.uploadedAt ?? r.detectedAt;
    const ip = r.uploader?.ip;
    const event: IpCaptureEvent[] = ip ? [{ ipAddress: ip, eventName: 'Upload', dateTime: at }] : [];
    ipEvents.push(...event);
    if (r.uploader?.userAgent) userAgents.add(r.uploader.userAgent);
    const hashes = [
      { hashType: 'MD5', value: r.hashes.md5 },
      { hashType: 'SHA1', value: r.hashes.sha1 },
      { hashType: 'SHA256', value: r.hashes.sha256 },
      { hashType: 'PDQ', value: r.hashes.pdq },
    ].flatMap((h) => (h.value ? [{ hashType: h.hashType, value: h.value }] : []));
    const classification = industryClassification(r.category) ?? r.matches.map((m) => industryClassification(m.category)).find(Boolean);
    files.push({
      reportRequestId: file.reportRequestId,
      evidenceId: file.evidence!.id,
      details: {
        originalFileName: fileName(r.object.key),
        fileViewedByEsp: file.viewedByPerson,
        exifViewedByEsp: file.viewedByPerson,
        publiclyAvailable: input.publiclyAvailable,
        fileRelevance: 'Reported',
        ...(classification ? { industryClassification: classification } : {}),
        originalFileHashes: hashes,
        ipCaptureEvents: event,
        additionalInfo: provenance(r),
      },
    });
  }
  const incidentAt = input.files.map((f) => f.request.uploadedAt ?? f.request.detectedAt).sort()[0]!;
  const account = input.accountId && input.accountId !== 'unknown' ? input.accountId : undefined;
  const reported =
    account || ipEvents.length > 0
      ? {
          ...(account ? { espIdentifier: account } : {}),
          ...(input.reporter.espService ? { espService: input.reporter.espService } : {}),
          ipCaptureEvents: dedupeEvents(ipEvents),
          ...(userAgents.size > 0 ? { additionalInfo: `User agent(s) at upload: ${[...userAgents].join(' | ')}` } : {}),
        }
      : undefined;
  const report: CyberTiplineReport = {
    incidentSummary: { incidentType: INCIDENT_CSAM, incidentDateTime: incidentAt },
    reporter: {
      reportingPerson: {
        firstName: person.firstName!.trim(),
        lastName: person.lastName!.trim(),
        email: person.email!.trim(),
        ...(person.phone?.trim() ? { phone: person.phone.trim() } : {}),
      },
      ...(input.reporter.companyName ? { companyName: input.reporter.companyName } : {}),
    },
    ...(reported ? { personOrUserReported: reported } : {}),
    additionalInfo:
      `${files.length} file(s) uploaded by one account matched known child sexual abuse material hash lists by automated hash matching ` +
      `(Vigil report ${input.reportId}). The files were removed from public access and preserved.`,
  };
  return { kind: 'ready', report, files };
}

function fileName(key: string): string {
  return key.split('/').filter(Boolean).pop() ?? key;
}

function provenance(r: ReportRequested): string {
  const hits = r.matches.map((m) => `${m.listId} v${m.listVersion} ${m.algorithm} distance ${m.distance}/${m.threshold}${m.variant !== 'orig' && m.variant !== 'exact' ? ` (${m.variant})` : ''}`);
  return `Matched by hash: ${hits.join('; ')}. Detected ${r.detectedAt}.`;
}

function dedupeEvents(events: IpCaptureEvent[]): IpCaptureEvent[] {
  const seen = new Set<string>();
  return events.filter((e) => {
    const key = `${e.ipAddress}|${e.dateTime}`;
    if (seen.has(key)) return false;
    seen.add(key);
    return true;
  });
}
