// The scanner's use cases against real Postgres, the filesystem store and the real hashing pool,
// on benign generated images: verdicts, provenance, content hashes, events in the outbox,
// re-uploads answered from stored hashes, unscannable policy, list updates in place, and the
// gateway's in-process check.

import { randomUUID } from 'node:crypto';
import { mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createPool, migrate } from '@vigil/db';
import { createEvent } from '@vigil/events';
import { createHashPool } from '@vigil/hashing';
import { ListRegistry, PgListStore, type ListManifest, type StoredEntry } from '@vigil/lists';
import { FsObjectStore, quarantineKey } from '@vigil/storage';
import { encode, naturalScene, type RawImage } from '@vigil/testkit';
import { resolvePostgres } from '@vigil/testkit/services';
import { createMetrics } from '@vigil/observability';
import sharp from 'sharp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createCheckCore } from './check-core.ts';
import type { UnscannablePolicy } from './decide.ts';
import { scanStoredObject, type ObjectScanDeps, type ObjectScanRequest } from './scan-object.ts';
import { newScanId, recordScan } from './record-scan.ts';
import { detectionRuleFrom } from './rule-config.ts';
import { createContentScanner } from './scanner-service.ts';

const postgres = await resolvePostgres('scanner integration tests');
const url = postgres.available ? await postgres.service.createDatabase() : '';

