// The exact Hamming index: every stored 256-bit hash within distance r of a query, never an
// approximation (a missed match is a child-safety failure). Multi-index hashing (Norouzi et al.,
// 2012): split the 256 bits into m substrings; a hash within r differs from the query in at most
// floor(r/m) bits of some substring, so probing each substring's neighbourhood of that radius and
// verifying the candidates with popcount (WebAssembly) finds all of them. Pure: no I/O.

import { createHammingKernel, HASH_BYTES, hammingDistance256, type HammingKernel } from './hamming-kernel.ts';

export interface RadiusMatch {
  /** The slot returned by `add`: stable for the life of the index. */
  id: number;
  distance: number;
}

export interface HammingIndexOptions {
  /** Sizes the substring tables; the index stays exact at any size, only speed depends on it. */
  expectedSize?: number;
  /** The radius the tables are tuned for (PDQ's usual threshold by default). */
  designRadius?: number;
  /**
   * Upper bound on table memory per stored hash, bytes. The default, 95, keeps the whole index
   * (32-byte hash, tombstone byte, tables) within 128 bytes a hash.
   */
  maxTableBytesPerHash?: number;
  /** Force a substring count (tests, experiments); chosen from size and radius otherwise. */
  substrings?: number;
  /**
   * `auto` probes the tables or scans everything, whichever the cost model says is cheaper for
   * the query's radius; `tables` and `scan` force one (tests and benchmarks). All are exact.
   */
  strategy?: 'auto' | 'tables' | 'scan';
}

export interface IndexStats {
  size: number;
  removed: number;
  /** Hashes added since the tables were last built: scanned by brute force until `compact()`. */
  pending: number;
  substrings: number;
  substringBits: number[];
  bytesPerHash: number;
}

// Costs measured on this machine kind (npm run bench:match), ns: one probe of a substring table
// (a random read of two offsets), one candidate (gather, WASM popcount), one hash
// of a brute-force scan. They only steer the strategy; exactness never depends on them.
const COST_PROBE_NS = 25;
const COST_CANDIDATE_NS = 20;
const COST_SCAN_NS = 1.15;
const MAX_SUBSTRING_BITS = 24;
const MIN_SUBSTRINGS = 11;
const MAX_SUBSTRINGS = 32;

// Kernel memory layout: a query, then candidate and result buffers for one chunk, then the store.
const CHUNK = 1 << 16;
const QUERY_PTR = 0;
const CANDIDATES_PTR = 64;
const OUT_IDS_PTR = CANDIDATES_PTR + 4 * CHUNK;
const OUT_DIST_PTR = OUT_IDS_PTR + 4 * CHUNK;
const STORE_PTR = OUT_DIST_PTR + CHUNK;

interface SubstringTable {
  /** First bit (0 = most significant bit of byte 0) and width of the substring. */
  start: number;
  bits: number;
  /** ids of the indexed hashes, grouped by substring value: value v owns ids[offsets[v]..offsets[v+1]). */
  offsets: Uint32Array;
  ids: Int32Array;
}

export class HammingIndex {
  readonly #kernel: HammingKernel;
  readonly #options: Required<Omit<HammingIndexOptions, 'substrings'>> & { substrings?: number };
  #size = 0;
  #capacity = 0;
  #removed = new Uint8Array(0);
  #removedCount = 0;
  #tables: SubstringTable[] = [];
  /** Hashes with id < #indexed are in the tables; later ones are scanned. */
  #indexed = 0;
  #masks = new Map<string, Uint32Array>();

