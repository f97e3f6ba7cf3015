import { seededRandom } from '@vigil/testkit';
import { describe, expect, it } from 'vitest';
import { HASH_BYTES, createHammingKernel, encodeHammingKernel, hammingDistance256, type HammingKernel } from './hamming-kernel.ts';
import { sleb128, uleb128 } from './wasm-emitter.ts';

// Seeded so every failure reproduces: testkit's generator, as 32-bit words.
function seededWords(seed: number): () => number {
  const random = seededRandom(seed);
  return () => Math.floor(random() * 2 ** 32);
}

function fillRandom(bytes: Uint8Array, at: number, length: number, next: () => number): void {
  for (let i = 0; i < length; i++) bytes[at + i] = next() & 0xff;
}

// Independent of the SWAR code: the hash as one 256-bit integer, popcount by string.
function bigOracle(bytes: Uint8Array, a: number, b: number): number {
  let x = 0n;
  let y = 0n;
  for (let i = 0; i < HASH_BYTES; i++) {
    x = (x << 8n) | BigInt(bytes[a + i]!);
    y = (y << 8n) | BigInt(bytes[b + i]!);
  }
  return (x ^ y).toString(2).replaceAll('0', '').length;
}

/** Copies the query and flips `flips` distinct random bits, so scans see real near-neighbours. */
function plantNear(bytes: Uint8Array, query: number, at: number, flips: number, next: () => number): void {
  bytes.copyWithin(at, query, query + HASH_BYTES);
  const chosen = new Set<number>();
  while (chosen.size < flips) chosen.add(next() & 0xff);
  for (const bit of chosen) bytes[at + (bit >> 3)]! ^= 1 << (bit & 7);
}

const u8 = (k: HammingKernel): Uint8Array => new Uint8Array(k.memory.buffer);
const i32 = (k: HammingKernel, at: number, n: number): number[] => [...new Int32Array(k.memory.buffer, at, n)];
const sat = (d: number): number => Math.min(d, 255);

// A fixed layout for the randomized tests (byte offsets; odd ones on purpose for the query).
const QUERY = 8;
const BASE = 64;
const N = 6000;
const OUT_IDX = BASE + N * HASH_BYTES;
const OUT_DIST = OUT_IDX + 4 * N;
const SLOTS = OUT_DIST + N;
const END = SLOTS + 4 * N;

function randomKernel(seed: number): { k: HammingKernel; next: () => number } {
  const next = seededWords(seed);
  const k = createHammingKernel(END);
  const mem = u8(k);
  fillRandom(mem, QUERY, HASH_BYTES, next);
  fillRandom(mem, BASE, N * HASH_BYTES, next);
  // Every 7th hash is a near neighbour at 0..40 bits, so every radius has hits to check.
  for (let i = 0; i < N; i += 7) plantNear(mem, QUERY, BASE + i * HASH_BYTES, next() % 41, next);
  return { k, next };
}

describe('wasm emitter', () => {
  it('encodes LEB128 like the spec examples', () => {
    expect(uleb128(0)).toEqual([0]);
    expect(uleb128(127)).toEqual([0x7f]);
    expect(uleb128(128)).toEqual([0x80, 0x01]);
    expect(uleb128(624485)).toEqual([0xe5, 0x8e, 0x26]);
    expect(uleb128(2 ** 32)).toEqual([0x80, 0x80, 0x80, 0x80, 0x10]);
    expect(sleb128(0)).toEqual([0]);
    expect(sleb128(63)).toEqual([0x3f]);
    expect(sleb128(64)).toEqual([0xc0, 0x00]);
    expect(sleb128(-1)).toEqual([0x7f]);
    expect(sleb128(-64)).toEqual([0x40]);
    expect(sleb128(-65)).toEqual([0xbf, 0x7f]);
    expect(sleb128(-123456)).toEqual([0xc0, 0xbb, 0x78]);
    expect(sleb128(-(2n ** 63n))).toEqual([0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x7f]);
    expect(() => uleb128(-1)).toThrow(RangeError);
  });
});

