// The audit log's API: append an entry (chained by the database trigger, see
// migrations/0003_audit.sql) and verify the chain. Never updates or deletes: the table refuses.

import { createHash } from 'node:crypto';
import { withTransaction, type Client, type Pool } from './pool.ts';

export interface AuditEntry {
  /** Who: `service:actioner`, `user:<id>`, `cli:<user>`. */
  actor: string;
  /** What, as `<noun>.<verb>`: `quarantine.applied`, `evidence.hold_placed`, `report.filed`. */
  action: string;
  subjectType: string;
  subjectId: string;
  /** Ids, hashes, reasons. Never image bytes or list contents. */
  details?: Record<string, unknown>;
}

export interface AuditRecord {
  seq: number;
  occurredAt: Date;
  /** hex sha256 */
  rowHash: string;
}

/**
 * Appends one entry in the caller's transaction (or autocommit on a pool). The trigger assigns
 * seq, time and hashes under the chain's head lock, which is held until the transaction ends:
 * append late in a transaction so concurrent appenders wait briefly.
 */
export async function appendAudit(db: Client | Pool, entry: AuditEntry): Promise<AuditRecord> {
  const { rows } = await db.query<{ seq: string; occurred_at: Date; row_hash: Buffer }>(
    `INSERT INTO audit_log (actor, action, subject_type, subject_id, details)
     VALUES ($1, $2, $3, $4, $5) RETURNING seq, occurred_at, row_hash`,
    [entry.actor, entry.action, entry.subjectType, entry.subjectId, entry.details ?? {}],
  );
  const row = rows[0]!;
  return { seq: Number(row.seq), occurredAt: row.occurred_at, rowHash: row.row_hash.toString('hex') };
}

export type AuditChainProblem =
  /** A seq is missing: a row was removed. */
  | 'gap'
  /** The row does not point at the previous row's hash: a row before it was removed or altered. */
  | 'broken_link'
  /** The row's content no longer hashes to its row_hash: it was altered. */
  | 'altered'
  /** The head disagrees with the last row: the tail was removed. */
  | 'head_mismatch';

export type AuditChainResult =
  | { ok: true; rows: number; head: { seq: number; hash: string } }
  | { ok: false; rows: number; seq: number; problem: AuditChainProblem; message: string };

const GENESIS = Buffer.alloc(32);

/**
 * Recomputes every row's hash in seq order, in batches, from one REPEATABLE READ snapshot so
 * concurrent appends do not disturb it. Reports the first break. The hashing happens here, not
 * in SQL, so a replaced sha256 in the database cannot vouch for itself; the canonical text still
 * comes from audit_canonical() (the one definition the trigger also uses).
 */
export async function verifyAuditChain(pool: Pool, options: { batchSize?: number } = {}): Promise<AuditChainResult> {
  const batchSize = options.batchSize ?? 5000;
  return withTransaction(
    pool,
    async (client) => {
      let expectedSeq = 1;
      let prev: Buffer = GENESIS;
      let rows = 0;
      for (;;) {
        const batch = await client.query<{ seq: string; prev_hash: Buffer; row_hash: Buffer; canonical: string }>(
          `SELECT seq, prev_hash, row_hash,
                  audit_canonical(seq, occurred_at, actor, action, subject_type, subject_id, details) AS canonical
           FROM audit_log WHERE seq >= $1 ORDER BY seq LIMIT $2`,
          [expectedSeq, batchSize],
        );
        for (const row of batch.rows) {
          const seq = Number(row.seq);
          const fail = (problem: AuditChainProblem, message: string): AuditChainResult => ({ ok: false, rows, seq, problem, message });
          if (seq !== expectedSeq) return fail('gap', `audit_log seq ${expectedSeq} is missing (next row is ${seq})`);
          if (!row.prev_hash.equals(prev)) return fail('broken_link', `audit_log seq ${seq} does not link to seq ${seq - 1}`);
          const hash = createHash('sha256').update(row.prev_hash).update(row.canonical, 'utf8').digest();
          if (!hash.equals(row.row_hash)) return fail('altered', `audit_log seq ${seq} was altered after it was written`);
          prev = row.row_hash;
          expectedSeq = seq + 1;
          rows++;
        }
        if (batch.rows.length < batchSize) break;
      }
      const head = await client.query<{ seq: string; row_hash: Buffer }>('SELECT seq, row_hash FROM audit_head');
      const h = head.rows[0];
      if (!h || Number(h.seq) !== expectedSeq - 1 || !h.row_hash.equals(prev)) {
        return {
          ok: false,
          rows,
          seq: expectedSeq,
          problem: 'head_mismatch',
          message: `audit_head is at seq ${h?.seq ?? 'none'} but the log ends at seq ${expectedSeq - 1}: rows were removed from the end`,
        };
      }
      return { ok: true, rows, head: { seq: expectedSeq - 1, hash: prev.toString('hex') } };
    },
    { isolation: 'repeatable read', readOnly: true },
  );
}
