// How a report request is prioritised, labelled and deduplicated from a match's hits. Pure.
// Child safety first: anything not positively labelled as another category is treated as CSAM.

import { createHash } from 'node:crypto';
import type { Payload } from '@vigil/events';

type MatchFound = Payload<'match.found.v1'>;
type Hit = MatchFound['matches'][number];

/** Labels lists use for child sexual abuse material or exploitation (csam, cse, cse-a, child_*). */
const CSAM_LIKE = /csam|cse|child/i;

/** A category that says for certain the hit is not CSAM (terrorism, ncii, ...). */
function isKnownOtherCategory(category: string | null): boolean {
  if (category === null) return false;
  const label = category.trim();
  return label !== '' && label.toLowerCase() !== 'unknown' && !CSAM_LIKE.test(label);
}

/**
 * 'other' only when every hit is positively labelled with a non-CSAM category; one unlabelled,
 * unknown or CSAM-like hit makes the whole report 'csam' (the front of the queue).
 */
export function reportPriority(hits: readonly Hit[]): 'csam' | 'other' {
  return hits.length > 0 && hits.every((hit) => isKnownOtherCategory(hit.category)) ? 'other' : 'csam';
}

/** The first hit's category that is set, in hit order (the scanner orders hits strongest first). */
export function reportCategory(hits: readonly Hit[]): string | null {
  return hits.find((hit) => hit.category !== null)?.category ?? null;
}

const MAX_KEY = 200;

/**
 * One report per (tenant, uploader, content). Uploads without an account share 'unknown'.
 * Ids are capped at 200 characters; a longer key is replaced by its sha256, still deterministic.
 */
export function reportDedupeKey(payload: Pick<MatchFound, 'object' | 'uploader' | 'hashes'>): string {
  const key = `${payload.object.tenantId}:${payload.uploader?.accountId ?? 'unknown'}:${payload.hashes.sha256}`;
  return key.length <= MAX_KEY ? key : `h:${createHash('sha256').update(key, 'utf8').digest('hex')}`;
}
