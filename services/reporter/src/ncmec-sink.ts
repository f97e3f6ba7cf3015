// NcmecSink: the CyberTipline reporting API (https://report.cybertip.org/ispws; the test
// environment is https://exttest.cybertip.org/ispws). Basic auth. Sequence: POST /submit (report
// XML) -> reportId; per file POST /upload (multipart id + file) -> fileId and the MD5 NCMEC
// received, checked; POST /fileinfo (fileDetails XML); POST /finish; POST /retract on error.
// Transient failures (network, 5xx, 429) are retried with exponential backoff and jitter; an
// API answer with a non-zero responseCode is a refusal. Never logs credentials or bytes.

import { createHash } from 'node:crypto';
import { setTimeout as delay } from 'node:timers/promises';
import { fileDetailsXml, parseResponse, reportXml, type CyberTipResponse, type CyberTiplineReport } from './cybertip-xml.ts';
import { SinkError, type ReportSink, type SinkFile } from './report-sink.ts';

export const NCMEC_ENDPOINTS = {
  test: 'https://exttest.cybertip.org/ispws',
  production: 'https://report.cybertip.org/ispws',
} as const;

export interface NcmecSinkConfig {
  /** Base URL of the API (NCMEC_ENDPOINTS.test or .production, or a local server in tests). */
  baseUrl: string;
  username: string;
  password: string;
  /** Attempts per request including the first (default 4). */
  attempts?: number;
  initialBackoffMs?: number;
  maxBackoffMs?: number;
  /** Per request (default 60 s; uploads of large files need it). */
  timeoutMs?: number;
  fetch?: typeof fetch;
}

export class NcmecSink implements ReportSink {
  readonly kind = 'ncmec';
  private readonly base: string;
  private readonly auth: string;
  private readonly attempts: number;
  private readonly initialBackoffMs: number;
  private readonly maxBackoffMs: number;
  private readonly timeoutMs: number;
  private readonly fetch: typeof fetch;

  constructor(config: NcmecSinkConfig) {
    this.base = config.baseUrl.replace(/\/+$/, '');
    this.auth = `Basic ${Buffer.from(`${config.username}:${config.password}`).toString('base64')}`;
    this.attempts = config.attempts ?? 4;
    this.initialBackoffMs = config.initialBackoffMs ?? 500;
    this.maxBackoffMs = config.maxBackoffMs ?? 15_000;
    this.timeoutMs = config.timeoutMs ?? 60_000;
    this.fetch = config.fetch ?? fetch;
  }

  async open(_reportId: string, report: CyberTiplineReport): Promise<{ submissionId: string }> {
    const answer = await this.call('submit', () => xmlBody(reportXml(report)));
    if (answer.reportId === null) throw new SinkError('submit: the answer has no reportId', false);
    return { submissionId: answer.reportId };
  }

  async addFile(submissionId: string, file: SinkFile): Promise<{ fileId: string }> {
    const bytes = await file.read();
    const md5 = createHash('md5').update(bytes).digest('hex');
    const uploaded = await this.call('upload', () => {
      const form = new FormData();
      form.set('id', submissionId);
      form.set('file', new Blob([bytes]), file.details.originalFileName);
      return { body: form };
    });
    if (uploaded.fileId === null) throw new SinkError('upload: the answer has no fileId', false);
    // NCMEC answers the MD5 of what it received: a torn upload is retried, never filed.
    if (uploaded.hash !== null && uploaded.hash.toLowerCase() !== md5) throw new SinkError('upload: NCMEC received different bytes (MD5 differs)', true);
    await this.call('fileinfo', () => xmlBody(fileDetailsXml(submissionId, uploaded.fileId!, file.details)));
    return { fileId: uploaded.fileId };
  }

  async finish(submissionId: string): Promise<{ externalReportId: string }> {
    const answer = await this.call('finish', () => formBody({ id: submissionId }));
    return { externalReportId: answer.reportId ?? submissionId };
  }

  async retract(submissionId: string): Promise<void> {
    await this.call('retract', () => formBody({ id: submissionId }));
  }

  /** One API call with retries on transient failures; a refusal (responseCode != 0) is final. */
  private async call(operation: string, body: () => { body: string | FormData; contentType?: string }): Promise<CyberTipResponse> {
    let lastError: SinkError | undefined;
    for (let attempt = 1; attempt <= this.attempts; attempt++) {
      if (attempt > 1) {
        const ceiling = Math.min(this.maxBackoffMs, this.initialBackoffMs * 2 ** (attempt - 2));
        await delay(ceiling / 2 + (Math.random() * ceiling) / 2);
      }
      try {
        return await this.once(operation, body());
      } catch (err) {
        if (!(err instanceof SinkError) || !err.transient) throw err;
        lastError = err;
      }
    }
    throw lastError!;
  }

  private async once(operation: string, request: { body: string | FormData; contentType?: string }): Promise<CyberTipResponse> {
    let response: Response;
    try {
      response = await this.fetch(`${this.base}/${operation}`, {
        method: 'POST',
        headers: { authorization: this.auth, ...(request.contentType ? { 'content-type': request.contentType } : {}) },
        body: request.body,
        signal: AbortSignal.timeout(this.timeoutMs),
      });
    } catch (err) {
      throw new SinkError(`${operation}: ${(err as Error).name === 'TimeoutError' ? 'timed out' : 'network error'}`, true, { cause: err });
    }
    const text = await response.text().catch(() => '');
    if (response.status === 429 || response.status >= 500) throw new SinkError(`${operation}: HTTP ${response.status}`, true);
    if (response.status === 401 || response.status === 403) throw new SinkError(`${operation}: HTTP ${response.status} (check NCMEC credentials)`, false);
    const answer = parseResponse(text);
    if (answer === null) throw new SinkError(`${operation}: HTTP ${response.status} without a CyberTipline answer`, response.status >= 400 ? false : true);
    if (answer.responseCode !== 0) throw new SinkError(`${operation}: refused (${answer.responseCode} ${answer.responseDescription})`.slice(0, 500), false);
    return answer;
  }
}

function xmlBody(xml: string): { body: string; contentType: string } {
  return { body: xml, contentType: 'text/xml; charset=utf-8' };
}

function formBody(fields: Record<string, string>): { body: FormData } {
  const form = new FormData();
  for (const [name, value] of Object.entries(fields)) form.set(name, value);
  return { body: form };
}
