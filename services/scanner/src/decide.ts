// The verdict of one scan from its list matches: pure, no I/O. The strongest action wins
// (block > quarantine > review); allow lists suppress false positives; unscannable content goes
// by the per-source policy (fail-closed `block`, or pass with a `review` flag).

import type { Match } from '@vigil/matching';
import type { UnscannableReason } from '@vigil/hashing';

export type Action = 'block' | 'quarantine' | 'review';
export type UnscannablePolicy = 'block' | 'review';

export type Decision =
  | { verdict: 'clean'; blocked: false; review: false; hits: []; allowHits: Match[]; suppressed: Match[]; decisive: Match | null }
  | { verdict: 'matched'; action: Action; blocked: boolean; review: boolean; hits: Match[]; allowHits: Match[]; suppressed: Match[]; decisive: Match }
  | { verdict: 'unscannable'; reason: UnscannableReason; blocked: boolean; review: boolean; hits: []; allowHits: Match[]; suppressed: Match[]; decisive: null };

const STRENGTH: Record<Action, number> = { block: 3, quarantine: 2, review: 1 };

export interface DecideInput {
  matches: readonly Match[];
  /** Set when the pixels could not be hashed (exact digests may still have matched). */
  unscannable?: UnscannableReason;
  unscannablePolicy: UnscannablePolicy;
}

export function decide({ matches, unscannable, unscannablePolicy }: DecideInput): Decision {
  const allowHits = matches.filter((m) => m.action === 'allow');
  const actionable = matches.filter((m) => m.action !== 'allow');
  const suppressed = actionable.filter((hit) => allowHits.some((allow) => suppresses(allow, hit)));
  const hits = actionable.filter((hit) => !suppressed.includes(hit)).sort(byStrength);

  if (hits.length > 0) {
    const decisive = hits[0]!;
    const action = decisive.action as Action;
    return { verdict: 'matched', action, blocked: action !== 'review', review: action === 'review', hits, allowHits, suppressed, decisive };
  }
  if (unscannable) {
    const block = unscannablePolicy === 'block';
    return { verdict: 'unscannable', reason: unscannable, blocked: block, review: !block, hits: [], allowHits, suppressed, decisive: null };
  }
  return { verdict: 'clean', blocked: false, review: false, hits: [], allowHits, suppressed, decisive: allowHits[0] ?? null };
}

/**
 * Whether an allow-list hit overrides a list hit. An allow hit on the exact bytes (a digest, or
 * distance 0) says "this very content is known benign" and overrides everything. A near allow hit
 * overrides only near hits of its own algorithm that are no closer than it: the content is at
 * least as close to the known-benign image as to the listed one. It never overrides an exact
 * digest hit, which identifies the listed file itself.
 */
export function suppresses(allow: Match, hit: Match): boolean {
  if (allow.variant === 'exact' || allow.distance === 0) return true;
  if (hit.variant === 'exact') return false;
  return allow.algorithm === hit.algorithm && allow.distance <= hit.distance;
}

function byStrength(a: Match, b: Match): number {
  return STRENGTH[b.action as Action] - STRENGTH[a.action as Action] || a.distance - b.distance;
}

/** The answer a hosting product acts on at upload time. */
export function checkVerdict(decision: Decision): 'allow' | 'block' | 'review' | 'unscannable' {
  switch (decision.verdict) {
    case 'clean':
      return 'allow';
    case 'unscannable':
      return 'unscannable';
    case 'matched':
      return decision.blocked ? 'block' : 'review';
  }
}
