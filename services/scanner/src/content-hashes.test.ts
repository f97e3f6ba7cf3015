import { describe, expect, it } from 'vitest';
import { HASHING_VERSION } from '@vigil/hashing';
import type { Pool } from '@vigil/db';
import {
  ContentHashCache,
  coversViews,
  derivedHashes,
  fromDerivedHashes,
  fromImageHashes,
  toQuery,
  toScanQuery,
  uncropSource,
  upscaleSource,
  viewsFor,
  type StoredHashes,
} from './content-hashes.ts';
import { DEFAULT_DETECTION_RULE, type DetectionRule } from './decide.ts';

const h = (c: string) => c.repeat(64);
const rule: DetectionRule = {
  region: true,
  uncrop: [0.95],
  upscale: [2],
  overlay: false,
  extraMax: { region: { pdq: 24, blockhash: 0 }, uncrop: { beyond: 0, max: 20 }, upscale: 29, overlay: { beyond: 0, max: 31 }, watermark: { beyond: 0, max: 31 } },
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
    { kept: 0.95, upscale: 2, pdq: h('b'), pdqQuality: 70 },
    { kept: 0.95, upscale: 4, pdq: h('c'), pdqQuality: 70 },
  ],
  upscaled: [
    { factor: 2, pdq: h('9'), pdqQuality: 60 },
    { factor: 4, pdq: h('a'), pdqQuality: 60 },
  ],
  overlayFree: [
    { factor: 1, pdq: h('d'), pdqQuality: 80, textShare: 0.03 },
    { factor: 2, pdq: h('e'), pdqQuality: 80, textShare: 0.03 },
    { factor: 4, pdq: h('f'), pdqQuality: 30, textShare: 0.03 },
    { factor: 1, pdq: h('1'), pdqQuality: 70, textShare: 0.11, unblended: true },
  ],
};

describe('toScanQuery', () => {
  it('adds the rule’s extra queries and near-miss margins to the canonical query', () => {
    expect(toScanQuery(hashes, rule)).toEqual({
      ...toQuery(hashes),
      extra: [
        { source: 'region', pdq: h('3'), blockhash: h('4') },
        { source: 'uncrop-5', pdq: h('5') },
        { source: 'uncrop-5', pdq: h('b') },
        { source: 'upscale-2', pdq: h('9') },
      ],
      nearMiss: { pdq: 10, blockhash: 20 },
    });
  });

  it('leaves out what the rule turns off; marks extra PDQ below the quality floor unstable, or leaves it out when the rule admits no unstable PDQ', () => {
    const off = toScanQuery(hashes, { ...rule, region: false, uncrop: [], upscale: [], corroboration: { ...rule.corroboration, pdq: 0, blockhash: 0 } });
    expect(off).toEqual(toQuery(hashes));
    const flat: StoredHashes = {
      ...hashes,
      region: { pdq: h('3'), pdqQuality: 20, blockhash: h('4') },
      uncropped: [{ kept: 0.95, pdq: h('5'), pdqQuality: 10 }],
      upscaled: [{ factor: 2, pdq: h('9'), pdqQuality: 49 }],
    };
    expect(toScanQuery(flat, rule).extra).toEqual([
      { source: 'region', pdq: h('3'), unstable: true, blockhash: h('4') },
      { source: 'uncrop-5', pdq: h('5'), unstable: true },
      { source: 'upscale-2', pdq: h('9'), unstable: true },
    ]);
    expect(toScanQuery(flat, { ...rule, lowQualityPdqMax: -1 }).extra).toEqual([{ source: 'region', blockhash: h('4') }]);
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
    expect(toScanQuery({ ...hashes, alternateRegion: { pdq: h('7'), pdqQuality: 90 } }, { ...rule, region: false, upscale: [] }).extra).toEqual([{ source: 'uncrop-5', pdq: h('5') }]);
  });

  it('names crop compensation by the share cropped', () => {
    expect([0.95, 0.9, 0.8].map(uncropSource)).toEqual(['uncrop-5', 'uncrop-10', 'uncrop-20']);
  });

  it('names downscale compensation by its factor, and queries each factor the rule asks for', () => {
    expect([2, 4].map(upscaleSource)).toEqual(['upscale-2', 'upscale-4']);
    const both = toScanQuery(hashes, { ...rule, region: false, uncrop: [], upscale: [2, 4] });
    expect(both.extra).toEqual([
      { source: 'upscale-2', pdq: h('9') },
      { source: 'upscale-4', pdq: h('a') },
    ]);
  });

  it('queries the text-free PDQ as overlay (watermark when unblended), at the image’s size and the rule’s upscale factors', () => {
    const only = { ...rule, region: false, uncrop: [], upscale: [], overlay: true };
    expect(toScanQuery(hashes, only).extra).toEqual([{ source: 'overlay', pdq: h('d') }, { source: 'watermark', pdq: h('1') }]);
    // Factor 4's hash is below the quality floor (30): marked unstable.
    expect(toScanQuery(hashes, { ...only, upscale: [2, 4] }).extra).toEqual([
      { source: 'upscale-2', pdq: h('9') },
      { source: 'upscale-4', pdq: h('a') },
      { source: 'overlay', pdq: h('d') },
      { source: 'overlay', pdq: h('e') },
      { source: 'overlay', pdq: h('f'), unstable: true },
      { source: 'watermark', pdq: h('1') },
    ]);
    expect(toScanQuery(hashes, { ...only, overlay: false }).extra).toBeUndefined();
    const stored = fromImageHashes({ mode: 'fast', sha256: h('0'), overlayFree: [{ factor: 1, pdq: h('d'), pdqQuality: 80, textShare: 0.02 }] });
    expect(stored.overlayFree).toEqual([{ factor: 1, pdq: h('d'), pdqQuality: 80, textShare: 0.02 }]);
    const unblended = fromImageHashes({ mode: 'fast', sha256: h('0'), overlayFree: [{ factor: 2, pdq: h('d'), pdqQuality: 80, textShare: 0.1, unblended: true }] });
    expect(unblended.overlayFree).toEqual([{ factor: 2, pdq: h('d'), pdqQuality: 80, textShare: 0.1, unblended: true }]);
  });

  it('keeps the hashing library’s upscaled hashes', () => {
    const uncropped = [{ kept: 0.9, pdq: h('5'), pdqQuality: 70 }, { kept: 0.9, upscale: 2, pdq: h('b'), pdqQuality: 70 }];
    const stored = fromImageHashes({ mode: 'fast', sha256: h('0'), pdq: h('1'), pdqQuality: 90, upscaled: [{ factor: 2, pdq: h('9'), pdqQuality: 60 }], uncropped });
    expect(stored.upscaled).toEqual([{ factor: 2, pdq: h('9'), pdqQuality: 60 }]);
    expect(stored.uncropped).toEqual(uncropped);
  });
});