  constructor(options: HammingIndexOptions = {}) {
    this.#options = {
      expectedSize: options.expectedSize ?? 0,
      designRadius: options.designRadius ?? 31,
      maxTableBytesPerHash: options.maxTableBytesPerHash ?? 95,
      strategy: options.strategy ?? 'auto',
      ...(options.substrings !== undefined && { substrings: options.substrings }),
    };
    this.#kernel = createHammingKernel(STORE_PTR + HASH_BYTES * 1024);
    this.#grow(Math.max(1024, this.#options.expectedSize));
  }

  get size(): number {
    return this.#size - this.#removedCount;
  }

  /** Stores a 32-byte hash; returns its id. Searchable at once (scanned until the next `compact`). */
  add(hash: Uint8Array, offset = 0): number {
    if (hash.length - offset < HASH_BYTES) throw new RangeError('a 256-bit hash needs 32 bytes');
    if (this.#size === this.#capacity) this.#grow(this.#capacity * 2);
    const id = this.#size++;
    this.#memory().set(hash.subarray(offset, offset + HASH_BYTES), STORE_PTR + id * HASH_BYTES);
    return id;
  }

  /** Stores `count` hashes laid out back to back; returns the first id. */
  addAll(hashes: Uint8Array, count = hashes.length / HASH_BYTES): number {
    if (this.#size + count > this.#capacity) this.#grow(Math.max(this.#capacity * 2, this.#size + count));
    const first = this.#size;
    this.#memory().set(hashes.subarray(0, count * HASH_BYTES), STORE_PTR + first * HASH_BYTES);
    this.#size += count;
    return first;
  }

  /** Removes a hash; its id is never reused. Returns false when it was absent or already removed. */
  remove(id: number): boolean {
    if (!Number.isInteger(id) || id < 0 || id >= this.#size || this.#removed[id] === 1) return false;
    this.#removed[id] = 1;
    this.#removedCount++;
    return true;
  }

  /** A copy of the stored hash. */
  hash(id: number): Uint8Array {
    if (id < 0 || id >= this.#size) throw new RangeError(`no hash with id ${id}`);
    return this.#memory().slice(STORE_PTR + id * HASH_BYTES, STORE_PTR + (id + 1) * HASH_BYTES);
  }

  /**
   * (Re)builds the substring tables over every hash added so far, dropping removed ones. Optional:
   * search is exact without it, this only moves pending additions from the scan into the tables.
   */
  compact(): void {
    const n = this.#size;
    const m = this.#options.substrings ?? chooseSubstrings(n, this.#options.designRadius, this.#options.maxTableBytesPerHash);
    const memory = this.#memory();
    this.#tables = substringLayout(m).map(({ start, bits }) => buildTable(memory, n, start, bits, this.#removed));
    this.#indexed = n;
  }

  /** Every live hash within `radius` of `query` (32 bytes), with its distance, in id order. */
  search(query: Uint8Array, radius: number, offset = 0): RadiusMatch[] {
    const r = this.#loadQuery(query, offset, radius);
    if (r < 0) return [];
    const found: RadiusMatch[] = [];
    const strategy = this.#options.strategy;
    const useTables =
      this.#tables.length > 0 &&
      (strategy === 'tables' || (strategy === 'auto' && this.#probeCost(r) < COST_SCAN_NS * this.#indexed));
    if (useTables) this.#searchTables(query, offset, r, found);
    else this.#scan(0, this.#indexed, r, found);
    this.#scan(this.#indexed, this.#size, r, found);
    return found.sort((a, b) => a.id - b.id);
  }

  /** Brute force over every live hash (WebAssembly popcount): the reference `search` must equal. */
  scan(query: Uint8Array, radius: number, offset = 0): RadiusMatch[] {
    const r = this.#loadQuery(query, offset, radius);
    if (r < 0) return [];
    const found: RadiusMatch[] = [];
    this.#scan(0, this.#size, r, found);
    return found;
  }

  /** `search` for each of `count` queries laid out back to back. */
  searchBatch(queries: Uint8Array, radius: number, count = queries.length / HASH_BYTES): RadiusMatch[][] {
    const out: RadiusMatch[][] = [];
    for (let i = 0; i < count; i++) out.push(this.search(queries, radius, i * HASH_BYTES));
    return out;
  }

  stats(): IndexStats {
    const tableBytes = this.#tables.reduce((sum, t) => sum + t.offsets.byteLength + t.ids.byteLength, 0);
    const perHashOverhead = 1; // tombstone byte
    return {
      size: this.size,
      removed: this.#removedCount,
      pending: this.#size - this.#indexed,
      substrings: this.#tables.length,
      substringBits: this.#tables.map((t) => t.bits),
      bytesPerHash: this.#size === 0 ? 0 : HASH_BYTES + perHashOverhead + tableBytes / this.#size,
    };
  }

  // -------------------------------------------------------------------------------------------

  /** Copies the query where the kernel reads it; returns the clamped radius (-1: match nothing). */
  #loadQuery(query: Uint8Array, offset: number, radius: number): number {
    if (query.length - offset < HASH_BYTES) throw new RangeError('a 256-bit query needs 32 bytes');
    const r = clampRadius(radius);
    if (r >= 0) this.#memory().set(query.subarray(offset, offset + HASH_BYTES), QUERY_PTR);
    return r;
  }

  #memory(): Uint8Array {
    return new Uint8Array(this.#kernel.memory.buffer);
  }

  #grow(capacity: number): void {
    this.#kernel.reserve(STORE_PTR + capacity * HASH_BYTES);
    const removed = new Uint8Array(capacity);
    removed.set(this.#removed.subarray(0, this.#size));
    this.#removed = removed;
    this.#capacity = capacity;
  }

  /** Estimated cost of a table search at radius r, ns. */
  #probeCost(r: number): number {
    const radii = probeRadii(this.#tables, r, this.#indexed);
    return this.#tables.reduce((sum, table, t) => sum + tableProbeCost(table.bits, radii[t]!, this.#indexed), 0);
  }

  #searchTables(query: Uint8Array, offset: number, r: number, found: RadiusMatch[]): void {
    const radii = probeRadii(this.#tables, r, this.#indexed);
    const candidates = new Int32Array(this.#kernel.memory.buffer, CANDIDATES_PTR, CHUNK);
    const before = found.length;
    let count = 0;
    this.#tables.forEach((table, t) => {
      const radius = radii[t]!;
      if (radius < 0) return;
      const key = substringValue(query, offset, table.start, table.bits);
      const masks = this.#neighbourMasks(table.bits, radius);
      const { offsets, ids } = table;
      for (let k = 0; k < masks.length; k++) {
        const bucket = (key ^ masks[k]!) >>> 0;
        for (let p = offsets[bucket]!, end = offsets[bucket + 1]!; p < end; p++) {
          candidates[count++] = ids[p]!;
          if (count === CHUNK) {
            this.#verify(count, r, found);
            count = 0;
          }
        }
      }
    });
    if (count > 0) this.#verify(count, r, found);
    // A hash can surface through several substrings. Deduplicating the few survivors is cheaper
    // than a per-candidate "seen" check, which costs a cache miss per candidate at ten million.
    if (found.length - before > 1) {
      const seen = new Set<number>();
      let write = before;
      for (let read = before; read < found.length; read++) {
        const match = found[read]!;
        if (seen.has(match.id)) continue;
        seen.add(match.id);
        found[write++] = match;
      }
      found.length = write;
    }
  }

  #verify(count: number, r: number, found: RadiusMatch[]): void {
    const hits = this.#kernel.verify(QUERY_PTR, STORE_PTR, CANDIDATES_PTR, count, r, OUT_IDS_PTR, OUT_DIST_PTR);
    this.#collect(hits, 0, found);
  }

  /** Brute force over ids [from, to), in chunks that fit the result buffers. */
  #scan(from: number, to: number, r: number, found: RadiusMatch[]): void {
    for (let first = from; first < to; first += CHUNK) {
      const count = Math.min(CHUNK, to - first);
      const hits = this.#kernel.scan(QUERY_PTR, STORE_PTR + first * HASH_BYTES, count, r, OUT_IDS_PTR, OUT_DIST_PTR);
      this.#collect(hits, first, found);
    }
  }

  #collect(hits: number, base: number, found: RadiusMatch[]): void {
    const buffer = this.#kernel.memory.buffer;
    const ids = new Int32Array(buffer, OUT_IDS_PTR, hits);
    const distances = new Uint8Array(buffer, OUT_DIST_PTR, hits);
    for (let i = 0; i < hits; i++) {
      const id = base + ids[i]!;
      if (this.#removed[id] === 1) continue;
      // Distances are bytes: 256 (every bit differs) saturates at 255, so recount that one case.
      const distance = distances[i]! < 255 ? distances[i]! : this.#exactDistance(id);
      found.push({ id, distance });
    }
  }

  #exactDistance(id: number): number {
    const memory = this.#memory();
    return hammingDistance256(memory, QUERY_PTR, memory, STORE_PTR + id * HASH_BYTES);
  }

  #neighbourMasks(bits: number, radius: number): Uint32Array {
    const key = `${bits}/${radius}`;
    let masks = this.#masks.get(key);
    if (!masks) {
      masks = enumerateMasks(bits, radius);
      this.#masks.set(key, masks);
    }
    return masks;
  }
}

