import { readFileSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import v8 from 'node:v8';
import { runInNewContext } from 'node:vm';
import { DIHEDRAL_NAMES } from '@vigil/hashing';
import { describe, expect, it } from 'vitest';
import { bytesToHex, DIHEDRAL_VARIANTS, hexToBytes, ListMatcher, type ListDescriptor } from './list-matcher.ts';

interface PdqVector {
  file: string;
  hash: string;
  dihedral: Record<string, string>;
}
const vectorsDir = process.env.VIGIL_VECTORS_DIR ?? resolve(dirname(fileURLToPath(import.meta.url)), '../../../../shared/vectors');
const vectors = JSON.parse(readFileSync(resolve(vectorsDir, 'pdq/expected.json'), 'utf8')) as PdqVector[];
const vector = (file: string) => vectors.find((v) => v.file === file)!;

const pdqList = (overrides: Partial<ListDescriptor> = {}): ListDescriptor => ({
  id: 'demo-pdq',
  version: 3,
  algorithm: 'pdq',
  threshold: 31,
  action: 'quarantine',
  dihedral: true,
  ...overrides,
});

describe('ListMatcher: perceptual lists', () => {
  const original = vector('bridge-1-original.jpg');

  function listOfOriginal(overrides: Partial<ListDescriptor> = {}) {
    const list = new ListMatcher(pdqList(overrides));
    list.add([{ hash: original.hash, externalId: 'E-1', category: 'A1' }, { hash: vector('c.png').hash, externalId: 'E-2' }]);
    list.compact();
    return list;
  }

  it('matches a near copy with full provenance', () => {
    const blurred = vector('bridge-mods-blur-a-little.jpg');
    const [match, ...rest] = listOfOriginal().match({ pdq: blurred.hash, pdqDihedral: blurred.dihedral });
    expect(rest).toEqual([]);
    expect(match).toMatchObject({ listId: 'demo-pdq', listVersion: 3, action: 'quarantine', algorithm: 'pdq', entryId: 'E-1', category: 'A1', threshold: 31, variant: 'orig' });
    expect(match!.distance).toBeLessThanOrEqual(31);
  });

  it.each(['bridge-5-flipx.jpg', 'bridge-2-rotate-90.jpg', 'bridge-4-rotate-270.jpg', 'bridge-7-flip-plus-1.jpg'])(
    'finds the flipped or rotated copy %s through a dihedral variant, only when the list allows it',
    (file) => {
      const copy = vector(file);
      const query = { pdq: copy.hash, pdqDihedral: copy.dihedral };
      const [match] = listOfOriginal().match(query);
      expect(match).toMatchObject({ entryId: 'E-1' });
      expect(match!.variant).not.toBe('orig');
      expect(match!.distance).toBeLessThanOrEqual(31);
      expect(listOfOriginal({ dihedral: false }).match(query)).toEqual([]);
    },
  );

  it('applies the list threshold, and a removed entry no longer matches', () => {
    const blurred = vector('bridge-mods-blur-a-little.jpg');
    const [match] = listOfOriginal().match({ pdq: blurred.hash });
    expect(listOfOriginal({ threshold: match!.distance - 1 }).match({ pdq: blurred.hash })).toEqual([]);
    const list = listOfOriginal();
    expect(list.remove([original.hash.toUpperCase()])).toBe(1);
    expect(list.size).toBe(1);
    expect(list.match({ pdq: original.hash })).toEqual([]);
  });

  it('answers unrelated content and content without the algorithm with nothing', () => {
    expect(listOfOriginal().match({ pdq: vector('pdqhash-python-image1.jpg').hash })).toEqual([]);
    expect(listOfOriginal().match({ md5: 'd41d8cd98f00b204e9800998ecf8427e' })).toEqual([]);
  });

  it('matches blockhash lists on the blockhash value only', () => {
    const list = new ListMatcher(pdqList({ id: 'bh', algorithm: 'blockhash', threshold: 8, dihedral: false }));
    list.add([{ hash: 'f'.repeat(64), externalId: 'B-1' }]);
    list.compact();
    expect(list.match({ blockhash: `${'f'.repeat(62)}00` })).toMatchObject([{ entryId: 'B-1', distance: 8, variant: 'orig' }]);
    expect(list.match({ pdq: 'f'.repeat(64) })).toEqual([]);
  });
});

describe('ListMatcher: exact lists', () => {
  it('matches digests case-insensitively with distance 0 and variant exact', () => {
    const list = new ListMatcher({ id: 'ncmec-md5', version: 1, algorithm: 'md5', threshold: 0, action: 'block', dihedral: false });
    list.add([{ hash: '0CC175B9C0F1B6A831C399E269772661', externalId: 'N-7', category: 'B' }]);
    expect(list.match({ md5: '0cc175b9c0f1b6a831c399e269772661' })).toEqual([
      { listId: 'ncmec-md5', listVersion: 1, action: 'block', algorithm: 'md5', entryId: 'N-7', category: 'B', distance: 0, threshold: 0, variant: 'exact' },
    ]);
    expect(list.match({ sha1: 'x' })).toEqual([]);
    expect(list.remove(['0cc175b9c0f1b6a831c399e269772661'])).toBe(1);
    expect(list.match({ md5: '0cc175b9c0f1b6a831c399e269772661' })).toEqual([]);
  });
});

describe('ListMatcher: removal and memory', () => {
  const far = (seed: number) => seed.toString(16).padStart(2, '0').repeat(32);

  it('removes every entry carrying the removed hash and keeps its near neighbours', () => {
    const list = new ListMatcher(pdqList({ threshold: 8, dihedral: false }));
    const base = far(0x5a);
    const near = `${base.slice(0, 62)}5b`; // one bit away
    list.add([{ hash: base, externalId: 'dup-1' }, { hash: near, externalId: 'near' }, { hash: base.toUpperCase(), externalId: 'dup-2' }]);
    list.compact();
    list.add([{ hash: base, externalId: 'dup-3' }]); // pending, not yet in the tables
    expect(list.match({ pdq: base }).map((m) => m.entryId)).toEqual(['dup-1', 'dup-2', 'dup-3', 'near']);
    expect(list.remove([base, 'not-a-hash'])).toBe(3);
    expect(list.size).toBe(1);
    expect(list.match({ pdq: base })).toMatchObject([{ entryId: 'near', distance: 1 }]);
    list.add([{ hash: base, externalId: 'back', category: 'A1' }]);
    expect(list.match({ pdq: base })[0]).toMatchObject({ entryId: 'back', category: 'A1', distance: 0 });
  });

  it('matches SHA-1 and SHA-256 lists, ignores malformed query digests, refuses malformed entries', () => {
    const sha256 = new ListMatcher({ id: 's', version: 2, algorithm: 'sha256', threshold: 0, action: 'block', dihedral: false });
    sha256.add([{ hash: 'ab'.repeat(32), externalId: 'S-1' }]);
    expect(sha256.match({ sha256: 'AB'.repeat(32) })).toMatchObject([{ entryId: 'S-1', variant: 'exact' }]);
    expect(sha256.match({ sha256: 'ab'.repeat(31) })).toEqual([]);
    expect(sha256.match({ sha256: 'zz'.repeat(32) })).toEqual([]);
    expect(() => sha256.add([{ hash: 'ab'.repeat(16) }])).toThrow(RangeError);
    const sha1 = new ListMatcher({ id: 'h', version: 1, algorithm: 'sha1', threshold: 0, action: 'block', dihedral: false });
    sha1.add([{ hash: 'cd'.repeat(20) }]);
    expect(sha1.match({ sha1: 'cd'.repeat(20) })).toMatchObject([{ entryId: null, category: null }]);
  });

  it('keeps a large list off the JavaScript heap', () => {
    // A real full collection before each reading, so garbage from building the entries cannot count.
    v8.setFlagsFromString('--expose-gc');
    const gc = runInNewContext('gc') as () => void;
    gc();
    const before = process.memoryUsage().heapUsed;
    const list = new ListMatcher(pdqList({ threshold: 31 }), 200_000);
    const hash = Buffer.alloc(32);
    for (let i = 0; i < 200_000; i++) {
      hash.writeUInt32BE(i * 2654435761 >>> 0, 0);
      hash.writeUInt32BE(i, 28);
      list.add([{ hash: hash.toString('hex'), externalId: `NCMEC-${i}`, category: 'A1' }]);
    }
    list.compact();
    gc();
    // One object and string per entry would be well over 100 bytes of heap each.
    expect((process.memoryUsage().heapUsed - before) / 200_000).toBeLessThan(8);
    expect(list.byteLength() / 200_000).toBeLessThan(160);
  });
});

describe('shared vocabulary', () => {
  it('names the dihedral variants as the hashing library does', () => {
    expect([...DIHEDRAL_VARIANTS]).toEqual([...DIHEDRAL_NAMES]);
  });

  it('parses hex in text order, formats it back, and rejects anything else', () => {
    expect([...hexToBytes(`ff${'0'.repeat(60)}01`)].filter((b) => b !== 0)).toEqual([255, 1]);
    const original = vector('c.png').hash;
    expect(bytesToHex(hexToBytes(original.toUpperCase()))).toBe(original);
    expect(() => hexToBytes('abc')).toThrow(RangeError);
  });

  it('refuses a negative or fractional threshold', () => {
    expect(() => new ListMatcher(pdqList({ threshold: -1 }))).toThrow(RangeError);
    expect(() => new ListMatcher(pdqList({ threshold: 2.5 }))).toThrow(RangeError);
  });
});

describe('ListMatcher: extra queries and near misses', () => {
  /** A hash `bits` bits away from `hex` (the lowest bits flipped). */
  const flip = (hex: string, bits: number) => {
    const bytes = hexToBytes(hex);
    for (let i = 0; i < bits; i++) bytes[31 - (i >> 3)]! ^= 1 << (i & 7);
    return bytesToHex(bytes);
  };
  const base = 'a5'.repeat(32);
  const matcher = () => {
    const m = new ListMatcher(pdqList({ threshold: 20, dihedral: false }));
    m.add([{ hash: base, externalId: 'E-1' }, { hash: flip(base, 60), externalId: 'E-2' }]);
    m.compact();
    return m;
  };

  it('reports extra-query hits with their source, one per entry and source', () => {
    const hits = matcher().match({ pdq: flip(base, 10), extra: [{ source: 'region', pdq: flip(base, 4) }, { source: 'uncrop-5', pdq: flip(base, 30) }] });
    expect(hits.map(({ entryId, distance, query }) => ({ entryId, distance, query }))).toEqual([
      { entryId: 'E-1', distance: 4, query: 'region' },
      { entryId: 'E-1', distance: 10, query: undefined },
    ]);
  });

  it('marks the PDQ hits of an unstable extra query, and only those', () => {
    const hits = matcher().match({ pdq: flip(base, 10), extra: [{ source: 'region', pdq: flip(base, 4), unstable: true }, { source: 'overlay', pdq: flip(base, 6) }] });
    expect(hits.map(({ distance, query, unstable }) => ({ distance, query, unstable }))).toEqual([
      { distance: 4, query: 'region', unstable: true },
      { distance: 6, query: 'overlay', unstable: undefined },
      { distance: 10, query: undefined, unstable: undefined },
    ]);
  });

  it('reports hits beyond the threshold only within the asked near-miss margin, marked', () => {
    const query = { pdq: flip(base, 26) };
    expect(matcher().match(query)).toEqual([]);
    const [hit] = matcher().match({ ...query, nearMiss: { pdq: 8 } });
    expect(hit).toMatchObject({ entryId: 'E-1', distance: 26, threshold: 20, nearMiss: true });
    expect(matcher().match({ ...query, nearMiss: { pdq: 5 } })).toEqual([]);
    expect(matcher().match({ pdq: base, nearMiss: { pdq: 8 } })[0]!.nearMiss).toBeUndefined();
  });
});
