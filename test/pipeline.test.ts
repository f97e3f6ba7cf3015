// End to end through the composition root (`startRuntime`, what `vigil serve` runs): an upload
// event for a benign image on a demo list ends with the object gone from the public bucket, a
// verified copy in quarantine and the three follow-up events published; a clean image is left
// alone; a truncated file is unscannable with its reason; the same event delivered twice has one
// effect. Runs on the embedded default's adapters (PostgresBus, FsObjectStore) and on Kafka
// (librdkafka's mock cluster or a real broker) + S3 (s3rver or MinIO) + Postgres.

import { createHash, randomUUID } from 'node:crypto';
import { mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadRuntimeConfig, startRuntime, type Runtime } from '@vigil/cli';
import { silentLogger } from '@vigil/db';
import { createEvent, type Event, type EventType } from '@vigil/events';
import { createHashPool } from '@vigil/hashing';
import { PgListStore } from '@vigil/lists';
import { encode, naturalScene } from '@vigil/testkit';
import { kafkaTimings, resolveKafka, resolvePostgres, resolveS3 } from '@vigil/testkit/services';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { waitFor } from './wait-for.ts';

const postgres = await resolvePostgres('pipeline end-to-end tests');
const kafka = await resolveKafka({ suite: 'pipeline end-to-end on Kafka + S3 (test/pipeline.test.ts)' });
const s3 = await resolveS3({ suite: 'pipeline end-to-end on Kafka + S3 (test/pipeline.test.ts)' });

const FOLLOW_UPS = ['quarantine.applied.v1', 'evidence.requested.v1', 'report.requested.v1'] as const;

async function backendEnv(kind: 'embedded' | 'distributed'): Promise<NodeJS.ProcessEnv> {
  const base = {
    VIGIL_HOME: await mkdtemp(join(tmpdir(), 'vigil-e2e-')),
    DATABASE_URL: await (postgres.available ? postgres.service.createDatabase() : Promise.resolve('')),
    VIGIL_HASH_THREADS: '2',
    VIGIL_LIST_REFRESH_MS: '500',
    // Test files run in parallel: an ephemeral metrics port each.
    VIGIL_METRICS_PORT: '0',
  };
  if (kind === 'embedded' || !kafka.available || !s3.available) return base;
  const t = kafkaTimings(kafka.service.source);
  return {
    ...base,
    KAFKA_BROKERS: kafka.service.brokers.join(','),
    KAFKA_CLIENT_ID: `e2e-${randomUUID().slice(0, 8)}`,
    KAFKA_SESSION_TIMEOUT_MS: String(t.sessionTimeoutMs),
    KAFKA_HEARTBEAT_INTERVAL_MS: String(t.heartbeatIntervalMs),
    KAFKA_REBALANCE_TIMEOUT_MS: String(t.rebalanceTimeoutMs),
    KAFKA_MAX_WAIT_MS: String(t.maxWaitTimeMs),
    S3_ENDPOINT: s3.service.endpoint,
    S3_REGION: s3.service.region,
    S3_ACCESS_KEY_ID: s3.service.credentials.accessKeyId,
    S3_SECRET_ACCESS_KEY: s3.service.credentials.secretAccessKey,
    S3_FORCE_PATH_STYLE: String(s3.service.forcePathStyle),
    ...(s3.service.source === 'stand-in' && { S3_REQUEST_CHECKSUMS: 'when_required' }),
    VIGIL_QUARANTINE_BUCKET: `quarantine-${randomUUID().slice(0, 8)}`,
  };
}

