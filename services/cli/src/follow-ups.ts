// What became of a scan's match, in one read: its quarantine, its first preserved evidence item
// and the report that covers it. `vigil scan` and `vigil demo` poll scans with these joins.

/** The columns `followUpJoins` adds, as `followUpColumns` names them. */
export interface FollowUpColumns {
  q_id: string | null;
  q_status: string | null;
  q_bucket: string | null;
  q_key: string | null;
  q_reason: string | null;
  e_id: string | null;
  e_retain_until: Date | null;
  r_id: string | null;
  r_status: string | null;
  r_reason: string | null;
  r_external: string | null;
}

export const followUpColumns = `q.id AS q_id, q.status AS q_status, q.quarantine_bucket AS q_bucket, q.quarantine_key AS q_key, q.reason AS q_reason,
       e.id AS e_id, e.retain_until AS e_retain_until,
       rp.id AS r_id, rp.status AS r_status, COALESCE(rp.held_reason, rp.last_error) AS r_reason, rp.external_report_id AS r_external`;

/** Joins onto a query over matches by `matchIdColumn` (e.g. `s.match_id`). */
export function followUpJoins(matchIdColumn: string): string {
  return `LEFT JOIN quarantine_records q ON q.match_id = ${matchIdColumn}
       LEFT JOIN LATERAL (SELECT id, retain_until FROM evidence_items WHERE match_id = ${matchIdColumn} ORDER BY preserved_at LIMIT 1) e ON true
       LEFT JOIN LATERAL (SELECT report_id FROM report_files WHERE match_id = ${matchIdColumn} ORDER BY created_at LIMIT 1) rf ON true
       LEFT JOIN reports rp ON rp.id = rf.report_id`;
}
