import { describe, expect, it } from 'vitest';
import { DEFAULT_DETECTION_RULE } from './decide.ts';
import { detectionRuleFrom, loadDetectionRule, ruleChanges, ruleFingerprint } from './rule-config.ts';

const noFile = (path: string): string => {
  throw new Error(`ENOENT: no such file, open '${path}'`);
};

describe('detection rule configuration', () => {
  it('is the default when unset or empty, and an empty document changes nothing', () => {
    for (const setting of [undefined, '', '  ']) {
      expect(loadDetectionRule(setting, noFile)).toEqual({ rule: DEFAULT_DETECTION_RULE, source: 'default', fingerprint: ruleFingerprint(DEFAULT_DETECTION_RULE) });
    }
    const empty = detectionRuleFrom({});
    expect(empty).toEqual(DEFAULT_DETECTION_RULE);
    expect(ruleFingerprint(empty)).toBe(ruleFingerprint(DEFAULT_DETECTION_RULE));
    expect(ruleChanges(empty)).toEqual({});
  });

  it('overrides only the fields given, nested ones included, and freezes the result', () => {
    const rule = detectionRuleFrom({ overlay: false, uncrop: [0.9, 0.95], extraMax: { watermark: { max: 31 } }, corroboration: { box: { pdq: 4 } }, lowQualityPdqMax: -1 });
    expect(rule).toEqual({
      ...DEFAULT_DETECTION_RULE,
      overlay: false,
      uncrop: [0.95, 0.9],
      extraMax: { ...DEFAULT_DETECTION_RULE.extraMax, watermark: { beyond: 1, max: 31 } },
      corroboration: { ...DEFAULT_DETECTION_RULE.corroboration, box: { pdq: 4, blockhash: 16 } },
      lowQualityPdqMax: -1,
    });
    expect(ruleChanges(rule)).toEqual({ overlay: false, uncrop: [0.95, 0.9], 'extraMax.watermark.max': 31, 'corroboration.box.pdq': 4, lowQualityPdqMax: -1 });
    expect(Object.isFrozen(rule.extraMax.watermark)).toBe(true);
    expect(Object.isFrozen(rule.uncrop)).toBe(true);
    expect(ruleFingerprint(rule)).toMatch(/^r-[0-9a-f]{12}$/);
    expect(ruleFingerprint(rule)).not.toBe(ruleFingerprint(DEFAULT_DETECTION_RULE));
    // Key order does not change the fingerprint; the listed order of shares does not either.
    expect(ruleFingerprint(detectionRuleFrom({ lowQualityPdqMax: -1, corroboration: { box: { pdq: 4 } }, extraMax: { watermark: { max: 31 } }, uncrop: [0.95, 0.9], overlay: false }))).toBe(ruleFingerprint(rule));
  });

  it('refuses what it cannot honour, listing every problem at once', () => {
    const attempt = () =>
      detectionRuleFrom({
        uncrop: [0.955, 0.4, 0.9, 0.9],
        upscale: [3, 8],
        extraMax: { overlay: { beyond: -1 }, watermak: { max: 31 } },
        corroboration: { pdq: 40 },
        lowQualityPdqMax: -2,
        regoin: true,
      });
    expect(attempt).toThrow(/^detection rule: /);
    const message = (() => {
      try {
        attempt();
        return '';
      } catch (err) {
        return (err as Error).message;
      }
    })();
    for (const problem of ['uncrop.0: a kept share is a whole percentage', 'uncrop.1:', 'uncrop: listed twice', 'upscale.1:', 'extraMax.overlay.beyond:', 'extraMax: Unrecognized key: "watermak"', 'corroboration.pdq:', 'lowQualityPdqMax:', '(document): Unrecognized key: "regoin"']) {
      expect(message).toContain(problem);
    }
    expect(() => detectionRuleFrom([])).toThrow(/detection rule/);
    expect(() => detectionRuleFrom({ region: 'yes' })).toThrow(/region/);
  });

  it('reads the overrides from a file or from the setting itself, and names the source', () => {
    const files: Record<string, string> = { '/etc/vigil/rule.json': '{"overlay": false}', '/etc/vigil/broken.json': '{"overlay": fal' };
    const read = (path: string) => files[path] ?? noFile(path);
    expect(loadDetectionRule('/etc/vigil/rule.json', read)).toMatchObject({ source: '/etc/vigil/rule.json', rule: { overlay: false, region: true } });
    expect(loadDetectionRule(' {"extraMax": {"upscale": 27}} ', read)).toMatchObject({ source: 'inline', rule: { extraMax: { upscale: 27 } } });
    expect(() => loadDetectionRule('/etc/vigil/missing.json', read)).toThrow(/cannot read \/etc\/vigil\/missing\.json: ENOENT/);
    expect(() => loadDetectionRule('/etc/vigil/broken.json', read)).toThrow(/\(\/etc\/vigil\/broken\.json\): not JSON/);
    expect(() => loadDetectionRule('{"overlay": 1}', read)).toThrow(/overlay: Invalid input: expected boolean/);
  });
});