function pipelineSuite(kind: 'embedded' | 'distributed', available: boolean) {
  describe.skipIf(!available)(`the pipeline (${kind})`, () => {
    let runtime: Runtime;
    let env: NodeJS.ProcessEnv;
    const seen: Array<Event> = [];
    const bucket = `public-${randomUUID().slice(0, 8)}`;
    const images: Record<string, Buffer> = {};

    beforeAll(async () => {
      env = await backendEnv(kind);
      for (const seed of [101, 102]) images[`scene${seed}`] = await encode(await naturalScene(800, 600, seed), 'jpeg', { quality: 88 });
      images.truncated = images.scene102!.subarray(0, 4000);
      const hashPool = createHashPool({ threads: 1 });
      const hashed = await hashPool.hash(images.scene101!, { mode: 'fast' });
      await hashPool.close();
      if (hashed.status !== 'hashed') throw new Error('demo image did not hash');

      runtime = await startRuntime(loadRuntimeConfig(env), ['scanner', 'actioner'], env, silentLogger);
      await new PgListStore(runtime.database.pool).putVersion(
        {
          name: 'e2e-demo-pdq', algorithm: 'pdq', threshold: 31, action: 'quarantine', dihedral: true, source: 'generated benign scenes',
          versions: [{ version: 1, importedAt: new Date().toISOString(), format: 'plain', sourceSha256: '00'.repeat(32), entries: 0, added: 0, removed: 0, changed: 0 }],
        },
        [{ hash: hashed.hashes.pdq!, externalId: 'demo-101', category: 'csam' }],
        [],
      );
      await waitFor(async () => runtime.registry!.loaded().some((l) => l.listId === 'e2e-demo-pdq'), 10_000, 'the list to load');
      // One group per topic: Kafka assigns a group's partitions as if every member read every topic.
      const observer = `e2e-observer-${randomUUID().slice(0, 8)}`;
      for (const topic of FOLLOW_UPS) {
        await runtime.bus.subscribe({ topic: topic as EventType, group: `${observer}-${topic}` }, async (event) => (seen.push(event), { kind: 'done' }));
      }
      await runtime.store.ensureBucket(bucket);
    }, 120_000);

    afterAll(async () => {
      await runtime?.close();
    });

    async function upload(key: string, bytes: Buffer): Promise<Event<'upload.received.v1'>> {
      await runtime.store.put({ bucket, key }, bytes, { contentType: 'image/jpeg' });
      return createEvent(
        'upload.received.v1',
        {
          uploadId: `up-${randomUUID()}`, source: 'workers', mode: 'async', uploadedAt: new Date().toISOString(),
          object: { tenantId: 'tenant-e2e', bucket, key, size: bytes.length, contentType: 'image/jpeg' },
          uploader: { accountId: 'acct-e2e', ip: '198.51.100.4' },
        },
        { producer: 'e2e', traceId: randomUUID() },
      );
    }

    const scanOf = (eventId: string) =>
      runtime.database.pool.query('SELECT * FROM scans WHERE event_id = $1', [eventId]).then((r) => r.rows[0]);

    it('quarantines a listed image: gone from the public bucket, verified in quarantine, three follow-ups published', async () => {
      const event = await upload('photos/listed.jpg', images.scene101!);
      // Delivered twice (a producer retry): one scan, one match, one quarantine.
      await runtime.bus.publish([event]);
      await runtime.bus.publish([event]);
      const scan = await waitFor(() => scanOf(event.id), 60_000, 'the scan');
      expect(scan).toMatchObject({ verdict: 'matched', blocked: true, lane: 'live' });
      const record = await waitFor(
        async () => (await runtime.database.pool.query(`SELECT * FROM quarantine_records WHERE match_id = $1 AND status = 'applied'`, [scan.match_id])).rows[0],
        60_000,
        'the quarantine',
      );
      expect(await runtime.store.head({ bucket, key: 'photos/listed.jpg' })).toBeNull();
      const kept = await runtime.store.getBytes({ bucket: record.quarantine_bucket, key: record.quarantine_key }, { maxBytes: 10_000_000 });
      expect(createHash('sha256').update(kept.bytes).digest('hex')).toBe(createHash('sha256').update(images.scene101!).digest('hex'));

      const followUps = await waitFor(
        async () => {
          const mine = seen.filter((e) => (e.payload as { matchId?: string }).matchId === scan.match_id);
          return FOLLOW_UPS.every((t) => mine.some((e) => e.type === t)) && mine;
        },
        60_000,
        'the three follow-up events',
      );
      expect(followUps.find((e) => e.type === 'report.requested.v1')!.payload).toMatchObject({ priority: 'csam', matches: [{ listId: 'e2e-demo-pdq', listVersion: 1 }] });
      expect(followUps.find((e) => e.type === 'evidence.requested.v1')!.payload).toMatchObject({ quarantineId: record.id, uploader: { accountId: 'acct-e2e' } });

      // The duplicate delivery changed nothing: one scan for the event, one quarantine for the object.
      await new Promise((r) => setTimeout(r, 1000));
      const counts = await runtime.database.pool.query(
        `SELECT (SELECT count(*) FROM scans WHERE event_id = $1)::int AS scans,
                (SELECT count(*) FROM quarantine_records WHERE bucket = $2 AND object_key = 'photos/listed.jpg')::int AS quarantines`,
        [event.id, bucket],
      );
      expect(counts.rows[0]).toEqual({ scans: 1, quarantines: 1 });

      // The process's metrics listener counted the same: one matched scan, one quarantine applied.
      expect(runtime.metricsUrl).toMatch(/^http:\/\/127\.0\.0\.1:\d+\/metrics$/);
      const res = await fetch(runtime.metricsUrl!);
      expect(res.headers.get('content-type')).toContain('text/plain');
      const text = await res.text();
      expect(text).toContain('vigil_scans_total{verdict="matched",lane="live",source="workers"} 1');
      expect(text).toContain('vigil_matches_total{list="e2e-demo-pdq",action="quarantine",trigger="live"} 1');
      expect(text).toContain('vigil_quarantine_operations_total{outcome="applied"} 1');
      expect(text).toContain('vigil_list_version{list="e2e-demo-pdq"} 1');
      expect(text).toMatch(/^vigil_scan_end_to_end_seconds_count\{lane="live"\} 1$/m);
      expect(text).toContain('process_resident_memory_bytes');
    });

    it('leaves a clean image alone and gives a truncated file an unscannable verdict with its reason', async () => {
      const clean = await upload('photos/clean.jpg', images.scene102!);
      const truncated = await upload('photos/truncated.jpg', images.truncated!);
      await runtime.bus.publish([clean, truncated]);
      expect(await waitFor(() => scanOf(clean.id), 60_000, 'the clean scan')).toMatchObject({ verdict: 'clean', blocked: false, match_id: null });
      expect(await waitFor(() => scanOf(truncated.id), 60_000, 'the truncated scan')).toMatchObject({ verdict: 'unscannable', unscannable_reason: 'truncated', blocked: true });
      expect(await runtime.store.head({ bucket, key: 'photos/clean.jpg' })).not.toBeNull();
      expect(await runtime.store.head({ bucket, key: 'photos/truncated.jpg' })).not.toBeNull();
    });
  });
}

pipelineSuite('embedded', postgres.available);
pipelineSuite('distributed', postgres.available && kafka.available && s3.available);
