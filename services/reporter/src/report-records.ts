// Reads of the report queue for operators (`vigil reports ls`, the dashboard): status, why held,
// attempts, the receiver's id. No uploader details.

import type { Client, Pool } from '@vigil/db';

export interface ReportSummary {
  id: string;
  status: 'queued' | 'submitting' | 'filed' | 'held' | 'failed';
  priority: 'csam' | 'other';
  tenantId: string;
  accountId: string | null;
  windowStart: Date | null;
  files: number;
  duplicates: number;
  attempts: number;
  heldReason: string | null;
  lastError: string | null;
  sink: string | null;
  externalReportId: string | null;
  createdAt: Date;
  filedAt: Date | null;
}

export async function listReports(db: Client | Pool, options: { status?: string; tenantId?: string; limit?: number } = {}): Promise<ReportSummary[]> {
  const { rows } = await db.query<{
    id: string; status: ReportSummary['status']; priority: ReportSummary['priority']; tenant_id: string; account_id: string | null; window_start: Date | null;
    files: number; duplicates: number; attempts: number; held_reason: string | null; last_error: string | null; sink: string | null;
    external_report_id: string | null; created_at: Date; filed_at: Date | null;
  }>(
    `SELECT r.id, r.status, r.priority, r.tenant_id, r.account_id, r.window_start, r.attempts, r.held_reason, r.last_error, r.sink,
            r.external_report_id, r.created_at, r.filed_at,
            (SELECT count(*) FROM report_files f WHERE f.report_id = r.id AND f.duplicate_of IS NULL)::int AS files,
            (SELECT count(*) FROM report_files f WHERE f.report_id = r.id AND f.duplicate_of IS NOT NULL)::int AS duplicates
       FROM reports r
      WHERE ($1::text IS NULL OR r.status = $1) AND ($2::text IS NULL OR r.tenant_id = $2)
      ORDER BY r.priority_rank, r.created_at DESC LIMIT $3`,
    [options.status ?? null, options.tenantId ?? null, options.limit ?? 1000],
  );
  return rows.map((r) => ({
    id: r.id, status: r.status, priority: r.priority, tenantId: r.tenant_id, accountId: r.account_id, windowStart: r.window_start, files: r.files,
    duplicates: r.duplicates, attempts: r.attempts, heldReason: r.held_reason, lastError: r.last_error, sink: r.sink,
    externalReportId: r.external_report_id, createdAt: r.created_at, filedAt: r.filed_at,
  }));
}
