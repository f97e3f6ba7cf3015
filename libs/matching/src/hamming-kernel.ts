// Hamming distance over 256-bit hashes in a hand-assembled WebAssembly module: bulk distances, a
// brute-force radius scan and candidate verification, all looping inside WASM over one memory.
// Owns no layout: callers place hashes and output arrays. Pure: no I/O, imports nothing.

import {
  I32,
  I64,
  OP,
  VOID,
  brIf,
  encodeModule,
  i32Const,
  i32Load,
  i32Store,
  i32Store8,
  i64Load,
  localGet,
  localSet,
  localTee,
  type Code,
  type FunctionSpec,
} from './wasm-emitter.ts';

// lib ES2023 and @types/node declare no WebAssembly API; this is the subset used here, with the
// shapes of lib.dom.d.ts. Delete it if the repo ever adopts a lib that provides these.
declare global {
  namespace WebAssembly {
    interface Memory {
      readonly buffer: ArrayBuffer;
      grow(delta: number): number;
    }
    interface Module {}
    var Module: { prototype: Module; new (bytes: ArrayBufferView | ArrayBuffer): Module };
    interface Instance {
      readonly exports: Record<string, unknown>;
    }
    var Instance: { prototype: Instance; new (module: Module, importObject?: Record<string, unknown>): Instance };
    interface RuntimeError extends Error {}
    var RuntimeError: { prototype: RuntimeError; new (message?: string): RuntimeError };
    function validate(bytes: ArrayBufferView | ArrayBuffer): boolean;
  }
}

export const HASH_BYTES = 32;
/** Largest distance (all 256 bits differ). Output bytes saturate: 256 is written as 255. */
export const MAX_DISTANCE = 256;

const PAGE_BYTES = 65536;
// wasm32 addresses are u32, so no memory can exceed 2^32 bytes (65536 pages).
const MAX_MEMORY_BYTES = 2 ** 32;

export interface HammingKernel {
  /** The module's memory (exported by the module, so the kernel reads hashes in place). */
  readonly memory: WebAssembly.Memory;
  /**
   * Grows memory so at least `bytes` bytes are addressable (never shrinks). Growing detaches the
   * previous `memory.buffer`: take views after reserving.
   */
  reserve(bytes: number): void;
  /**
   * Distance between the hash at queryPtr and `count` consecutive hashes from basePtr; one u8 distance each at outPtr.
   * Every u8 distance here and below saturates: 256 (all bits differ) is written as 255.
   */
  distances(queryPtr: number, basePtr: number, count: number, outPtr: number): void;
  /** Brute-force radius scan over `count` consecutive hashes from basePtr: for each i with distance <= radius, writes i as i32 at outIdxPtr+4k and the distance as u8 at outDistPtr+k. Returns k. */
  scan(queryPtr: number, basePtr: number, count: number, radius: number, outIdxPtr: number, outDistPtr: number): number;
  /** Candidate verification: `count` i32 slot numbers at slotsPtr, each naming the hash at basePtr + 32*slot; survivors (distance <= radius) written like scan (the slot number, not the position in the list). Returns k. */
  verify(queryPtr: number, basePtr: number, slotsPtr: number, count: number, radius: number, outIdxPtr: number, outDistPtr: number): number;
}

// --- Module -----------------------------------------------------------------------------------

/**
 * Pushes the distance (i32) between the query words in locals q..q+3 and the hash at local `ptr`.
 * Two independent pairs before the final add, so the popcounts are not one serial chain.
 *
 *   (i32.wrap_i64 (i64.add
 *     (i64.add (i64.popcnt (i64.xor (i64.load offset=0  align=8 (local.get $p)) (local.get $q0)))
 *              (i64.popcnt (i64.xor (i64.load offset=8  align=8 (local.get $p)) (local.get $q1))))
 *     (i64.add (i64.popcnt (i64.xor (i64.load offset=16 align=8 (local.get $p)) (local.get $q2)))
 *              (i64.popcnt (i64.xor (i64.load offset=24 align=8 (local.get $p)) (local.get $q3))))))
 */
