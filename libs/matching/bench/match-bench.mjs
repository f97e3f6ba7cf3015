#!/usr/bin/env node
// npm run bench:match — the exact Hamming index at N = 1e5, 1e6, 1e7 against the brute-force
// WebAssembly scan measured in the same run: queries/s per core, recall (must be 1.0), speed-up,
// build, add and remove times, bytes per hash. Data: uniform random hashes with planted
// neighbours at every distance 0..40 around each query, and a clustered set. Prints JSON.

import { parseArgs } from 'node:util';
import { HammingIndex } from '../dist/index.js';
import { xorshift } from './random.mjs';

const { values } = parseArgs({ options: { sizes: { type: 'string', default: '1e5,1e6,1e7' }, queries: { type: 'string', default: '200' } } });
const SIZES = values.sizes.split(',').map(Number);
const QUERIES = Number(values.queries);
const RADII = [8, 16, 31];
const HASH_BYTES = 32;

function randomHashes(count, next) {
  const words = new Uint32Array(count * 8);
  for (let i = 0; i < words.length; i++) words[i] = next();
  return new Uint8Array(words.buffer);
}

function flip(bytes, offset, k, next) {
  const seen = new Set();
  while (seen.size < k) seen.add(next() & 255);
  for (const bit of seen) bytes[offset + (bit >> 3)] ^= 0x80 >>> (bit & 7);
}

/** N hashes: uniform, or clustered around N/100 centres (members 0..40 bits from their centre). */
function dataset(n, kind, next) {
  if (kind === 'uniform') return randomHashes(n, next);
  const centres = randomHashes(Math.max(1, Math.floor(n / 100)), next);
  const out = new Uint8Array(n * HASH_BYTES);
  for (let i = 0; i < n; i++) {
    const c = (next() % (centres.length / HASH_BYTES)) * HASH_BYTES;
    out.set(centres.subarray(c, c + HASH_BYTES), i * HASH_BYTES);
    flip(out, i * HASH_BYTES, next() % 41, next);
  }
  return out;
}

function cpuMs(fn) {
  const before = process.cpuUsage();
  const result = fn();
  const used = process.cpuUsage(before);
  return { result, ms: (used.user + used.system) / 1000 };
}

const results = [];
for (const n of SIZES) {
  for (const kind of ['uniform', 'clustered']) {
    const next = xorshift(n ^ (kind === 'uniform' ? 1 : 2));
    const data = dataset(n, kind, next);
    // Queries: half near the data (planted neighbours at 0..40 bits for uniform data, members of
    // the clusters otherwise), half random.
    const queries = randomHashes(QUERIES, next);
    const planted = [];
    for (let q = 0; q < QUERIES / 2; q++) {
      if (kind === 'clustered') {
        const member = (q * 997) % n;
        queries.set(data.subarray(member * HASH_BYTES, (member + 1) * HASH_BYTES), q * HASH_BYTES);
      } else {
        for (let d = 0; d <= 40; d++) {
          const p = queries.slice(q * HASH_BYTES, (q + 1) * HASH_BYTES);
          flip(p, 0, d, next);
          planted.push(p);
        }
      }
    }
    const index = new HammingIndex({ expectedSize: n + planted.length });
    index.addAll(data, n);
    for (const p of planted) index.add(p);
    const build = cpuMs(() => index.compact());
    const stats = index.stats();
    for (const r of RADII) {
      const search = cpuMs(() => index.searchBatch(queries, r, QUERIES));
      const scanQueries = Math.max(5, Math.min(QUERIES, Math.floor(2e8 / n)));
      const scan = cpuMs(() => Array.from({ length: scanQueries }, (_, q) => index.scan(queries, r, q * HASH_BYTES)));
      let expected = 0;
      let found = 0;
      let extra = 0;
      for (let q = 0; q < scanQueries; q++) {
        const truth = scan.result[q];
        const got = new Set(search.result[q].map((m) => `${m.id}:${m.distance}`));
        const want = new Set(truth.map((m) => `${m.id}:${m.distance}`));
        expected += truth.length;
        found += truth.filter((m) => got.has(`${m.id}:${m.distance}`)).length;
        extra += [...got].filter((key) => !want.has(key)).length;
      }
      results.push({
        n,
        data: kind,
        radius: r,
        substrings: stats.substrings,
        queriesPerSecondPerCore: Math.round((QUERIES / search.ms) * 1000),
        scanQueriesPerSecondPerCore: Math.round((scanQueries / scan.ms) * 1000),
        scanMsPerQuery: +(scan.ms / scanQueries).toFixed(2),
        speedUpOverScan: +(scan.ms / scanQueries / (search.ms / QUERIES)).toFixed(1),
        recall: expected === 0 ? 1 : found / expected,
        wrongResults: extra,
        matchesChecked: expected,
        buildCpuSeconds: +(build.ms / 1000).toFixed(2),
        bytesPerHash: +stats.bytesPerHash.toFixed(1),
      });
      console.error(JSON.stringify(results.at(-1)));
    }
    const adds = randomHashes(1000, next);
    const add = cpuMs(() => {
      for (let i = 0; i < 1000; i++) index.add(adds, i * HASH_BYTES);
    });
    const remove = cpuMs(() => {
      for (let i = 0; i < 1000; i++) index.remove(i * 7);
    });
    results.at(-1).addMicrosPerHash = +add.ms.toFixed(2);
    results.at(-1).removeMicrosPerHash = +remove.ms.toFixed(2);
  }
}
process.stdout.write(`${JSON.stringify({ benchmark: 'match', node: process.version, results }, null, 2)}\n`);
