// A local stand-in for the CyberTipline reporting API, for tests: checks Basic auth, the request
// sequence per report (submit, then upload + fileinfo per file, then finish; retract allowed
// after submit), and the XML shape of what it receives, which it keeps for assertions. Faults can
// be queued per operation (an HTTP status, or a non-zero responseCode).

import { createHash } from 'node:crypto';
import { createServer, type IncomingMessage, type Server } from 'node:http';
import { XMLParser } from 'fast-xml-parser';

export interface ReceivedReport {
  id: string;
  reportXml: string;
  report: Record<string, any>;
  files: Array<{ fileId: string; name: string; md5: string; size: number; details?: Record<string, any>; detailsXml?: string }>;
  finished: boolean;
  retracted: boolean;
}

export interface FakeNcmec {
  url: string;
  username: string;
  password: string;
  /** Every call in order: `submit`, `upload:<reportId>`, ... */
  calls: string[];
  reports: Map<string, ReceivedReport>;
  /** Problems the server saw (wrong order, bad XML, bad auth); tests expect none. */
  violations: string[];
  fail(operation: string, fault: { status?: number; responseCode?: number }): void;
  close(): Promise<void>;
}

const parser = new XMLParser({ ignoreAttributes: false, attributeNamePrefix: '@_', parseTagValue: false, isArray: (name) => ['originalFileHash', 'ipCaptureEvent'].includes(name) });

const answer = (fields: Record<string, string | number>, root = 'reportResponse') =>
  `<?xml version="1.0" encoding="UTF-8"?><${root}>${Object.entries(fields).map(([k, v]) => `<${k}>${v}</${k}>`).join('')}</${root}>`;

export async function startFakeNcmec(): Promise<FakeNcmec> {
  const username = 'esp-user';
  const password = 'esp-secret';
  const calls: string[] = [];
  const reports = new Map<string, ReceivedReport>();
  const violations: string[] = [];
  const faults = new Map<string, Array<{ status?: number; responseCode?: number }>>();
  let nextId = 100_000;

  const server: Server = createServer(async (req, res) => {
    const body = await readBody(req);
    const operation = (req.url ?? '').replace(/^\/ispws\//, '').replace(/\?.*$/, '');
    const reply = (status: number, xml: string) => {
      res.writeHead(status, { 'content-type': 'text/xml' });
      res.end(xml);
    };
    if (req.headers.authorization !== `Basic ${Buffer.from(`${username}:${password}`).toString('base64')}`) {
      violations.push(`${operation}: bad or missing Basic auth`);
      return reply(401, '');
    }
    const fault = faults.get(operation)?.shift();
    if (fault?.status) {
      calls.push(`${operation}:http-${fault.status}`);
      return reply(fault.status, '<html>busy</html>');
    }
    if (fault?.responseCode) {
      calls.push(`${operation}:refused`);
      return reply(200, answer({ responseCode: fault.responseCode, responseDescription: 'Refused by test' }));
    }
    try {
      if (operation === 'submit') {
        if (!String(req.headers['content-type']).startsWith('text/xml')) violations.push('submit: content-type is not text/xml');
        const doc = parser.parse(body.toString('utf8'));
        if (!doc.report?.incidentSummary?.incidentType || !doc.report?.incidentSummary?.incidentDateTime) violations.push('submit: incidentSummary incomplete');
        if (!doc.report?.reporter?.reportingPerson?.email) violations.push('submit: reporter.reportingPerson.email missing');
        const id = String(nextId++);
        reports.set(id, { id, reportXml: body.toString('utf8'), report: doc.report, files: [], finished: false, retracted: false });
        calls.push('submit');
        return reply(200, answer({ responseCode: 0, responseDescription: 'Success', reportId: id }));
      }
      if (operation === 'fileinfo') {
        const doc = parser.parse(body.toString('utf8'));
        const details = doc.fileDetails;
        const report = reports.get(String(details?.reportId));
        const file = report?.files.find((f) => f.fileId === String(details?.fileId));
        if (!report || !file) violations.push('fileinfo: unknown report or file');
        else if (file.details) violations.push('fileinfo: sent twice for one file');
        else {
          file.details = details;
          file.detailsXml = body.toString('utf8');
        }
        for (const field of ['fileViewedByEsp', 'exifViewedByEsp', 'publiclyAvailable']) {
          if (!['true', 'false'].includes(String(details?.[field]))) violations.push(`fileinfo: ${field} is not a boolean`);
        }
        calls.push(`fileinfo:${details?.reportId}`);
        return reply(200, answer({ responseCode: 0, responseDescription: 'Success', reportId: String(details?.reportId) }));
      }
      const form = await new Request('http://x', { method: 'POST', headers: { 'content-type': String(req.headers['content-type']) }, body }).formData();
      const id = String(form.get('id'));
      const report = reports.get(id);
      if (!report) {
        violations.push(`${operation}: unknown report ${id}`);
        return reply(200, answer({ responseCode: 1000, responseDescription: 'Unknown report' }));
      }
      if (report.finished && operation !== 'finish') violations.push(`${operation}: report ${id} already finished`);
      if (report.retracted) violations.push(`${operation}: report ${id} already retracted`);
      calls.push(`${operation}:${id}`);
      if (operation === 'upload') {
        const file = form.get('file') as File;
        const bytes = Buffer.from(await file.arrayBuffer());
        const fileId = `f-${report.files.length + 1}`;
        const md5 = createHash('md5').update(bytes).digest('hex');
        report.files.push({ fileId, name: file.name, md5, size: bytes.length });
        return reply(200, answer({ responseCode: 0, responseDescription: 'Success', reportId: id, fileId, hash: md5 }));
      }
      if (operation === 'finish') {
        const incomplete = report.files.filter((f) => !f.details);
        if (incomplete.length > 0) violations.push(`finish: ${incomplete.length} file(s) without fileinfo`);
        report.finished = true;
        return reply(200, answer({ responseCode: 0, responseDescription: 'Success', reportId: id }, 'reportDoneResponse'));
      }
      if (operation === 'retract') {
        if (report.finished) violations.push(`retract: report ${id} was finished`);
        report.retracted = true;
        return reply(200, answer({ responseCode: 0, responseDescription: 'Success', reportId: id }));
      }
      violations.push(`unknown operation ${operation}`);
      return reply(404, '');
    } catch (err) {
      violations.push(`${operation}: ${(err as Error).message}`);
      return reply(400, '');
    }
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as { port: number }).port;
  return {
    url: `http://127.0.0.1:${port}/ispws`,
    username,
    password,
    calls,
    reports,
    violations,
    fail(operation, fault) {
      faults.set(operation, [...(faults.get(operation) ?? []), fault]);
    },
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}

async function readBody(req: IncomingMessage): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const chunk of req) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks);
}