function distanceOf(ptr: number, q: number): Code[] {
  const word = (w: number): Code[] => [localGet(ptr), i64Load(8 * w), localGet(q + w), OP.i64_xor, OP.i64_popcnt];
  return [word(0), word(1), OP.i64_add, word(2), word(3), OP.i64_add, OP.i64_add, OP.i32_wrap_i64];
}

/**
 * Loads the query's four little-endian words into locals q..q+3 once per call.
 *   (local.set $q0 (i64.load offset=0 align=8 (local.get $query))) ... through $q3 at offset=24
 */
function loadQuery(query: number, q: number): Code[] {
  return [0, 1, 2, 3].map((w) => [localGet(query), i64Load(8 * w), localSet(q + w)]);
}

/**
 * Leaves min(d, 255) for the i32 distance in local `d`: only 256 has bit 8 set, so subtracting
 * d >> 8 maps 256 to 255 and leaves 0..255 alone, branch-free, fitting a u8.
 *   (i32.sub (local.get $d) (i32.shr_u (local.get $d) (i32.const 8)))
 */
function saturated(d: number): Code[] {
  return [localGet(d), localGet(d), i32Const(8), OP.i32_shr_u, OP.i32_sub];
}

/**
 * Appends one survivor: index at outIdx + 4k, saturated distance at outDist + k, then k += 1.
 *   (i32.store align=4 (i32.add (local.get $outIdx) (i32.shl (local.get $k) (i32.const 2))) <index>)
 *   (i32.store8 (i32.add (local.get $outDist) (local.get $k)) <saturated d>)
 *   (local.set $k (i32.add (local.get $k) (i32.const 1)))
 */
function emit(outIdx: number, outDist: number, k: number, d: number, index: Code[]): Code[] {
  return [
    [localGet(outIdx), localGet(k), i32Const(2), OP.i32_shl, OP.i32_add, index, i32Store()],
    [localGet(outDist), localGet(k), OP.i32_add, saturated(d), i32Store8()],
    [localGet(k), i32Const(1), OP.i32_add, localSet(k)],
  ];
}

// (func $distances (param $query i32) (param $base i32) (param $count i32) (param $out i32)
//   (local $q0 i64) (local $q1 i64) (local $q2 i64) (local $q3 i64) (local $end i32) (local $d i32)
//   <loadQuery>
//   (block $done
//     (br_if $done (i32.eqz (local.get $count)))
//     (local.set $end (i32.add (local.get $base) (i32.shl (local.get $count) (i32.const 5))))
//     (loop $next
//       (local.set $d <distanceOf $base>)
//       (i32.store8 (local.get $out) <saturated $d>)
//       (local.set $out (i32.add (local.get $out) (i32.const 1)))
//       (br_if $next (i32.ne (local.tee $base (i32.add (local.get $base) (i32.const 32))) (local.get $end))))))
// The base and out parameters double as cursors.
const DISTANCES: FunctionSpec = (() => {
  const [query, base, count, out, q, end, d] = [0, 1, 2, 3, 4, 8, 9];
  return {
    name: 'distances',
    params: [I32, I32, I32, I32],
    results: [],
    locals: [[4, I64], [2, I32]],
    code: [
      loadQuery(query, q),
      [OP.block, VOID],
      [localGet(count), OP.i32_eqz, brIf(0)],
      [localGet(base), localGet(count), i32Const(5), OP.i32_shl, OP.i32_add, localSet(end)],
      [OP.loop, VOID],
      [distanceOf(base, q), localSet(d)],
      [localGet(out), saturated(d), i32Store8()],
      [localGet(out), i32Const(1), OP.i32_add, localSet(out)],
      [localGet(base), i32Const(32), OP.i32_add, localTee(base), localGet(end), OP.i32_ne, brIf(0)],
      [OP.end, OP.end],
    ],
  };
})();

