import { describe, expect, it } from 'vitest';
import { freshDatabase, postgres } from '../test/database.ts';
import { appendAudit, migrate, SqlState, verifyAuditChain, withTransaction, type Pool } from './index.ts';

async function auditDatabase(entries: number): Promise<Pool> {
  const pool = (await freshDatabase()).pool();
  await migrate(pool);
  for (let i = 1; i <= entries; i++) {
    await appendAudit(pool, { actor: 'service:actioner', action: 'quarantine.applied', subjectType: 'match', subjectId: `m${i}`, details: { n: i } });
  }
  return pool;
}

/** What a superuser could do: switch the append-only guard off, change the table, switch it on. */
async function tamper(pool: Pool, sql: string): Promise<void> {
  await pool.query(`ALTER TABLE audit_log DISABLE TRIGGER audit_log_append_only`);
  await pool.query(sql);
  await pool.query(`ALTER TABLE audit_log ENABLE TRIGGER audit_log_append_only`);
}

describe.skipIf(!postgres.available)('audit log', () => {
  it('chains entries and verifies the chain', async () => {
    const pool = await auditDatabase(0);
    const first = await appendAudit(pool, { actor: 'user:alice', action: 'evidence.hold_placed', subjectType: 'evidence', subjectId: 'ev1', details: { reason: 'case 42' } });
    const second = await appendAudit(pool, { actor: 'user:bob', action: 'report.filed', subjectType: 'report', subjectId: 'r1' });
    expect([first.seq, second.seq]).toEqual([1, 2]);
    const rows = await pool.query(`SELECT seq, encode(prev_hash, 'hex') AS prev, encode(row_hash, 'hex') AS hash FROM audit_log ORDER BY seq`);
    expect(rows.rows[0].prev).toBe('0'.repeat(64));
    expect(rows.rows[1].prev).toBe(first.rowHash);
    expect(await verifyAuditChain(pool)).toEqual({ ok: true, rows: 2, head: { seq: 2, hash: second.rowHash } });
  });

  it('refuses UPDATE, DELETE and TRUNCATE, and moving the head by hand', async () => {
    const pool = await auditDatabase(2);
    const appendOnly = { code: SqlState.appendOnly };
    await expect(pool.query(`UPDATE audit_log SET actor = 'someone else' WHERE seq = 1`)).rejects.toMatchObject(appendOnly);
    await expect(pool.query(`DELETE FROM audit_log WHERE seq = 2`)).rejects.toMatchObject(appendOnly);
    await expect(pool.query(`TRUNCATE audit_log`)).rejects.toMatchObject(appendOnly);
    await expect(pool.query(`UPDATE audit_head SET seq = 1`)).rejects.toMatchObject(appendOnly);
    await expect(pool.query(`DELETE FROM audit_head`)).rejects.toMatchObject(appendOnly);
    expect(await verifyAuditChain(pool)).toMatchObject({ ok: true, rows: 2 });
  });

  it('keeps one unforked chain under concurrent appends at any isolation level', async () => {
    const pool = await auditDatabase(0);
    const appends = Array.from({ length: 30 }, (_, i) =>
      withTransaction(
        pool,
        (c) => appendAudit(c, { actor: 'service:test', action: 'thing.done', subjectType: 'thing', subjectId: String(i) }),
        { isolation: i % 3 === 0 ? 'repeatable read' : 'read committed', maxAttempts: 50 },
      ),
    );
    const records = await Promise.all(appends);
    expect(records.map((r) => r.seq).sort((a, b) => a - b)).toEqual(Array.from({ length: 30 }, (_, i) => i + 1));
    expect(await verifyAuditChain(pool, { batchSize: 7 })).toMatchObject({ ok: true, rows: 30, head: { seq: 30 } });
  });

  it('detects a row removed from the middle', async () => {
    const pool = await auditDatabase(5);
    await tamper(pool, `DELETE FROM audit_log WHERE seq = 3`);
    expect(await verifyAuditChain(pool)).toMatchObject({ ok: false, problem: 'gap', seq: 4, rows: 2 });
  });

  it('detects a row removed and the rest renumbered', async () => {
    const pool = await auditDatabase(5);
    await tamper(pool, `DELETE FROM audit_log WHERE seq = 3; UPDATE audit_log SET seq = seq - 1 WHERE seq > 3`);
    expect(await verifyAuditChain(pool)).toMatchObject({ ok: false, problem: 'broken_link', seq: 3 });
  });

  it('detects an altered row', async () => {
    const pool = await auditDatabase(5);
    await tamper(pool, `UPDATE audit_log SET details = '{"n": 999}' WHERE seq = 2`);
    expect(await verifyAuditChain(pool)).toMatchObject({ ok: false, problem: 'altered', seq: 2, rows: 1 });
  });

  it('detects rows removed from the end', async () => {
    const pool = await auditDatabase(5);
    await tamper(pool, `DELETE FROM audit_log WHERE seq >= 4`);
    expect(await verifyAuditChain(pool)).toMatchObject({ ok: false, problem: 'head_mismatch', rows: 3 });
  });
});
