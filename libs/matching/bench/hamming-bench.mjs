#!/usr/bin/env node
// node bench/hamming-bench.mjs [--sizes 1e6,1e7] [--queries 15]
// Brute-force radius scan (r = 31) per query: the WASM kernel, the plain-JS hammingDistance256
// loop, and the memory-read floor over the same buffer in the same run. Prints one JSON document.
// Floor: a WASM loop over the kernel's own memory doing exactly the kernel's i64 loads (four per
// hash, same stride) XORed into four independent accumulators, so it is bound by reading the
// bytes, not by a serial add chain. Imports the .ts source directly (Node strips the types).

import { cpus } from 'node:os';
import { parseArgs } from 'node:util';
import { createHammingKernel, hammingDistance256, HASH_BYTES } from '../src/hamming-kernel.ts';
import { I32, I64, OP, VOID, brIf, encodeModule, i32Const, i64Load, localGet, localSet, localTee } from '../src/wasm-emitter.ts';
import { xorshift } from './random.mjs';

const { values } = parseArgs({
  options: { sizes: { type: 'string', default: '1e6,1e7' }, queries: { type: 'string', default: '15' } },
});
const SIZES = values.sizes.split(',').map(Number);
const QUERIES = Number(values.queries);
const JS_QUERIES = 3; // the JS loop is slow; a few queries give a stable enough number
const RADIUS = 31;
const PLANTED = 64; // near neighbours per run, so the hit path is exercised (results are checked)

// (func $floor (param $base i32) (param $count i32) (result i64)
//   (local $end i32) (local $a i64) (local $b i64) (local $c i64) (local $d i64)
//   (local.set $end (i32.add (local.get $base) (i32.shl (local.get $count) (i32.const 5))))
//   (loop $next
//     (local.set $a (i64.xor (local.get $a) (i64.load offset=0 align=8 (local.get $base))))
//     ... $b offset=8, $c offset=16, $d offset=24
//     (br_if $next (i32.ne (local.tee $base (i32.add (local.get $base) (i32.const 32))) (local.get $end))))
//   (i64.xor (i64.xor (local.get $a) (local.get $b)) (i64.xor (local.get $c) (local.get $d))))
function floorModule() {
  const [base, count, end, acc] = [0, 1, 2, 3];
  const fold = (w) => [localGet(acc + w), localGet(base), i64Load(8 * w), OP.i64_xor, localSet(acc + w)];
  return encodeModule({
    memory: { import: ['env', 'memory'], minPages: 1 },
    functions: [
      {
        name: 'floor',
        params: [I32, I32],
        results: [I64],
        locals: [
          [1, I32],
          [4, I64],
        ],
        code: [
          [localGet(base), localGet(count), i32Const(5), OP.i32_shl, OP.i32_add, localSet(end)],
          [OP.loop, VOID, fold(0), fold(1), fold(2), fold(3)],
          [localGet(base), i32Const(32), OP.i32_add, localTee(base), localGet(end), OP.i32_ne, brIf(0), OP.end],
          [localGet(acc), localGet(acc + 1), OP.i64_xor, localGet(acc + 2), localGet(acc + 3), OP.i64_xor, OP.i64_xor],
        ],
      },
    ],
  });
}

const time = (fn) => {
  const t0 = performance.now();
  const result = fn();
  return [performance.now() - t0, result];
};
const median = (xs) => [...xs].sort((a, b) => a - b)[xs.length >> 1];
const round = (x, digits = 2) => Number(x.toFixed(digits));

function run(n) {
  const next = xorshift(n);
  // Layout: queries | hashes | outIdx (4n) | outDist (n).
  const queries = 0;
  const base = 64 * 32;
  const outIdx = base + n * HASH_BYTES;
  const outDist = outIdx + 4 * n;
  const kernel = createHammingKernel(outDist + n);
  const floor = new WebAssembly.Instance(new WebAssembly.Module(floorModule()), { env: { memory: kernel.memory } }).exports.floor;
  const words = new Uint32Array(kernel.memory.buffer, 0, outIdx / 4);
  for (let i = 0; i < words.length; i++) words[i] = next();
  const mem = new Uint8Array(kernel.memory.buffer);
  for (let p = 0; p < PLANTED; p++) {
    const at = base + (next() % n) * HASH_BYTES;
    mem.copyWithin(at, queries + (p % 64) * HASH_BYTES, queries + (p % 64 + 1) * HASH_BYTES);
    mem[at + (next() & 31)] ^= 1 << (next() & 7);
  }

  const wasmScan = (q) => kernel.scan(queries + q * HASH_BYTES, base, n, RADIUS, outIdx, outDist);
  const jsScan = (q) => {
    let hits = 0;
    for (let i = 0, at = base; i < n; i++, at += HASH_BYTES) {
      if (hammingDistance256(mem, queries + q * HASH_BYTES, mem, at) <= RADIUS) hits++;
    }
    return hits;
  };
  // Warm-up: V8 starts wasm in its baseline compiler and tiers hot functions up to TurboFan.
  for (let i = 0; i < 5; i++) {
    wasmScan(i);
    floor(base, n);
  }
  jsScan(0);

  // Interleaved, so drift (frequency, a noisy neighbour) hits both sides alike.
  const kernelMs = [];
  const floorMs = [];
  let hits = 0;
  for (let q = 0; q < QUERIES; q++) {
    const [tk, k] = time(() => wasmScan(q % 64));
    const [tf] = time(() => floor(base, n));
    kernelMs.push(tk);
    floorMs.push(tf);
    hits += k;
  }
  const jsMs = [];
  for (let q = 0; q < JS_QUERIES; q++) {
    const [t, k] = time(() => jsScan(q));
    if (k !== wasmScan(q)) throw new Error(`JS and WASM scans disagree on query ${q}: ${k} vs ${wasmScan(q)}`);
    jsMs.push(t);
  }
  const k = median(kernelMs);
  const f = median(floorMs);
  return {
    n,
    bytes: n * HASH_BYTES,
    queries: QUERIES,
    hitsPerQuery: round(hits / QUERIES, 2),
    wasmScanMs: { median: round(k), min: round(Math.min(...kernelMs)) },
    floorMs: { median: round(f), min: round(Math.min(...floorMs)) },
    jsScanMs: { median: round(median(jsMs)), queries: JS_QUERIES },
    wasmScanGBps: round((n * HASH_BYTES) / (k / 1000) / 1e9),
    floorGBps: round((n * HASH_BYTES) / (f / 1000) / 1e9),
    ratioKernelToFloor: round(k / f, 3),
    ratioJsToKernel: round(median(jsMs) / k, 1),
  };
}

const results = SIZES.map(run);
console.log(
  JSON.stringify(
    {
      benchmark: 'hamming-scan',
      radius: RADIUS,
      floor: 'WASM loop over the same memory: the kernel\'s four i64 loads per hash, XORed into four accumulators',
      node: process.version,
      cpus: cpus().length,
      cpu: cpus()[0]?.model,
      results,
    },
    null,
    2,
  ),
);
