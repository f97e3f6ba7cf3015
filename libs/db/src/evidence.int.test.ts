// The evidence_items guard (migrations/0002_evidence.sql): retained records cannot be deleted or
// changed except to extend retention or place/lift a legal hold.
import { beforeAll, describe, expect, it } from 'vitest';
import { freshDatabase, postgres, seedMatch } from '../test/database.ts';
import { migrate, SqlState, type Pool } from './index.ts';

const DAY = 86_400_000;

describe.skipIf(!postgres.available)('evidence_items retention guard', () => {
  let pool: Pool;
  beforeAll(async () => {
    pool = (await freshDatabase()).pool();
    await migrate(pool);
  });

  async function insertEvidence(id: string, preservedAt: Date, retainUntil: Date, legalHold = false): Promise<void> {
    const { matchId } = await seedMatch(pool, id);
    await pool.query(
      `INSERT INTO evidence_items (id, evidence_request_id, match_id, tenant_id, bucket, object_key, location_bucket, location_key,
         manifest_key, manifest_sha256, sha256, size, retain_until, legal_hold, legal_hold_reason, preserved_at)
       VALUES ($1, $1 || '-req', $2, 't', 'uploads', 'obj', 'vault', $1, $1 || '.manifest.json', $3, $3, 10, $4, $5, $6, $7)`,
      [id, matchId, Buffer.alloc(32, 1), retainUntil, legalHold, legalHold ? 'case 42' : null, preservedAt],
    );
  }
  const refused = { code: SqlState.evidenceRetained };
  const now = Date.now();

  it('refuses to delete or truncate a retained record', async () => {
    await insertEvidence('ev-retained', new Date(now), new Date(now + 365 * DAY));
    await expect(pool.query(`DELETE FROM evidence_items WHERE id = 'ev-retained'`)).rejects.toMatchObject({
      ...refused,
      message: expect.stringMatching(/evidence ev-retained is retained until .*: delete refused/),
    });
    await expect(pool.query(`TRUNCATE evidence_items`)).rejects.toMatchObject(refused);
    expect((await pool.query(`SELECT count(*)::int AS n FROM evidence_items WHERE id = 'ev-retained'`)).rows[0].n).toBe(1);
  });

  it('refuses changes to a retained record other than extending retention or the legal hold', async () => {
    await insertEvidence('ev-frozen', new Date(now), new Date(now + 365 * DAY));
    await expect(pool.query(`UPDATE evidence_items SET location_key = 'elsewhere' WHERE id = 'ev-frozen'`)).rejects.toMatchObject({
      ...refused,
      message: expect.stringMatching(/only retain_until \(extended\) and the legal hold may change/),
    });
    await expect(pool.query(`UPDATE evidence_items SET retain_until = retain_until - interval '1 day' WHERE id = 'ev-frozen'`)).rejects.toMatchObject({
      ...refused,
      message: expect.stringMatching(/never shortened/),
    });
    // Allowed: extend retention; place and lift a legal hold.
    await pool.query(`UPDATE evidence_items SET retain_until = retain_until + interval '1 year' WHERE id = 'ev-frozen'`);
    await pool.query(`UPDATE evidence_items SET legal_hold = true, legal_hold_reason = 'preservation request 7' WHERE id = 'ev-frozen'`);
    await pool.query(`UPDATE evidence_items SET legal_hold = false WHERE id = 'ev-frozen'`);
    const row = (await pool.query(`SELECT retain_until, legal_hold FROM evidence_items WHERE id = 'ev-frozen'`)).rows[0];
    expect(row.legal_hold).toBe(false);
    expect(row.retain_until.getTime()).toBeGreaterThan(now + 700 * DAY);
  });

  it('lets an expired record go, unless it is under legal hold', async () => {
    await insertEvidence('ev-expired', new Date(now - 800 * DAY), new Date(now - 435 * DAY));
    await insertEvidence('ev-held', new Date(now - 800 * DAY), new Date(now - 435 * DAY), true);
    await expect(pool.query(`DELETE FROM evidence_items WHERE id = 'ev-held'`)).rejects.toMatchObject({
      ...refused,
      message: expect.stringMatching(/and under legal hold: delete refused/),
    });
    await pool.query(`UPDATE evidence_items SET location_key = 'disposed' WHERE id = 'ev-expired'`);
    const deleted = await pool.query(`DELETE FROM evidence_items WHERE id = 'ev-expired'`);
    expect(deleted.rowCount).toBe(1);
  });
});