describe('hamming kernel module', () => {
  it('validates, imports nothing, exports memory and the three functions', () => {
    const bytes = encodeHammingKernel();
    expect(WebAssembly.validate(bytes)).toBe(true);
    const instance = new WebAssembly.Instance(new WebAssembly.Module(bytes));
    expect(Object.keys(instance.exports).sort()).toEqual(['distances', 'memory', 'scan', 'verify']);
  });

  it('gives each kernel its own memory', () => {
    const a = createHammingKernel();
    const b = createHammingKernel();
    expect(a.memory).not.toBe(b.memory);
    u8(a)[0] = 7;
    expect(u8(b)[0]).toBe(0);
  });
});

describe('hammingDistance256', () => {
  it('agrees with the BigInt oracle', () => {
    const next = seededWords(1);
    const bytes = new Uint8Array(64 * 200 + 3);
    fillRandom(bytes, 0, bytes.length, next);
    for (let i = 0; i < 4000; i++) {
      const a = next() % (bytes.length - 31);
      const b = next() % (bytes.length - 31);
      expect(hammingDistance256(bytes, a, bytes, b)).toBe(bigOracle(bytes, a, b));
    }
  });

  it('rejects hashes that run past the array', () => {
    const bytes = new Uint8Array(40);
    expect(() => hammingDistance256(bytes, 9, bytes, 0)).toThrow(RangeError);
    expect(() => hammingDistance256(bytes, 0, bytes, -1)).toThrow(RangeError);
    expect(() => hammingDistance256(bytes, 0.5, bytes, 0)).toThrow(RangeError);
  });
});

describe('distances', () => {
  it('matches both oracles on random hashes', () => {
    const { k } = randomKernel(2);
    k.distances(QUERY, BASE, N, OUT_DIST);
    const mem = u8(k);
    for (let i = 0; i < N; i++) {
      const d = hammingDistance256(mem, QUERY, mem, BASE + i * HASH_BYTES);
      expect(d).toBe(bigOracle(mem, QUERY, BASE + i * HASH_BYTES));
      expect(mem[OUT_DIST + i]).toBe(d);
    }
  });

  it('gives 0 for equal hashes and saturates 256 to 255', () => {
    const k = createHammingKernel();
    const mem = u8(k);
    fillRandom(mem, 0, 32, seededWords(3));
    mem.copyWithin(32, 0, 32);
    for (let i = 0; i < 32; i++) mem[64 + i] = ~mem[i]! & 0xff;
    k.distances(0, 32, 2, 200);
    expect(hammingDistance256(mem, 0, mem, 64)).toBe(256);
    expect([mem[200], mem[201]]).toEqual([0, 255]);
  });

  it('counts exactly one for a single flipped bit at each of the 256 positions', () => {
    const k = createHammingKernel(40_000);
    const mem = u8(k);
    const next = seededWords(4);
    fillRandom(mem, 0, 32, next);
    for (let bit = 0; bit < 256; bit++) plantNearBit(mem, 0, 32 + bit * 32, bit);
    k.distances(0, 32, 256, 20_000);
    expect([...mem.subarray(20_000, 20_256)]).toEqual(new Array(256).fill(1));
    for (let bit = 0; bit < 256; bit++) expect(bigOracle(mem, 0, 32 + bit * 32)).toBe(1);
    expect(k.scan(0, 32, 256, 0, 21_000, 22_000)).toBe(0);
    expect(k.scan(0, 32, 256, 1, 21_000, 22_000)).toBe(256);
    expect(i32(k, 21_000, 256)).toEqual([...Array(256).keys()]);
  });
});

function plantNearBit(mem: Uint8Array, query: number, at: number, bit: number): void {
  mem.copyWithin(at, query, query + HASH_BYTES);
  mem[at + (bit >> 3)]! ^= 1 << (bit & 7);
}

