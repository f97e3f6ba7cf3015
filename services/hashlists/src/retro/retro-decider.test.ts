import { DEFAULT_DETECTION_RULE, detectionRuleFrom } from '@vigil/scanner';
import { describe, expect, it } from 'vitest';
import { joinPasses, joinRadii, resumeAt } from './retro-decider.ts';

const pdq = { algorithm: 'pdq' as const, threshold: 31 };

describe('the corpus join’s radii and passes', () => {
  it('reaches as far as the rule counts: views to their cap, near misses only when a partner list can pair them', () => {
    expect(joinRadii(DEFAULT_DETECTION_RULE, pdq, false)).toEqual({ radius: 31, compensatedRadius: 36 });
    expect(joinRadii(DEFAULT_DETECTION_RULE, pdq, true)).toEqual({ radius: 41, compensatedRadius: 41 });
    expect(joinRadii(detectionRuleFrom({ uncrop: [], overlay: false }), pdq, false)).toEqual({ radius: 31, compensatedRadius: 31 });
    expect(joinRadii(DEFAULT_DETECTION_RULE, { algorithm: 'blockhash', threshold: 2 }, true)).toEqual({ radius: 18, compensatedRadius: 18 });
  });

  it('joins a daily delta in one wide pass, a larger one within the threshold first and then wide a chunk at a time', () => {
    const wide = { radius: 31, compensatedRadius: 36 };
    const narrow = { radius: 31, compensatedRadius: 31 };
    expect(joinPasses(10_000, wide, 31, 10_000)).toEqual([{ from: 0, to: 10_000, radii: wide }]);
    expect(joinPasses(25_000, wide, 31, 10_000)).toEqual([
      { from: 0, to: 25_000, radii: narrow },
      { from: 0, to: 10_000, radii: wide },
      { from: 10_000, to: 20_000, radii: wide },
      { from: 20_000, to: 25_000, radii: wide },
    ]);
    // Nothing past the threshold to search: the one pass; 0 turns the wide passes off.
    expect(joinPasses(25_000, narrow, 31, 10_000)).toEqual([{ from: 0, to: 25_000, radii: narrow }]);
    expect(joinPasses(25_000, wide, 31, 0)).toEqual([{ from: 0, to: 25_000, radii: narrow }]);
    expect(joinPasses(0, wide, 31, 0)).toEqual([{ from: 0, to: 0, radii: wide }]);
  });

  it('resumes at the checkpoint, unless a wide pass’s chunks moved because the delta shrank: then the wide passes start over', () => {
    expect(resumeAt({ pass: 0, position: 500n, added: 25_000 }, 25_000)).toEqual({ pass: 0, position: 500n });
    expect(resumeAt({ pass: 0, position: 500n, added: 25_000 }, 24_990)).toEqual({ pass: 0, position: 500n });
    expect(resumeAt({ pass: 2, position: 500n, added: 25_000 }, 25_000)).toEqual({ pass: 2, position: 500n });
    expect(resumeAt({ pass: 2, position: 500n, added: 25_000 }, 24_990)).toEqual({ pass: 1, position: 0n });
    expect(resumeAt({ pass: 1, position: 500n, added: 25_000 }, 24_990)).toEqual({ pass: 1, position: 0n });
  });
});
