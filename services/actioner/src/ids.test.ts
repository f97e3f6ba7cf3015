import { describe, expect, it } from 'vitest';
import { eventIdFor, quarantineIdFor, reportRequestIdFor, uuidV5 } from './ids.ts';

describe('ids', () => {
  it('derives record ids from the match id', () => {
    expect(quarantineIdFor('m-1')).toBe('qr_m-1');
    expect(reportRequestIdFor('m-1')).toBe('rr_m-1');
  });

  it('hashes a match id that would push a derived id past 200 characters', () => {
    const long = 'm'.repeat(200);
    expect(quarantineIdFor(long)).toMatch(/^qr_h[0-9a-f]{40}$/);
    expect(quarantineIdFor(long)).toBe(quarantineIdFor(long));
    expect(quarantineIdFor(long)).not.toBe(quarantineIdFor(`${'m'.repeat(199)}n`));
  });

  it('gives each event type of a match its own stable RFC 9562 version-5 uuid', () => {
    const id = eventIdFor('quarantine.applied.v1', 'm-1');
    expect(id).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-5[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
    expect(eventIdFor('quarantine.applied.v1', 'm-1')).toBe(id);
    expect(eventIdFor('report.requested.v1', 'm-1')).not.toBe(id);
    expect(eventIdFor('quarantine.applied.v1', 'm-2')).not.toBe(id);
    expect(uuidV5('x')).not.toBe(uuidV5('y'));
  });
});
