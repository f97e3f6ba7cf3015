// The join kernel is exact: against brute force, for planted neighbours at every distance up to
// past the radius, at radii that probe 0, 1 and 2 bits a substring, expanded or not, and past 48
// bits (scan); and DeltaIndex gives the same hits on worker threads as in-process.

import { randomBytes } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { DeltaJoin, toWords } from './delta-join.ts';
import { DeltaIndex } from './delta-index.ts';

function popcount(x: number): number {
  let n = 0;
  for (; x; x &= x - 1) n++;
  return n;
}

function distance(a: Uint32Array, ai: number, b: Uint32Array, bi: number): number {
  let d = 0;
  for (let k = 0; k < 8; k++) d += popcount((a[ai * 8 + k]! ^ b[bi * 8 + k]!) >>> 0);
  return d;
}

const words = (bytes: Uint8Array) => new Uint32Array(Uint8Array.from(bytes).buffer);

/** Queries: copies of random entries with k random bits flipped, k = 0..maxFlip, plus random ones. */
function plantedQueries(entries: Uint8Array, n: number, count: number, maxFlip: number): Uint8Array {
  const out = randomBytes(count * 32);
  for (let i = 0; i < count; i += 2) {
    const source = Math.floor(Math.random() * n);
    out.set(entries.subarray(source * 32, source * 32 + 32), i * 32);
    const flips = new Set<number>();
    const k = i % (maxFlip + 1);
    while (flips.size < k) flips.add(Math.floor(Math.random() * 256));
    for (const bit of flips) out[i * 32 + (bit >> 3)]! ^= 0x80 >> (bit & 7);
  }
  return out;
}

describe('DeltaJoin', () => {
  it.each([
    [0, 'simd'], [8, 'simd'], [15, 'simd'], [16, 'simd'], [31, 'simd'], [31, 'js'], [31, 'probing'], [40, 'simd'], [40, 'js'], [47, 'probing'], [60, 'simd'],
  ])('finds exactly the brute-force pairs at radius %i (%s)', (radius, mode) => {
    const n = 600;
    const entries = randomBytes(n * 32);
    // A few near-duplicate entries, so one query can have several hits.
    entries.copyWithin(32, 0, 32);
    entries[40]! ^= 1;
    const count = 900;
    const queries = plantedQueries(entries, n, count, radius + 6);
    const join = new DeltaJoin(entries, n, radius, mode === 'probing' ? { maxExpandedBytes: 0 } : mode === 'js' ? { simd: false } : {});
    const found: string[] = [];
    join.searchPage(toWords(queries), count, (row, entry, d) => void found.push(`${row}:${entry}:${d}`));
    const q = toWords(queries);
    const e = toWords(entries);
    const truth: string[] = [];
    for (let row = 0; row < count; row++) {
      for (let entry = 0; entry < n; entry++) {
        const d = distance(q, row, e, entry);
        if (d <= radius) truth.push(`${row}:${entry}:${d}`);
      }
    }
    expect(truth.length).toBeGreaterThan(20);
    expect(found.sort()).toEqual(truth.sort());
  });

  it('gives the same hits on worker threads as in-process, variants and views included, compensated views at their own radius', async () => {
    const entries = Array.from({ length: 300 }, () => ({ hash: randomBytes(32).toString('hex') }));
    const hashes = Buffer.concat(entries.map((e) => Buffer.from(e.hash, 'hex')));
    const count = 200;
    const rows = Buffer.from(plantedQueries(hashes, 300, count, 35));
    const dihedral = Buffer.from(plantedQueries(hashes, 300, count * 7, 35));
    // Views on every third row (0, 0, 3, 3, ...: two each), compensated views on every fifth (one each).
    const viewRows = Int32Array.from({ length: 134 }, (_, i) => Math.floor(i / 2) * 3);
    const views = Buffer.from(plantedQueries(hashes, 300, viewRows.length, 35));
    const compensatedRows = Int32Array.from({ length: 40 }, (_, i) => i * 5);
    const compensated = Buffer.from(plantedQueries(hashes, 300, compensatedRows.length, 40));
    const ids = Buffer.alloc(count * 8);
    for (let i = 0; i < count; i++) ids.writeBigInt64BE(BigInt(i + 1), i * 8);
    const page = () => ({ count, ids, hashes: Buffer.from(rows), dihedral: Buffer.from(dihedral), hasDihedral: Buffer.alloc(count, 1), views: { hashes: Buffer.from(views), rows: viewRows },
      compensated: { hashes: Buffer.from(compensated), rows: compensatedRows }, lastId: BigInt(count),
    });
    const local = new DeltaIndex(entries, { radius: 31, compensatedRadius: 36, dihedral: true, threads: 0 });
    const threaded = new DeltaIndex(entries, { radius: 31, compensatedRadius: 36, dihedral: true, threads: 2 });
    const key = (h: { contentId: bigint; entry: number; distance: number; variant: string }) => `${h.contentId}:${h.entry}:${h.distance}:${h.variant}`;
    try {
      const a = (await local.matchPage(page())).map(key).sort();
      const b = (await Promise.all([threaded.matchPage(page()), threaded.matchPage(page())])).map((hits) => hits.map(key).sort());
      expect(a.length).toBeGreaterThan(count / 2);
      expect(b).toEqual([a, a]);
      expect(a.some((k) => !k.endsWith(':orig') && !k.endsWith(':view'))).toBe(true);
      // A view's hit names the row it belongs to, at its own distance (the closest of the row's hashes);
      // only compensated views reach past 31, up to 36.
      const viewHits = (await local.matchPage(page())).filter((h) => h.variant === 'view');
      expect(viewHits.length).toBeGreaterThan(10);
      for (const hit of viewHits) {
        const row = Number(hit.contentId) - 1;
        const of = (packed: Buffer, rows: Int32Array) => [...rows.keys()].filter((v) => rows[v] === row).map((v) => distance(words(packed), v, words(hashes), hit.entry));
        const own = [...of(views, viewRows), ...of(compensated, compensatedRows).filter((d) => d <= 36)];
        expect(own).toContain(hit.distance);
        if (hit.distance > 31) expect(of(compensated, compensatedRows)).toContain(hit.distance);
      }
      expect(viewHits.some((h) => h.distance > 31 && h.distance <= 36)).toBe(true);
      expect(viewHits.every((h) => h.distance <= 36)).toBe(true);
    } finally {
      await threaded.close();
    }
  });
});
