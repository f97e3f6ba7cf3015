// Evidence and reporting end to end through the composition root (`startRuntime`, what `vigil
// serve` runs, with the evidence and reporter roles): an upload of a benign image on a demo list
// ends with a vault copy under COMPLIANCE Object Lock whose lock was sent with the right date, a
// manifest whose digests verify, a report in the sink and report.filed.v1, after which the
// retention counts from the report's receipt. On the embedded default (PostgresBus,
// FsObjectStore, which enforces the lock; OutboxSink) and on Kafka + S3 + Postgres (s3rver does
// not enforce Object Lock: the headers and retention requests sent are asserted instead; the
// NcmecSink against a local CyberTipline stand-in). Also `vigil scan` in process on the embedded
// default: the JSON line of a match names its evidence and its report.

import { createHash, randomUUID } from 'node:crypto';
import { mkdtemp, readFile, readdir, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { loadRuntimeConfig, main, startRuntime, type Runtime } from '@vigil/cli';
import { createPool, silentLogger, SqlState } from '@vigil/db';
import { createEvent, type Event } from '@vigil/events';
import { createHashPool } from '@vigil/hashing';
import { PgListStore } from '@vigil/lists';
import { S3ObjectStore } from '@vigil/storage';
import { encode, naturalScene } from '@vigil/testkit';
import { kafkaTimings, resolveKafka, resolvePostgres, resolveS3 } from '@vigil/testkit/services';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { demoImage } from '../hashlists/demo/build-demo-list.mjs';
import { startFakeNcmec, type FakeNcmec } from '../services/reporter/test/fake-ncmec.ts';
import { waitFor } from './wait-for.ts';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const postgres = await resolvePostgres('evidence and reporting end-to-end tests');
const kafka = await resolveKafka({ suite: 'evidence and reporting on Kafka + S3 (test/evidence-reporting.test.ts)' });
const s3 = await resolveS3({ suite: 'evidence and reporting on Kafka + S3 (test/evidence-reporting.test.ts)' });

const pgService = postgres.available ? postgres.service : undefined;
const kafkaService = kafka.available ? kafka.service : undefined;
const s3Service = s3.available ? s3.service : undefined;

const DAY = 24 * 60 * 60 * 1000;
const REPORTER = { VIGIL_REPORTER_FIRST_NAME: 'Ada', VIGIL_REPORTER_LAST_NAME: 'Lovelace', VIGIL_REPORTER_EMAIL: 'trust@example.org', VIGIL_REPORTER_COMPANY: 'Example Hosting' };

interface Sent {
  command: string;
  headers: Record<string, string>;
  body: string | undefined;
}

/** Records every request the S3 client sends, after signing (headers final). */
function captureRequests(store: S3ObjectStore): Sent[] {
  const sent: Sent[] = [];
  store.client.middlewareStack.add(
    (next, context) => async (args) => {
      const request = args.request as { headers?: Record<string, string>; body?: unknown };
      const headers = Object.fromEntries(Object.entries(request.headers ?? {}).map(([k, v]) => [k.toLowerCase(), v]));
      sent.push({ command: context.commandName ?? '', headers, body: typeof request.body === 'string' ? request.body : undefined });
      return next(args);
    },
    { step: 'finalizeRequest', name: 'e2eCaptureRequests', priority: 'low' },
  );
  return sent;
}

function suite(kind: 'embedded' | 'distributed', available: boolean) {
  describe.skipIf(!available)(`evidence and reporting (${kind})`, () => {
    let runtime: Runtime;
    let env: NodeJS.ProcessEnv;
    let api: FakeNcmec | undefined;
    let sent: Sent[] = [];
    const bucket = `public-${randomUUID().slice(0, 8)}`;
    const evidenceBucket = `evidence-${randomUUID().slice(0, 8)}`;
    let listed: Buffer;

    beforeAll(async () => {
      const home = await mkdtemp(join(tmpdir(), 'vigil-e2e-evidence-'));
      env = {
        VIGIL_HOME: home,
        DATABASE_URL: await pgService!.createDatabase(),
        VIGIL_HASH_THREADS: '1',
        VIGIL_LIST_REFRESH_MS: '500',
        VIGIL_METRICS_PORT: '0',
        VIGIL_EVIDENCE_BUCKET: evidenceBucket,
        VIGIL_REPORT_GROUP_DELAY_MS: '300',
        ...REPORTER,
      };
      if (kind === 'distributed') {
        api = await startFakeNcmec();
        const t = kafkaTimings(kafkaService!.source);
        env = {
          ...env,
          KAFKA_BROKERS: kafkaService!.brokers.join(','),
          KAFKA_CLIENT_ID: `e2e-${randomUUID().slice(0, 8)}`,
          KAFKA_SESSION_TIMEOUT_MS: String(t.sessionTimeoutMs),
          KAFKA_HEARTBEAT_INTERVAL_MS: String(t.heartbeatIntervalMs),
          KAFKA_REBALANCE_TIMEOUT_MS: String(t.rebalanceTimeoutMs),
          KAFKA_MAX_WAIT_MS: String(t.maxWaitTimeMs),
          S3_ENDPOINT: s3Service!.endpoint,
          S3_REGION: s3Service!.region,
          S3_ACCESS_KEY_ID: s3Service!.credentials.accessKeyId,
          S3_SECRET_ACCESS_KEY: s3Service!.credentials.secretAccessKey,
          S3_FORCE_PATH_STYLE: String(s3Service!.forcePathStyle),
          ...(s3Service!.source === 'stand-in' && { S3_REQUEST_CHECKSUMS: 'when_required' }),
          VIGIL_QUARANTINE_BUCKET: `quarantine-${randomUUID().slice(0, 8)}`,
          VIGIL_REPORT_SINK: 'ncmec',
          NCMEC_URL: api.url,
          NCMEC_USERNAME: api.username,
          NCMEC_PASSWORD: api.password,
        };
      }
      listed = await encode(await naturalScene(640, 480, 301), 'jpeg', { quality: 88 });
      const hashPool = createHashPool({ threads: 1 });
      const hashed = await hashPool.hash(listed, { mode: 'fast' });
      await hashPool.close();
      if (hashed.status !== 'hashed') throw new Error('demo image did not hash');

      runtime = await startRuntime(loadRuntimeConfig(env), ['scanner', 'actioner', 'evidence', 'reporter'], env, silentLogger);
      if (runtime.store instanceof S3ObjectStore) sent = captureRequests(runtime.store);
      await new PgListStore(runtime.database.pool).putVersion(
        {
          name: 'e2e-evidence-pdq', algorithm: 'pdq', threshold: 31, action: 'quarantine', dihedral: true, source: 'generated benign scenes',
          versions: [{ version: 1, importedAt: new Date().toISOString(), format: 'plain', sourceSha256: '00'.repeat(32), entries: 0, added: 0, removed: 0, changed: 0 }],
        },
        [{ hash: hashed.hashes.pdq!, externalId: 'demo-301', category: 'csam-A1' }],
        [],
      );
      await waitFor(async () => runtime.registry!.loaded().some((l) => l.listId === 'e2e-evidence-pdq'), 10_000, 'the list to load');
      await runtime.store.ensureBucket(bucket);
    }, 120_000);

    afterAll(async () => {
      await runtime?.close();
      await api?.close();
    });

    it('a match ends with locked evidence, a verifying manifest, a report in the sink and report.filed.v1', async () => {
      const filedEvents: Array<Event<'report.filed.v1'>> = [];
      await runtime.bus.subscribe({ topic: 'report.filed.v1', group: `e2e-observer-${randomUUID().slice(0, 8)}` }, async (event) => (filedEvents.push(event), { kind: 'done' }));
      await runtime.store.put({ bucket, key: 'photos/listed.jpg' }, listed, { contentType: 'image/jpeg' });
      const upload = createEvent(
        'upload.received.v1',
        {
          uploadId: `up-${randomUUID()}`, source: 'workers', mode: 'async', uploadedAt: new Date().toISOString(),
          object: { tenantId: 'tenant-e2e', bucket, key: 'photos/listed.jpg', size: listed.length, contentType: 'image/jpeg' },
          uploader: { accountId: 'acct-e2e', ip: '198.51.100.4', userAgent: 'e2e-agent/1.0' },
        },
        { producer: 'e2e', traceId: randomUUID() },
      );
      const started = Date.now();
      await runtime.bus.publish([upload]);
      const pool = runtime.database.pool;
      const scan = await waitFor(async () => (await pool.query('SELECT match_id FROM scans WHERE event_id = $1', [upload.id])).rows[0], 60_000, 'the scan');
      const report = await waitFor(
        async () => (await pool.query(`SELECT r.* FROM reports r JOIN report_files f ON f.report_id = r.id WHERE f.match_id = $1 AND r.status = 'filed'`, [scan.match_id])).rows[0],
        60_000,
        'the filed report',
      );
      const item = await waitFor(
        async () => (await pool.query(`SELECT * FROM evidence_items WHERE match_id = $1 AND retention_basis = 'report_receipt'`, [scan.match_id])).rows[0],
        60_000,
        'retention counted from the receipt',
      );
      const filed = await waitFor(async () => filedEvents.find((e) => e.payload.reportId === report.id), 60_000, 'report.filed.v1');
      expect(filed.payload).toMatchObject({ status: 'filed', externalReportId: report.external_report_id, dedupeKey: expect.any(String) });

      // Retention: receipt + 365 days, on the row; provisional before that (>= preservation + 365).
      expect(item.retain_until.getTime()).toBe(new Date(filed.payload.at).getTime() + 365 * DAY);
      expect(item.reported_at.getTime()).toBe(new Date(filed.payload.at).getTime());
      expect(item.preserved_at.getTime()).toBeGreaterThanOrEqual(started - 1000);
      expect(item.uploader_ip).toBe('198.51.100.4');

      // The vault copy is the uploaded bytes; the manifest's digests verify against them.
      const copy = await runtime.store.getBytes({ bucket: evidenceBucket, key: item.location_key }, { maxBytes: 10_000_000 });
      expect(createHash('sha256').update(copy.bytes).digest('hex')).toBe(createHash('sha256').update(listed).digest('hex'));
      const manifestBytes = (await runtime.store.getBytes({ bucket: evidenceBucket, key: item.manifest_key }, { maxBytes: 1_000_000 })).bytes;
      expect(createHash('sha256').update(manifestBytes).digest()).toEqual(item.manifest_sha256);
      const manifest = JSON.parse(Buffer.from(manifestBytes).toString('utf8'));
      for (const algo of ['sha256', 'sha1', 'md5'] as const) expect(manifest.content.digests[algo]).toBe(createHash(algo).update(copy.bytes).digest('hex'));
      expect(manifest.content.perceptual.pdq).toMatch(/^[0-9a-f]{64}$/);
      expect(manifest.content.perceptual.blockhash).toMatch(/^[0-9a-f]{64}$/);
      expect(manifest.provenance.hits[0]).toMatchObject({ listId: 'e2e-evidence-pdq', listVersion: 1, algorithm: 'pdq', threshold: 31 });
      expect(manifest.uploader).toEqual({ accountId: 'acct-e2e', ip: '198.51.100.4', userAgent: 'e2e-agent/1.0' });
      const provisional = new Date(manifest.retention.retainUntil).getTime();
      expect(provisional).toBe(new Date(manifest.times.preservedAt).getTime() + 365 * DAY);

      if (kind === 'embedded') {
        // The filesystem store enforces the lock: the date extended to the receipt's, no delete.
        expect(copy.info.retention).toEqual({ mode: 'COMPLIANCE', retainUntil: item.retain_until });
        await expect(runtime.store.delete({ bucket: evidenceBucket, key: item.location_key, versionId: copy.info.versionId! })).rejects.toMatchObject({ code: 'locked' });
        const dir = join(env.VIGIL_HOME!, 'reports-outbox', report.id);
        expect((await readdir(dir)).sort()).toEqual(['file-1.fileinfo.xml', 'report.json', 'report.xml']);
        const xml = await readFile(join(dir, 'report.xml'), 'utf8');
        expect(xml).toContain('<espIdentifier>acct-e2e</espIdentifier>');
        expect(xml).toContain('<ipAddress>198.51.100.4</ipAddress>');
      } else {
        // s3rver drops lock headers: assert what was sent. The copy and the manifest carried
        // COMPLIANCE until the provisional date; the receipt sent PutObjectRetention with the new one.
        const copyRequest = sent.find((r) => r.command === 'CopyObjectCommand' && r.headers['x-amz-copy-source']?.includes(encodeURIComponent(report.tenant_id)) && r.headers['x-amz-object-lock-mode']);
        expect(copyRequest?.headers['x-amz-object-lock-mode']).toBe('COMPLIANCE');
        expect(new Date(copyRequest!.headers['x-amz-object-lock-retain-until-date']!).getTime()).toBe(provisional);
        const manifestPut = sent.find((r) => r.command === 'PutObjectCommand' && r.headers['x-amz-object-lock-mode'] === 'COMPLIANCE');
        expect(new Date(manifestPut!.headers['x-amz-object-lock-retain-until-date']!).getTime()).toBe(provisional);
        const extension = sent.filter((r) => r.command === 'PutObjectRetentionCommand');
        expect(extension.length).toBeGreaterThanOrEqual(2);
        for (const r of extension) {
          expect(r.body).toContain('<Mode>COMPLIANCE</Mode>');
          expect(r.body).toContain(`<RetainUntilDate>${item.retain_until.toISOString()}</RetainUntilDate>`);
        }
        if (!s3Service!.enforcesObjectLock) {
          const audit = await pool.query(`SELECT details FROM audit_log WHERE action = 'evidence.retention_extended' AND subject_id = $1`, [item.id]);
          expect(audit.rows[0].details.objectLock).toBe('refused');
        }
        // The CyberTipline stand-in got the sequence and the file, read through the audited path.
        const received = api!.reports.get(report.external_report_id)!;
        expect(received).toMatchObject({ finished: true, retracted: false });
        expect(received.files).toHaveLength(1);
        expect(received.files[0]!.md5).toBe(createHash('md5').update(listed).digest('hex'));
        expect(api!.violations).toEqual([]);
        const reads = await pool.query(`SELECT actor, details->>'scope' AS scope FROM audit_log WHERE action = 'evidence.read' AND subject_id = $1`, [item.id]);
        expect(reads.rows).toEqual([{ actor: 'service:reporter', scope: `report:${report.id}` }]);
      }

      // The database refuses to delete the record before retain_until, whatever the store.
      await expect(pool.query('DELETE FROM evidence_items WHERE id = $1', [item.id])).rejects.toMatchObject({ code: SqlState.evidenceRetained });
    });
  });
}

suite('embedded', postgres.available);
suite('distributed', postgres.available && kafka.available && s3.available);

describe.skipIf(!postgres.available)('vigil scan on the embedded default (in process)', () => {
  it('prints a match with its evidence and its report, written to the outbox; evidence read needs a reason', async () => {
    const home = await mkdtemp(join(tmpdir(), 'vigil-e2e-scan-'));
    const dir = await mkdtemp(join(tmpdir(), 'vigil-e2e-scan-files-'));
    const databaseUrl = await pgService!.createDatabase();
    const env: NodeJS.ProcessEnv = { VIGIL_HOME: home, DATABASE_URL: databaseUrl, VIGIL_HASH_THREADS: '1', VIGIL_REPORT_GROUP_DELAY_MS: '300', ...REPORTER };
    await writeFile(join(dir, 'listed-1.jpg'), await demoImage(1));
    await writeFile(join(dir, 'unrelated.jpg'), await demoImage(1001));
    const out: string[] = [];
    const errors: string[] = [];
    const io = { write: (t: string) => void out.push(t), writeError: (t: string) => void errors.push(t) };
    const vigil = (...args: string[]) => main(['node', 'vigil', ...args], env, io);
    // The demo list labels its (benign) entries `benign-demo`, which the reporter holds as not
    // reportable; relabelled here so the scan exercises the CSAM path end to end.
    const list = (await readFile(join(root, 'hashlists/demo/demo-pdq.csv'), 'utf8')).replaceAll(',benign-demo', ',csam-test');
    await writeFile(join(home, 'demo-csam-label.csv'), list);
    expect(await vigil('lists', 'import', join(home, 'demo-csam-label.csv'), '--name', 'demo-pdq', '--algo', 'pdq')).toBe(0);
    out.length = 0;
    expect(await vigil('scan', dir, '--json')).toBe(0);
    const lines = out.join('').trim().split('\n').map((l) => JSON.parse(l));
    const match = lines.find((l) => l.object.endsWith('listed-1.jpg'));
    expect(match).toMatchObject({
      verdict: 'matched', quarantine: { status: 'applied' },
      evidence: { id: expect.any(String), retainUntil: expect.any(String) },
      report: { status: 'filed', externalReportId: expect.stringMatching(/^outbox:/) },
    });
    expect(lines.find((l) => l.object.endsWith('unrelated.jpg'))).toEqual({ object: join(dir, 'unrelated.jpg'), verdict: 'clean', matches: [] });
    expect((await readdir(join(home, 'reports-outbox', match.report.id))).sort()).toEqual(['file-1.fileinfo.xml', 'report.json', 'report.xml']);

    out.length = 0;
    expect(await vigil('reports', 'ls', '--json')).toBe(0);
    expect(JSON.parse(out.join('').trim().split('\n')[0]!)).toMatchObject({ id: match.report.id, status: 'filed', files: 1 });

    // Reading evidence: no reason, no read (commander refuses the missing option); with one, an audit row.
    errors.length = 0;
    expect(await vigil('evidence', 'read', match.evidence.id, '--scope', 'legal:case-1', '--out', join(dir, 'copy.bin'))).toBe(2);
    expect(errors.join('')).toContain("required option '--reason <text>' not specified");
    expect(await vigil('evidence', 'read', match.evidence.id, '--scope', 'legal:case-1', '--reason', '', '--out', join(dir, 'copy.bin'))).toBe(1);
    expect(errors.join('')).toContain('reason_required');
    const pool = createPool(databaseUrl);
    try {
      expect((await pool.query(`SELECT count(*)::int AS n FROM audit_log WHERE action = 'evidence.read'`)).rows[0].n).toBe(0);
      expect(await vigil('evidence', 'read', match.evidence.id, '--scope', 'legal:case-1', '--reason', 'preservation request', '--actor', 'cli:counsel', '--out', join(dir, 'copy.bin'))).toBe(0);
      expect(createHash('sha256').update(await readFile(join(dir, 'copy.bin'))).digest('hex')).toBe(createHash('sha256').update(await demoImage(1)).digest('hex'));
      const reads = await pool.query(`SELECT actor, details->>'reason' AS reason FROM audit_log WHERE action = 'evidence.read'`);
      expect(reads.rows).toEqual([{ actor: 'cli:counsel', reason: 'preservation request' }]);
    } finally {
      await pool.end();
    }
  }, 180_000);
});