describe('scan', () => {
  it('returns exactly the hashes within each radius, in order', () => {
    const { k } = randomKernel(5);
    const mem = u8(k);
    const truth = Array.from({ length: N }, (_, i) => bigOracle(mem, QUERY, BASE + i * HASH_BYTES));
    for (const radius of [0, 1, 5, 16, 31, 40, 100, 128, 255, 256]) {
      const n = k.scan(QUERY, BASE, N, radius, OUT_IDX, OUT_DIST);
      const want = truth.flatMap((d, i) => (d <= radius ? [i] : []));
      expect(n).toBe(want.length);
      expect(i32(k, OUT_IDX, n)).toEqual(want);
      expect([...u8(k).subarray(OUT_DIST, OUT_DIST + n)]).toEqual(want.map((i) => sat(truth[i]!)));
    }
  });

  it('radius 0 finds only exact copies; radius 256 finds everything, complement included', () => {
    const k = createHammingKernel();
    const mem = u8(k);
    fillRandom(mem, 0, 32 * 5, seededWords(6));
    mem.copyWithin(64, 0, 32); // slot 1 equals the query at 0 (base is 32)
    for (let i = 0; i < 32; i++) mem[32 + 3 * 32 + i] = ~mem[i]! & 0xff; // slot 3 is its complement
    expect(k.scan(0, 32, 4, 0, 1000, 2000)).toBe(1);
    expect(i32(k, 1000, 1)).toEqual([1]);
    expect(mem[2000]).toBe(0);
    expect(k.scan(0, 32, 4, 256, 1000, 2000)).toBe(4);
    expect(i32(k, 1000, 4)).toEqual([0, 1, 2, 3]);
    expect(mem[2003]).toBe(255);
    expect(k.scan(0, 32, 4, 255, 1000, 2000)).toBe(3);
    // Beyond 256 (even 2^32, which would wrap to 0 as an i32) still means everything.
    expect(k.scan(0, 32, 4, 2 ** 32, 1000, 2000)).toBe(4);
    expect(k.verify(0, 32, 1000, 4, Infinity, 1100, 2000)).toBe(4);
  });

  it('writes nothing for count 0', () => {
    const k = createHammingKernel();
    const mem = u8(k);
    mem.fill(0xaa, 1000, 1100);
    expect(k.scan(0, 32, 0, 256, 1000, 1050)).toBe(0);
    k.distances(0, 32, 0, 1000);
    expect(k.verify(0, 32, 900, 0, 256, 1000, 1050)).toBe(0);
    expect([...mem.subarray(1000, 1100)]).toEqual(new Array(100).fill(0xaa));
  });

  it('works at misaligned addresses', () => {
    const next = seededWords(7);
    const k = createHammingKernel(1 << 16);
    const mem = u8(k);
    const [query, base, count] = [5, 3001, 500];
    fillRandom(mem, query, 32, next);
    fillRandom(mem, base, count * 32, next);
    for (let i = 0; i < count; i += 3) plantNear(mem, query, base + i * 32, next() % 30, next);
    const n = k.scan(query, base, count, 20, 20_003, 30_001);
    const want = [...Array(count).keys()].filter((i) => bigOracle(mem, query, base + i * 32) <= 20);
    expect(n).toBe(want.length);
    const view = new DataView(mem.buffer);
    expect(Array.from({ length: n }, (_, j) => view.getInt32(20_003 + 4 * j, true))).toEqual(want);
    k.distances(query, base, count, 40_001);
    for (let i = 0; i < count; i++) expect(mem[40_001 + i]).toBe(sat(bigOracle(mem, query, base + i * 32)));
  });
});

