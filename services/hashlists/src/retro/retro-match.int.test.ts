// Retro-matching against real Postgres: planted content (exact, near, rotated, flat, through a
// derived view, a corroborated near miss) found from the stored hashes alone, by the scanner's
// own decision; provenance naming the list version; idempotent re-runs; a crash in either
// phase resumed without skipping or repeating; the circuit breaker; allow lists; exact-digest
// lists; and withdrawn entries flagging exactly the quarantines that rested only on them.

import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Pool } from '@vigil/db';
import { flip, openPool, postgres, putList, quarantineMatch, randomHash, storeContent } from '../../test/support.ts';
import { decideSuspension, listFlags, listSuspensions, ReviewError } from '../review.ts';
import { flagWithdrawn } from '../tombstones.ts';
import { detectionRuleFrom } from '@vigil/scanner';
import { processListUpdate } from '../retro-service.ts';
import { retroMatchesOf, runRetroMatch } from './retro-match.ts';

describe.skipIf(!postgres.available)('retro-matching', () => {
  let pool: Pool;
  beforeAll(async () => void (pool = await openPool()));
  afterAll(async () => void (await pool?.end()));

  const matchesFor = (listId: string) =>
    pool
      .query(
        `SELECT m.object_key, m.trigger, s.lane, h.list_version, h.distance, h.variant FROM matches m JOIN scans s ON s.id = m.scan_id
           JOIN match_hits h ON h.match_id = m.id WHERE h.list_id = $1 ORDER BY m.object_key`,
        [listId],
      )
      .then((r) => r.rows);

  it('finds stored content within the threshold (exact, near, rotated, flat near-exact) and records it as a retro match of the new version', async () => {
    const [e1, e2, e3] = [randomHash(), randomHash(), randomHash()];
    await storeContent(pool, { key: 'a/exact.jpg', pdq: e1 });
    await storeContent(pool, { key: 'a/near.jpg', pdq: flip(e2, 10) });
    const rotated = Array.from({ length: 7 }, randomHash);
    rotated[0] = flip(e3, 5); // rot90
    await storeContent(pool, { key: 'a/rotated.jpg', pdq: randomHash(), dihedral: rotated });
    // Flat content (PDQ quality below 50) counts alone only near-exact (16 bits), as at scan time.
    await storeContent(pool, { key: 'a/low-quality.jpg', pdq: flip(e1, 12), quality: 30 });
    await storeContent(pool, { key: 'a/low-quality-far.jpg', pdq: flip(e1, 20), quality: 30 });
    await storeContent(pool, { key: 'a/far.jpg', pdq: flip(e1, 60) });
    for (let i = 0; i < 40; i++) await storeContent(pool, { key: `a/other-${i}.jpg`, pdq: randomHash() });

    await putList(pool, 'retro-a', [{ hash: randomHash(), externalId: 'A-0' }]);
    const v2 = await putList(pool, 'retro-a', [
      { hash: e1, externalId: 'A-1' }, { hash: e2, externalId: 'A-2' }, { hash: e3, externalId: 'A-3', category: 'csam' },
    ]);
    const summary = await runRetroMatch({ pool, pageSize: 7 }, { listId: 'retro-a', ...v2 });
    expect(summary).toMatchObject({ status: 'done', added: 3, candidates: 4, matched: 4, suppressed: 0, suspended: 0 });
    expect(summary.scanned).toBeGreaterThanOrEqual(46);
    expect(await matchesFor('retro-a')).toEqual([
      { object_key: 'a/exact.jpg', trigger: 'retro', lane: 'retro', list_version: 2, distance: 0, variant: 'orig' },
      { object_key: 'a/low-quality.jpg', trigger: 'retro', lane: 'retro', list_version: 2, distance: 12, variant: 'orig' },
      { object_key: 'a/near.jpg', trigger: 'retro', lane: 'retro', list_version: 2, distance: 10, variant: 'orig' },
      { object_key: 'a/rotated.jpg', trigger: 'retro', lane: 'retro', list_version: 2, distance: 5, variant: 'rot90' },
    ]);
    const { rows: events } = await pool.query(`SELECT event->'payload' AS p FROM outbox WHERE type = 'match.found.v1' ORDER BY id`);
    expect(events).toHaveLength(4);
    for (const { p } of events) {
      expect(p).toMatchObject({ trigger: 'retro', action: 'quarantine', matches: [{ listId: 'retro-a', listVersion: 2 }] });
    }
    expect((await retroMatchesOf(pool, 'retro-a', 2)).map((m) => [m.object, m.distance])).toEqual([
      ['uploads/a/exact.jpg', 0], ['uploads/a/low-quality.jpg', 12], ['uploads/a/near.jpg', 10], ['uploads/a/rotated.jpg', 5],
    ]);

    // Idempotent: the same version again records nothing new.
    expect(await runRetroMatch({ pool }, { listId: 'retro-a', ...v2 })).toMatchObject({ matched: 4 });
    expect(await matchesFor('retro-a')).toHaveLength(4);
    expect((await pool.query(`SELECT count(*)::int AS n FROM outbox WHERE type = 'match.found.v1'`)).rows[0].n).toBe(4);
  });

  it('finds stored content through its derived views under their caps, as a scan would, and stores which view matched', async () => {
    const [region, crop, cropFar, text, small, faint, faintFar, flat] = [randomHash(), randomHash(), randomHash(), randomHash(), randomHash(), randomHash(), randomHash(), randomHash()];
    const view = (pdq: string, extra: object = {}) => ({ pdq, pdqQuality: 80, ...extra });
    await storeContent(pool, { key: 'v/framed.jpg', pdq: randomHash(), derived: { region: view(flip(region, 6)) } });
    // Crop compensation counts alone up to threshold + 5 (36): 34 bits in, 38 out.
    await storeContent(pool, { key: 'v/cropped.jpg', pdq: randomHash(), derived: { uncropped: [view(randomHash(), { kept: 0.95 }), view(flip(crop, 34), { kept: 0.9 })] } });
    await storeContent(pool, { key: 'v/cropped-far.jpg', pdq: randomHash(), derived: { uncropped: [view(flip(cropFar, 38), { kept: 0.9 })] } });
    await storeContent(pool, { key: 'v/watermarked.jpg', pdq: randomHash(), derived: { overlayFree: [view(flip(text, 8), { factor: 1, textShare: 0.04 })] } });
    await storeContent(pool, { key: 'v/small.jpg', pdq: randomHash(), derived: { upscaled: [view(flip(small, 4), { factor: 2 })] } });
    // A faint watermark unblended counts alone up to threshold + 1 (32): 32 bits in, 34 out.
    await storeContent(pool, { key: 'v/faint.jpg', pdq: randomHash(), derived: { overlayFree: [view(flip(faint, 32), { factor: 1, textShare: 0.1, unblended: true })] } });
    await storeContent(pool, { key: 'v/faint-far.jpg', pdq: randomHash(), derived: { overlayFree: [view(flip(faintFar, 34), { factor: 1, textShare: 0.1, unblended: true })] } });
    // A flat picture's region (PDQ quality below 50) counts alone near-exact, and is stored as unstable.
    await storeContent(pool, { key: 'v/flat-framed.jpg', pdq: randomHash(), derived: { region: { pdq: flip(flat, 10), pdqQuality: 30 } } });
    const v = await putList(pool, 'retro-views', [region, crop, cropFar, text, small, faint, faintFar, flat].map((hash, i) => ({ hash, externalId: `V-${i}` })));
    // The join finds all eight within 41 bits; the decision keeps six, and only those are candidates.
    expect(await runRetroMatch({ pool }, { listId: 'retro-views', ...v })).toMatchObject({ added: 8, candidates: 6, matched: 6 });
    const { rows } = await pool.query(
      `SELECT m.object_key, h.entry_id, h.query, h.distance, h.corroborated, h.unstable FROM matches m JOIN match_hits h ON h.match_id = m.id
        WHERE h.list_id = 'retro-views' ORDER BY m.object_key`,
    );
    const hit = (object_key: string, entry_id: string, query: string, distance: number, unstable = false) => ({ object_key, entry_id, query, distance, corroborated: false, unstable });
    expect(rows).toEqual([
      hit('v/cropped.jpg', 'V-1', 'uncrop-10', 34),
      hit('v/faint.jpg', 'V-5', 'watermark', 32),
      hit('v/flat-framed.jpg', 'V-7', 'region', 10, true),
      hit('v/framed.jpg', 'V-0', 'region', 6),
      hit('v/small.jpg', 'V-4', 'upscale-2', 4),
      hit('v/watermarked.jpg', 'V-3', 'overlay', 8),
    ]);
    const { rows: [event] } = await pool.query(
      `SELECT event->'payload' AS p FROM outbox WHERE type = 'match.found.v1' AND event->'payload'->'object'->>'key' = 'v/framed.jpg'`,
    );
    expect(event.p.matches).toEqual([expect.objectContaining({ listId: 'retro-views', listVersion: 1, entryId: 'V-0', query: 'region', distance: 6 })]);
  });

  it('decides under the operator’s rule when given one (VIGIL_DETECTION_RULE), as the scanners do', async () => {
    const [crop, text, faint] = [randomHash(), randomHash(), randomHash()];
    const view = (pdq: string, extra: object = {}) => ({ pdq, pdqQuality: 80, ...extra });
    await storeContent(pool, { key: 'r/cropped.jpg', pdq: randomHash(), derived: { uncropped: [view(flip(crop, 38), { kept: 0.9 })] } });
    await storeContent(pool, { key: 'r/captioned.jpg', pdq: randomHash(), derived: { overlayFree: [view(flip(text, 8), { factor: 1, textShare: 0.04 })] } });
    await storeContent(pool, { key: 'r/faint.jpg', pdq: randomHash(), derived: { overlayFree: [view(flip(faint, 20), { factor: 1, textShare: 0.1, unblended: true })] } });
    const v = await putList(pool, 'retro-rule', [crop, text, faint].map((hash, i) => ({ hash, externalId: `R-${i}` })));
    // Overlay compensation off, crop compensation two bits wider (38): the crop at 38 counts, the text-free views do not.
    const rule = detectionRuleFrom({ overlay: false, extraMax: { uncrop: { beyond: 7, max: 38 } } });
    const { retro } = await processListUpdate({ pool, rule }, { listId: 'retro-rule', version: v.version, previousVersion: null });
    expect(retro).toMatchObject({ status: 'done', added: 3, matched: 1 });
    expect((await matchesFor('retro-rule')).map((m) => [m.object_key, m.distance])).toEqual([['r/cropped.jpg', 38]]);
  });

  it('joins a delta larger than wideMaxDelta within the threshold first, then past it a chunk at a time, resuming in the pass it stopped in', async () => {
    const [region, crop, text, other] = [randomHash(), randomHash(), randomHash(), randomHash()];
    await storeContent(pool, { key: 'w/framed.jpg', pdq: randomHash(), derived: { region: { pdq: flip(region, 6), pdqQuality: 80 } } });
    await storeContent(pool, { key: 'w/cropped.jpg', pdq: randomHash(), derived: { uncropped: [{ kept: 0.9, pdq: flip(crop, 34), pdqQuality: 80 }] } });
    await storeContent(pool, { key: 'w/captioned.jpg', pdq: randomHash(), derived: { overlayFree: [{ factor: 1, pdq: flip(text, 35), pdqQuality: 80, textShare: 0.05 }] } });
    const v = await putList(pool, 'retro-passes', [region, crop, text, other].map((hash, i) => ({ hash, externalId: `W-${i}` })));
    // 4 entries, wide passes of 2: the threshold pass, then entries [0, 2) and [2, 4) to 36 bits. Killed in the third pass.
    const seen: Array<[number, number]> = [];
    const killed = runRetroMatch(
      {
        pool, wideMaxDelta: 2, pageSize: 20,
        onProgress: (p) => {
          if (p.phase !== 'matching') return;
          seen.push([p.pass!, p.passes!]);
          if (p.pass === 3) throw new Error('killed');
        },
      },
      { listId: 'retro-passes', ...v },
    );
    await expect(killed).rejects.toThrow('killed');
    expect(new Set(seen.map(([pass, of]) => `${pass}/${of}`))).toEqual(new Set(['1/3', '2/3', '3/3']));
    const { rows: [mid] } = await pool.query(`SELECT status, pass, passes, candidates FROM retro_runs WHERE list_id = 'retro-passes'`);
    // The threshold pass found the framed copy, the first wide pass the cropped one (W-1 at 34 bits).
    expect(mid).toMatchObject({ status: 'matching', pass: 2, passes: 3, candidates: 2 });

    const done = await runRetroMatch({ pool, wideMaxDelta: 2, pageSize: 20 }, { listId: 'retro-passes', ...v });
    expect(done).toMatchObject({ status: 'done', added: 4, candidates: 3, matched: 3 });
    const { rows: [total] } = await pool.query(`SELECT count(*)::int AS n FROM content_hashes WHERE pdq IS NOT NULL`);
    // Rows are counted once, in the first pass, however many passes read them.
    expect(done.scanned).toBe(total.n);
    expect((await matchesFor('retro-passes')).map((m) => [m.object_key, m.distance])).toEqual([['w/captioned.jpg', 35], ['w/cropped.jpg', 34], ['w/framed.jpg', 6]]);
  });

  it('searches a large delta within the list threshold only when the wide passes are off (wideMaxDelta 0)', async () => {
    const [region, crop] = [randomHash(), randomHash()];
    await storeContent(pool, { key: 'x/framed.jpg', pdq: randomHash(), derived: { region: { pdq: flip(region, 6), pdqQuality: 80 } } });
    await storeContent(pool, { key: 'x/cropped.jpg', pdq: randomHash(), derived: { uncropped: [{ kept: 0.9, pdq: flip(crop, 34), pdqQuality: 80 }] } });
    const v = await putList(pool, 'retro-narrow', [{ hash: region, externalId: 'X-1' }, { hash: crop, externalId: 'X-2' }]);
    expect(await runRetroMatch({ pool, wideMaxDelta: 0 }, { listId: 'retro-narrow', ...v })).toMatchObject({ added: 2, candidates: 1, matched: 1 });
    expect((await matchesFor('retro-narrow')).map((m) => m.object_key)).toEqual(['x/framed.jpg']);
  });

  it('counts a near miss only when the other algorithm corroborates it on the same entry, as a scan would', async () => {
    const [paired, alone, block] = [randomHash(), randomHash(), randomHash()];
    // PDQ 35 bits (4 past the threshold) and blockhash 8 bits (6 past its threshold of 2): neither counts alone, the pair does.
    await storeContent(pool, { key: 'n/paired.jpg', pdq: flip(paired, 35), blockhash: flip(block, 8) });
    await storeContent(pool, { key: 'n/alone.jpg', pdq: flip(alone, 35), blockhash: randomHash() });
    await putList(pool, 'retro-pair-bh', [{ hash: block, externalId: 'N-1' }], { algorithm: 'blockhash', threshold: 2, dihedral: false });
    const v = await putList(pool, 'retro-pair-pdq', [{ hash: paired, externalId: 'N-1' }, { hash: alone, externalId: 'N-2' }]);
    expect(await runRetroMatch({ pool }, { listId: 'retro-pair-pdq', ...v })).toMatchObject({ added: 2, candidates: 1, matched: 1 });
    const { rows } = await pool.query(
      `SELECT m.object_key, h.list_id, h.distance, h.threshold, h.corroborated FROM matches m JOIN match_hits h ON h.match_id = m.id
        WHERE m.object_key LIKE 'n/%' ORDER BY h.ordinal`,
    );
    // Both hits kept, the closer first (as a scan orders them): the evidence shows both distances.
    expect(rows).toEqual([
      { object_key: 'n/paired.jpg', list_id: 'retro-pair-bh', distance: 8, threshold: 2, corroborated: true },
      { object_key: 'n/paired.jpg', list_id: 'retro-pair-pdq', distance: 35, threshold: 31, corroborated: true },
    ]);
  });

  it('matches only the upright hash when the list does not allow rotated copies', async () => {
    const e = randomHash();
    const rotated = Array.from({ length: 7 }, randomHash);
    rotated[3] = e; // flipx
    await storeContent(pool, { key: 'b/flipped.jpg', pdq: randomHash(), dihedral: rotated });
    const v = await putList(pool, 'retro-upright', [{ hash: e, externalId: 'U-1' }], { dihedral: false });
    expect(await runRetroMatch({ pool }, { listId: 'retro-upright', ...v })).toMatchObject({ added: 1, matched: 0 });
  });

  it('resumes a run that crashed while matching, then while recording, without skipping or repeating', async () => {
    const planted = Array.from({ length: 6 }, randomHash);
    for (let i = 0; i < 60; i++) {
      await storeContent(pool, { key: `c/obj-${String(i).padStart(2, '0')}.jpg`, pdq: i % 10 === 3 ? flip(planted[(i - 3) / 10]!, 4) : randomHash() });
    }
    const v = await putList(pool, 'retro-crash', planted.map((hash, i) => ({ hash, externalId: `C-${i}` })));
    let pages = 0;
    const crashMatching = runRetroMatch(
      {
        pool, pageSize: 10,
        onProgress: (p) => {
          if (p.phase === 'matching' && ++pages === 3) throw new Error('killed');
        },
      },
      { listId: 'retro-crash', ...v },
    );
    await expect(crashMatching).rejects.toThrow('killed');
    const { rows: [mid] } = await pool.query(`SELECT status, position, scanned FROM retro_runs WHERE list_id = 'retro-crash'`);
    expect(mid.status).toBe('matching');
    expect(Number(mid.scanned)).toBeGreaterThanOrEqual(30);

    let batches = 0;
    const crashRecording = runRetroMatch(
      {
        pool, pageSize: 10, recordBatch: 2,
        onProgress: (p) => {
          if (p.phase === 'recording' && ++batches === 1) throw new Error('killed again');
        },
      },
      { listId: 'retro-crash', ...v },
    );
    await expect(crashRecording).rejects.toThrow('killed again');
    const partial = await matchesFor('retro-crash');
    expect(partial.length).toBeGreaterThan(0);
    expect(partial.length).toBeLessThan(6);

    const done = await runRetroMatch({ pool, pageSize: 10 }, { listId: 'retro-crash', ...v });
    expect(done).toMatchObject({ status: 'done', candidates: 6, matched: 6 });
    const all = await matchesFor('retro-crash');
    expect(all.map((m) => m.object_key)).toEqual(['03', '13', '23', '33', '43', '53'].map((i) => `c/obj-${i}.jpg`));
    // Every stored row was matched exactly once across the three attempts.
    const { rows: [total] } = await pool.query(`SELECT count(*)::int AS n FROM content_hashes WHERE pdq IS NOT NULL`);
    expect(Number(done.scanned)).toBe(total.n);
  });

  it('suspends an entry matching far above its baseline instead of acting on it, and audits it', async () => {
    const stock = randomHash();
    const listed = randomHash();
    for (let i = 0; i < 12; i++) await storeContent(pool, { key: `d/stock-${i}.jpg`, pdq: flip(stock, i % 3) });
    await storeContent(pool, { key: 'd/listed.jpg', pdq: listed });
    const v = await putList(pool, 'retro-breaker', [{ hash: stock, externalId: 'STOCK' }, { hash: listed, externalId: 'REAL' }]);
    const summary = await runRetroMatch({ pool, breaker: { minHits: 5, factor: 2 } }, { listId: 'retro-breaker', ...v });
    expect(summary).toMatchObject({ candidates: 13, matched: 1, suspended: 1 });
    expect((await matchesFor('retro-breaker')).map((m) => m.object_key)).toEqual(['d/listed.jpg']);
    const { rows: suspensions } = await pool.query(`SELECT entry_id, hits, hit_limit, status FROM entry_suspensions WHERE list_id = 'retro-breaker'`);
    expect(suspensions).toEqual([{ entry_id: 'STOCK', hits: 12, hit_limit: 5, status: 'suspended' }]);
    const { rows: audit } = await pool.query(`SELECT details FROM audit_log WHERE action = 'hashlist.entry_suspended' AND subject_id = 'retro-breaker'`);
    expect(audit).toEqual([{ details: expect.objectContaining({ entryId: 'STOCK', hits: 12, limit: 5 }) }]);
    expect(JSON.stringify(audit)).not.toContain(stock);

    // Surfaced for review; a person reinstates it, and re-running the version records its matches.
    const [open] = await listSuspensions(pool);
    expect(open).toMatchObject({ listId: 'retro-breaker', entryId: 'STOCK', hits: 12, status: 'suspended' });
    await expect(decideSuspension(pool, open!.id, { outcome: 'reinstate', actor: 'user:reviewer', reason: ' ' })).rejects.toThrow(ReviewError);
    await decideSuspension(pool, open!.id, { outcome: 'reinstate', actor: 'user:reviewer', reason: 'checked: the listed image, not a stock photo' });
    expect(await listSuspensions(pool)).toEqual([]);
    expect(await runRetroMatch({ pool }, { listId: 'retro-breaker', ...v })).toMatchObject({ matched: 13 });
    expect(await matchesFor('retro-breaker')).toHaveLength(13);
  });

  it('lets an allow list suppress a retro hit, skips content already quarantined, and matches exact-digest lists', async () => {
    const benign = randomHash();
    const again = randomHash();
    await storeContent(pool, { key: 'e/benign.jpg', pdq: benign });
    await storeContent(pool, { key: 'e/again.jpg', pdq: again });
    const md5 = randomHash().slice(0, 32);
    await storeContent(pool, { key: 'e/digest.bin', md5 });
    await putList(pool, 'retro-allow', [{ hash: benign }], { action: 'allow' });
    const first = await putList(pool, 'retro-first', [{ hash: again, externalId: 'F-1' }]);
    await runRetroMatch({ pool }, { listId: 'retro-first', ...first });
    const [firstMatch] = (await pool.query(`SELECT m.id FROM matches m JOIN match_hits h ON h.match_id = m.id WHERE h.list_id = 'retro-first'`)).rows;
    await quarantineMatch(pool, firstMatch.id);

    const v = await putList(pool, 'retro-second', [{ hash: benign, externalId: 'S-1' }, { hash: flip(again, 2), externalId: 'S-2' }]);
    expect(await runRetroMatch({ pool }, { listId: 'retro-second', ...v })).toMatchObject({ candidates: 2, matched: 0, suppressed: 2 });
    expect(await matchesFor('retro-second')).toEqual([]);

    const digests = await putList(pool, 'retro-md5', [{ hash: md5, externalId: 'M-1' }], { algorithm: 'md5', threshold: 0, dihedral: false });
    expect(await runRetroMatch({ pool }, { listId: 'retro-md5', ...digests })).toMatchObject({ matched: 1 });
    expect(await matchesFor('retro-md5')).toEqual([expect.objectContaining({ object_key: 'e/digest.bin', distance: 0, variant: 'exact', list_version: 1 })]);
    expect(await runRetroMatch({ pool }, { listId: 'retro-allow', version: 1, previousVersion: null })).toMatchObject({ status: 'skipped' });
  });

  it('flags for review exactly the quarantines that rested only on withdrawn entries, and releases nothing', async () => {
    const [x, y, z] = [randomHash(), randomHash(), randomHash()];
    const yMd5 = randomHash().slice(0, 32);
    await storeContent(pool, { key: 'f/x.jpg', pdq: x });
    await storeContent(pool, { key: 'f/y.jpg', pdq: y, md5: yMd5 });
    await storeContent(pool, { key: 'f/z.jpg', pdq: z });
    const v1 = await putList(pool, 'tomb', [{ hash: x, externalId: 'T-X' }, { hash: y, externalId: 'T-Y' }, { hash: z, externalId: 'T-Z' }]);
    await runRetroMatch({ pool }, { listId: 'tomb', ...v1 });
    const other = await putList(pool, 'tomb-md5', [{ hash: yMd5, externalId: 'D-Y' }], { algorithm: 'md5', threshold: 0, dihedral: false });
    await runRetroMatch({ pool }, { listId: 'tomb-md5', ...other });
    const { rows: matches } = await pool.query(`SELECT DISTINCT m.id, m.object_key FROM matches m JOIN match_hits h ON h.match_id = m.id WHERE h.list_id = 'tomb'`);
    const quarantines = new Map<string, string>();
    for (const m of matches) quarantines.set(m.object_key, await quarantineMatch(pool, m.id));

    // Version 2 withdraws X and Y; Y is still on the md5 list, Z stays listed.
    const v2 = await putList(pool, 'tomb', [{ hash: z, externalId: 'T-Z' }]);
    const outcome = await flagWithdrawn(pool, 'tomb', v2.version);
    expect(outcome.examined).toBe(3);
    expect(outcome.flagged.map((f) => f.quarantineId)).toEqual([quarantines.get('f/x.jpg')]);
    const { rows: records } = await pool.query(`SELECT object_key, status FROM quarantine_records WHERE object_key LIKE 'f/%' ORDER BY object_key`);
    expect(records).toEqual([{ object_key: 'f/x.jpg', status: 'applied' }, { object_key: 'f/y.jpg', status: 'applied' }, { object_key: 'f/z.jpg', status: 'applied' }]);
    const again = await flagWithdrawn(pool, 'tomb', v2.version);
    expect(again).toMatchObject({ examined: 2, created: 0 });
    expect(again.flagged.map((f) => f.quarantineId)).toEqual([quarantines.get('f/x.jpg')]);
    const { rows: audit } = await pool.query(`SELECT subject_id FROM audit_log WHERE action = 'quarantine.flagged'`);
    expect(audit.map((a) => a.subject_id)).toEqual([quarantines.get('f/x.jpg')]);
    expect((await listFlags(pool)).map((f) => [f.object, f.listVersion, f.status])).toEqual([['uploads/f/x.jpg', 2, 'open']]);
  });
});
