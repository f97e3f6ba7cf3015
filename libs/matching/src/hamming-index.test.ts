// The index against a brute-force oracle: identical result sets for every radius 0..64, on
// uniform random hashes with planted neighbours at every distance, on clustered hashes (bit-flip
// families and PDQ hashes of generated images and their transforms), through the tables, the
// scan and the automatic choice, before and after compaction, additions and removals.
import { createImageHasher, createSharpDecoder } from '@vigil/hashing';
import { encode, naturalScene, seededRandom } from '@vigil/testkit';
import sharp from 'sharp';
import { beforeAll, describe, expect, it } from 'vitest';
import { hammingDistance256, HASH_BYTES } from './hamming-kernel.ts';
import { chooseSubstrings, HammingIndex, substringLayout, substringValue, type RadiusMatch } from './hamming-index.ts';

const random = seededRandom(20261121);

function randomHash(): Uint8Array {
  return Uint8Array.from({ length: HASH_BYTES }, () => Math.floor(random() * 256));
}

/** `hash` with `k` distinct bits flipped. */
function flipBits(hash: Uint8Array, k: number): Uint8Array {
  const out = hash.slice();
  const positions = new Set<number>();
  while (positions.size < k) positions.add(Math.floor(random() * 256));
  for (const p of positions) out[p >> 3]! ^= 0x80 >>> (p & 7);
  return out;
}

function oracle(hashes: Uint8Array[], removed: ReadonlySet<number>, query: Uint8Array, radius: number): RadiusMatch[] {
  const out: RadiusMatch[] = [];
  hashes.forEach((hash, id) => {
    const distance = hammingDistance256(hash, 0, query, 0);
    if (distance <= radius && !removed.has(id)) out.push({ id, distance });
  });
  return out;
}

/** Random hashes, plus for each query a planted neighbour at every distance 0..64. */
function plantedSet(base: number, queries: Uint8Array[]): Uint8Array[] {
  const hashes = Array.from({ length: base }, randomHash);
  for (const query of queries) for (let d = 0; d <= 64; d++) hashes.push(flipBits(query, d));
  return hashes;
}

function build(hashes: Uint8Array[], options: ConstructorParameters<typeof HammingIndex>[0] = {}): HammingIndex {
  const index = new HammingIndex({ expectedSize: hashes.length, ...options });
  for (const hash of hashes) index.add(hash);
  index.compact();
  return index;
}

function expectSameAsOracle(index: HammingIndex, hashes: Uint8Array[], removed: ReadonlySet<number>, queries: Uint8Array[]) {
  for (const query of queries) {
    for (let r = 0; r <= 64; r++) {
      expect(index.search(query, r), `radius ${r}`).toEqual(oracle(hashes, removed, query, r));
    }
  }
}

describe('HammingIndex against the brute-force oracle', () => {
  const queries = Array.from({ length: 4 }, randomHash);
  const hashes = plantedSet(2000, queries);

  it.each([
    ['tables, 11 substrings', { strategy: 'tables', substrings: 11 }],
    ['tables, 16 substrings', { strategy: 'tables', substrings: 16 }],
    ['tables, 32 substrings', { strategy: 'tables', substrings: 32 }],
    ['scan', { strategy: 'scan' }],
    ['auto', { strategy: 'auto' }],
  ] as const)('uniform random + planted neighbours, %s', (_name, options) => {
    expectSameAsOracle(build(hashes, options), hashes, new Set(), queries);
  });

  it('clustered bit-flip families (many hashes share substrings)', () => {
    const centres = Array.from({ length: 20 }, randomHash);
    const clustered = centres.flatMap((centre) => Array.from({ length: 60 }, (_, i) => flipBits(centre, i % 40)));
    const index = build(clustered, { strategy: 'tables', substrings: 12 });
    expectSameAsOracle(index, clustered, new Set(), [centres[0]!, flipBits(centres[3]!, 5), randomHash()]);
  });

  it('stays exact with additions after compaction and with removals, before and after recompaction', () => {
    const index = build(hashes, { strategy: 'tables', substrings: 12 });
    const all = [...hashes];
    const removed = new Set<number>();
    for (const query of queries) for (let d = 0; d <= 40; d += 4) all.push(flipBits(query, d));
    for (const hash of all.slice(hashes.length)) index.add(hash);
    for (let id = 0; id < all.length; id += 7) {
      expect(index.remove(id)).toBe(true);
      removed.add(id);
    }
    expect(index.remove(0)).toBe(false);
    expect(index.remove(all.length + 5)).toBe(false);
    expect(index.stats()).toMatchObject({ size: all.length - removed.size, removed: removed.size, pending: all.length - hashes.length });
    expectSameAsOracle(index, all, removed, queries);
    index.compact();
    expect(index.stats().pending).toBe(0);
    expectSameAsOracle(index, all, removed, queries);
  });

  it('grows past its expected size without losing hashes', () => {
    const index = new HammingIndex({ expectedSize: 10 });
    const many = Array.from({ length: 5000 }, randomHash);
    const first = index.addAll(Uint8Array.from(many.flatMap((h) => [...h])));
    expect(first).toBe(0);
    expect(index.hash(4999)).toEqual(many[4999]);
    index.compact();
    expect(index.search(many[1234]!, 0)).toEqual([{ id: 1234, distance: 0 }]);
  });

  it('rejects short hashes and answers a negative radius with nothing', () => {
    const index = build(hashes.slice(0, 10));
    expect(() => index.add(new Uint8Array(31))).toThrow(RangeError);
    expect(() => index.search(new Uint8Array(8), 3)).toThrow(RangeError);
    expect(index.search(hashes[0]!, -1)).toEqual([]);
    expect(index.search(hashes[0]!, Number.NaN)).toEqual([]);
    expect(index.search(hashes[0]!, Number.POSITIVE_INFINITY)).toHaveLength(10);
    expect(index.scan(hashes[0]!, 1e9)).toHaveLength(10);
  });
});

