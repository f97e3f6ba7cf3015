import type { Match } from '@vigil/matching';
import { describe, expect, it } from 'vitest';
import { applyRule, checkVerdict, decide, DEFAULT_DETECTION_RULE, suppresses, type DetectionRule } from './decide.ts';

const hit = (over: Partial<Match>): Match => ({
  listId: 'l', listVersion: 1, action: 'quarantine', algorithm: 'pdq', entryId: null, category: null, distance: 10, threshold: 31, variant: 'orig', ...over,
});

describe('decide', () => {
  it('is clean without matches, and allows at upload time', () => {
    const d = decide({ matches: [], unscannablePolicy: 'block' });
    expect(d).toMatchObject({ verdict: 'clean', blocked: false, review: false, decisive: null });
    expect(checkVerdict(d)).toBe('allow');
  });

  it('takes the strongest action, then the nearest hit, as decisive', () => {
    const review = hit({ listId: 'r', action: 'review', distance: 0 });
    const far = hit({ listId: 'q', action: 'quarantine', distance: 20 });
    const near = hit({ listId: 'q2', action: 'quarantine', distance: 3 });
    const d = decide({ matches: [review, far, near], unscannablePolicy: 'block' });
    expect(d).toMatchObject({ verdict: 'matched', action: 'quarantine', blocked: true, review: false, decisive: near });
    expect(d.hits).toEqual([near, far, review]);
    expect(checkVerdict(d)).toBe('block');
    const block = decide({ matches: [near, hit({ action: 'block', distance: 30 })], unscannablePolicy: 'block' });
    expect(block).toMatchObject({ action: 'block', decisive: { action: 'block' } });
  });

  it('names each list entry once, by its strongest hit, whichever queries found it', () => {
    const canonical = hit({ entryId: 'E-1', distance: 14 });
    const region = hit({ entryId: 'E-1', distance: 28, query: 'region' });
    const other = hit({ entryId: 'E-2', distance: 20 });
    const sameEntryOtherList = hit({ listId: 'l2', entryId: 'E-1', distance: 5 });
    const anonymous = [hit({ distance: 7 }), hit({ distance: 9 })];
    const d = decide({ matches: [region, canonical, other, sameEntryOtherList, ...anonymous], unscannablePolicy: 'block' });
    expect(d.hits).toEqual([sameEntryOtherList, anonymous[0], anonymous[1], canonical, other]);
  });

  it('holds a review-only match for a person without blocking', () => {
    const d = decide({ matches: [hit({ action: 'review' })], unscannablePolicy: 'block' });
    expect(d).toMatchObject({ verdict: 'matched', action: 'review', blocked: false, review: true });
    expect(checkVerdict(d)).toBe('review');
  });

  it('applies the unscannable policy per caller, unless an exact digest matched anyway', () => {
    expect(decide({ matches: [], unscannable: 'truncated', unscannablePolicy: 'block' })).toMatchObject({ verdict: 'unscannable', reason: 'truncated', blocked: true, review: false });
    expect(decide({ matches: [], unscannable: 'truncated', unscannablePolicy: 'review' })).toMatchObject({ verdict: 'unscannable', blocked: false, review: true });
    const md5 = hit({ algorithm: 'md5', variant: 'exact', distance: 0, threshold: 0 });
    expect(decide({ matches: [md5], unscannable: 'decode_error', unscannablePolicy: 'review' })).toMatchObject({ verdict: 'matched', blocked: true });
  });

  it('lets allow lists suppress false positives, but never a near allow over an exact digest', () => {
    const listed = hit({ distance: 12 });
    const digest = hit({ listId: 'md5', algorithm: 'md5', variant: 'exact', distance: 0, threshold: 0 });
    const nearAllow = hit({ listId: 'stock', action: 'allow', distance: 4 });
    const d = decide({ matches: [listed, nearAllow], unscannablePolicy: 'block' });
    expect(d).toMatchObject({ verdict: 'clean', suppressed: [listed], allowHits: [nearAllow], decisive: nearAllow });
    expect(decide({ matches: [listed, digest, nearAllow], unscannablePolicy: 'block' })).toMatchObject({ verdict: 'matched', hits: [digest], suppressed: [listed] });
    expect(decide({ matches: [listed, digest, hit({ action: 'allow', algorithm: 'sha256', variant: 'exact', distance: 0 })], unscannablePolicy: 'block' }).verdict).toBe('clean');
  });

  it('suppresses only hits no closer than the allow hit, of the same algorithm', () => {
    const allow = hit({ action: 'allow', distance: 8 });
    expect(suppresses(allow, hit({ distance: 8 }))).toBe(true);
    expect(suppresses(allow, hit({ distance: 7 }))).toBe(false);
    expect(suppresses(allow, hit({ algorithm: 'blockhash', distance: 9 }))).toBe(false);
  });
});

