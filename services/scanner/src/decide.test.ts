import type { Match } from '@vigil/matching';
import { describe, expect, it } from 'vitest';
import { checkVerdict, decide, suppresses } from './decide.ts';

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
