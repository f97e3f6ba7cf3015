// The retro-match kernel: every stored hash within radius r of a small set (a list version's
// additions), exactly. Multi-index hashing specialised for a batch join: the 256 bits split into
// 16 disjoint 16-bit substrings, each with a table over the small side; a pair within r differs
// in at most floor(r/16) bits of some substring (pigeonhole), so covering each substring's
// neighbourhood of that radius finds every pair, and a popcount verifies each candidate.
// Built for streaming ten million stored hashes past a day's additions:
//   - the neighbourhoods are enumerated on the small side: an entry is filed under its substring
//     and under each value one bit away (17 buckets a table for PDQ's radius 31), so a query
//     reads one bucket a table, which holds 3-4 more words of each candidate, contiguously: they
//     reject a random pair before any other memory is touched. The general HammingIndex answers
//     one query at a time with 272 probes and an id indirection (~70 us a query at 1e5 entries,
//     measured on this machine); this is ~5 us in JavaScript and ~1 us with the SIMD kernel
//     (join-kernel.ts), which checks 128 bits a candidate at once;
//   - a page of queries is joined table by table, in bucket order, the words the kernel reads
//     of each query copied into that order, so reads follow both the table and the queries
//     (reading each query's row where it lies instead cost 3 us a query).
// The expanded tables cost 16 x 17 x 16 bytes an entry (435 MB at 1e5, per thread); above
// `maxExpandedBytes` (640 MB) the queries enumerate the neighbourhoods instead (same results,
// slower). Pure: no I/O. Exact for any radius (from 48 bits up the small side is scanned).

import { createJoinKernel, type JoinKernel } from './join-kernel.ts';

const SUBSTRINGS = 16;
const BUCKETS = 1 << 16;
const WORDS = 8;
/** A query row as the kernel reads it, in bucket order: its key, then its 4 check words. */
const SORTED_WORDS = 5;

interface Table {
  offsets: Uint32Array;
  /** Entry ids in bucket order. */
  ids: Uint32Array;
  /** Three of each entry's other words in bucket order: the first filter reads only these. */
  check: Uint32Array;
  /** Which words `check` holds. */
  checkWords: [number, number, number];
}

/** Expanded tables in WebAssembly memory: offsets and 4 check words per filed entry. */
interface KernelTables {
  kernel: JoinKernel;
  tables: Array<{ offsets: number; check: number; ids: Uint32Array; checkWords: [number, number, number, number] }>;
  queries: number;
  /** Row indexes in bucket order for the table being joined. */
  order: number;
  queryCapacity: number;
  out: number;
  outCapacity: number;
  top: number;
}

const PAGE = 65536;

export class DeltaJoin {
  readonly size: number;
  readonly radius: number;
  readonly #words: Uint32Array;
  readonly #tables: Table[] = [];
  #wasm: KernelTables | null = null;
  readonly #masks: Uint16Array;
  readonly #scan: boolean;
  /** Neighbourhoods filed on the small side: queries probe their own bucket only. */
  readonly #expanded: boolean;