describe('the fused detection rule', () => {
  const rule: DetectionRule = {
    region: true,
    uncrop: [0.95],
    upscale: [2],
    overlay: true,
    extraMax: { region: { pdq: 20, blockhash: 0 }, uncrop: { beyond: 0, max: 18 }, upscale: 29, overlay: { beyond: 2, max: 30 }, watermark: { beyond: 1, max: 32 } },
    corroboration: { pdq: 10, blockhash: 20, box: { pdq: 10, blockhash: 20 }, blockhashWeight: 0, weightedMax: -1 },
    lowQualityPdqMax: 2,
  };
  const pdq = (over: Partial<Match>) => hit({ listId: 'p', entryId: 'E-1', algorithm: 'pdq', threshold: 31, ...over });
  const bh = (over: Partial<Match>) => hit({ listId: 'b', entryId: 'E-1', algorithm: 'blockhash', threshold: 4, ...over });

  it('counts a near miss only when the other algorithm hits the same entry through the same query', () => {
    const nearPdq = pdq({ distance: 38, nearMiss: true });
    const nearBh = bh({ distance: 20, nearMiss: true });
    expect(decide({ matches: [nearPdq], rule, unscannablePolicy: 'block' }).verdict).toBe('clean');
    const d = decide({ matches: [nearPdq, nearBh], rule, unscannablePolicy: 'block' });
    expect(d).toMatchObject({ verdict: 'matched', decisive: { algorithm: 'blockhash', corroborated: true } });
    expect(d.hits.map((h) => h.corroborated)).toEqual([true, true]);
    // Another entry, or the same entry through another query, corroborates nothing.
    expect(decide({ matches: [nearPdq, bh({ distance: 20, nearMiss: true, entryId: 'E-2' })], rule, unscannablePolicy: 'block' }).verdict).toBe('clean');
    expect(decide({ matches: [nearPdq, bh({ distance: 20, nearMiss: true, query: 'region' })], rule, unscannablePolicy: 'block' }).verdict).toBe('clean');
    // Beyond the rule's margins nothing counts, even paired; without a rule near misses never count.
    expect(applyRule([pdq({ distance: 42, nearMiss: true }), nearBh], rule)).toEqual([]);
    expect(decide({ matches: [nearPdq, nearBh], unscannablePolicy: 'block' }).verdict).toBe('clean');
  });

  it('admits a pair far out on one hash only when it is close on the other (weighted excess)', () => {
    const joint: DetectionRule = { ...rule, corroboration: { pdq: 25, blockhash: 16, box: { pdq: 6, blockhash: 16 }, blockhashWeight: 2, weightedMax: 27 } };
    const verdict = (pdqDistance: number, bhDistance: number) =>
      decide({
        matches: [pdq({ distance: pdqDistance, ...(pdqDistance > 31 && { nearMiss: true }) }), bh({ distance: bhDistance, ...(bhDistance > 4 && { nearMiss: true }) })],
        rule: joint,
        unscannablePolicy: 'block',
      }).verdict;
    // PDQ excess 21 with blockhash excess 3: 21 + 2 x 3 = 27 counts; blockhash excess 4 (29) does not.
    expect(verdict(52, 7)).toBe('matched');
    expect(verdict(52, 8)).toBe('clean');
    // Inside the box: PDQ excess 6 with blockhash excess 16; one more PDQ bit leaves it (7 + 32 > 27).
    expect(verdict(37, 20)).toBe('matched');
    expect(verdict(38, 20)).toBe('clean');
    // Beyond the PDQ margin (25) nothing pairs, however close the blockhash.
    expect(applyRule([pdq({ distance: 57, nearMiss: true }), bh({ distance: 5, nearMiss: true })], joint)).toEqual([]);
  });

  it('holds extra queries to their caps: region alone within its cap or corroborated, crop compensation within its cap only', () => {
    const region = pdq({ query: 'region', distance: 18 });
    expect(decide({ matches: [region], rule, unscannablePolicy: 'block' })).toMatchObject({ verdict: 'matched', decisive: region });
    const farRegion = pdq({ query: 'region', distance: 28 });
    expect(decide({ matches: [farRegion], rule, unscannablePolicy: 'block' }).verdict).toBe('clean');
    expect(decide({ matches: [farRegion, bh({ query: 'region', distance: 12, nearMiss: true })], rule, unscannablePolicy: 'block' }).verdict).toBe('matched');
    expect(decide({ matches: [pdq({ query: 'uncrop-5', distance: 18 })], rule, unscannablePolicy: 'block' }).verdict).toBe('matched');
    expect(decide({ matches: [pdq({ query: 'uncrop-5', distance: 19 })], rule, unscannablePolicy: 'block' }).verdict).toBe('clean');
  });

  it('counts a downscale-compensated PDQ alone within its cap, beyond it only paired with the canonical blockhash', () => {
    const upscaled = pdq({ query: 'upscale-2', distance: 29 });
    expect(decide({ matches: [upscaled], rule, unscannablePolicy: 'block' })).toMatchObject({ verdict: 'matched', decisive: upscaled });
    expect(decide({ matches: [pdq({ query: 'upscale-2', distance: 30 })], rule, unscannablePolicy: 'block' }).verdict).toBe('clean');
    expect(decide({ matches: [pdq({ query: 'upscale-4', distance: 30 }), bh({ distance: 6, nearMiss: true })], rule, unscannablePolicy: 'block' }).verdict).toBe('matched');
    const near = pdq({ query: 'upscale-2', distance: 38, nearMiss: true });
    expect(decide({ matches: [near], rule, unscannablePolicy: 'block' }).verdict).toBe('clean');
    // The same pixels at another scale: the canonical blockhash corroborates it, another view's does not.
    expect(decide({ matches: [near, bh({ distance: 20, nearMiss: true })], rule, unscannablePolicy: 'block' })).toMatchObject({
      verdict: 'matched',
      hits: [{ algorithm: 'blockhash', corroborated: true }, { query: 'upscale-2', corroborated: true }],
    });
    expect(decide({ matches: [near, bh({ distance: 20, nearMiss: true, query: 'region' })], rule, unscannablePolicy: 'block' }).verdict).toBe('clean');
    expect(decide({ matches: [near, bh({ distance: 20, nearMiss: true, entryId: 'E-2' })], rule, unscannablePolicy: 'block' }).verdict).toBe('clean');
  });

  it('counts a text-free PDQ alone within the list threshold + its margin, up to its cap, and never paired', () => {
    // Threshold 31 + 2 = 33 would be allowed, but the cap is 30.
    const overlay = pdq({ query: 'overlay', distance: 30, nearMiss: true });
    expect(decide({ matches: [overlay], rule, unscannablePolicy: 'block' })).toMatchObject({ verdict: 'matched', decisive: overlay });
    expect(decide({ matches: [pdq({ query: 'overlay', distance: 31 })], rule, unscannablePolicy: 'block' }).verdict).toBe('clean');
    // A stricter list keeps its own threshold (+ 2) for this view too.
    expect(decide({ matches: [pdq({ query: 'overlay', distance: 22, threshold: 20 })], rule, unscannablePolicy: 'block' }).verdict).toBe('matched');
    expect(decide({ matches: [pdq({ query: 'overlay', distance: 23, threshold: 20, nearMiss: true })], rule, unscannablePolicy: 'block' }).verdict).toBe('clean');
    // No blockhash of this view exists: a canonical blockhash near miss corroborates nothing through it.
    const near = pdq({ query: 'overlay', distance: 36, nearMiss: true });
    expect(applyRule([near, bh({ distance: 20, nearMiss: true })], rule)).toEqual([]);
  });

  it('counts an unblended PDQ (a faint watermark) under its own cap, a smaller step past the threshold than caption-free text', () => {
    const unblended = pdq({ query: 'watermark', distance: 32, nearMiss: true });
    expect(decide({ matches: [unblended], rule, unscannablePolicy: 'block' })).toMatchObject({ verdict: 'matched', decisive: unblended });
    expect(decide({ matches: [pdq({ query: 'watermark', distance: 33, nearMiss: true })], rule, unscannablePolicy: 'block' }).verdict).toBe('clean');
    // A stricter list: threshold 20 + 1.
    expect(decide({ matches: [pdq({ query: 'watermark', distance: 21, threshold: 20, nearMiss: true })], rule, unscannablePolicy: 'block' }).verdict).toBe('matched');
    expect(decide({ matches: [pdq({ query: 'watermark', distance: 22, threshold: 20, nearMiss: true })], rule, unscannablePolicy: 'block' }).verdict).toBe('clean');
    // Never paired, like the caption-free view.
    expect(applyRule([pdq({ query: 'watermark', distance: 34, nearMiss: true }), bh({ distance: 3, nearMiss: true })], rule)).toEqual([]);
  });

  it('admits an unstable (low-quality) PDQ alone only near-exact, further out only corroborated', () => {
    expect(decide({ matches: [pdq({ distance: 2 })], rule, pdqQuality: 30, unscannablePolicy: 'block' }).verdict).toBe('matched');
    expect(decide({ matches: [pdq({ distance: 3 })], rule, pdqQuality: 30, unscannablePolicy: 'block' }).verdict).toBe('clean');
    expect(decide({ matches: [pdq({ distance: 20 }), bh({ distance: 12, nearMiss: true })], rule, pdqQuality: 30, unscannablePolicy: 'block' })).toMatchObject({
      verdict: 'matched',
      decisive: { algorithm: 'blockhash', corroborated: true },
      hits: [{ algorithm: 'blockhash', corroborated: true }, { algorithm: 'pdq', corroborated: true }],
    });
    expect(decide({ matches: [pdq({ distance: 20 }), bh({ distance: 12, nearMiss: true, entryId: 'E-2' })], rule, pdqQuality: 30, unscannablePolicy: 'block' }).verdict).toBe('clean');
    expect(decide({ matches: [pdq({ distance: 30 })], rule, pdqQuality: 50, unscannablePolicy: 'block' }).verdict).toBe('matched');
  });

  it('holds an unstable view (an extra query below the quality floor) to the same near-exact cap, pairing only where its view pairs', () => {
    const flatRegion = (distance: number) => pdq({ query: 'region', distance, unstable: true });
    expect(applyRule([flatRegion(2)], rule)).toHaveLength(1);
    expect(applyRule([flatRegion(3)], rule)).toEqual([]);
    // Beyond the cap a region view still pairs with its own blockhash.
    expect(applyRule([flatRegion(12), bh({ query: 'region', distance: 10, nearMiss: true })], rule).map((m) => m.corroborated)).toEqual([true, true]);
    // Crop and overlay compensation never pair: beyond the cap an unstable one is out, however close to its own cap.
    expect(applyRule([pdq({ query: 'uncrop-5', distance: 2, unstable: true })], rule)).toHaveLength(1);
    expect(applyRule([pdq({ query: 'overlay', distance: 10, unstable: true })], rule)).toEqual([]);
    expect(applyRule([pdq({ query: 'overlay', distance: 10 })], rule)).toHaveLength(1);
    // The canonical hash's own quality does not make a view unstable, nor a stable view unstable.
    expect(applyRule([pdq({ query: 'upscale-2', distance: 20 })], rule, 10)).toHaveLength(1);
    expect(applyRule([pdq({ query: 'upscale-2', distance: 20, unstable: true })], rule, 100)).toEqual([]);
  });

  it('keeps an unstable canonical PDQ beyond a strict list’s threshold a near miss, even within the near-exact cap', () => {
    const strict = { ...rule, lowQualityPdqMax: 16 };
    expect(applyRule([pdq({ threshold: 10, distance: 14, nearMiss: true })], strict, 30)).toEqual([]);
    expect(applyRule([pdq({ threshold: 10, distance: 10 })], strict, 30)).toHaveLength(1);
  });

  it('keeps ordinary hits and allow-list suppression as before', () => {
    const listed = pdq({ distance: 12 });
    expect(decide({ matches: [listed], rule: DEFAULT_DETECTION_RULE, pdqQuality: 100, unscannablePolicy: 'block' })).toMatchObject({ verdict: 'matched', decisive: listed });
    const allow = pdq({ listId: 'stock', action: 'allow', distance: 4, entryId: 'S-1' });
    expect(decide({ matches: [listed, allow], rule, pdqQuality: 100, unscannablePolicy: 'block' }).verdict).toBe('clean');
  });
});
