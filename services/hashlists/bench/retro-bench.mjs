#!/usr/bin/env node
// npm run bench:retro — retro-matching a list delta (default 1e5 PDQ hashes) against the stored
// content hashes of a corpus (default 1e7), through the real code path (runRetroMatch: keyset
// pages of packed bytea from Postgres, the join kernel on worker threads, candidates and
// matches recorded with their events), compared in the same run with the measured cost of
// re-hashing the corpus instead (benign generated photos through the hashing pool, per image,
// extrapolated). Recall against brute force on a sample of planted and random rows. The corpus
// is generated inside Postgres (SQL, pseudo-random bytes); setup times are reported apart.
// Runs from TypeScript sources (node --conditions=@vigil/source): no build step. Prints JSON.
//
// Each row also holds --views derived-view PDQ hashes (default 3: the crop-compensated views the
// scanner stores for every photo), which the join reads as well, up to their cap (36 bits): in
// one pass for a delta of at most wideMaxDelta (10 000) entries; for a larger one, a first pass
// within the list threshold (timed apart: what issue 7's 60 s target measured), then passes of
// 10 000 entries to the cap.
//
//   npm run bench:retro -- [--corpus 1e7] [--delta 1e5] [--planted 1000] [--views 3] [--dihedral] [--home DIR]

import { mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { randomBytes } from 'node:crypto';
import { openDatabase } from '@vigil/db';
import { createHashPool } from '@vigil/hashing';
import { runRetroMatch } from '@vigil/hashlists';
import { PgListStore } from '@vigil/lists';
import { encode, naturalScene } from '@vigil/testkit';

const { values } = parseArgs({
  options: {
    corpus: { type: 'string', default: '1e7' },
    delta: { type: 'string', default: '1e5' },
    planted: { type: 'string', default: '1000' },
    sample: { type: 'string', default: '1000' },
    images: { type: 'string', default: '24' },
    dihedral: { type: 'boolean', default: false },
    views: { type: 'string', default: '3' },
    home: { type: 'string' },
  },
});
const N = Number(values.corpus);
const D = Number(values.delta);
const P = Math.min(Number(values.planted), D);
const SAMPLE = Number(values.sample);
const DIHEDRAL = values.dihedral;
const VIEWS = Number(values.views);
const THRESHOLD = 31;
/** The detection rule's cap for a crop-compensated view: min(threshold + 5, 36). */
const UNCROP_CAP = 36;
/** retro-match.ts's default: a larger delta is searched past the threshold in passes of this many entries. */
const WIDE_MAX_DELTA = 10_000;
const COMPENSATED_WITHIN = UNCROP_CAP;
/** The shares the scanner's crop compensation assumes kept (DEFAULT_DETECTION_RULE.uncrop). */
const KEPT = [0.95, 0.9, 0.8];
const CHUNK = 1_000_000;
const seconds = (ms) => Math.round(ms / 10) / 100;
const log = (msg) => process.stderr.write(`[bench:retro] ${msg}\n`);

// --------------------------------------------------------------------------- setup
let t = performance.now();
const home = values.home ?? (await mkdtemp(join(tmpdir(), 'vigil-bench-retro-')));
const db = await openDatabase({ ...(process.env.DATABASE_URL && { databaseUrl: process.env.DATABASE_URL }), home });
const pool = db.pool;
const setup = { databaseSeconds: seconds(performance.now() - t) };

t = performance.now();
const existing = Number((await pool.query(`SELECT count(*) AS n FROM content_hashes WHERE tenant_id = 'bench'`)).rows[0].n);
const stored = existing > 0 && (await pool.query(`SELECT pdq_dihedral IS NOT NULL AS d, coalesce(octet_length(compensated_pdq), 0) / 32 AS v FROM content_hashes WHERE tenant_id = 'bench' LIMIT 1`)).rows[0];
if (existing !== N || (DIHEDRAL && !stored.d) || (existing > 0 && stored.v !== VIEWS)) {
  if (existing > 0) throw new Error(`--home holds a corpus of ${existing} rows (dihedral: ${stored.d}, views: ${stored.v}); use a fresh home for ${N}`);
  log(`generating ${N} stored content rows in Postgres${DIHEDRAL ? ' with 7 dihedral variants each' : ''}, ${VIEWS} derived views each`);
  const client = await pool.connect();
  try {
    await client.query(`SET synchronous_commit = off`);
    await client.query(`SET maintenance_work_mem = '1GB'`);
    const { rows: [unique] } = await client.query(
      `SELECT conname FROM pg_constraint WHERE conrelid = 'content_hashes'::regclass AND contype = 'u'`,
    );
    // Secondary indexes are built once after the load (sorted), not row by row.
    await client.query(`DROP INDEX content_hashes_sha256, content_hashes_pdq, content_hashes_last_seen`);
    await client.query(`ALTER TABLE content_hashes DROP CONSTRAINT ${unique.conname}`);
    for (let from = 1; from <= N; from += CHUNK) {
      const to = Math.min(N, from + CHUNK - 1);
      await client.query(
        // Scanned over the past year (the catch-up pass of a run only rereads the last minute's).
        `INSERT INTO content_hashes (tenant_id, bucket, object_key, size, content_type, sha256, pdq, pdq_quality, pdq_dihedral, derived_hashes, first_seen_at, last_seen_at)
         SELECT 'bench', 'media', 'obj/' || g, 250000, 'image/jpeg', sha256(int8send(g)), sha256(int8send(g) || '\\x01'::bytea), 90,
                ${DIHEDRAL ? `sha512(int8send(g) || '\\x02'::bytea) || sha512(int8send(g) || '\\x03'::bytea) || sha512(int8send(g) || '\\x04'::bytea)
                              || substring(sha512(int8send(g) || '\\x05'::bytea) FROM 1 FOR 32)` : 'NULL'},
                ${VIEWS > 0 ? `jsonb_build_object('uncropped', jsonb_build_array(${Array.from({ length: VIEWS }, (_, v) =>
                  `jsonb_build_object('kept', ${KEPT[v % KEPT.length]}, 'pdq', encode(sha256(int8send(g) || '\\x${(16 + v).toString(16)}'::bytea), 'hex'), 'pdqQuality', 90)`).join(', ')}))` : 'NULL'},
                now() - interval '400 days' + g * interval '3 seconds' / ${Math.max(1, N / 1e7)}, now() - interval '365 days' + g * interval '3 seconds' / ${Math.max(1, N / 1e7)}
           FROM generate_series($1::bigint, $2::bigint) AS g`,
        [from, to],
      );
      log(`  ${to} rows`);
    }
    await client.query(`ALTER TABLE content_hashes ADD CONSTRAINT ${unique.conname} UNIQUE NULLS NOT DISTINCT (tenant_id, bucket, object_key, version_id, sha256)`);
    await client.query(`CREATE INDEX content_hashes_sha256 ON content_hashes (sha256)`);
    await client.query(`CREATE INDEX content_hashes_pdq ON content_hashes (pdq) WHERE pdq IS NOT NULL`);
    await client.query(`CREATE INDEX content_hashes_last_seen ON content_hashes (last_seen_at)`);
    await client.query(`VACUUM ANALYZE content_hashes`);
  } finally {
    client.release();
  }
}
setup.corpusSeconds = seconds(performance.now() - t);

// The delta: P entries planted near stored rows (0..31 bits away; with --dihedral half of them
// near a stored rotated/flipped variant), the rest random (a random pair is never within 31).
t = performance.now();
const { rows: [bounds] } = await pool.query(`SELECT min(id) AS lo, max(id) AS hi FROM content_hashes WHERE tenant_id = 'bench'`);
const lo = Number(bounds.lo);
const hi = Number(bounds.hi);
const plantedIds = [...new Set(Array.from({ length: P }, () => lo + Math.floor(Math.random() * (hi - lo + 1))))];
const { rows: plantedRows } = await pool.query(`SELECT id, pdq, pdq_dihedral, compensated_pdq FROM content_hashes WHERE id = ANY($1::bigint[])`, [plantedIds]);
const flip = (bytes, k) => {
  const out = Buffer.from(bytes);
  const bits = new Set();
  while (bits.size < k) bits.add(Math.floor(Math.random() * 256));
  for (const bit of bits) out[bit >> 3] ^= 0x80 >> (bit & 7);
  return out;
};
// With views, every third one near a stored view (crop compensation: it counts up to 36 bits).
const entries = plantedRows.map((row, i) => {
  if (VIEWS > 0 && i % 3 === 2) {
    const v = Math.floor(i / 3) % VIEWS;
    return { hash: flip(row.compensated_pdq.subarray(v * 32, v * 32 + 32), i % (COMPENSATED_WITHIN + 1)).toString('hex'), externalId: `planted-${row.id}` };
  }
  const useVariant = DIHEDRAL && i % 2 === 1;
  const v = i % 7;
  const base = useVariant ? row.pdq_dihedral.subarray(v * 32, v * 32 + 32) : row.pdq;
  return { hash: flip(base, i % (THRESHOLD + 1)).toString('hex'), externalId: `planted-${row.id}` };
});
while (entries.length < D) entries.push({ hash: randomBytes(32).toString('hex'), externalId: `random-${entries.length}` });
const listId = `bench-${Date.now().toString(36)}`;
await new PgListStore(pool).putVersion(
  {
    name: listId, algorithm: 'pdq', threshold: THRESHOLD, action: 'quarantine', dihedral: DIHEDRAL, source: 'bench',
    versions: [{ version: 1, importedAt: new Date().toISOString(), format: 'plain', sourceSha256: randomBytes(32).toString('hex'), entries: 0, added: 0, removed: 0, changed: 0 }],
  },
  entries,
  [],
);
setup.listSeconds = seconds(performance.now() - t);
log(`setup done: ${JSON.stringify(setup)}; retro-matching ${D} entries against ${N} stored hashes`);

// --------------------------------------------------------------------------- retro-match
const retroStart = performance.now();
let lastPageAt = retroStart;
let firstPassAt = null;
let passes = 1;
const cpu = process.cpuUsage();
const summary = await runRetroMatch(
  {
    pool, pageSize: 50_000, breaker: { minHits: 1e9, factor: 1e9 },
    onProgress: (p) => {
      if (p.phase !== 'matching') return;
      if (p.pass > 1 && firstPassAt === null) firstPassAt = lastPageAt;
      passes = p.passes ?? 1;
      lastPageAt = performance.now();
    },
  },
  { listId, version: 1, previousVersion: null },
);
const retroMs = performance.now() - retroStart;
const used = process.cpuUsage(cpu);
const expected = new Set(plantedRows.map((r) => String(r.id)));

// --------------------------------------------------------------------------- recall vs brute force
t = performance.now();
const randomSample = Array.from({ length: SAMPLE }, () => lo + Math.floor(Math.random() * (hi - lo + 1)));
const sampleIds = [...new Set([...plantedRows.map((r) => Number(r.id)), ...randomSample])];
const { rows: sample } = await pool.query(`SELECT id, pdq, pdq_dihedral, compensated_pdq FROM content_hashes WHERE id = ANY($1::bigint[])`, [sampleIds]);
const deltaWords = new Uint32Array(D * 8);
new Uint8Array(deltaWords.buffer).set(Buffer.concat(entries.map((e) => Buffer.from(e.hash, 'hex'))));
const pop = (x) => {
  x -= (x >>> 1) & 0x55555555;
  x = (x & 0x33333333) + ((x >>> 2) & 0x33333333);
  return (Math.imul((x + (x >>> 4)) & 0x0f0f0f0f, 0x01010101) >>> 24);
};
const truth = new Set();
for (const row of sample) {
  // What counts under the rule: a stored hash within the threshold, a crop-compensated view within its cap.
  const variants = [row.pdq, ...(DIHEDRAL && row.pdq_dihedral ? Array.from({ length: 7 }, (_, v) => row.pdq_dihedral.subarray(v * 32, v * 32 + 32)) : [])]
    .map((hash) => [hash, THRESHOLD]);
  for (let v = 0; v < (row.compensated_pdq?.length ?? 0) / 32; v++) variants.push([row.compensated_pdq.subarray(v * 32, v * 32 + 32), COMPENSATED_WITHIN]);
  for (const [variant, within] of variants) {
    const q = new Uint32Array(8);
    new Uint8Array(q.buffer).set(variant);
    for (let e = 0; e < D; e++) {
      let d = 0;
      for (let k = 0; k < 8; k++) d += pop(q[k] ^ deltaWords[e * 8 + k]);
      if (d <= within) truth.add(`${row.id}:${entries[e].hash}`);
    }
  }
}
const { rows: found } = await pool.query(
  `SELECT content_id, encode(entry_hash, 'hex') AS hash FROM retro_candidates WHERE list_id = $1 AND version = 1 AND content_id = ANY($2::bigint[])`,
  [listId, sampleIds],
);
const foundSet = new Set(found.map((r) => `${r.content_id}:${r.hash}`));
const hitsInTruth = [...truth].filter((k) => foundSet.has(k)).length;
const recall = truth.size === 0 ? 1 : hitsInTruth / truth.size;
const extra = [...foundSet].filter((k) => !truth.has(k)).length;
const bruteSeconds = seconds(performance.now() - t);

// --------------------------------------------------------------------------- the alternative: re-hash
t = performance.now();
const images = [];
for (let i = 0; i < Number(values.images); i++) images.push(await encode(await naturalScene(1024, 768, 9000 + i), 'jpeg', { quality: 85 }));
const hashPool = createHashPool({ threads: 2 });
await Promise.all(images.slice(0, 2).map((bytes) => hashPool.hash(bytes, { mode: 'fast' })));
const hashStart = performance.now();
const outcomes = await Promise.all(images.map((bytes) => hashPool.hash(bytes, { mode: 'fast' })));
const hashMs = performance.now() - hashStart;
await hashPool.close();
if (outcomes.some((o) => o.status !== 'hashed')) throw new Error('a benchmark image did not hash');
const perImageMs = hashMs / images.length;
const rehashSeconds = (perImageMs * N) / 1000;

const result = {
  corpus: N,
  delta: D,
  dihedral: DIHEDRAL,
  views: VIEWS,
  threshold: THRESHOLD,
  compensatedRadius: COMPENSATED_WITHIN,
  setup,
  retro: {
    seconds: seconds(retroMs),
    /** Streaming the corpus through the delta (the rest: breaker, recording matches and their events). */
    matchingSeconds: seconds(lastPageAt - retroStart),
    /** Passes over the corpus: 1, or for a delta over WIDE_MAX_DELTA the threshold pass and then the wide ones. */
    passes,
    /** The threshold pass of a multi-pass run: everything that counts within the list threshold is found by then. */
    ...(firstPassAt !== null && { thresholdPassSeconds: seconds(firstPassAt - retroStart) }),
    processCpuSeconds: seconds((used.user + used.system) / 1000),
    storedHashesPerSecond: Math.round(summary.scanned / (retroMs / 1000)),
    scanned: summary.scanned,
    candidates: summary.candidates,
    matched: summary.matched,
    alreadyMatchedOrSuppressed: summary.suppressed,
    plantedRows: expected.size,
  },
  recall: { sampleRows: sample.length, truePairs: truth.size, found: hitsInTruth, recall, extraPairs: extra, bruteForceSeconds: bruteSeconds },
  rehash: {
    images: images.length,
    imageSize: '1024x768 JPEG q85',
    threads: 2,
    msPerImage: Math.round(perImageMs * 100) / 100,
    extrapolatedSeconds: Math.round(rehashSeconds),
    extrapolatedHours: Math.round((rehashSeconds / 3600) * 10) / 10,
    note: 'decode + hash only, on the same 2 cores; fetching the bytes back from storage is not counted',
  },
  speedup: Math.round(rehashSeconds / (retroMs / 1000)),
  // Issue 7's target: a 1e5 delta against 1e7 stored objects within 60 s, for what counts within the threshold.
  target: { seconds: 60, measured: firstPassAt !== null ? 'thresholdPassSeconds' : 'seconds', met: (firstPassAt !== null ? firstPassAt - retroStart : retroMs) / 1000 <= 60 },
};
process.stdout.write(`${JSON.stringify(result, null, 2)}\n`);
await db.close();
// Planted rows an earlier run on the same --home already matched count as already actioned.
if (recall !== 1 || extra !== 0 || summary.matched + summary.suppressed !== expected.size) {
  process.stderr.write('[bench:retro] FAILED: recall must be 1.0 with no extra pairs, and every planted row matched\n');
  process.exitCode = 1;
}
