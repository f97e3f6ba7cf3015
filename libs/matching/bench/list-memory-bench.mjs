#!/usr/bin/env node
// npm run bench:lists — what a loaded list costs the process that matches against it, at 1e6 and
// 1e7 entries (PDQ with an external id and a category each, as NCMEC-style lists carry): load
// time, JavaScript heap, the time of a full garbage collection with the list loaded, and bytes.
// Baseline, measured in the same run: the same entries held the obvious way (a Map from hex hash
// to an entry object), the layout ListMatcher used before it moved its metadata off the heap.
// The full-GC time is what lands on an upload-time check as a tail-latency pause. (The baseline
// builds no Hamming index, so its load time is not comparable; it is printed for context.)

import { parseArgs } from 'node:util';
import { ListMatcher } from '../dist/index.js';
import { xorshift } from './random.mjs';

if (typeof globalThis.gc !== 'function') {
  console.error('run with node --expose-gc (npm run bench:lists does)');
  process.exit(2);
}
const { values } = parseArgs({ options: { sizes: { type: 'string', default: '1e6,1e7' } } });
const SIZES = values.sizes.split(',').map(Number);
const PAGE = 50_000;
const MiB = 2 ** 20;

/** The entries as the registry receives them: pages of {hash (hex), externalId, category}. */
function* pages(n, seed) {
  const next = xorshift(seed);
  const words = new Uint32Array(8);
  const bytes = Buffer.from(words.buffer);
  for (let first = 0; first < n; first += PAGE) {
    const page = [];
    for (let i = first; i < Math.min(n, first + PAGE); i++) {
      for (let w = 0; w < 8; w++) words[w] = next();
      page.push({ hash: bytes.toString('hex'), externalId: `NCMEC-${i}`, category: i % 3 === 0 ? 'A1' : 'B2' });
    }
    yield page;
  }
}

function fullGcMs() {
  globalThis.gc();
  const samples = [];
  for (let i = 0; i < 3; i++) {
    const started = performance.now();
    globalThis.gc();
    samples.push(performance.now() - started);
  }
  return Math.min(...samples);
}

function measure(n, build) {
  globalThis.gc();
  const heapBefore = process.memoryUsage().heapUsed;
  const emptyGcMs = fullGcMs();
  const started = performance.now();
  const held = build();
  const loadMs = performance.now() - started;
  const gcMs = fullGcMs();
  const heapMiB = (process.memoryUsage().heapUsed - heapBefore) / MiB;
  const result = { loadMs: Math.round(loadMs), heapMiB: round(heapMiB), heapBytesPerEntry: round((heapMiB * MiB) / n), fullGcMs: round(gcMs), emptyHeapGcMs: round(emptyGcMs) };
  return { result, held };
}

function naive(n) {
  const byHash = new Map();
  for (const page of pages(n, n)) {
    for (const entry of page) {
      const ids = byHash.get(entry.hash);
      const meta = { externalId: entry.externalId ?? null, category: entry.category ?? null };
      if (ids) ids.push(meta);
      else byHash.set(entry.hash, [meta]);
    }
  }
  return byHash;
}

function matcher(n) {
  const list = new ListMatcher({ id: 'bench', version: 1, algorithm: 'pdq', threshold: 31, action: 'block', dihedral: true }, n);
  for (const page of pages(n, n)) list.add(page);
  list.compact();
  return list;
}

const round = (x) => Math.round(x * 100) / 100;
const results = [];
for (const n of SIZES) {
  let baseline = measure(n, () => naive(n));
  const baselineResult = baseline.result;
  baseline = null; // release before the next measurement
  const list = measure(n, () => matcher(n));
  const row = {
    entries: n,
    baseline: baselineResult,
    listMatcher: { ...list.result, listBytes: list.held.byteLength(), listBytesPerEntry: round(list.held.byteLength() / n) },
    ratios: {
      heap: Math.round((list.result.heapMiB / baselineResult.heapMiB) * 1e4) / 1e4,
      fullGc: round(list.result.fullGcMs / baselineResult.fullGcMs),
    },
    rssMiB: Math.round(process.memoryUsage().rss / MiB),
  };
  results.push(row);
  console.error(
    `n=${n}: heap ${row.listMatcher.heapMiB} MiB vs ${baselineResult.heapMiB} MiB (x${row.ratios.heap}); ` +
      `full GC ${row.listMatcher.fullGcMs} ms vs ${baselineResult.fullGcMs} ms; load ${row.listMatcher.loadMs} ms vs ${baselineResult.loadMs} ms`,
  );
}
console.log(JSON.stringify({ bench: 'list-memory', node: process.version, results }, null, 2));
