import { describe, expect, it } from 'vitest';
import { derivedHashes, fromDerivedHashes, toQuery, toScanQuery, uncropSource, type StoredHashes } from './content-hashes.ts';
import type { DetectionRule } from './decide.ts';

const h = (c: string) => c.repeat(64);
const rule: DetectionRule = {
  region: true,
  uncrop: [0.95],
  extraMax: { region: { pdq: 24, blockhash: 0 }, uncrop: { beyond: 0, max: 20 } },
  corroboration: { pdq: 10, blockhash: 20, box: { pdq: 10, blockhash: 20 }, blockhashWeight: 0, weightedMax: -1 },
  lowQualityPdqMax: 0,
};
const hashes: StoredHashes = {
  sha256: h('0'),
  pdq: h('1'),
  pdqQuality: 90,
  blockhash: h('2'),
  region: { pdq: h('3'), pdqQuality: 80, blockhash: h('4') },
  uncropped: [
    { kept: 0.95, pdq: h('5'), pdqQuality: 70 },
    { kept: 0.9, pdq: h('6'), pdqQuality: 70 },
  ],
};

describe('toScanQuery', () => {
  it('adds the rule’s extra queries and near-miss margins to the canonical query', () => {
    expect(toScanQuery(hashes, rule)).toEqual({
      ...toQuery(hashes),
      extra: [
        { source: 'region', pdq: h('3'), blockhash: h('4') },
        { source: 'uncrop-5', pdq: h('5') },
      ],
      nearMiss: { pdq: 10, blockhash: 20 },
    });
  });

  it('leaves out what the rule turns off, and extra PDQ below the quality floor', () => {
    const off = toScanQuery(hashes, { ...rule, region: false, uncrop: [], corroboration: { ...rule.corroboration, pdq: 0, blockhash: 0 } });
    expect(off).toEqual(toQuery(hashes));
    const unstable = toScanQuery({ ...hashes, region: { pdq: h('3'), pdqQuality: 20, blockhash: h('4') }, uncropped: [{ kept: 0.95, pdq: h('5'), pdqQuality: 10 }] }, rule);
    expect(unstable.extra).toEqual([{ source: 'region', blockhash: h('4') }]);
  });

  it('keeps a low-quality canonical PDQ in the query (the decision admits it only near-exact), unlike toQuery', () => {
    const flat = { ...hashes, pdqQuality: 20 };
    expect(toQuery(flat).pdq).toBeUndefined();
    expect(toScanQuery(flat, rule).pdq).toBe(h('1'));
    expect(toScanQuery(flat, { ...rule, lowQualityPdqMax: -1 }).pdq).toBeUndefined();
  });

  it('queries a second guess at the content region as a region too', () => {
    const twice = toScanQuery({ ...hashes, alternateRegion: { pdq: h('7'), pdqQuality: 90, blockhash: h('8') } }, rule);
    expect(twice.extra?.filter((query) => query.source === 'region')).toEqual([
      { source: 'region', pdq: h('3'), blockhash: h('4') },
      { source: 'region', pdq: h('7'), blockhash: h('8') },
    ]);
    expect(toScanQuery({ ...hashes, alternateRegion: { pdq: h('7'), pdqQuality: 90 } }, { ...rule, region: false }).extra).toEqual([{ source: 'uncrop-5', pdq: h('5') }]);
  });

  it('names crop compensation by the share cropped', () => {
    expect([0.95, 0.9, 0.8].map(uncropSource)).toEqual(['uncrop-5', 'uncrop-10', 'uncrop-20']);
  });
});

describe('derived hashes in content_hashes', () => {
  it('round-trips through the stored JSON and drops malformed parts', () => {
    const stored = JSON.parse(JSON.stringify(derivedHashes(hashes)));
    expect(fromDerivedHashes(stored)).toEqual({ region: hashes.region, uncropped: hashes.uncropped });
    const alternateRegion = { pdq: h('7'), pdqQuality: 90, blockhash: h('8') };
    expect(fromDerivedHashes(JSON.parse(JSON.stringify(derivedHashes({ ...hashes, alternateRegion }))))).toEqual({ region: hashes.region, alternateRegion, uncropped: hashes.uncropped });
    expect(derivedHashes({ sha256: h('0'), pdq: h('1') })).toBeNull();
    expect(fromDerivedHashes(null)).toEqual({});
    expect(fromDerivedHashes({ region: { pdq: 'zz', blockhash: h('4') }, uncropped: [{ kept: 0.95, pdq: 'short', pdqQuality: 1 }] })).toEqual({ region: { blockhash: h('4') } });
  });
});
