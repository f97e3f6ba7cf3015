// The scanner's decision, applied to stored content when a list version arrives after it was
// scanned. The content's stored hashes (canonical, dihedral and every derived view) are queried
// under the detection rule against the version's added entries, as a scan would query the whole
// list; the other perceptual algorithm's lists are consulted when a hit can count only
// corroborated, the allow lists when recording; then `decide`. So stored content that a scan
// would have matched through its content region, crop, downscale or text-free view, or through a
// corroborated near miss, is found when its entry arrives, and nothing a scan would not have
// matched is. Reads list entries; never logs hashes.

import type { Pool } from '@vigil/db';
import { listDescriptor, loadListHeads, loadListMatcher, type ListHead } from '@vigil/lists';
import { ListMatcher, type Match, type MatchAlgorithm } from '@vigil/matching';
import { applyRule, compensationCap, decide, storedHashesOf, toScanQuery, type ContentHashesRow, type Decision, type DetectionRule } from '@vigil/scanner';
import type { DeltaEntry } from './delta-index.ts';

/** Which added entry a delta hit is: kept on the hit as a symbol, so it survives the rule's copies and never reaches an event. */
const ENTRY = Symbol('delta entry');
type DeltaMatch = Match & { [ENTRY]?: number };

export interface StoredContentRow extends ContentHashesRow {
  id: string;
}

export interface RetroVerdict {
  decision: Decision;
  /** The added entries (indexes into the delta) among the hits that count. */
  entries: Array<{ entry: number; hit: Match }>;
}

/**
 * How far from an added entry a stored hash can be and still count under the rule: the join's
 * radii. The canonical hashes, their variants and the views that count within the threshold: the
 * list threshold, plus the near-miss margin when `pairing` (a hit past the threshold counts only
 * corroborated, by a hit of the other perceptual algorithm on the same entry id, so only when
 * another list shares entry ids with the delta). Crop-compensated, text-free and unblended views
 * (PDQ): their cap past the threshold, within the radius a scan searches; they never pair.
 */
export function joinRadii(rule: DetectionRule, head: Pick<ListHead, 'algorithm' | 'threshold'>, pairing: boolean): { radius: number; compensatedRadius: number } {
  if (head.algorithm !== 'pdq' && head.algorithm !== 'blockhash') return { radius: 0, compensatedRadius: 0 };
  const margin = rule.corroboration[head.algorithm];
  const radius = head.threshold + (pairing ? margin : 0);
  if (head.algorithm !== 'pdq') return { radius, compensatedRadius: radius };
  const compensated = Math.max(
    rule.uncrop.length > 0 ? compensationCap(head.threshold, rule.extraMax.uncrop) : 0,
    rule.overlay ? compensationCap(head.threshold, rule.extraMax.overlay) : 0,
    rule.overlay ? compensationCap(head.threshold, rule.extraMax.watermark) : 0,
  );
  return { radius, compensatedRadius: Math.max(radius, Math.min(compensated, head.threshold + margin)) };
}

export type JoinRadii = ReturnType<typeof joinRadii>;

/** One pass of the corpus join: the delta entries [from, to) at these radii. */
export interface JoinPass {
  from: number;
  to: number;
  radii: JoinRadii;
}

/**
 * How a delta of `size` entries is joined. Up to `wideMaxDelta` entries: one pass at the wide
 * radii. A larger delta (a whole list's first import): first every entry within the list
 * threshold (what counts there is found in one pass over the corpus, soonest), then the wide
 * radii a chunk of `wideMaxDelta` entries a pass: past about 32 bits the join probes 137 buckets a
 * table instead of 17, and its tables fit the memory bound only for so many entries at once.
 * `wideMaxDelta` 0: the threshold pass only.
 */
export function joinPasses(size: number, wide: JoinRadii, threshold: number, wideMaxDelta: number): JoinPass[] {
  if (size <= wideMaxDelta) return [{ from: 0, to: size, radii: wide }];
  const narrow = { radius: threshold, compensatedRadius: threshold };
  const passes: JoinPass[] = [{ from: 0, to: size, radii: narrow }];
  if (wideMaxDelta <= 0 || (wide.radius <= threshold && wide.compensatedRadius <= threshold)) return passes;
  for (let from = 0; from < size; from += wideMaxDelta) passes.push({ from, to: Math.min(size, from + wideMaxDelta), radii: wide });
  return passes;
}

/**
 * Where a run resumes: its checkpoint, unless it was in a wide pass and the delta has shrunk since
 * (an entry withdrawn by a later version, or suspended): the chunks are slices of the delta, so
 * entries have moved between them, and the wide passes start over rather than skip any.
 */