  /** `hashes`: `count` 32-byte hashes back to back. */
  constructor(hashes: Uint8Array, count: number, radius: number, options: { maxExpandedBytes?: number; simd?: boolean } = {}) {
    this.size = count;
    this.radius = Math.max(0, Math.min(256, Math.floor(radius)));
    this.#words = toWords(hashes.subarray(0, count * 32));
    const probeRadius = Math.floor(this.radius / SUBSTRINGS);
    // Beyond 2 flipped bits per substring the neighbourhoods outgrow a scan of a small side.
    this.#scan = probeRadius > 2;
    const masks = neighbourMasks(this.#scan ? 0 : probeRadius);
    this.#expanded = !this.#scan && masks.length > 1 && SUBSTRINGS * masks.length * count * 16 <= (options.maxExpandedBytes ?? 640e6);
    // Expanded: queries probe their own bucket (mask 0), entries fill every neighbour bucket.
    this.#masks = this.#expanded ? Uint16Array.of(0) : masks;
    const fileUnder = this.#expanded ? masks : Uint16Array.of(0);
    if (this.#scan) return;
    const kernel = this.#expanded && options.simd !== false ? createJoinKernel() : null;
    if (kernel) {
      this.#wasm = this.#buildKernelTables(kernel, fileUnder);
      return;
    }
    for (let t = 0; t < SUBSTRINGS; t++) {
      const offsets = new Uint32Array(BUCKETS + 1);
      for (let id = 0; id < count; id++) {
        const key = substring(this.#words, id * WORDS, t);
        for (let m = 0; m < fileUnder.length; m++) offsets[(key ^ fileUnder[m]!) + 1]!++;
      }
      for (let b = 0; b < BUCKETS; b++) offsets[b + 1]! += offsets[b]!;
      const fill = offsets.slice(0, BUCKETS);
      const total = offsets[BUCKETS]!;
      const ids = new Uint32Array(total);
      const w = t >> 1;
      const checkWords: [number, number, number] = [(w + 1) % WORDS, (w + 3) % WORDS, (w + 5) % WORDS];
      const check = new Uint32Array(total * 3);
      for (let id = 0; id < count; id++) {
        const key = substring(this.#words, id * WORDS, t);
        for (let m = 0; m < fileUnder.length; m++) {
          const at = fill[key ^ fileUnder[m]!]!++;
          ids[at] = id;
          for (let c = 0; c < 3; c++) check[at * 3 + c] = this.#words[id * WORDS + checkWords[c]!]!;
        }
      }
      this.#tables.push({ offsets, ids, check, checkWords });
    }
  }

  #buildKernelTables(kernel: JoinKernel, fileUnder: Uint16Array): KernelTables {
    const count = this.size;
    const perTable = fileUnder.length * count;
    const tableBytes = (BUCKETS + 1) * 4 + perTable * 16;
    const wasm: KernelTables = { kernel, tables: [], queries: 0, order: 0, queryCapacity: 0, out: 0, outCapacity: 0, top: 64 };
    grow(kernel, wasm.top + SUBSTRINGS * tableBytes);
    for (let t = 0; t < SUBSTRINGS; t++) {
      const offsetsPtr = wasm.top;
      const checkPtr = offsetsPtr + (BUCKETS + 1) * 4;
      wasm.top = checkPtr + perTable * 16;
      const memory = kernel.memory.buffer;
      const offsets = new Uint32Array(memory, offsetsPtr, BUCKETS + 1);
      for (let id = 0; id < count; id++) {
        const key = substring(this.#words, id * WORDS, t);
        for (let m = 0; m < fileUnder.length; m++) offsets[(key ^ fileUnder[m]!) + 1]!++;
      }
      for (let b = 0; b < BUCKETS; b++) offsets[b + 1]! += offsets[b]!;
      const fill = offsets.slice(0, BUCKETS);
      const ids = new Uint32Array(perTable);
      const w = t >> 1;
      const checkWords: [number, number, number, number] = [(w + 1) % WORDS, (w + 3) % WORDS, (w + 5) % WORDS, (w + 7) % WORDS];
      const check = new Uint32Array(memory, checkPtr, perTable * 4);
      for (let id = 0; id < count; id++) {
        const key = substring(this.#words, id * WORDS, t);
        for (let m = 0; m < fileUnder.length; m++) {
          const at = fill[key ^ fileUnder[m]!]!++;
          ids[at] = id;
          for (let c = 0; c < 4; c++) check[at * 4 + c] = this.#words[id * WORDS + checkWords[c]!]!;
        }
      }
      wasm.tables.push({ offsets: offsetsPtr, check: checkPtr, ids, checkWords });
    }
    return wasm;
  }

  #searchKernel(wasm: KernelTables, queries: Uint32Array, count: number, report: (row: number, entry: number, distance: number) => void): void {
    const { kernel } = wasm;
    if (wasm.queryCapacity < count) {
      wasm.queries = wasm.top;
      wasm.order = wasm.queries + count * SORTED_WORDS * 4;
      wasm.queryCapacity = count;
      wasm.top = wasm.order + count * 4;
      wasm.outCapacity = 0;
    }
    if (wasm.outCapacity === 0) {
      wasm.out = wasm.top;
      wasm.outCapacity = 1 << 16;
      grow(kernel, wasm.out + wasm.outCapacity * 4);
    }
    const r = this.radius;
    const all = this.#words;
    const keys = new Uint16Array(count);
    const starts = new Uint32Array(BUCKETS + 1);
    for (let t = 0; t < SUBSTRINGS; t++) {
      const table = wasm.tables[t]!;
      const [c0, c1, c2, c3] = table.checkWords;
      // Rows sorted by their bucket (a counting sort), each as the 5 words the kernel reads (its
      // key, then the 4 check words) copied into that order: the kernel then reads both the table
      // and the queries in sequence (random reads of whole rows cost more than the join itself).
      starts.fill(0);
      for (let row = 0; row < count; row++) {
        const q = queries[row * WORDS + (t >> 1)]!;
        const key = t & 1 ? q >>> 16 : q & 0xffff;
        keys[row] = key;
        starts[key + 1]!++;
      }
      for (let b = 0; b < BUCKETS; b++) starts[b + 1]! += starts[b]!;
      const order = new Uint32Array(kernel.memory.buffer, wasm.order, count);
      const sorted = new Uint32Array(kernel.memory.buffer, wasm.queries, count * SORTED_WORDS);
      for (let row = 0; row < count; row++) {
        const at = starts[keys[row]!]!++;
        const a = row * WORDS;
        const s = at * SORTED_WORDS;
        order[at] = row;
        sorted[s] = keys[row]!;
        sorted[s + 1] = queries[a + c0]!;
        sorted[s + 2] = queries[a + c1]!;
        sorted[s + 3] = queries[a + c2]!;
        sorted[s + 4] = queries[a + c3]!;
      }
      let n = kernel.join(wasm.queries, count, table.offsets, table.check, 0, 0, 1, 2, 3, 4, r, wasm.out, wasm.outCapacity, wasm.order);
      if (n > wasm.outCapacity) {
        // More survivors than room: a bigger buffer at the top of memory, and this table again.
        wasm.out = wasm.top;
        wasm.outCapacity = n * 2;
        grow(kernel, wasm.out + wasm.outCapacity * 4);
        n = kernel.join(wasm.queries, count, table.offsets, table.check, 0, 0, 1, 2, 3, 4, r, wasm.out, wasm.outCapacity, wasm.order);
      }
      const out = new Uint32Array(kernel.memory.buffer, wasm.out, n);
      for (let i = 0; i < n; i += 2) {
        const row = out[i]!;
        const id = table.ids[out[i + 1]!]!;
        const d = distanceOf(queries, row * WORDS, all, id * WORDS);
        if (d <= r) report(row, id, d);
      }
    }
  }

  /**
   * Calls `found(row, entry, distance)` once for every (query row, entry) pair within the
   * radius. `queries` holds `count` hashes as little-endian words (see `toWords`), 8 per row.
   */
  searchPage(queries: Uint32Array, count: number, found: (row: number, entry: number, distance: number) => void): void {
    const r = this.radius;
    const reported = new Set<number>();
    const report = (row: number, entry: number, distance: number) => {
      const key = row * this.size + entry;
      if (reported.has(key)) return;
      reported.add(key);
      found(row, entry, distance);
    };
    if (this.#scan) {
      for (let row = 0; row < count; row++) scanRange(queries, row, this.#words, 0, this.size, null, r, report);
      return;
    }
    if (this.#wasm) return this.#searchKernel(this.#wasm, queries, count, report);
    const masks = this.#masks;
    const all = this.#words;
    for (let t = 0; t < SUBSTRINGS; t++) {
      const { offsets, ids, check, checkWords } = this.#tables[t]!;
      const word = t >> 1;
      const high = (t & 1) === 1;
      const [c0, c1, c2] = checkWords;
      for (let row = 0; row < count; row++) {
        const a = row * WORDS;
        const q = queries[a + word]!;
        const key = high ? q >>> 16 : q & 0xffff;
        const k0 = queries[a + c0]!, k1 = queries[a + c1]!, k2 = queries[a + c2]!;
        for (let m = 0; m < masks.length; m++) {
          const bucket = key ^ masks[m]!;
          for (let p = offsets[bucket]!, end = offsets[bucket + 1]!; p < end; p++) {
            // 96 bits of the pair first: a random pair passes with probability ~5e-4.
            const c = p * 3;
            const x0 = k0 ^ check[c]!, x1 = k1 ^ check[c + 1]!;
            const d = BITS[x0 & 0xffff]! + BITS[x0 >>> 16]! + BITS[x1 & 0xffff]! + BITS[x1 >>> 16]!;
            if (d > r) continue;
            const x2 = k2 ^ check[c + 2]!;
            if (d + BITS[x2 & 0xffff]! + BITS[x2 >>> 16]! > r) continue;
            scanRange(queries, row, all, ids[p]!, ids[p]! + 1, null, r, report);
          }
        }
      }
    }
  }
}

/** Verifies entries [start, end) of `words` against query `row`, early exit past r. */
function scanRange(
  queries: Uint32Array, row: number, words: Uint32Array, start: number, end: number, ids: Uint32Array | null, r: number,
  report: (row: number, entry: number, distance: number) => void,
): void {
  const a = row * WORDS;
  const q0 = queries[a]!, q1 = queries[a + 1]!, q2 = queries[a + 2]!, q3 = queries[a + 3]!;
  for (let p = start; p < end; p++) {
    const b = p * WORDS;
    let d = popcount(q0 ^ words[b]!) + popcount(q1 ^ words[b + 1]!);
    if (d > r) continue;
    d += popcount(q2 ^ words[b + 2]!) + popcount(q3 ^ words[b + 3]!);
    if (d > r) continue;
    d += popcount(queries[a + 4]! ^ words[b + 4]!) + popcount(queries[a + 5]! ^ words[b + 5]!);
    d += popcount(queries[a + 6]! ^ words[b + 6]!) + popcount(queries[a + 7]! ^ words[b + 7]!);
    if (d <= r) report(row, ids ? ids[p]! : p, d);
  }
}

function distanceOf(a: Uint32Array, ai: number, b: Uint32Array, bi: number): number {
  let d = 0;
  for (let k = 0; k < WORDS; k++) d += popcount(a[ai + k]! ^ b[bi + k]!);
  return d;
}

/** Grows the kernel's memory to at least `bytes`. */
function grow(kernel: JoinKernel, bytes: number): void {
  const have = kernel.memory.buffer.byteLength;
  if (bytes > have) kernel.memory.grow(Math.ceil((bytes - have) / PAGE));
}

/** Substring t: the low (even t) or high (odd t) half of word t/2. */
function substring(words: Uint32Array, base: number, t: number): number {
  const word = words[base + (t >> 1)]!;
  return t & 1 ? word >>> 16 : word & 0xffff;
}

/** Every 16-bit mask with at most `radius` bits set (0: just 0). */
function neighbourMasks(radius: number): Uint16Array {
  const out: number[] = [];
  for (let m = 0; m < BUCKETS; m++) if (popcount(m) <= radius) out.push(m);
  return Uint16Array.from(out.sort((a, b) => popcount(a) - popcount(b) || a - b));
}

/** Bits set in each 16-bit value: two table reads count a word faster than arithmetic in JS. */
const BITS = Uint8Array.from({ length: BUCKETS }, (_, v) => popcount(v));

function popcount(x: number): number {
  x -= (x >>> 1) & 0x55555555;
  x = (x & 0x33333333) + ((x >>> 2) & 0x33333333);
  x = (x + (x >>> 4)) & 0x0f0f0f0f;
  return Math.imul(x, 0x01010101) >>> 24;
}

/** `bytes` (any alignment) as little-endian 32-bit words: how the join reads hashes. */
export function toWords(bytes: Uint8Array): Uint32Array {
  const words = new Uint32Array(bytes.length >> 2);
  new Uint8Array(words.buffer).set(bytes.subarray(0, words.length * 4));
  return words;
}