/** Radii above 256 match everything; anything not >= 0 (negative, NaN) matches nothing (-1). */
function clampRadius(radius: number): number {
  return radius >= 0 ? Math.min(256, Math.floor(radius)) : -1;
}

/**
 * Substring count for n hashes at the design radius: the cheapest probe + verify cost among
 * counts whose substrings fit a dense offset table (<= 24 bits) within the memory budget.
 */
export function chooseSubstrings(n: number, radius: number, maxTableBytesPerHash: number): number {
  let best = MAX_SUBSTRINGS;
  let bestCost = Number.POSITIVE_INFINITY;
  for (let m = MIN_SUBSTRINGS; m <= MAX_SUBSTRINGS; m++) {
    const layout = substringLayout(m);
    const tableBytes = layout.reduce((sum, { bits }) => sum + 4 * (2 ** bits + 1) + 4 * n, 0);
    if (n > 0 && tableBytes / n > maxTableBytesPerHash) continue;
    const radii = probeRadii(layout, radius, n);
    const cost = layout.reduce((sum, { bits }, t) => sum + tableProbeCost(bits, radii[t]!, n), 0);
    if (cost < bestCost) {
      bestCost = cost;
      best = m;
    }
  }
  return best;
}

/**
 * Probe radius per substring for a query radius r = m*q + a (0 <= a < m): a+1 substrings at q
 * and the rest at q-1 suffice, since a hash beyond both in every substring is at least
 * (a+1)(q+1) + (m-a-1)q = r+1 away (the refinement of the pigeonhole bound in Norouzi et al.).
 * The a+1 substrings where radius q costs least over q-1 get it; -1 means "not probed".
 */