// (func $scan (param $query i32) (param $base i32) (param $count i32) (param $radius i32)
//             (param $outIdx i32) (param $outDist i32) (result i32)
//   (local $q0 i64) (local $q1 i64) (local $q2 i64) (local $q3 i64)
//   (local $p i32) (local $end i32) (local $d i32) (local $k i32)
//   <loadQuery>
//   (block $done
//     (br_if $done (i32.eqz (local.get $count)))
//     (local.set $p (local.get $base))
//     (local.set $end (i32.add (local.get $base) (i32.shl (local.get $count) (i32.const 5))))
//     (loop $next
//       (if (i32.le_u (local.tee $d <distanceOf $p>) (local.get $radius))
//         (then <emit index = (i32.shr_u (i32.sub (local.get $p) (local.get $base)) (i32.const 5))>))
//       (br_if $next (i32.ne (local.tee $p (i32.add (local.get $p) (i32.const 32))) (local.get $end)))))
//   (local.get $k))
// The index is recovered from the pointer only on a hit, so the loop carries one cursor, not two.
const SCAN: FunctionSpec = (() => {
  const [query, base, count, radius, outIdx, outDist, q, p, end, d, k] = [0, 1, 2, 3, 4, 5, 6, 10, 11, 12, 13];
  const index: Code[] = [localGet(p), localGet(base), OP.i32_sub, i32Const(5), OP.i32_shr_u];
  return {
    name: 'scan',
    params: [I32, I32, I32, I32, I32, I32],
    results: [I32],
    locals: [[4, I64], [4, I32]],
    code: [
      loadQuery(query, q),
      [OP.block, VOID],
      [localGet(count), OP.i32_eqz, brIf(0)],
      [localGet(base), localSet(p)],
      [localGet(base), localGet(count), i32Const(5), OP.i32_shl, OP.i32_add, localSet(end)],
      [OP.loop, VOID],
      [distanceOf(p, q), localTee(d), localGet(radius), OP.i32_le_u, OP.if, VOID],
      emit(outIdx, outDist, k, d, index),
      OP.end,
      [localGet(p), i32Const(32), OP.i32_add, localTee(p), localGet(end), OP.i32_ne, brIf(0)],
      [OP.end, OP.end],
      localGet(k),
    ],
  };
})();

