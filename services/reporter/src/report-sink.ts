// The ReportSink port: where a built report goes. The reporter drives one sequence per report:
// open (the report document), addFile per file, finish; retract when anything fails between open
// and finish. Between the steps it records how far it got (submission id, stage), so a retried
// report resumes or retracts instead of being filed twice.

import type { CyberTiplineReport, FileDetails } from './cybertip-xml.ts';

export interface SinkFile {
  reportRequestId: string;
  evidenceId: string;
  details: FileDetails;
  /** The preserved bytes, through the audited evidence read (only sinks that upload call it). */
  read(): Promise<Uint8Array>;
}

export interface ReportSink {
  /** Stored with the report: `ncmec`, `outbox`. */
  readonly kind: string;
  /** Sends the report document; answers the sink's id for the open submission. */
  open(reportId: string, report: CyberTiplineReport): Promise<{ submissionId: string }>;
  /** Sends one file and its details. */
  addFile(submissionId: string, file: SinkFile): Promise<{ fileId: string }>;
  /**
   * Completes the submission; answers the id the receiver files it under. Safe to call again for
   * the same submission (a finish whose answer was lost): it never makes a second report.
   */
  finish(submissionId: string): Promise<{ externalReportId: string }>;
  /** Withdraws an open (unfinished) submission. Best effort; idempotent. */
  retract(submissionId: string): Promise<void>;
}

/** A sink failure: `transient` ones are retried with backoff, the others hold the report. */
export class SinkError extends Error {
  override readonly name = 'SinkError';
  readonly transient: boolean;
  constructor(message: string, transient: boolean, options?: { cause?: unknown }) {
    super(message, options);
    this.transient = transient;
  }
}
