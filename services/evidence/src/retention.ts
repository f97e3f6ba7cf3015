// The retention clock. Pure. 18 U.S.C. 2258A(h) (REPORT Act of 2024): preserve a report's
// contents for one year after the report is submitted. Before a report exists we keep a
// provisional date (policy days from preservation); the report's receipt then moves it to
// receipt + policy days. Retention only ever extends: COMPLIANCE-mode Object Lock cannot be
// shortened, and the database trigger refuses it too.

export const DEFAULT_RETENTION_DAYS = 365;
const DAY_MS = 24 * 60 * 60 * 1000;

export type RetentionBasis = 'provisional' | 'report_receipt';

export interface RetentionPolicy {
  /** Days to keep evidence after the report's receipt (at least 365; longer if policy says so). */
  days: number;
}

export function addDays(at: Date, days: number): Date {
  return new Date(at.getTime() + days * DAY_MS);
}

/** The date a new item is locked until: provisional, or from a receipt already known. */
export function initialRetention(policy: RetentionPolicy, preservedAt: Date, receiptAt: Date | null): { retainUntil: Date; basis: RetentionBasis } {
  const provisional = addDays(preservedAt, policy.days);
  if (receiptAt === null) return { retainUntil: provisional, basis: 'provisional' };
  const fromReceipt = addDays(receiptAt, policy.days);
  return { retainUntil: laterOf(provisional, fromReceipt), basis: 'report_receipt' };
}

/** The new date once a report's receipt is known; never earlier than the current one. */
export function retentionFromReceipt(policy: RetentionPolicy, current: Date, receiptAt: Date): Date {
  return laterOf(current, addDays(receiptAt, policy.days));
}

function laterOf(a: Date, b: Date): Date {
  return a.getTime() >= b.getTime() ? a : b;
}

/** Refuses policies shorter than the statutory year (a misconfiguration, not a choice). */
export function checkRetentionPolicy(policy: RetentionPolicy): RetentionPolicy {
  if (!Number.isInteger(policy.days) || policy.days < DEFAULT_RETENTION_DAYS) {
    throw new Error(`evidence retention must be at least ${DEFAULT_RETENTION_DAYS} days (18 U.S.C. 2258A(h)), got ${policy.days}`);
  }
  return policy;
}