// (func $verify (param $query i32) (param $base i32) (param $slots i32) (param $count i32)
//               (param $radius i32) (param $outIdx i32) (param $outDist i32) (param $maxSlot i32)
//               (result i32)
//   (local $q0 i64) (local $q1 i64) (local $q2 i64) (local $q3 i64)
//   (local $end i32) (local $slot i32) (local $p i32) (local $d i32) (local $k i32)
//   <loadQuery>
//   (block $done
//     (br_if $done (i32.eqz (local.get $count)))
//     (local.set $end (i32.add (local.get $slots) (i32.shl (local.get $count) (i32.const 2))))
//     (loop $next
//       (local.set $slot (i32.load align=4 (local.get $slots)))
//       (if (i32.gt_u (local.get $slot) (local.get $maxSlot)) (then unreachable))
//       (local.set $p (i32.add (local.get $base) (i32.shl (local.get $slot) (i32.const 5))))
//       (if (i32.le_u (local.tee $d <distanceOf $p>) (local.get $radius))
//         (then <emit index = (local.get $slot)>))
//       (br_if $next (i32.ne (local.tee $slots (i32.add (local.get $slots) (i32.const 4))) (local.get $end)))))
//   (local.get $k))
// $maxSlot (from JS: the last slot whose hash lies inside memory) makes a bad slot trap rather
// than wrap base + 32*slot modulo 2^32 onto some other, valid-looking hash.
const VERIFY: FunctionSpec = (() => {
  const [query, base, slots, count, radius, outIdx, outDist, maxSlot] = [0, 1, 2, 3, 4, 5, 6, 7];
  const [q, end, slot, p, d, k] = [8, 12, 13, 14, 15, 16];
  return {
    name: 'verify',
    params: [I32, I32, I32, I32, I32, I32, I32, I32],
    results: [I32],
    locals: [[4, I64], [5, I32]],
    code: [
      loadQuery(query, q),
      [OP.block, VOID],
      [localGet(count), OP.i32_eqz, brIf(0)],
      [localGet(slots), localGet(count), i32Const(2), OP.i32_shl, OP.i32_add, localSet(end)],
      [OP.loop, VOID],
      [localGet(slots), i32Load(), localSet(slot)],
      [localGet(slot), localGet(maxSlot), OP.i32_gt_u, OP.if, VOID, OP.unreachable, OP.end],
      [localGet(base), localGet(slot), i32Const(5), OP.i32_shl, OP.i32_add, localSet(p)],
      [distanceOf(p, q), localTee(d), localGet(radius), OP.i32_le_u, OP.if, VOID],
      emit(outIdx, outDist, k, d, [localGet(slot)]),
      OP.end,
      [localGet(slots), i32Const(4), OP.i32_add, localTee(slots), localGet(end), OP.i32_ne, brIf(0)],
      [OP.end, OP.end],
      localGet(k),
    ],
  };
})();

/** The kernel's module bytes: memory "memory" (1 page to start, no maximum) and the three functions. */
export function encodeHammingKernel(): Uint8Array<ArrayBuffer> {
  return encodeModule({ memory: { export: 'memory', minPages: 1 }, functions: [DISTANCES, SCAN, VERIFY] });
}

interface KernelExports {
  readonly memory: WebAssembly.Memory;
  distances(query: number, base: number, count: number, out: number): void;
  scan(query: number, base: number, count: number, radius: number, outIdx: number, outDist: number): number;
  verify(
    query: number,
    base: number,
    slots: number,
    count: number,
    radius: number,
    outIdx: number,
    outDist: number,
    maxSlot: number,
  ): number;
}

// Compiled once per process; each kernel gets its own instance and therefore its own memory.
let compiled: WebAssembly.Module | undefined;

// --- JS side ----------------------------------------------------------------------------------

