// @vigil/reporter: CyberTipline reports. Requests are grouped per (tenant, account, incident
// window), CSAM first, built into NCMEC's report XML and filed through a ReportSink (the NCMEC
// API, or a local outbox for manual submission); incomplete reports are held with a reason.
// Reads evidence bytes only through the audited evidence read.
export { buildReport, type BuildOutcome, type ReportInput, type ReporterIdentity } from './build-report.ts';
export {
  fileDetailsXml,
  INCIDENT_CSAM,
  industryClassification,
  parseResponse,
  reportXml,
  type CyberTiplineReport,
  type CyberTipResponse,
  type FileDetails,
} from './cybertip-xml.ts';
export { fileNextReport, type FilingContext, type FilingOutcome } from './file-report.ts';
export { DEFAULT_WINDOW_MS, incidentKey, reportIdFor, windowStart } from './incident.ts';
export { NCMEC_ENDPOINTS, NcmecSink, type NcmecSinkConfig } from './ncmec-sink.ts';
export { OutboxSink } from './outbox-sink.ts';
export { listReports, type ReportSummary } from './report-records.ts';
export { confirmManualSubmission, intakeRequest, requeueReport } from './report-queue.ts';
export { SinkError, type ReportSink, type SinkFile } from './report-sink.ts';
export { createReporter, REPORTER_CONSUMER, startReporter, type Reporter, type ReporterOptions } from './reporter-service.ts';
