// Deterministic ids for everything the actioner writes about a match, so a redelivered or
// repeated match.found (or a crash and redo) finds the rows and outbox events it already wrote
// instead of making new ones. Pure (hashing only).

import { createHash } from 'node:crypto';
import { nameBasedUuid } from '@vigil/events';

/** Ids travel in events, whose schema caps them at 200 characters. */
const MAX_ID = 200;

/** `<prefix>_<matchId>`, or `<prefix>_h<sha256 prefix>` when that would exceed the cap. */
function derived(prefix: string, matchId: string): string {
  const plain = `${prefix}_${matchId}`;
  if (plain.length <= MAX_ID) return plain;
  return `${prefix}_h${createHash('sha256').update(matchId, 'utf8').digest('hex').slice(0, 40)}`;
}

export const quarantineIdFor = (matchId: string): string => derived('qr', matchId);
export const reviewIdFor = (matchId: string): string => derived('rv', matchId);
export const evidenceRequestIdFor = (matchId: string): string => derived('er', matchId);
export const reportRequestIdFor = (matchId: string): string => derived('rr', matchId);

// Event envelopes need uuids: name-based (RFC 9562 version 5) under a namespace of our own.
const NAMESPACE = Buffer.from('5f0c3a8e4b7d4f21a9e6c2d1b3a47e90', 'hex');

/** The id of the `type` event the actioner publishes for a match: the same on every redo. */
export function eventIdFor(type: string, matchId: string): string {
  return uuidV5(`actioner:${type}:${matchId}`);
}

export function uuidV5(name: string): string {
  return nameBasedUuid(NAMESPACE, name);
}
