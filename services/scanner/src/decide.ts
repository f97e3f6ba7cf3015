// The verdict of one scan from its list matches: pure, no I/O. First the fused detection rule
// keeps the hits that count (extra queries under their caps, near misses only when another
// algorithm corroborates them, unstable PDQ alone only when near-exact); then the strongest action wins
// (block > quarantine > review); allow lists suppress false positives; unscannable content goes
// by the per-source policy (fail-closed `block`, or pass with a `review` flag).

import type { Match } from '@vigil/matching';
import { PDQ_QUALITY_FLOOR, type UnscannableReason } from '@vigil/hashing';

export type Action = 'block' | 'quarantine' | 'review';
export type UnscannablePolicy = 'block' | 'review';

export type Decision =
  | { verdict: 'clean'; blocked: false; review: false; hits: []; allowHits: Match[]; suppressed: Match[]; decisive: Match | null }
  | { verdict: 'matched'; action: Action; blocked: boolean; review: boolean; hits: Match[]; allowHits: Match[]; suppressed: Match[]; decisive: Match }
  | { verdict: 'unscannable'; reason: UnscannableReason; blocked: boolean; review: boolean; hits: []; allowHits: Match[]; suppressed: Match[]; decisive: null };

const STRENGTH: Record<Action, number> = { block: 3, quarantine: 2, review: 1 };

/**
 * How hits across algorithms, query sources and PDQ quality become one verdict. Each list keeps
 * its own threshold (manifest); the rule only narrows extra queries, admits corroborated near
 * misses and guards unstable PDQ. Defaults (DEFAULT_DETECTION_RULE) were chosen on the dev
 * corpus to flag no distractor: docs/detection-quality.md.
 */
export interface DetectionRule {
  /** Match the content region of framed images (borders, letterboxing, screenshot chrome, a picture turned a few degrees). */
  region: boolean;
  /** Crop compensation: PDQ re-expanded as the centre `kept` share of a larger original. */
  uncrop: readonly number[];
  /**
   * Downscale compensation: the PDQ of a small image as if each (whole) factor times larger, a
   * copy shared at half or a quarter size hashed at its original's size. Its hits pair with the
   * canonical blockhash (blockhash is computed on a block grid, so scale does not move it).
   */
  upscale: readonly number[];
  /**
   * Overlay compensation: PDQ with overlaid caption text (a watermark, a credit line) left out, and
   * apart from it with a faint watermark over the whole picture unblended, at the image's size and
   * at `upscale`'s.
   */
  overlay: boolean;
  /** Extra queries' caps. */
  extraMax: {
    /**
     * A content-region hit counts alone within min(list threshold, its cap) bits, beyond that only
     * corroborated. Dev corpus: the nearest distractor region sits 38 bits (PDQ) and 6 bits
     * (blockhash) from any entry, against 34 and 4 for the canonical hashes.
     */
    region: { pdq: number; blockhash: number };
    /**
     * A crop-compensated PDQ counts within its list's threshold + `beyond` bits, `max` at most:
     * unrelated images land much farther from a re-expanded hash than from a plain one (dev
     * corpus: no distractor within 48 bits, against 34 for the plain hash), and a strict list
     * (a lower threshold) stays stricter here too.
     */
    uncrop: { beyond: number; max: number };
    /**
     * A downscale-compensated PDQ counts alone within min(list threshold, this), beyond that only
     * corroborated: each factor is one more query near every small image's own hash, so it keeps
     * one step more margin than the canonical hash (2 bits: a PDQ hash has half its bits set, so
     * distances are almost always even).
     */
    upscale: number;
    /**
     * A text-free PDQ counts alone within the list threshold + `beyond`, `max` at most, like crop
     * compensation: it fires only where a caption line is found (a fifth of the dev corpus's
     * distractors) and its nearest distractor sits 58 bits from any entry. Never paired: there is
     * no blockhash of that view.
     */
    overlay: { beyond: number; max: number };
    /**
     * The same for the view with a faint watermark unblended, with a smaller step past the
     * threshold: the unblending fires on half of unrelated images (textures have thin light and
     * dark detail too), and its nearest distractor on the dev corpus sits 34 bits from an entry
     * (a repainted derivative of a known picture).
     */
    watermark: { beyond: number; max: number };
  };
  /**
   * Near misses: PDQ and blockhash hits up to `pdq` / `blockhash` bits beyond their lists'
   * thresholds, which count only in pairs (both algorithms, the same entry id, the same query)
   * whose excesses over the thresholds lie inside `box` or together stay within
   * `pdq excess + blockhashWeight x blockhash excess <= weightedMax`. The two hashes err
   * independently, so a pair far out on one needs to be close on the other. `pdq` also sets the
   * radius of every PDQ search (threshold + pdq), and the exact index slows as it grows (1e6
   * hashes: 0.39 ms a query at 37 bits, 0.53 at 41, 1.15 at 56), so the default stops at +10
   * (dev corpus: in-scope recall 0.818 there, 0.821 at +25).
   */
  corroboration: { pdq: number; blockhash: number; box: { pdq: number; blockhash: number }; blockhashWeight: number; weightedMax: number };
  /**
   * A PDQ below Meta's quality floor (unstable: a flat image, or a flat view of one: its region,
   * crop, downscale or text-free view) counts alone within this many bits only (and within its
   * view's own cap), beyond them only corroborated, where its view pairs. -1: such PDQ is not
   * queried at all.
   */
  lowQualityPdqMax: number;
}

