// Incident windows and report ids. Pure. One report per (tenant, account, incident window): the
// window is a fixed slot of the detection time (default one day), so every file an account had
// matched in that slot goes into one report; files arriving after that report left start the
// slot's next report (seq 2, 3, ...).

import { createHash } from 'node:crypto';
import { nameBasedUuid } from '@vigil/events';

export const DEFAULT_WINDOW_MS = 24 * 60 * 60 * 1000;
const MAX_ID = 200;

export function windowStart(detectedAt: Date, windowMs: number): Date {
  return new Date(Math.floor(detectedAt.getTime() / windowMs) * windowMs);
}

export function incidentKey(tenantId: string, accountId: string | null, start: Date, seq: number): string {
  return capped(`${tenantId}:${accountId ?? 'unknown'}:${start.toISOString()}:${seq}`, 'k');
}

/**
 * Readable and safe as a file name (the outbox writes a directory per report): other characters
 * become `-`, and a short digest of the exact tuple keeps two accounts that differ only there apart.
 */
export function reportIdFor(tenantId: string, accountId: string | null, start: Date, seq: number): string {
  const safe = (text: string) => text.replace(/[^A-Za-z0-9._-]/g, '-');
  const account = accountId ?? 'unknown';
  const digest = createHash('sha256').update(JSON.stringify([tenantId, account, start.toISOString(), seq])).digest('hex').slice(0, 8);
  return capped(`rp_${safe(tenantId)}_${safe(account)}_${start.toISOString().slice(0, 19).replace(/[-:]/g, '')}_${seq}_${digest}`, 'rp');
}

function capped(value: string, prefix: string): string {
  return value.length <= MAX_ID ? value : `${prefix}_h${createHash('sha256').update(value, 'utf8').digest('hex').slice(0, 40)}`;
}

/** A name-based uuid (v5 layout): the same event id on every redo, which the outbox skips. */
export function uuidFromName(name: string): string {
  return nameBasedUuid('vigil-reporter', name);
}
