// `vigil reports ls|requeue|confirm`: the CyberTipline queue for operators. Held reports show why;
// a person requeues one after fixing the cause, or records NCMEC's receipt of a report submitted
// by hand from the outbox (both audited). Never prints uploader details.

import type { Command } from 'commander';
import Table from 'cli-table3';
import { withTransaction } from '@vigil/db';
import { confirmManualSubmission, listReports, requeueReport } from '@vigil/reporter';
import type { OperatorCommandContext } from './evidence.ts';

export function registerReportCommands(program: Command, ctx: OperatorCommandContext): void {
  const reports = program.command('reports').description('CyberTipline reports: the queue, held reports and why, requeue');

  reports
    .command('ls')
    .description('reports, CSAM first then newest: status, files, why held, NCMEC id')
    .option('--status <status>', 'queued, submitting, filed, held or failed')
    .option('--tenant <id>', 'only this tenant')
    .option('--json', 'one JSON object per report')
    .action(async (options: { status?: string; tenant?: string; json?: boolean }) => {
      const rows = await ctx.withDatabase((pool) => listReports(pool, { ...(options.status && { status: options.status }), ...(options.tenant && { tenantId: options.tenant }) }));
      if (options.json) return void rows.forEach((r) => ctx.write(`${JSON.stringify(r)}\n`));
      if (rows.length === 0) return ctx.write('no reports\n');
      const table = new Table({ head: ['id', 'status', 'priority', 'files', 'attempts', 'report id', 'why'], style: { head: [], border: [] } });
      for (const r of rows) {
        table.push([r.id, r.status, r.priority, `${r.files}${r.duplicates ? ` (+${r.duplicates} dup)` : ''}`, r.attempts, r.externalReportId ?? '', r.heldReason ?? r.lastError ?? '']);
      }
      ctx.write(`${table.toString()}\n`);
    });

  reports
    .command('requeue')
    .description('put a held report back in the queue once its cause is fixed (audited)')
    .argument('<id>', 'report id')
    .requiredOption('--reason <text>', 'what was fixed')
    .option('--actor <id>', 'who (default cli:<user>)')
    .action(async (id: string, options: { reason: string; actor?: string }) => {
      const done = await ctx.withDatabase((pool) => withTransaction(pool, (client) => requeueReport(client, id, options.actor ?? ctx.defaultActor, options.reason)));
      if (!done) return ctx.fail(`no held report ${id}`);
      ctx.write(`${id}: queued again\n`);
    });

  reports
    .command('confirm')
    .description('record NCMEC\'s receipt of a report submitted by hand from the outbox; evidence retention then counts from it (audited)')
    .argument('<id>', 'report id')
    .requiredOption('--ncmec-id <id>', 'the CyberTipline report id NCMEC gave')
    .option('--received-at <time>', 'when NCMEC received it (ISO 8601; default now)')
    .option('--actor <id>', 'who (default cli:<user>)')
    .action(async (id: string, options: { ncmecId: string; receivedAt?: string; actor?: string }) => {
      const receivedAt = options.receivedAt ? new Date(options.receivedAt) : new Date();
      if (Number.isNaN(receivedAt.getTime())) return ctx.fail(`--received-at: not a time: ${options.receivedAt}`);
      const done = await ctx.withDatabase((pool) =>
        withTransaction(pool, (client) => confirmManualSubmission(client, id, { externalReportId: options.ncmecId, receivedAt, actor: options.actor ?? ctx.defaultActor }, 'reporter')),
      );
      if (!done) return ctx.fail(`no report ${id} filed to the outbox`);
      ctx.write(`${id}: NCMEC report ${options.ncmecId} received ${receivedAt.toISOString()}; evidence retention follows when the evidence service sees it\n`);
    });
}
