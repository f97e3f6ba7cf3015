import { XMLParser } from 'fast-xml-parser';
import { describe, expect, it } from 'vitest';
import { fileDetailsXml, INCIDENT_CSAM, industryClassification, parseResponse, reportXml, type CyberTiplineReport } from './cybertip-xml.ts';

const parser = new XMLParser({ ignoreAttributes: false, attributeNamePrefix: '@_', parseTagValue: false, isArray: (n) => ['originalFileHash', 'ipCaptureEvent'].includes(n) });

const report: CyberTiplineReport = {
  incidentSummary: { incidentType: INCIDENT_CSAM, incidentDateTime: '2025-06-01T12:00:00.000Z' },
  reporter: { reportingPerson: { firstName: 'Ada', lastName: 'Trust & Safety', email: 'ts@example.org' }, companyName: 'Example <Hosting>' },
  personOrUserReported: {
    espIdentifier: 'account-42',
    ipCaptureEvents: [{ ipAddress: '203.0.113.7', eventName: 'Upload', dateTime: '2025-06-01T11:59:00.000Z' }],
    additionalInfo: 'User agent(s) at upload: curl/8',
  },
  additionalInfo: '2 file(s)',
};

describe('CyberTipline XML', () => {
  it('writes the report in the schema order with escaped text', () => {
    const xml = reportXml(report);
    expect(xml.startsWith('<?xml version="1.0" encoding="UTF-8"?>')).toBe(true);
    expect(xml).toContain('Trust &amp; Safety');
    expect(xml).toContain('Example &lt;Hosting&gt;');
    const doc = parser.parse(xml).report;
    expect(Object.keys(doc).filter((k) => !k.startsWith('@_'))).toEqual(['incidentSummary', 'reporter', 'personOrUserReported', 'additionalInfo']);
    expect(doc.incidentSummary).toEqual({ incidentType: INCIDENT_CSAM, incidentDateTime: '2025-06-01T12:00:00.000Z' });
    expect(doc.reporter.reportingPerson).toEqual({ firstName: 'Ada', lastName: 'Trust & Safety', email: 'ts@example.org' });
    expect(doc.personOrUserReported.ipCaptureEvent).toEqual([{ ipAddress: '203.0.113.7', eventName: 'Upload', dateTime: '2025-06-01T11:59:00.000Z' }]);
  });

  it('writes file details with typed hashes and explicit booleans', () => {
    const xml = fileDetailsXml('4564654', 'f-1', {
      originalFileName: 'photo.jpg',
      fileViewedByEsp: false,
      exifViewedByEsp: false,
      publiclyAvailable: true,
      fileRelevance: 'Reported',
      industryClassification: 'A1',
      originalFileHashes: [{ hashType: 'MD5', value: 'aa' }, { hashType: 'SHA256', value: 'bb' }],
      ipCaptureEvents: [],
      additionalInfo: 'Matched by hash',
    });
    const doc = parser.parse(xml).fileDetails;
    expect(doc).toMatchObject({ reportId: '4564654', fileId: 'f-1', originalFileName: 'photo.jpg', fileViewedByEsp: 'false', exifViewedByEsp: 'false', publiclyAvailable: 'true', industryClassification: 'A1' });
    expect(doc.originalFileHash).toEqual([{ '@_hashType': 'MD5', '#text': 'aa' }, { '@_hashType': 'SHA256', '#text': 'bb' }]);
    expect(doc.ipCaptureEvent).toBeUndefined();
  });

  it('parses the API answers', () => {
    expect(parseResponse('<reportResponse><responseCode>0</responseCode><responseDescription>Success</responseDescription><reportId>4564654</reportId></reportResponse>')).toEqual({
      responseCode: 0, responseDescription: 'Success', reportId: '4564654', fileId: null, hash: null,
    });
    expect(parseResponse('<reportResponse><responseCode>3000</responseCode><responseDescription>Bad XML</responseDescription></reportResponse>')?.responseCode).toBe(3000);
    expect(parseResponse('<html>proxy error</html>')).toBeNull();
  });

  it('reads the industry classification from list categories', () => {
    expect(industryClassification('A1')).toBe('A1');
    expect(industryClassification('csam-b2')).toBe('B2');
    expect(industryClassification('csam')).toBeUndefined();
    expect(industryClassification('ab12')).toBeUndefined();
    expect(industryClassification(null)).toBeUndefined();
  });
});
