// The circuit breaker's rule, pure: an entry whose hits in one pass exceed its list's baseline
// by far is suspended for a person to review before anything acts on it. A known-CSAM hash
// matches a handful of stored copies; one matching thousands of old uploads is far more likely
// a benign stock image on a poisoned or mistaken list, and quarantining thousands of innocent
// objects is itself a harm (the failure mode hash-sharing programmes warn about).

export interface BreakerPolicy {
  /** Never trip below this many hits, whatever the baseline (small corpora, new lists). */
  minHits: number;
  /** Trip when hits exceed baseline x factor. */
  factor: number;
}

export const DEFAULT_BREAKER: BreakerPolicy = { minHits: 50, factor: 20 };

/** The most hits one entry may have in one pass before it is suspended. */
export function hitLimit(baseline: number, policy: BreakerPolicy): number {
  const base = Number.isFinite(baseline) && baseline > 0 ? baseline : 1;
  return Math.max(policy.minHits, Math.ceil(base * policy.factor));
}

/** Entries (keys of `hits`) over the limit, most hits first. */
export function trippedEntries<K>(hits: ReadonlyMap<K, number>, baseline: number, policy: BreakerPolicy): Array<{ key: K; hits: number; limit: number }> {
  const limit = hitLimit(baseline, policy);
  return [...hits]
    .filter(([, n]) => n > limit)
    .map(([key, n]) => ({ key, hits: n, limit }))
    .sort((a, b) => b.hits - a.hits);
}
