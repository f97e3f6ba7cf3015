// The CyberTipline report model and its XML (NCMEC's ISP reporting schema): the report sent to
// /submit, the fileDetails sent to /fileinfo per file, and the responses the API answers with.
// Pure. Elements are written in the schema's order; text is escaped by the builder.

import { XMLBuilder, XMLParser } from 'fast-xml-parser';

/** The incident type for apparent child sexual abuse material (18 U.S.C. 2258A(a)(2)). */
export const INCIDENT_CSAM = 'Child Pornography (possession, manufacture, and distribution)';

export interface IpCaptureEvent {
  ipAddress: string;
  /** The schema's event names: Login, Registration, Purchase, Upload, Other, Unknown. */
  eventName: 'Upload' | 'Login' | 'Registration' | 'Purchase' | 'Other' | 'Unknown';
  dateTime: string;
}

export interface ReportingPerson {
  firstName: string;
  lastName: string;
  email: string;
  phone?: string;
}

export interface CyberTiplineReport {
  incidentSummary: { incidentType: string; incidentDateTime: string };
  reporter: { reportingPerson: ReportingPerson; companyName?: string };
  personOrUserReported?: {
    espIdentifier?: string;
    espService?: string;
    ipCaptureEvents: IpCaptureEvent[];
    additionalInfo?: string;
  };
  additionalInfo?: string;
}

export interface FileHash {
  /** MD5, SHA1, SHA256, PDQ. */
  hashType: string;
  value: string;
}

export interface FileDetails {
  originalFileName: string;
  locationOfFile?: string;
  /** A person at the provider opened the file (from the audit log). */
  fileViewedByEsp: boolean;
  exifViewedByEsp: boolean;
  publiclyAvailable: boolean;
  fileRelevance: 'Reported' | 'Supplemental Reported';
  /** The industry classification (A1, A2, B1, B2) when the list's category gives it. */
  industryClassification?: 'A1' | 'A2' | 'B1' | 'B2';
  originalFileHashes: FileHash[];
  ipCaptureEvents: IpCaptureEvent[];
  additionalInfo?: string;
}

const builder = new XMLBuilder({ ignoreAttributes: false, attributeNamePrefix: '@_', textNodeName: '#text', format: true, indentBy: '  ', suppressEmptyNode: true });
const DECLARATION = '<?xml version="1.0" encoding="UTF-8"?>\n';

function ipEvents(events: readonly IpCaptureEvent[]) {
  return events.map((e) => ({ ipAddress: e.ipAddress, eventName: e.eventName, dateTime: e.dateTime }));
}

export function reportXml(report: CyberTiplineReport): string {
  const person = report.reporter.reportingPerson;
  const reported = report.personOrUserReported;
  const body = {
    report: {
      '@_xmlns:xsi': 'http://www.w3.org/2001/XMLSchema-instance',
      '@_xsi:noNamespaceSchemaLocation': 'https://report.cybertip.org/ispws/xsd',
      incidentSummary: { incidentType: report.incidentSummary.incidentType, incidentDateTime: report.incidentSummary.incidentDateTime },
      reporter: {
        reportingPerson: { firstName: person.firstName, lastName: person.lastName, email: person.email, ...(person.phone ? { phone: person.phone } : {}) },
        ...(report.reporter.companyName ? { companyTemplate: report.reporter.companyName } : {}),
      },
      ...(reported
        ? {
            personOrUserReported: {
              ...(reported.espIdentifier ? { espIdentifier: reported.espIdentifier } : {}),
              ...(reported.espService ? { espService: reported.espService } : {}),
              ...(reported.ipCaptureEvents.length > 0 ? { ipCaptureEvent: ipEvents(reported.ipCaptureEvents) } : {}),
              ...(reported.additionalInfo ? { additionalInfo: reported.additionalInfo } : {}),
            },
          }
        : {}),
      ...(report.additionalInfo ? { additionalInfo: report.additionalInfo } : {}),
    },
  };
  return DECLARATION + builder.build(body);
}

export function fileDetailsXml(reportId: string, fileId: string, file: FileDetails): string {
  const body = {
    fileDetails: {
      reportId,
      fileId,
      originalFileName: file.originalFileName,
      ...(file.locationOfFile ? { locationOfFile: file.locationOfFile } : {}),
      fileViewedByEsp: String(file.fileViewedByEsp),
      exifViewedByEsp: String(file.exifViewedByEsp),
      publiclyAvailable: String(file.publiclyAvailable),
      fileRelevance: file.fileRelevance,
      ...(file.industryClassification ? { industryClassification: file.industryClassification } : {}),
      originalFileHash: file.originalFileHashes.map((h) => ({ '@_hashType': h.hashType, '#text': h.value })),
      ...(file.ipCaptureEvents.length > 0 ? { ipCaptureEvent: ipEvents(file.ipCaptureEvents) } : {}),
      ...(file.additionalInfo ? { additionalInfo: file.additionalInfo } : {}),
    },
  };
  return DECLARATION + builder.build(body);
}

export interface CyberTipResponse {
  responseCode: number;
  responseDescription: string;
  reportId: string | null;
  fileId: string | null;
  hash: string | null;
}

const parser = new XMLParser({ ignoreAttributes: true, parseTagValue: false });

/** Any of the API's answers (reportResponse, reportDoneResponse); null when it is not one. */
export function parseResponse(xml: string): CyberTipResponse | null {
  let doc: Record<string, unknown>;
  try {
    doc = parser.parse(xml) as Record<string, unknown>;
  } catch {
    return null;
  }
  const root = (doc.reportResponse ?? doc.reportDoneResponse) as Record<string, unknown> | undefined;
  if (root === undefined || root.responseCode === undefined) return null;
  const text = (v: unknown) => (v === undefined || v === null || v === '' ? null : String(v));
  const files = root.files as Record<string, unknown> | undefined;
  return {
    responseCode: Number(root.responseCode),
    responseDescription: text(root.responseDescription) ?? '',
    reportId: text(root.reportId),
    fileId: text(root.fileId) ?? text(files?.fileId),
    hash: text(root.hash),
  };
}

/** A list category's industry classification: `A1`, `csam-b2`, `industry:A2` ... */
export function industryClassification(category: string | null): FileDetails['industryClassification'] {
  const found = category?.toUpperCase().match(/(?:^|[^A-Z0-9])([AB][12])(?:$|[^A-Z0-9])/);
  return (found?.[1] as FileDetails['industryClassification']) ?? undefined;
}