/** The operating point chosen on the dev corpus (zero distractors flagged): docs/detection-quality.md. */
export const DEFAULT_DETECTION_RULE: DetectionRule = Object.freeze({
  region: true,
  uncrop: Object.freeze([0.95, 0.9, 0.8]),
  upscale: Object.freeze([2, 4]),
  overlay: true,
  extraMax: Object.freeze({ region: Object.freeze({ pdq: 31, blockhash: 2 }), uncrop: Object.freeze({ beyond: 5, max: 36 }), upscale: 29, overlay: Object.freeze({ beyond: 5, max: 36 }), watermark: Object.freeze({ beyond: 1, max: 32 }) }),
  corroboration: Object.freeze({ pdq: 10, blockhash: 16, box: Object.freeze({ pdq: 6, blockhash: 16 }), blockhashWeight: 2, weightedMax: 27 }),
  lowQualityPdqMax: 16,
});

export interface DecideInput {
  matches: readonly Match[];
  /** The fused rule; without one, matches count as the lists report them (near misses never). */
  rule?: DetectionRule;
  /** Quality of the content's canonical PDQ hash, for `rule.lowQualityPdqMax`. */
  pdqQuality?: number;
  /** Set when the pixels could not be hashed (exact digests may still have matched). */
  unscannable?: UnscannableReason;
  unscannablePolicy: UnscannablePolicy;
}