describe.skipIf(!postgres.available)('scanner', () => {
  const pool = createPool(url);
  const hashPool = createHashPool({ threads: 2 });
  const registry = new ListRegistry({ pool });
  const lists = new PgListStore(pool);
  let store: FsObjectStore;
  let deps: ObjectScanDeps;
  let policy: UnscannablePolicy = 'block';
  const images: Record<string, Buffer> = {};

  const manifest = (name: string, version: number, extra: Partial<ListManifest> = {}): ListManifest => ({
    name, algorithm: 'pdq', threshold: 31, action: 'quarantine', dihedral: true, source: 'benign test list',
    versions: [{ version, importedAt: new Date().toISOString(), format: 'plain', sourceSha256: '00'.repeat(32), entries: 0, added: 0, removed: 0, changed: 0 }],
    ...extra,
  });

  async function pdqOf(bytes: Buffer): Promise<string> {
    const outcome = await hashPool.hash(bytes, { mode: 'fast' });
    if (outcome.status !== 'hashed') throw new Error('test image did not hash');
    return outcome.hashes.pdq!;
  }

  /** A faintly watermarked scene and the PDQ of its unblended view (at its own size). */
  async function faintCopy(seed: number): Promise<{ copy: Buffer; unblended: string }> {
    const copy = await encode(faintlyWatermarked(await naturalScene(600, 450, seed), 0.3), 'jpeg', { quality: 92 });
    const outcome = await hashPool.hash(copy, { mode: 'fast', overlay: true });
    if (outcome.status !== 'hashed') throw new Error('test image did not hash');
    const unblended = outcome.hashes.overlayFree?.find((u) => u.unblended && u.factor === 1)?.pdq;
    if (!unblended) throw new Error('the faint watermark was not found');
    return { copy, unblended };
  }

  let uploads = 0;
  async function upload(bytes: Buffer, key = `u/${++uploads}.jpg`): Promise<ObjectScanRequest> {
    await store.put({ bucket: 'public', key }, bytes, { contentType: 'image/jpeg' });
    const event = createEvent(
      'upload.received.v1',
      {
        uploadId: `up-${uploads}`, source: 'workers', mode: 'async', uploadedAt: new Date().toISOString(),
        object: { tenantId: 't1', bucket: 'public', key, size: bytes.length, contentType: 'image/jpeg' },
        uploader: { accountId: 'acct-1', ip: '203.0.113.7' },
      },
      { producer: 'test', traceId: 'trace-1' },
    );
    const p = event.payload;
    return { eventId: event.id, traceId: event.traceId, lane: 'live', source: p.source, trigger: 'upload', object: p.object, uploadId: p.uploadId, uploader: p.uploader, uploadedAt: p.uploadedAt };
  }

  const outbox = async () => (await pool.query<{ type: string; event: any }>('SELECT type, event FROM outbox ORDER BY id')).rows;

  beforeAll(async () => {
    await migrate(pool);
    store = new FsObjectStore({ root: await mkdtemp(join(tmpdir(), 'vigil-scanner-')), fsync: false });
    await store.ensureBucket('public', { versioning: true });
    await store.ensureBucket('quarantine');
    for (const seed of [1, 2, 3]) images[`scene${seed}`] = await encode(await naturalScene(640, 480, seed), 'jpeg', { quality: 90 });
    images.rotated1 = await sharp(images.scene1!).rotate(90).jpeg({ quality: 85 }).toBuffer();
    images.truncated = images.scene3!.subarray(0, 2000);
    await lists.putVersion(manifest('demo-pdq', 1), [{ hash: await pdqOf(images.scene1!), externalId: 'D-1', category: 'csam' }], []);
    await registry.refresh();
    deps = {
      pool, store, scanner: createContentScanner(pool, hashPool, registry), maxBytes: 5_000_000, fetchTimeoutMs: 10_000,
      unscannablePolicy: () => policy, producer: 'scanner', now: () => new Date(),
    };
  });
  afterAll(async () => {
    await hashPool.close();
    await pool.end();
  });

  it('matches a listed image and records the verdict, its provenance, the content hashes and both events', async () => {
    const request = await upload(images.scene1!);
    const outcome = await scanStoredObject(deps, request);
    expect(outcome).toMatchObject({ status: 'scanned', decision: { verdict: 'matched', action: 'quarantine', blocked: true } });
    if (outcome.status !== 'scanned') return;

    const scan = (await pool.query('SELECT * FROM scans WHERE id = $1', [outcome.scanId])).rows[0];
    expect(scan).toMatchObject({ verdict: 'matched', blocked: true, lane: 'live', source: 'workers', mode: 'fast', algorithm: 'pdq', threshold: 31, reused: false, match_id: outcome.matchId });
    expect(scan.lists).toEqual([{ listId: 'demo-pdq', version: 1 }]);
    const hits = (await pool.query('SELECT list_id, list_version, variant, distance, entry_id, category FROM match_hits WHERE match_id = $1', [outcome.matchId])).rows;
    expect(hits).toEqual([{ list_id: 'demo-pdq', list_version: 1, variant: 'orig', distance: 0, entry_id: 'D-1', category: 'csam' }]);
    const content = (await pool.query('SELECT pdq, pdq_quality, octet_length(pdq_dihedral) AS dihedral, blockhash, md5, last_scan_id FROM content_hashes WHERE object_key = $1', [request.object.key])).rows[0];
    expect(content).toMatchObject({ dihedral: 224, last_scan_id: outcome.scanId });
    expect(content.pdq.toString('hex')).toBe(await pdqOf(images.scene1!));

    const events = (await outbox()).filter((row) => row.event.payload.scanId === outcome.scanId);
    expect(events.map((e) => e.type)).toEqual(['scan.completed.v1', 'match.found.v1']);
    expect(events[1]!.event.payload).toMatchObject({
      matchId: outcome.matchId, trigger: 'upload', action: 'quarantine', uploader: { accountId: 'acct-1' },
      matches: [{ listId: 'demo-pdq', listVersion: 1, variant: 'orig', distance: 0, threshold: 31 }],
    });
    expect(events.every((e) => e.event.traceId === 'trace-1' && e.event.key === JSON.stringify(['t1', 'public', request.object.key]))).toBe(true);
  });

  it('applies an event once: a redelivery is a duplicate and writes nothing', async () => {
    const request = await upload(images.scene2!);
    const first = await scanStoredObject(deps, request);
    const before = (await outbox()).length;
    expect(await scanStoredObject(deps, request)).toEqual({ status: 'duplicate', scanId: (first as { scanId: string }).scanId, matchId: null });
    expect((await outbox()).length).toBe(before);
  });

  it('answers a re-upload of known bytes from the stored hashes and blocks it again', async () => {
    const again = await scanStoredObject(deps, await upload(images.scene1!));
    expect(again).toMatchObject({ status: 'scanned', decision: { verdict: 'matched' }, content: { reused: true } });
    expect((again as { matchId: string }).matchId).toMatch(/^match_/);
  });

  it('catches a rotated copy through the dihedral hashes, and names the variant', async () => {
    const outcome = await scanStoredObject(deps, await upload(images.rotated1!));
    expect(outcome).toMatchObject({ status: 'scanned', decision: { verdict: 'matched', decisive: { variant: 'rot90', listId: 'demo-pdq' } } });
  });

  it('gives truncated and oversized objects an unscannable verdict under the policy, and skips a deleted one', async () => {
    const truncated = await scanStoredObject(deps, await upload(images.truncated!));
    expect(truncated).toMatchObject({ status: 'scanned', decision: { verdict: 'unscannable', reason: 'truncated', blocked: true } });
    policy = 'review';
    const big = await scanStoredObject({ ...deps, maxBytes: 1000 }, await upload(images.scene2!));
    expect(big).toMatchObject({ status: 'scanned', decision: { verdict: 'unscannable', reason: 'too_large', blocked: false, review: true } });
    policy = 'block';
    const row = (await pool.query('SELECT verdict, unscannable_reason, review, sha256 FROM scans WHERE id = $1', [(big as { scanId: string }).scanId])).rows[0];
    expect(row).toEqual({ verdict: 'unscannable', unscannable_reason: 'too_large', review: true, sha256: null });

    const request = await upload(images.scene2!);
    await store.deleteAllVersions('public', request.object.key);
    expect(await scanStoredObject(deps, request)).toEqual({ status: 'gone' });
  });

  it('sees a new list version without a restart, and records the version that decided', async () => {
    await lists.putVersion(manifest('demo-pdq', 2), [{ hash: await pdqOf(images.scene1!), externalId: 'D-1' }, { hash: await pdqOf(images.scene2!), externalId: 'D-2' }], []);
    expect((await registry.refresh()).updated).toEqual([{ listId: 'demo-pdq', from: 1, to: 2, added: 2, removed: 1 }]);
    const outcome = await scanStoredObject(deps, await upload(images.scene2!));
    expect(outcome).toMatchObject({ status: 'scanned', decision: { verdict: 'matched', decisive: { listVersion: 2, entryId: 'D-2' } } });
  });

  it('checks bytes in-process: keeps a blocked upload in quarantine and lets the event flow follow', async () => {
    const core = createCheckCore({
      pool, store, scanner: deps.scanner, registry, quarantineBucket: 'quarantine', maxBytes: 5_000_000, fetchTimeoutMs: 10_000,
      unscannablePolicy: () => 'block', producer: 'gateway', now: () => new Date(),
    });
    expect(core.readiness()).toMatchObject({ ready: true, lists: [{ listId: 'demo-pdq', version: 2, entries: 2 }] });
    const blocked = await core.check({ tenantId: 't2', content: { bytes: images.scene1! }, object: { bucket: 'public', key: 'pending/1.jpg' }, source: 'gateway', uploader: { accountId: 'acct-9' } });
    expect(blocked).toMatchObject({ verdict: 'block', matches: [{ list: 'demo-pdq', listVersion: 2, algorithm: 'pdq', distance: 0, action: 'quarantine' }], reused: true });
    const matchId = (await pool.query('SELECT match_id FROM scans WHERE id = $1', [blocked.scanId])).rows[0].match_id;
    const kept = await store.getBytes({ bucket: 'quarantine', key: quarantineKey('t2', matchId) }, { maxBytes: 10_000_000 });
    expect(Buffer.from(kept.bytes).equals(images.scene1!)).toBe(true);
    expect((await outbox()).filter((r) => r.event.payload.matchId === matchId).map((r) => r.type)).toEqual(['match.found.v1']);

    const clean = await core.check({ tenantId: 't2', content: { bytes: images.scene3! }, source: 'gateway' });
    expect(clean).toMatchObject({ verdict: 'allow', matches: [] });
    expect(await core.getScan(clean.scanId)).toMatchObject({ tenantId: 't2', verdict: 'allow', lists: [{ listId: 'demo-pdq', version: 2 }] });
    expect(await core.getScan(blocked.scanId)).toMatchObject({ verdict: 'block', matches: [{ list: 'demo-pdq', variant: 'orig' }] });
    expect(await core.check({ tenantId: 't2', content: { bytes: images.truncated! }, source: 'gateway' })).toMatchObject({ verdict: 'unscannable', reason: 'truncated' });

    const [hit, miss] = await core.lookup([{ pdq: await pdqOf(images.scene2!) }, { md5: '0'.repeat(32) }]);
    expect(hit!.matches).toEqual([{ list: 'demo-pdq', listVersion: 2, algorithm: 'pdq', distance: 0, action: 'quarantine', variant: 'orig' }]);
    expect(miss!.matches).toEqual([]);
  });

  it('counts what it records (scans, matches, unscannable, stage and end-to-end times) and stores the timings', async () => {
    const metrics = createMetrics({ processMetrics: false });
    const measured: ObjectScanDeps = { ...deps, metrics };
    const value = async (metric: { get(): Promise<{ values: Array<{ labels: object; value: number; metricName?: string }> }> }, labels: object, suffix = '') =>
      (await metric.get()).values.find((v) => (suffix === '' || v.metricName?.endsWith(suffix)) && Object.entries(labels).every(([k, l]) => (v.labels as Record<string, unknown>)[k] === l))?.value;

    // Published 1.5 s before the scan: end to end includes the queueing.
    const request = { ...(await upload(images.scene1!)), eventTime: new Date(Date.now() - 1500).toISOString() };
    const matched = await scanStoredObject(measured, request);
    expect(await scanStoredObject(measured, request)).toMatchObject({ status: 'duplicate' });
    const fresh = await scanStoredObject(measured, await upload(await encode(await naturalScene(320, 240, 44), 'jpeg')));
    await scanStoredObject(measured, await upload(images.truncated!));

    expect(await metrics.registry.getSingleMetricAsString('vigil_scans_total')).toContain('vigil_scans_total{verdict="matched",lane="live",source="workers"} 1');
    expect(await value(metrics.scans, { verdict: 'clean', lane: 'live', source: 'workers' })).toBe(1);
    expect(await value(metrics.scans, { verdict: 'unscannable', lane: 'live' })).toBe(1);
    expect(await value(metrics.unscannable, { reason: 'truncated', lane: 'live' })).toBe(1);
    expect((await metrics.matches.get()).values).toEqual([{ labels: { list: 'demo-pdq', action: 'quarantine', trigger: 'live' }, value: 1 }]);
    // Three fetches; decodes only for the two never-seen byte strings (the listed one came from stored hashes).
    expect(await value(metrics.scanStage, { stage: 'fetch', lane: 'live' }, '_count')).toBe(3);
    expect(await value(metrics.scanStage, { stage: 'decode', lane: 'live' }, '_count')).toBe(2);
    expect(await value(metrics.scanStage, { stage: 'record', lane: 'live' }, '_count')).toBe(3);
    expect(await value(metrics.scanEndToEnd, { lane: 'live' }, '_sum')).toBeGreaterThanOrEqual(1.5);

    const stored = async (scanId: string) => (await pool.query('SELECT timings FROM scans WHERE id = $1', [scanId])).rows[0].timings;
    const matchedTimings = await stored((matched as { scanId: string }).scanId);
    expect(Object.keys(matchedTimings).sort()).toEqual(['endToEndMs', 'fetchMs', 'hashMs', 'matchMs']);
    expect(matchedTimings.endToEndMs).toBeGreaterThanOrEqual(1500);
    const freshTimings = await stored((fresh as { scanId: string }).scanId);
    expect(freshTimings.decodeMs).toBeGreaterThan(0);
    expect(freshTimings.hashMs).toBeGreaterThan(0);

    const core = createCheckCore({
      pool, store, scanner: deps.scanner, registry, quarantineBucket: 'quarantine', maxBytes: 5_000_000, fetchTimeoutMs: 10_000,
      unscannablePolicy: () => 'block', producer: 'gateway', now: () => new Date(), metrics,
    });
    const checked = await core.check({ tenantId: 't3', content: { bytes: images.scene1! }, object: { bucket: 'public', key: 'pending/9.jpg' }, source: 'gateway' });
    expect(checked.verdict).toBe('block');
    expect(await value(metrics.checkDuration, { verdict: 'block' }, '_count')).toBe(1);
    expect(await value(metrics.scans, { verdict: 'matched', lane: 'check', source: 'gateway' })).toBe(1);
    expect(await value(metrics.matches, { list: 'demo-pdq', action: 'quarantine', trigger: 'check' })).toBe(1);
    const checkTimings = await stored(checked.scanId);
    expect(checkTimings.endToEndMs).toBeGreaterThan(0);
    expect(checkTimings.endToEndMs).toBeLessThanOrEqual(checked.timings.totalMs + 0.01);
  });

  it('records a crop-compensated hit past the list threshold: it counts alone under its cap, and its match is stored', async () => {
    // The entry sits 34 bits from the copy's uncrop-5 hash (threshold 31, cap 36) and far from its canonical hash.
    const copy = await encode(await naturalScene(600, 450, 71), 'jpeg', { quality: 90 });
    const outcome = await hashPool.hash(copy, { mode: 'fast', uncrop: [0.95] });
    if (outcome.status !== 'hashed') throw new Error('test image did not hash');
    const uncropped = outcome.hashes.uncropped!.find((u) => u.kept === 0.95)!.pdq;
    const entry = flipBits(uncropped, 34);
    await lists.putVersion(manifest('crop-pdq', 1, { dihedral: false }), [{ hash: entry, externalId: 'C-1' }], []);
    await registry.refresh();
    const scanned = await scanStoredObject(deps, await upload(copy));
    expect(scanned).toMatchObject({ status: 'scanned', decision: { verdict: 'matched', decisive: { listId: 'crop-pdq', query: 'uncrop-5', distance: 34, threshold: 31 } } });
    const hits = (await pool.query('SELECT query, distance, threshold, corroborated FROM match_hits WHERE match_id = $1', [(scanned as { matchId: string }).matchId])).rows;
    expect(hits).toEqual([{ query: 'uncrop-5', distance: 34, threshold: 31, corroborated: false }]);
    // The stored crop-compensated hashes are packed for the retro join (migration 0016).
    const { rows: [stored] } = await pool.query(`SELECT encode(compensated_pdq, 'hex') AS packed FROM content_hashes WHERE last_scan_id = $1`, [(scanned as { scanId: string }).scanId]);
    expect(stored.packed).toContain(uncropped);
  });

  it('records an unblended hit (a faint watermark undone) a step past the list threshold, under its own cap', async () => {
    const { copy, unblended } = await faintCopy(73);
    // 32 bits from the unblended hash: within threshold 31 + 1, and far from the canonical hash.
    await lists.putVersion(manifest('marked-pdq', 1, { dihedral: false }), [{ hash: flipBits(unblended, 32), externalId: 'W-1' }], []);
    await registry.refresh();
    const scanned = await scanStoredObject(deps, await upload(copy));
    expect(scanned).toMatchObject({ status: 'scanned', decision: { verdict: 'matched', decisive: { listId: 'marked-pdq', query: 'watermark', distance: 32, threshold: 31 } } });
    const hits = (await pool.query('SELECT query, distance, threshold, corroborated FROM match_hits WHERE match_id = $1', [(scanned as { matchId: string }).matchId])).rows;
    expect(hits).toEqual([{ query: 'watermark', distance: 32, threshold: 31, corroborated: false }]);
  });

  it('stores which hits came from unstable PDQ, and keeps the newest hashes of content hashed again', async () => {
    const object = { tenantId: 't1', bucket: 'public', key: 'u/recorded.jpg', size: 10, contentType: 'image/jpeg' };
    const hit = (query: 'region' | 'overlay', unstable: boolean) => ({
      listId: 'demo-pdq', listVersion: 1, action: 'quarantine' as const, algorithm: 'pdq' as const, entryId: 'D-1', category: 'csam',
      distance: 12, threshold: 31, variant: 'orig' as const, query, ...(unstable && { unstable: true as const }),
    });
    const record = (pdq: string, hits: ReturnType<typeof hit>[]) =>
      recordScan(pool, {
        scanId: newScanId(), eventId: randomUUID(), lane: 'bulk', source: 'workers', trigger: 'rescan', object, reused: false, mode: 'fast',
        hashes: { sha256: 'ab'.repeat(32), pdq, pdqQuality: 90, blockhash: pdq },
        decision: { verdict: 'matched', action: 'quarantine', blocked: true, review: false, hits, allowHits: [], suppressed: [], decisive: hits[0]! },
        lists: [{ listId: 'demo-pdq', version: 1 }], scannedAt: new Date(), traceId: 't', producer: 'test',
      });
    const first = await record('11'.repeat(32), [hit('region', true), hit('overlay', false)]);
    const { rows: hits } = await pool.query('SELECT query, unstable FROM match_hits WHERE match_id = $1 ORDER BY ordinal', [first.matchId]);
    expect(hits).toEqual([{ query: 'region', unstable: true }, { query: 'overlay', unstable: false }]);
    // The same object hashed again (a hashing change, a rescan): the newer hashes replace the stored ones.
    await record('22'.repeat(32), [hit('overlay', false)]);
    const { rows: [content] } = await pool.query(`SELECT encode(pdq, 'hex') AS pdq, encode(blockhash, 'hex') AS blockhash FROM content_hashes WHERE object_key = $1`, [object.key]);
    expect(content).toEqual({ pdq: '22'.repeat(32), blockhash: '22'.repeat(32) });
  });

  it('hashes content again when its stored hashes lack a view the rule queries, and the newer hashes answer after that', async () => {
    const { copy, unblended } = await faintCopy(77);
    await lists.putVersion(manifest('late-pdq', 1, { dihedral: false }), [{ hash: flipBits(unblended, 32), externalId: 'L-1' }], []);
    await registry.refresh();
    const derived = async (scanId: string) => (await pool.query(`SELECT derived_hashes FROM content_hashes WHERE last_scan_id = $1`, [scanId])).rows[0]?.derived_hashes;

    // First seen under a rule without overlay compensation: nothing to find, and the record says what was computed.
    const narrow = { ...deps, scanner: createContentScanner(pool, hashPool, registry, detectionRuleFrom({ overlay: false })) };
    const first = await scanStoredObject(narrow, await upload(copy));
    expect(first).toMatchObject({ status: 'scanned', decision: { verdict: 'clean' }, content: { reused: false } });
    expect(await derived((first as { scanId: string }).scanId)).toMatchObject({ computed: { overlay: false, region: true } });

    // Under the default rule the same bytes are hashed again (not answered from the narrower hashes), and match.
    const wide = { ...deps, scanner: createContentScanner(pool, hashPool, registry) };
    const second = await scanStoredObject(wide, await upload(copy));
    expect(second).toMatchObject({ status: 'scanned', decision: { verdict: 'matched', decisive: { listId: 'late-pdq', query: 'watermark', distance: 32 } }, content: { reused: false } });
    const record = await derived((second as { scanId: string }).scanId);
    expect(record).toMatchObject({ computed: { overlay: true, uncrop: [0.95, 0.9, 0.8], upscale: [2, 4] } });
    expect(record.overlayFree.some((v: { pdq: string; unblended?: boolean }) => v.unblended && v.pdq === unblended)).toBe(true);

    // Now the stored hashes hold every view: a re-upload is answered from them, in memory or from the table.
    const third = await scanStoredObject({ ...deps, scanner: createContentScanner(pool, hashPool, registry) }, await upload(copy));
    expect(third).toMatchObject({ status: 'scanned', decision: { verdict: 'matched' }, content: { reused: true } });
    expect(await scanStoredObject(narrow, await upload(copy))).toMatchObject({ content: { reused: true } });

    // Hashes stored before the record existed (an older release) count as unknown views: hashed again once.
    await pool.query(`UPDATE content_hashes SET derived_hashes = derived_hashes - 'computed' WHERE sha256 = decode($1, 'hex')`, [(third as { content: { hashes: { sha256: string } } }).content.hashes.sha256]);
    const legacy = await scanStoredObject({ ...deps, scanner: createContentScanner(pool, hashPool, registry) }, await upload(copy));
    expect(legacy).toMatchObject({ status: 'scanned', decision: { verdict: 'matched' }, content: { reused: false } });
  });
});

