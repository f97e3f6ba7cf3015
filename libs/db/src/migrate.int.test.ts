import { mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { freshDatabase, postgres } from '../test/database.ts';
import { checksum, coreMigrations, loadMigrations, migrate, MigrationError, type Migration } from './index.ts';

const CORE = ['0001_core.sql', '0002_evidence.sql', '0003_audit.sql', '0004_messaging.sql', '0005_pipeline.sql', '0006_reporting.sql',
  '0007_retro.sql', '0008_single_trip_writes.sql', '0009_detection.sql', '0010_scan_timings.sql',
  '0011_dashboard.sql', '0012_scan_uploader.sql', '0013_upscale_query.sql', '0014_overlay_query.sql',
  '0015_view_hits.sql', '0016_retro_views.sql', '0017_watermark_query.sql', '0018_unstable_hits.sql', '0019_retro_passes.sql'];
const versionOf = (name: string) => Number(name.slice(0, 4));
const LATEST = versionOf(CORE.at(-1)!);
const TABLES = ['audit_head', 'audit_log', 'content_hashes', 'evidence_items', 'hash_lists', 'inbox', 'list_entries', 'list_versions',
  'match_hits', 'matches', 'outbox', 'quarantine_records', 'reports', 'scans'];

describe.skipIf(!postgres.available)('migrate', () => {
  it('applies the core schema once; running again is a no-op', async () => {
    const db = await freshDatabase();
    const pool = db.pool();
    const first = await migrate(pool);
    expect(first).toEqual({ namespace: 'core', applied: CORE.map((name) => ({ version: versionOf(name), name })), current: LATEST });

    const tables = await pool.query<{ table_name: string }>(
      `SELECT table_name FROM information_schema.tables WHERE table_schema = 'public' ORDER BY 1`,
    );
    expect(tables.rows.map((r) => r.table_name)).toEqual(expect.arrayContaining([...TABLES, 'schema_migrations']));

    const again = await migrate(pool);
    expect(again).toEqual({ namespace: 'core', applied: [], current: LATEST });
    const recorded = await pool.query<{ version: number; name: string; checksum: Buffer }>(
      `SELECT version, name, checksum FROM schema_migrations WHERE namespace = 'core' ORDER BY version`,
    );
    const core = await coreMigrations();
    expect(recorded.rows.map((r) => [r.version, r.name, r.checksum.toString('hex')])).toEqual(
      core.map((m) => [m.version, m.name, checksum(m.sql).toString('hex')]),
    );
  });

  it('records which extra query found a match: region, crop, downscale and overlay compensation, nothing else', async () => {
    const pool = (await freshDatabase()).pool();
    await migrate(pool);
    await pool.query(`INSERT INTO hash_lists (id, name, algorithm, action, threshold, source) VALUES ('l', 'l', 'pdq', 'quarantine', 31, 'test')`);
    await pool.query(`INSERT INTO list_versions (list_id, version) VALUES ('l', 1)`);
    await pool.query(`INSERT INTO scans (id, event_id, tenant_id, bucket, object_key, verdict, blocked, mode, scanned_at)
                      VALUES ('s1', gen_random_uuid(), 't', 'b', 'k', 'matched', true, 'fast', now())`);
    await pool.query(`INSERT INTO matches (id, scan_id, trigger, action, tenant_id, bucket, object_key, sha256, detected_at)
                      VALUES ('m1', 's1', 'upload', 'quarantine', 't', 'b', 'k', sha256('x'::bytea), now())`);
    const hit = (ordinal: number, query: string) =>
      pool.query(`INSERT INTO match_hits (match_id, ordinal, list_id, list_version, action, algorithm, distance, threshold, variant, query)
                  VALUES ('m1', $1, 'l', 1, 'quarantine', 'pdq', 20, 31, 'orig', $2)`, [ordinal, query]);
    for (const [ordinal, query] of ['region', 'uncrop-10', 'upscale-2', 'upscale-4', 'overlay'].entries()) await hit(ordinal, query);
    await expect(hit(9, 'upscale-x')).rejects.toThrow(/match_hits_query/);
    await expect(hit(9, 'overlay-2')).rejects.toThrow(/match_hits_query/);
    await expect(hit(9, 'anything')).rejects.toThrow(/check constraint/);
  });

  it('refuses to start when an applied migration changed, naming the file', async () => {
    const pool = (await freshDatabase()).pool();
    const v1: Migration = { version: 1, name: '0001_widgets.sql', sql: 'CREATE TABLE widgets (id int);' };
    await migrate(pool, { namespace: 'test', migrations: [v1] });
    const edited = { ...v1, sql: 'CREATE TABLE widgets (id bigint);' };
    const next: Migration = { version: 2, name: '0002_more.sql', sql: 'CREATE TABLE more (id int);' };
    const attempt = migrate(pool, { namespace: 'test', migrations: [edited, next] });
    await expect(attempt).rejects.toBeInstanceOf(MigrationError);
    await expect(attempt).rejects.toThrow(/0001_widgets\.sql \(version 1\) was changed after it was applied/);
    // Nothing after the refusal ran.
    const more = await pool.query(`SELECT to_regclass('more') AS t`);
    expect(more.rows[0].t).toBeNull();
    // A CRLF checkout of the same file is not a change.
    await expect(migrate(pool, { namespace: 'test', migrations: [{ ...v1, sql: v1.sql.replace(/\n/g, '\r\n') }] })).resolves.toMatchObject({ current: 1 });
  });

  it('refuses a pending migration numbered below one already applied', async () => {
    const pool = (await freshDatabase()).pool();
    await migrate(pool, { namespace: 'test', migrations: [{ version: 2, name: '0002_b.sql', sql: 'SELECT 1' }] });
    await expect(
      migrate(pool, { namespace: 'test', migrations: [{ version: 1, name: '0001_a.sql', sql: 'SELECT 1' }, { version: 2, name: '0002_b.sql', sql: 'SELECT 1' }] }),
    ).rejects.toThrow(/0001_a\.sql \(version 1\) is pending but version 2 is already applied/);
  });

  it('rolls back a failing migration and keeps the ones before it', async () => {
    const pool = (await freshDatabase()).pool();
    const migrations: Migration[] = [
      { version: 1, name: '0001_ok.sql', sql: 'CREATE TABLE ok (id int);' },
      { version: 2, name: '0002_bad.sql', sql: 'CREATE TABLE half (id int); SELECT no_such_function();' },
    ];
    await expect(migrate(pool, { namespace: 'test', migrations })).rejects.toThrow(/0002_bad\.sql \(version 2\) failed/);
    const state = await pool.query(`SELECT to_regclass('ok') AS ok, to_regclass('half') AS half,
      (SELECT array_agg(version) FROM schema_migrations WHERE namespace = 'test') AS versions`);
    expect(state.rows[0]).toEqual({ ok: 'ok', half: null, versions: [1] });
  });

  it('keeps namespaces apart (libs/bus ships its own through the same runner)', async () => {
    const pool = (await freshDatabase()).pool();
    await migrate(pool);
    const bus = await migrate(pool, { namespace: 'bus', migrations: [{ version: 1, name: '0001_bus.sql', sql: 'CREATE TABLE bus_log (id int);' }] });
    expect(bus).toEqual({ namespace: 'bus', applied: [{ version: 1, name: '0001_bus.sql' }], current: 1 });
    expect((await migrate(pool)).applied).toEqual([]);
  });

  it('is safe when several pools migrate at once (services starting together)', async () => {
    const db = await freshDatabase();
    const results = await Promise.all([db.pool(), db.pool(), db.pool()].map((pool) => migrate(pool)));
    expect(results.flatMap((r) => r.applied.map((m) => m.name)).sort()).toEqual(CORE);
    expect(results.every((r) => r.current === LATEST)).toBe(true);
    const count = await db.pool().query(`SELECT count(*)::int AS n FROM schema_migrations`);
    expect(count.rows[0].n).toBe(CORE.length);
  });
});

describe('loadMigrations', () => {
  it('reads NNNN_name.sql files in version order and ignores other files', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'vigil-migrations-'));
    await writeFile(join(dir, '0010_later.sql'), 'SELECT 10');
    await writeFile(join(dir, '0002_early.sql'), 'SELECT 2');
    await writeFile(join(dir, 'README.md'), 'not a migration');
    expect(await loadMigrations(dir)).toEqual([
      { version: 2, name: '0002_early.sql', sql: 'SELECT 2' },
      { version: 10, name: '0010_later.sql', sql: 'SELECT 10' },
    ]);
  });

  it('refuses two files with one version', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'vigil-migrations-'));
    await writeFile(join(dir, '0001_a.sql'), 'SELECT 1');
    await writeFile(join(dir, '0001_b.sql'), 'SELECT 1');
    await expect(loadMigrations(new URL(`file://${dir}/`))).rejects.toThrow(/0001_a\.sql and 0001_b\.sql share version 1/);
  });

  it('finds the core schema beside the module', async () => {
    expect((await coreMigrations()).map((m) => m.name)).toEqual(CORE);
  });
});