export function decide({ matches: reported, rule, pdqQuality, unscannable, unscannablePolicy }: DecideInput): Decision {
  const matches = rule ? applyRule(reported, rule, pdqQuality) : reported.filter((m) => !m.nearMiss);
  const allowHits = matches.filter((m) => m.action === 'allow');
  const actionable = matches.filter((m) => m.action !== 'allow');
  const suppressed = actionable.filter((hit) => allowHits.some((allow) => suppresses(allow, hit)));
  const hits = onePerEntry(actionable.filter((hit) => !suppressed.includes(hit)).sort(byStrength));

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
 * The hits that count under the fused rule. A hit that counts only because the other algorithm
 * hit the same entry is kept with `corroborated` set; the corroborating hit is kept too, so the
 * evidence shows both distances.
 */
export function applyRule(matches: readonly Match[], rule: DetectionRule, pdqQuality?: number): Match[] {
  const ranked = matches.map((m) => ({ m, standing: standing(m, rule, pdqQuality) })).filter(({ standing }) => standing !== 'out');
  // Pairs: the same entry id (lists delivering several hashes per item share it), the same view, the same side (allow or not).
  const pairKey = (m: Match) => (m.entryId === null ? null : `${m.action === 'allow'}|${pairedView(m)}|${m.entryId}`);
  // Per pair key, the smallest excess over its list's threshold of each perceptual algorithm.
  const excessByKey = new Map<string, { pdq: number; blockhash: number }>();
  for (const { m } of ranked) {
    const key = pairKey(m);
    if (key === null || (m.algorithm !== 'pdq' && m.algorithm !== 'blockhash')) continue;
    const excess = excessByKey.get(key) ?? { pdq: Infinity, blockhash: Infinity };
    excess[m.algorithm] = Math.min(excess[m.algorithm], Math.max(0, m.distance - m.threshold));
    excessByKey.set(key, excess);
  }
  const { box, blockhashWeight, weightedMax } = rule.corroboration;
  const paired = (m: Match) => {
    const key = pairKey(m);
    const excess = key === null ? undefined : excessByKey.get(key);
    if (!excess || excess.pdq === Infinity || excess.blockhash === Infinity) return false;
    return (excess.pdq <= box.pdq && excess.blockhash <= box.blockhash) || excess.pdq + blockhashWeight * excess.blockhash <= weightedMax;
  };
  const out: Match[] = [];
  for (const { m, standing } of ranked) {
    if (standing === 'paired' && !paired(m)) continue;
    out.push(standing === 'paired' ? { ...m, corroborated: true } : m);
  }
  return out;
}

/**
 * What a hit can do under the rule: count `alone`, count only when `paired` with the other
 * perceptual algorithm on the same entry, or nothing (`out`).
 */
function standing(m: Match, rule: DetectionRule, pdqQuality: number | undefined): 'alone' | 'paired' | 'out' {
  const margin = m.algorithm === 'pdq' ? rule.corroboration.pdq : m.algorithm === 'blockhash' ? rule.corroboration.blockhash : 0;
  if (m.distance > m.threshold + margin) return 'out';
  // Unstable PDQ (flat images, flat views) alone only near-exact, further out only where it can pair.
  const unstable = m.algorithm === 'pdq' && (m.query === undefined ? pdqQuality !== undefined && pdqQuality < PDQ_QUALITY_FLOOR : m.unstable === true);
  const within = (cap: number) => m.distance <= (unstable ? Math.min(cap, rule.lowQualityPdqMax) : cap);
  if (m.query === 'region') return within(m.algorithm === 'pdq' ? rule.extraMax.region.pdq : rule.extraMax.region.blockhash) && !m.nearMiss ? 'alone' : 'paired';
  if (isUpscaled(m)) return within(rule.extraMax.upscale) && !m.nearMiss ? 'alone' : 'paired';
  // Crop and overlay compensation reach past the list threshold on their own, under their cap; they never pair.
  if (m.query !== undefined) return within(compensationCap(m.threshold, compensation(m.query, rule))) ? 'alone' : 'out';
  if (unstable) return within(m.threshold) && !m.nearMiss ? 'alone' : 'paired';
  return m.nearMiss ? 'paired' : 'alone';
}

/** The cap of a crop-compensated (`uncrop-N`), text-free (`overlay`) or unblended (`watermark`) hit. */
function compensation(query: string, rule: DetectionRule): { beyond: number; max: number } {
  return query === 'overlay' ? rule.extraMax.overlay : query === 'watermark' ? rule.extraMax.watermark : rule.extraMax.uncrop;
}

/** The list threshold + `beyond`, `max` at most: how far crop and overlay compensation count (they never pair). */
export function compensationCap(threshold: number, { beyond, max }: { beyond: number; max: number }): number {
  return Math.min(threshold + beyond, max);
}

/** A downscale-compensated hash: the canonical view at another scale. */
function isUpscaled(m: Match): boolean {
  return m.query?.startsWith('upscale-') ?? false;
}

/** The view a hit pairs within: its query, except that an upscaled PDQ pairs with the canonical blockhash. */
function pairedView(m: Match): string {
  return m.query === undefined || isUpscaled(m) ? '' : m.query;
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

/**
 * The strongest hit of each list entry: the canonical hashes and the extra queries may all find
 * the same known image, and a verdict, a report or an audit names each entry once. Entries
 * without an external id cannot be told apart and are all kept.
 */
function onePerEntry(sorted: Match[]): Match[] {
  const seen = new Set<string>();
  return sorted.filter((hit) => {
    if (hit.entryId === null) return true;
    const key = `${hit.listId}\u0000${hit.entryId}`;
    if (seen.has(key)) return false;
    seen.add(key);
    return true;
  });
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