/** Rows of glyph-like strokes on a slant over the whole picture, white at `alpha` opacity (a stock-photo style watermark). */
function faintlyWatermarked(image: RawImage, alpha: number): RawImage {
  const { width, height, channels } = image;
  const data = Uint8Array.from(image.data);
  const size = Math.round(Math.hypot(width, height) / 14);
  const stroke = Math.max(2, Math.round(size / 9));
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) {
      const u = x * Math.cos(Math.PI / 6) + y * Math.sin(Math.PI / 6) + 4 * width;
      const v = (-x * Math.sin(Math.PI / 6) + y * Math.cos(Math.PI / 6) + 4 * height) % (3 * size);
      const across = u % Math.round(size * 0.75);
      if (v >= size || across >= size * 0.5 || !(across < stroke || v < stroke || Math.abs(v - size / 2) < stroke / 2)) continue;
      for (let c = 0; c < 3; c++) {
        const p = (y * width + x) * channels + c;
        data[p] = Math.round(data[p]! + alpha * (255 - data[p]!));
      }
    }
  }
  return { ...image, data };
}

/** `hex` with its first `n` bits flipped. */
function flipBits(hex: string, n: number): string {
  const bytes = Buffer.from(hex, 'hex');
  for (let bit = 0; bit < n; bit++) bytes[bit >> 3]! ^= 0x80 >> (bit & 7);
  return bytes.toString('hex');
}