export function createHammingKernel(initialBytes = PAGE_BYTES): HammingKernel {
  compiled ??= new WebAssembly.Module(encodeHammingKernel());
  const wasm = new WebAssembly.Instance(compiled).exports as unknown as KernelExports;
  const memory = wasm.memory;

  // O(1) argument checks per call: a bad address becomes a RangeError naming the argument instead
  // of a trap, and numbers >= 2^32 cannot silently wrap when converted to i32.
  const span = (what: string, ptr: number, bytes: number, size: number): void => {
    if (!Number.isSafeInteger(ptr) || ptr < 0 || ptr + bytes > size) {
      throw new RangeError(`${what}: [${ptr}, ${ptr} + ${bytes}) is outside memory of ${size} bytes`);
    }
  };
  const checkCount = (count: number): void => {
    if (!Number.isSafeInteger(count) || count < 0) throw new RangeError(`count must be a non-negative integer: ${count}`);
  };
  // Any radius >= 256 admits every hash; clamping keeps it from wrapping as an i32.
  const checkRadius = (radius: number): number => {
    if (radius >= MAX_DISTANCE) return MAX_DISTANCE;
    if (!Number.isInteger(radius) || radius < 0) throw new RangeError(`radius must be a non-negative integer: ${radius}`);
    return radius;
  };

  const kernel: HammingKernel = {
    memory,
    reserve(bytes) {
      if (!Number.isSafeInteger(bytes) || bytes < 0 || bytes > MAX_MEMORY_BYTES) {
        throw new RangeError(`reserve: ${bytes} bytes (wasm32 memory holds at most 2^32)`);
      }
      const have = memory.buffer.byteLength / PAGE_BYTES;
      const need = Math.ceil(bytes / PAGE_BYTES);
      if (need > have) memory.grow(need - have);
    },
    distances(queryPtr, basePtr, count, outPtr) {
      const size = memory.buffer.byteLength;
      checkCount(count);
      span('query', queryPtr, HASH_BYTES, size);
      span('hashes', basePtr, HASH_BYTES * count, size);
      span('out', outPtr, count, size);
      wasm.distances(queryPtr, basePtr, count, outPtr);
    },
    scan(queryPtr, basePtr, count, radius, outIdxPtr, outDistPtr) {
      const size = memory.buffer.byteLength;
      checkCount(count);
      radius = checkRadius(radius);
      span('query', queryPtr, HASH_BYTES, size);
      span('hashes', basePtr, HASH_BYTES * count, size);
      span('outIdx', outIdxPtr, 4 * count, size);
      span('outDist', outDistPtr, count, size);
      return wasm.scan(queryPtr, basePtr, count, radius, outIdxPtr, outDistPtr);
    },
    verify(queryPtr, basePtr, slotsPtr, count, radius, outIdxPtr, outDistPtr) {
      const size = memory.buffer.byteLength;
      checkCount(count);
      radius = checkRadius(radius);
      span('query', queryPtr, HASH_BYTES, size);
      span('slots', slotsPtr, 4 * count, size);
      span('outIdx', outIdxPtr, 4 * count, size);
      span('outDist', outDistPtr, count, size);
      if (count === 0) return 0;
      span('hashes', basePtr, HASH_BYTES, size); // at least slot 0 must fit
      const maxSlot = Math.floor((size - basePtr - HASH_BYTES) / HASH_BYTES);
      try {
        return wasm.verify(queryPtr, basePtr, slotsPtr, count, radius, outIdxPtr, outDistPtr, maxSlot);
      } catch (error) {
        if (error instanceof WebAssembly.RuntimeError) {
          throw new RangeError(`verify: a slot names a hash beyond memory (max slot ${maxSlot})`, { cause: error });
        }
        throw error;
      }
    },
  };
  kernel.reserve(initialBytes);
  return kernel;
}

// --- Reference --------------------------------------------------------------------------------

/** Plain-JS reference: Hamming distance of two 32-byte hashes (SWAR popcount over 32-bit words). Used as the test oracle and for one-off comparisons. */
export function hammingDistance256(a: Uint8Array, aOffset: number, b: Uint8Array, bOffset: number): number {
  const inside = (bytes: Uint8Array, at: number): boolean => Number.isInteger(at) && at >= 0 && at + HASH_BYTES <= bytes.length;
  if (!inside(a, aOffset) || !inside(b, bOffset)) {
    throw new RangeError(`hammingDistance256: hash out of bounds (a at ${aOffset} of ${a.length}, b at ${bOffset} of ${b.length})`);
  }
  let distance = 0;
  for (let i = 0; i < HASH_BYTES; i += 4) {
    const ia = aOffset + i;
    const ib = bOffset + i;
    let x =
      (a[ia]! ^ b[ib]!) |
      ((a[ia + 1]! ^ b[ib + 1]!) << 8) |
      ((a[ia + 2]! ^ b[ib + 2]!) << 16) |
      ((a[ia + 3]! ^ b[ib + 3]!) << 24);
    // SWAR: bit counts of 2-, then 4-, then 8-bit fields; the multiply sums the four bytes into the top one.
    x -= (x >>> 1) & 0x55555555;
    x = (x & 0x33333333) + ((x >>> 2) & 0x33333333);
    x = (x + (x >>> 4)) & 0x0f0f0f0f;
    distance += Math.imul(x, 0x01010101) >>> 24;
  }
  return distance;
}