function probeRadii(tables: ReadonlyArray<{ bits: number }>, r: number, n: number): number[] {
  const m = tables.length;
  const q = Math.floor(r / m);
  const a = r - m * q;
  const extra = tables
    .map(({ bits }, t) => ({ t, delta: tableProbeCost(bits, q, n) - tableProbeCost(bits, q - 1, n) }))
    .sort((x, y) => x.delta - y.delta);
  const radii = new Array<number>(m).fill(q - 1);
  for (let i = 0; i <= a && i < m; i++) radii[extra[i]!.t] = q;
  return radii;
}

/** Estimated cost, ns, of probing one substring table of `bits` bits at `radius` over n hashes. */
function tableProbeCost(bits: number, radius: number, n: number): number {
  if (radius < 0) return 0;
  const probes = neighbourhoodSize(bits, radius);
  return probes * COST_PROBE_NS + probes * (n / 2 ** bits) * COST_CANDIDATE_NS;
}

/** m substrings covering the 256 bits, widths differing by at most one. */
export function substringLayout(m: number): Array<{ start: number; bits: number }> {
  if (!Number.isInteger(m) || m < 256 / MAX_SUBSTRING_BITS || m > 256) {
    throw new RangeError(`substring count must be an integer from ${Math.ceil(256 / MAX_SUBSTRING_BITS)} to 256`);
  }
  const layout: Array<{ start: number; bits: number }> = [];
  const base = Math.floor(256 / m);
  const wider = 256 % m;
  for (let i = 0, start = 0; i < m; i++) {
    const bits = base + (i < wider ? 1 : 0);
    layout.push({ start, bits });
    start += bits;
  }
  return layout;
}

/** Bits [start, start+bits) of the hash at `offset`, most significant first (bits <= 24). */
export function substringValue(bytes: Uint8Array, offset: number, start: number, bits: number): number {
  const first = offset + (start >>> 3);
  // Up to 24 bits starting anywhere in a byte span at most 4 bytes; read them big-endian.
  const word =
    ((bytes[first]! << 24) | ((bytes[first + 1] ?? 0) << 16) | ((bytes[first + 2] ?? 0) << 8) | (bytes[first + 3] ?? 0)) >>> 0;
  return (word >>> (32 - (start & 7) - bits)) & ((1 << bits) - 1);
}

function buildTable(memory: Uint8Array, n: number, start: number, bits: number, removed: Uint8Array): SubstringTable {
  const buckets = 2 ** bits;
  const offsets = new Uint32Array(buckets + 1);
  let live = 0;
  for (let id = 0; id < n; id++) {
    if (removed[id] === 1) continue;
    offsets[substringValue(memory, STORE_PTR + id * HASH_BYTES, start, bits) + 1]!++;
    live++;
  }
  for (let v = 0; v < buckets; v++) offsets[v + 1]! += offsets[v]!;
  const cursor = offsets.slice(0, buckets);
  const ids = new Int32Array(live);
  for (let id = 0; id < n; id++) {
    if (removed[id] === 1) continue;
    ids[cursor[substringValue(memory, STORE_PTR + id * HASH_BYTES, start, bits)]!++] = id;
  }
  return { start, bits, offsets, ids };
}

/** Number of values within Hamming distance `radius` of a `bits`-bit value. */
function neighbourhoodSize(bits: number, radius: number): number {
  let total = 0;
  let choose = 1;
  for (let k = 0; k <= Math.min(radius, bits); k++) {
    total += choose;
    choose = (choose * (bits - k)) / (k + 1);
  }
  return total;
}

/** Every `bits`-bit mask with at most `radius` bits set, fewest bits first. */
function enumerateMasks(bits: number, radius: number): Uint32Array {
  const masks: number[] = [0];
  let frontier: number[] = [0];
  for (let k = 1; k <= Math.min(radius, bits); k++) {
    const next: number[] = [];
    for (const mask of frontier) {
      // Extend with bits above the highest set bit, so each mask is generated once.
      const highest = mask === 0 ? -1 : 31 - Math.clz32(mask);
      for (let b = highest + 1; b < bits; b++) next.push((mask | (1 << b)) >>> 0);
    }
    masks.push(...next);
    frontier = next;
  }
  return Uint32Array.from(masks);
}
