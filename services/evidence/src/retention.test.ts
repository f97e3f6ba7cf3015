import { describe, expect, it } from 'vitest';
import { addDays, checkRetentionPolicy, initialRetention, retentionFromReceipt } from './retention.ts';

const policy = { days: 365 };
const at = new Date('2025-03-01T00:00:00Z');

describe('retention clock', () => {
  it('is provisional from preservation until a report is received', () => {
    expect(initialRetention(policy, at, null)).toEqual({ retainUntil: new Date('2026-03-01T00:00:00Z'), basis: 'provisional' });
  });

  it('counts from the receipt when it is known, never earlier than the provisional date', () => {
    expect(initialRetention(policy, at, new Date('2025-03-05T00:00:00Z'))).toEqual({ retainUntil: new Date('2026-03-05T00:00:00Z'), basis: 'report_receipt' });
    expect(initialRetention(policy, at, new Date('2025-02-01T00:00:00Z')).retainUntil).toEqual(addDays(at, 365));
  });

  it('only extends', () => {
    const current = new Date('2026-06-01T00:00:00Z');
    expect(retentionFromReceipt(policy, current, new Date('2025-03-05T00:00:00Z'))).toBe(current);
    expect(retentionFromReceipt(policy, current, new Date('2025-07-01T00:00:00Z'))).toEqual(new Date('2026-07-01T00:00:00Z'));
  });

  it('refuses a policy shorter than the statutory year', () => {
    expect(() => checkRetentionPolicy({ days: 90 })).toThrow(/at least 365 days/);
    expect(checkRetentionPolicy({ days: 730 })).toEqual({ days: 730 });
  });
});