describe('derived hashes in content_hashes', () => {
  it('round-trips through the stored JSON and drops malformed parts', () => {
    const stored = JSON.parse(JSON.stringify(derivedHashes(hashes)));
    const { region, uncropped, upscaled, overlayFree } = hashes as Required<StoredHashes>;
    expect(fromDerivedHashes(stored)).toEqual({ region, uncropped, upscaled, overlayFree });
    const alternateRegion = { pdq: h('7'), pdqQuality: 90, blockhash: h('8') };
    expect(fromDerivedHashes(JSON.parse(JSON.stringify(derivedHashes({ ...hashes, alternateRegion }))))).toEqual({ region, alternateRegion, uncropped, upscaled, overlayFree });
    expect(derivedHashes({ sha256: h('0'), overlayFree })).toEqual({ overlayFree });
    expect(derivedHashes({ sha256: h('0'), pdq: h('1') })).toBeNull();
    expect(derivedHashes({ sha256: h('0'), upscaled })).toEqual({ upscaled });
    expect(fromDerivedHashes(null)).toEqual({});
    expect(
      fromDerivedHashes({
        region: { pdq: 'zz', blockhash: h('4') },
        uncropped: [{ kept: 0.95, pdq: 'short', pdqQuality: 1 }],
        upscaled: [{ factor: 1.5, pdq: h('9'), pdqQuality: 60 }, { factor: 2, pdq: 'short', pdqQuality: 60 }, { factor: 4, pdq: h('a'), pdqQuality: 'x' }],
      }),
    ).toEqual({ region: { blockhash: h('4') } });
    expect(
      fromDerivedHashes({
        overlayFree: [
          { factor: 0, pdq: h('d'), pdqQuality: 80, textShare: 0.1 },
          { factor: 1, pdq: h('d'), pdqQuality: 80 },
          { factor: 2, pdq: h('e'), pdqQuality: 80, textShare: 0.1 },
          { factor: 1, pdq: h('f'), pdqQuality: 80, textShare: 0.1, unblended: 'yes' },
          { factor: 1, pdq: h('1'), pdqQuality: 80, textShare: 0.1, unblended: true },
        ],
      }),
    ).toEqual({ overlayFree: [{ factor: 2, pdq: h('e'), pdqQuality: 80, textShare: 0.1 }, { factor: 1, pdq: h('1'), pdqQuality: 80, textShare: 0.1, unblended: true }] });
    expect(fromDerivedHashes({ uncropped: [{ kept: 0.9, upscale: 2.5, pdq: h('5'), pdqQuality: 70 }, { kept: 0.9, upscale: 2, pdq: h('5'), pdqQuality: 70 }] })).toEqual({
      uncropped: [{ kept: 0.9, upscale: 2, pdq: h('5'), pdqQuality: 70 }],
    });
  });
});

