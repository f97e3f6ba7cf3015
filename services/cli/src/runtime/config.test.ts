import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DEFAULT_DETECTION_RULE } from '@vigil/scanner';
import { describe, expect, it } from 'vitest';
import { loadRuntimeConfig } from './config.ts';

describe('evidence and reporting configuration', () => {
  it('defaults to a year of retention and the outbox under VIGIL_HOME', () => {
    const config = loadRuntimeConfig({ VIGIL_HOME: '/srv/vigil' });
    expect(config.evidence).toEqual({ bucket: 'vigil-evidence', retentionDays: 365, expiryIntervalMs: 60 * 60 * 1000 });
    expect(config.reports.sink).toEqual({ kind: 'outbox', dir: '/srv/vigil/reports-outbox' });
    expect(config.reports.reporter).toEqual({ reportingPerson: {} });
  });

  it('refuses retention shorter than the statutory year', () => {
    expect(() => loadRuntimeConfig({ VIGIL_EVIDENCE_RETENTION_DAYS: '90' })).toThrow(/VIGIL_EVIDENCE_RETENTION_DAYS/);
  });

  it('needs credentials for the NCMEC sink and picks the test endpoint unless told otherwise', () => {
    expect(() => loadRuntimeConfig({ VIGIL_REPORT_SINK: 'ncmec' })).toThrow(/NCMEC_USERNAME and NCMEC_PASSWORD/);
    const creds = { VIGIL_REPORT_SINK: 'ncmec', NCMEC_USERNAME: 'u', NCMEC_PASSWORD: 'p' };
    expect(loadRuntimeConfig(creds).reports.sink).toEqual({ kind: 'ncmec', baseUrl: 'https://exttest.cybertip.org/ispws', username: 'u', password: 'p' });
    expect(loadRuntimeConfig({ ...creds, NCMEC_ENV: 'production' }).reports.sink).toMatchObject({ baseUrl: 'https://report.cybertip.org/ispws' });
  });
});

describe('metrics listener configuration', () => {
  it('listens on 127.0.0.1:9464 by default; 0 picks a free port; off turns it off', () => {
    expect(loadRuntimeConfig({}).metrics).toEqual({ host: '127.0.0.1', port: 9464 });
    expect(loadRuntimeConfig({ VIGIL_METRICS_PORT: '0', VIGIL_METRICS_HOST: '0.0.0.0' }).metrics).toEqual({ host: '0.0.0.0', port: 0 });
    expect(loadRuntimeConfig({ VIGIL_METRICS_PORT: 'off' }).metrics).toEqual({ host: '127.0.0.1', port: null });
  });

  it('refuses a port that is not one', () => {
    expect(() => loadRuntimeConfig({ VIGIL_METRICS_PORT: '70000' })).toThrow(/VIGIL_METRICS_PORT/);
    expect(() => loadRuntimeConfig({ VIGIL_METRICS_PORT: 'yes' })).toThrow(/VIGIL_METRICS_PORT/);
  });

  it('joins list deltas of up to 10 000 entries past the threshold unless told otherwise', () => {
    expect(loadRuntimeConfig({}).retroWideMaxDelta).toBe(10_000);
    expect(loadRuntimeConfig({ VIGIL_RETRO_WIDE_MAX_DELTA: '0' }).retroWideMaxDelta).toBe(0);
    expect(() => loadRuntimeConfig({ VIGIL_RETRO_WIDE_MAX_DELTA: '-1' })).toThrow(/VIGIL_RETRO_WIDE_MAX_DELTA/);
  });
});

describe('detection rule configuration', () => {
  it('runs the default rule unless VIGIL_DETECTION_RULE names a file or holds the overrides', () => {
    expect(loadRuntimeConfig({}).detection).toMatchObject({ rule: DEFAULT_DETECTION_RULE, source: 'default' });
    const file = join(mkdtempSync(join(tmpdir(), 'vigil-rule-')), 'rule.json');
    writeFileSync(file, JSON.stringify({ overlay: false, extraMax: { upscale: 27 } }));
    expect(loadRuntimeConfig({ VIGIL_DETECTION_RULE: file }).detection).toMatchObject({ source: file, rule: { overlay: false, region: true, extraMax: { upscale: 27, uncrop: { beyond: 5 } } } });
    expect(loadRuntimeConfig({ VIGIL_DETECTION_RULE: '{"region": false}' }).detection).toMatchObject({ source: 'inline', rule: { region: false } });
  });
  it('refuses a rule it cannot honour at boot, naming the variable', () => {
    expect(() => loadRuntimeConfig({ VIGIL_DETECTION_RULE: '{"extraMax": {"upscale": 99}}' })).toThrow(/^configuration: VIGIL_DETECTION_RULE: detection rule: extraMax\.upscale/);
    expect(() => loadRuntimeConfig({ VIGIL_DETECTION_RULE: '/nonexistent/rule.json' })).toThrow(/VIGIL_DETECTION_RULE: detection rule: cannot read/);
  });
});