export function resumeAt(checkpoint: { pass: number; position: bigint; added: number }, deltaSize: number): { pass: number; position: bigint } {
  if (checkpoint.pass >= 1 && checkpoint.added !== deltaSize) return { pass: 1, position: 0n };
  return { pass: checkpoint.pass, position: checkpoint.position };
}

/** Whether an enabled list of the other perceptual algorithm holds a live entry with one of these ids: only then can a near miss pair. */
export async function canPair(pool: Pool, head: Pick<ListHead, 'id' | 'algorithm'>, entryIds: readonly string[]): Promise<boolean> {
  const other = otherAlgorithm(head.algorithm);
  if (other === null || entryIds.length === 0) return false;
  const { rows } = await pool.query(
    `SELECT 1 FROM list_entries e JOIN hash_lists l ON l.id = e.list_id
      WHERE l.enabled AND l.action <> 'allow' AND l.algorithm = $1 AND e.removed_in_version IS NULL AND e.entry_id = ANY($2::text[]) LIMIT 1`,
    [other, entryIds],
  );
  return rows.length > 0;
}

export class RetroDecider {
  readonly #pool: Pool;
  readonly #head: ListHead;
  readonly #rule: DetectionRule;
  readonly #delta: readonly DeltaEntry[];
  readonly #matcher: ListMatcher;
  #partners: Promise<ListMatcher[]> | null = null;
  #allow: Promise<ListMatcher[]> | null = null;

  constructor(pool: Pool, head: ListHead, version: number, delta: readonly DeltaEntry[], rule: DetectionRule) {
    this.#pool = pool;
    this.#head = head;
    this.#rule = rule;
    this.#delta = delta;
    this.#matcher = new ListMatcher(listDescriptor(head, version), delta.length);
    // Filed under their index: the hits are mapped back to the entries' own ids below.
    this.#matcher.add(delta.map((entry, i) => ({ hash: entry.hash, externalId: String(i) })));
    this.#matcher.compact();
  }

  /**
   * The verdict a scan would give this stored content, with the added entries it matched.
   * `pending`: only these entries (hex hashes) may count (the others were suspended since).
   * `allow`: apply the allow lists (recording does; finding candidates does not, so the run
   * can account for what they suppressed).
   */
  async decide(row: StoredContentRow, options: { allow: boolean; pending?: ReadonlySet<string> }): Promise<RetroVerdict> {
    const hashes = storedHashesOf(row);
    const query = toScanQuery(hashes, this.#rule);
    const own: DeltaMatch[] = this.#matcher.match(query).flatMap((m) => {
      const index = Number(m.entryId);
      const entry = this.#delta[index]!;
      if (options.pending && !options.pending.has(entry.hash)) return [];
      return [{ ...m, entryId: entry.externalId ?? null, category: entry.category ?? null, [ENTRY]: index }];
    });
    const matches: Match[] = [...own];
    // A hit the rule drops on its own may still count paired with the other algorithm's hit on the same entry.
    if (applyRule(own, this.#rule, hashes.pdqQuality).length < own.length) {
      for (const matcher of await (this.#partners ??= this.#load((h) => h.action !== 'allow' && h.algorithm === otherAlgorithm(this.#head.algorithm)))) {
        matches.push(...matcher.match(query));
      }
    }
    if (options.allow) {
      for (const matcher of await (this.#allow ??= this.#load((h) => h.action === 'allow'))) matches.push(...matcher.match(query));
    }
    const decision = decide({ matches, rule: this.#rule, ...(hashes.pdqQuality !== undefined && { pdqQuality: hashes.pdqQuality }), unscannablePolicy: 'block' });
    const entries = decision.hits.flatMap((hit) => ((hit as DeltaMatch)[ENTRY] === undefined ? [] : [{ entry: (hit as DeltaMatch)[ENTRY]!, hit }]));
    return { decision, entries };
  }

  /** Enabled lists at their current version, other than this one. */
  async #load(wanted: (head: ListHead) => boolean): Promise<ListMatcher[]> {
    const matchers: ListMatcher[] = [];
    for (const head of await loadListHeads(this.#pool)) {
      if (head.id === this.#head.id || !head.enabled || head.currentVersion === null || !wanted(head)) continue;
      matchers.push(await loadListMatcher(this.#pool, { ...head, currentVersion: head.currentVersion }));
    }
    return matchers;
  }
}

function otherAlgorithm(algorithm: string): MatchAlgorithm | null {
  return algorithm === 'pdq' ? 'blockhash' : algorithm === 'blockhash' ? 'pdq' : null;
}