describe('which views stored hashes were computed for', () => {
  const all = viewsFor(DEFAULT_DETECTION_RULE);

  it('names the rule’s views and the hashing version', () => {
    expect(all).toEqual({ version: HASHING_VERSION, region: true, uncrop: [0.95, 0.9, 0.8], upscale: [2, 4], overlay: true });
    expect(viewsFor(rule)).toEqual({ version: HASHING_VERSION, region: true, uncrop: [0.95], upscale: [2], overlay: false });
  });

  it('answers a scan only from hashes computed for every view it queries, under the same hashing version', () => {
    expect(coversViews(all, all)).toBe(true);
    expect(coversViews(all, viewsFor(rule))).toBe(true);
    expect(coversViews(viewsFor(rule), all)).toBe(false);
    expect(coversViews({ ...all, overlay: false }, all)).toBe(false);
    expect(coversViews({ ...all, region: false }, all)).toBe(false);
    expect(coversViews({ ...all, uncrop: [0.95, 0.9] }, all)).toBe(false);
    expect(coversViews({ ...all, upscale: [2, 3] }, all)).toBe(false);
    expect(coversViews({ ...all, version: HASHING_VERSION - 1 }, all)).toBe(false);
    expect(coversViews(undefined, all)).toBe(false);
    // A rule that queries nothing derived is still answered only by hashes of its version.
    const none = { version: HASHING_VERSION, region: false, uncrop: [], upscale: [], overlay: false };
    expect(coversViews(none, none)).toBe(true);
    expect(coversViews(undefined, none)).toBe(false);
  });

  it('keeps the record with the derived hashes, even when no view found anything, and drops a malformed one', () => {
    const bare: StoredHashes = { sha256: h('0'), pdq: h('1'), pdqQuality: 90, computed: all };
    expect(fromDerivedHashes(JSON.parse(JSON.stringify(derivedHashes(bare))))).toEqual({ computed: all });
    expect(fromDerivedHashes({ ...derivedHashes(hashes), computed: { ...all, uncrop: 'all' } })).not.toHaveProperty('computed');
    expect(fromDerivedHashes({ computed: { ...all, version: '1' } })).toEqual({});
  });

  it('hashes computed for fewer views do not answer from memory or from the table', async () => {
    const stored = derivedHashes({ ...hashes, computed: viewsFor(rule) });
    const row = { sha1: null, md5: null, pdq: Buffer.from(h('1'), 'hex'), pdq_quality: 90, pdq_dihedral: null, blockhash: null, derived_hashes: stored };
    let reads = 0;
    const pool = { query: async () => (reads++, { rows: [row] }) } as unknown as Pool;
    const cache = new ContentHashCache(pool);
    expect(await cache.get(h('0'), all)).toBeNull();
    expect(await cache.get(h('0'), viewsFor(rule))).toMatchObject({ pdq: h('1'), computed: viewsFor(rule) });
    expect(reads).toBe(2);
    // Now in memory: a narrower scan is answered there, a wider one goes back to the table (and is refused).
    expect(await cache.get(h('0'), viewsFor(rule))).not.toBeNull();
    expect(reads).toBe(2);
    expect(await cache.get(h('0'), all)).toBeNull();
    expect(reads).toBe(3);
    cache.remember({ ...hashes, computed: all });
    expect(await cache.get(h('0'), all)).toMatchObject({ computed: all });
    expect(reads).toBe(3);
  });
});