describe('PDQ hashes of generated images and their transforms', () => {
  let pdq: Uint8Array[] = [];
  let queries: Uint8Array[] = [];

  beforeAll(async () => {
    const hash = createImageHasher(createSharpDecoder());
    const toBytes = (hex: string) => Uint8Array.from(Buffer.from(hex, 'hex'));
    const pdqOf = async (bytes: Buffer) => {
      const outcome = await hash(bytes, { algorithms: ['pdq'] });
      if (outcome.status !== 'hashed') throw new Error(outcome.message);
      return toBytes(outcome.hashes.pdq!);
    };
    for (let seed = 1; seed <= 12; seed++) {
      const scene = await naturalScene(320, 240, seed);
      const jpeg = await encode(scene, 'jpeg', { quality: 90 });
      const variants = await Promise.all([
        sharp(jpeg).resize(160).jpeg({ quality: 60 }).toBuffer(),
        sharp(jpeg).extract({ left: 16, top: 12, width: 288, height: 216 }).toBuffer(),
        sharp(jpeg).modulate({ brightness: 1.2 }).toBuffer(),
        sharp(jpeg).blur(2).toBuffer(),
        sharp(jpeg).flop().toBuffer(),
      ]);
      const original = await pdqOf(jpeg);
      pdq.push(original, ...(await Promise.all(variants.map(pdqOf))));
      queries.push(original);
    }
    pdq = [...pdq, ...Array.from({ length: 500 }, randomHash)];
  }, 120_000);

  it('finds exactly what the oracle finds, for every radius', () => {
    const index = build(pdq, { strategy: 'tables', substrings: 11 });
    expectSameAsOracle(index, pdq, new Set(), queries.slice(0, 4));
  });
});

describe('substrings', () => {
  it('cover all 256 bits with widths differing by at most one', () => {
    for (const m of [11, 12, 16, 21, 32]) {
      const layout = substringLayout(m);
      expect(layout.reduce((sum, s) => sum + s.bits, 0)).toBe(256);
      expect(layout.at(-1)!.start + layout.at(-1)!.bits).toBe(256);
      const widths = new Set(layout.map((s) => s.bits));
      expect(Math.max(...widths) - Math.min(...widths)).toBeLessThanOrEqual(1);
    }
    expect(() => substringLayout(10)).toThrow(RangeError);
  });

  it('read the right bits, most significant first', () => {
    const bytes = new Uint8Array(32);
    bytes[0] = 0b1010_0000;
    bytes[31] = 0b0000_0101;
    expect(substringValue(bytes, 0, 0, 4)).toBe(0b1010);
    expect(substringValue(bytes, 0, 1, 3)).toBe(0b010);
    expect(substringValue(bytes, 0, 248, 8)).toBe(5);
    expect(substringValue(bytes, 0, 232, 24)).toBe(5);
  });

  it('are chosen within the memory budget and near log2(N) bits at ten million', () => {
    const m = chooseSubstrings(10_000_000, 31, 95);
    const bits = substringLayout(m).map((s) => s.bits);
    expect(Math.max(...bits)).toBeLessThanOrEqual(24);
    expect(Math.min(...bits)).toBeGreaterThanOrEqual(19);
    expect(chooseSubstrings(1000, 31, 95)).toBe(32);
  });
});