describe('verify', () => {
  it('keeps listed slots within the radius, reporting slot numbers', () => {
    const { k, next } = randomKernel(8);
    const mem = u8(k);
    const slots = new Int32Array(k.memory.buffer, SLOTS, N);
    // Unsorted, with repeats, odd and large slot numbers: any order the index may produce.
    for (let j = 0; j < N; j++) slots[j] = next() % N;
    slots[0] = N - 1;
    slots[1] = 0;
    slots[2] = slots[3] = 7;
    const truth = (slot: number): number => bigOracle(mem, QUERY, BASE + slot * HASH_BYTES);
    for (const radius of [0, 3, 31, 64, 256]) {
      for (const count of [0, 1, 4, 999, N]) {
        const n = k.verify(QUERY, BASE, SLOTS, count, radius, OUT_IDX, OUT_DIST);
        const want = [...slots.subarray(0, count)].filter((s) => truth(s) <= radius);
        expect(n).toBe(want.length);
        expect(i32(k, OUT_IDX, n)).toEqual(want);
        expect([...mem.subarray(OUT_DIST, OUT_DIST + n)]).toEqual(want.map((s) => sat(truth(s))));
      }
    }
  });

  it('rejects a slot beyond memory instead of wrapping', () => {
    const k = createHammingKernel(1 << 16);
    const view = new DataView(k.memory.buffer);
    const base = 1024;
    const last = Math.floor(((1 << 16) - base - 32) / 32);
    view.setInt32(0, last, true);
    expect(k.verify(100, base, 0, 1, 256, 200, 300)).toBe(1);
    for (const bad of [last + 1, 2 ** 27, -1]) {
      view.setInt32(0, bad, true);
      expect(() => k.verify(100, base, 0, 1, 256, 200, 300)).toThrow(RangeError);
    }
  });
});

describe('memory', () => {
  it('grows on reserve, never shrinks, and works beyond the initial size', () => {
    const k = createHammingKernel(1000);
    expect(k.memory.buffer.byteLength).toBe(65536);
    k.reserve(10);
    expect(k.memory.buffer.byteLength).toBe(65536);
    expect(() => k.scan(0, 70_000, 1, 10, 0, 100)).toThrow(RangeError);
    k.reserve(3 * 65536 + 1);
    expect(k.memory.buffer.byteLength).toBe(4 * 65536);
    k.reserve(0);
    expect(k.memory.buffer.byteLength).toBe(4 * 65536);
    const mem = u8(k); // the old buffer detached on growth
    const next = seededWords(9);
    const [query, base, count] = [200_000, 65_536 + 40, 3000];
    fillRandom(mem, query, 32, next);
    fillRandom(mem, base, count * 32, next);
    for (let i = 0; i < count; i += 5) plantNear(mem, query, base + i * 32, next() % 33, next);
    const want = [...Array(count).keys()].filter((i) => bigOracle(mem, query, base + i * 32) <= 24);
    expect(k.scan(query, base, count, 24, 210_000, 250_000)).toBe(want.length);
    expect(i32(k, 210_000, want.length)).toEqual(want);
    k.distances(query, base, count, 255_000);
    for (let i = 0; i < count; i++) expect(mem[255_000 + i]).toBe(hammingDistance256(mem, query, mem, base + i * 32));
  });

  it('rejects out-of-range arguments with RangeError', () => {
    const k = createHammingKernel();
    const size = k.memory.buffer.byteLength;
    expect(() => k.distances(size - 31, 0, 1, 100)).toThrow(RangeError);
    expect(() => k.distances(0, 32, (size - 32) / 32 + 1, 0)).toThrow(RangeError);
    expect(() => k.distances(0, 32, -1, 0)).toThrow(RangeError);
    expect(() => k.scan(0, 32, 10, -1, 1000, 2000)).toThrow(RangeError);
    expect(() => k.scan(0, 32, 10, 1.5, 1000, 2000)).toThrow(RangeError);
    expect(() => k.scan(0, 32, 10, 5, size - 39, 2000)).toThrow(RangeError);
    expect(() => k.scan(2 ** 32, 32, 10, 5, 1000, 2000)).toThrow(RangeError);
    expect(() => k.verify(0, size - 31, 1000, 1, 5, 2000, 3000)).toThrow(RangeError);
    expect(() => k.reserve(2 ** 32 + 1)).toThrow(RangeError);
  });
});
