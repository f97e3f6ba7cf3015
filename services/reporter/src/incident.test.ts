import { describe, expect, it } from 'vitest';
import { incidentKey, reportIdFor, windowStart } from './incident.ts';

const DAY = 24 * 60 * 60 * 1000;

describe('incident windows', () => {
  it('puts detections of one day in one window', () => {
    expect(windowStart(new Date('2025-06-01T23:59:59Z'), DAY)).toEqual(new Date('2025-06-01T00:00:00Z'));
    expect(windowStart(new Date('2025-06-02T00:00:00Z'), DAY)).toEqual(new Date('2025-06-02T00:00:00Z'));
  });

  it('makes report ids safe as file names and distinct per exact account', () => {
    const start = new Date('2025-06-01T00:00:00Z');
    const a = reportIdFor('t', 'cli:root', start, 1);
    const b = reportIdFor('t', 'cli-root', start, 1);
    expect(a).toMatch(/^[A-Za-z0-9._-]+$/);
    expect(a).not.toBe(b);
    expect(reportIdFor('t', 'x'.repeat(300), start, 1).length).toBeLessThanOrEqual(200);
    expect(incidentKey('t', null, start, 2)).toBe('t:unknown:2025-06-01T00:00:00.000Z:2');
  });
});
