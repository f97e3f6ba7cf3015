// `vigil evidence ls|read|hold|release-hold|expire`: the vault for operators. Reading bytes goes
// through the audited read (actor, scope and reason required) and only into a file, never to the
// terminal; holds are audited with who and why; expiry removes only what retention allows.

import { open, rm, type FileHandle } from 'node:fs/promises';
import { Option, type Command } from 'commander';
import Table from 'cli-table3';
import type { Pool } from '@vigil/db';
import { EvidenceAccessError, expireEvidence, listEvidence, readEvidence, setLegalHold } from '@vigil/evidence';
import type { ObjectStore } from '@vigil/storage';

export interface OperatorCommandContext {
  write: (text: string) => void;
  fail: (message: string) => void;
  withDatabase: <T>(fn: (pool: Pool) => Promise<T>) => Promise<T>;
  withObjectStore: <T>(fn: (store: ObjectStore) => Promise<T>) => Promise<T>;
  /** `cli:<user>`: the actor when --actor is not given. */
  defaultActor: string;
}

export function registerEvidenceCommands(program: Command, ctx: OperatorCommandContext): void {
  const evidence = program.command('evidence').description('the evidence vault: list, read (audited), legal holds, expiry');
  const withVault = <T>(fn: (deps: { pool: Pool; store: ObjectStore }) => Promise<T>) => ctx.withObjectStore((store) => ctx.withDatabase((pool) => fn({ pool, store })));
  const refused = (err: unknown) => {
    if (!(err instanceof EvidenceAccessError)) throw err;
    ctx.fail(`${err.code}: ${err.message}`);
  };

  evidence
    .command('ls')
    .description('evidence items, newest first: where, until when, hold, report')
    .option('--tenant <id>', 'only this tenant')
    .option('--match <id>', 'only this match')
    .option('--json', 'one JSON object per item')
    .action(async (options: { tenant?: string; match?: string; json?: boolean }) => {
      const items = await ctx.withDatabase((pool) => listEvidence(pool, { ...(options.tenant && { tenantId: options.tenant }), ...(options.match && { matchId: options.match }) }));
      if (options.json) return void items.forEach((item) => ctx.write(`${JSON.stringify(item)}\n`));
      if (items.length === 0) return ctx.write('no evidence items\n');
      const table = new Table({ head: ['id', 'match', 'retain until', 'basis', 'hold', 'report', 'sha256'], style: { head: [], border: [] } });
      for (const i of items) {
        table.push([i.id, i.matchId, i.retainUntil.toISOString(), i.retentionBasis, i.legalHold ? `yes (${i.legalHoldReason})` : 'no', i.externalReportId ?? '', i.sha256.slice(0, 16)]);
      }
      ctx.write(`${table.toString()}\n`);
    });

  evidence
    .command('read')
    .description('copy an evidence item out of the vault; recorded with actor, scope and reason in the audit log')
    .argument('<id>', 'evidence id')
    .requiredOption('--reason <text>', 'why, in words an auditor can follow')
    .requiredOption('--scope <scope>', 'what the read serves: legal:<case>, report:<id>, review')
    .option('--actor <id>', 'who reads (default cli:<user>)')
    .addOption(new Option('--part <part>', 'file (the preserved bytes) or manifest').choices(['file', 'manifest']).default('file'))
    .option('--out <file>', 'where to write the bytes (required for the file; the manifest prints when omitted)')
    .action(async (id: string, options: { reason: string; scope: string; actor?: string; part: 'file' | 'manifest'; out?: string }) => {
      if (options.part === 'file' && !options.out) return ctx.fail('reading the file needs --out FILE: evidence bytes are never written to the terminal');
      // The output file is created first (never over an existing one, readable by this user
      // only), so a read is not audited for bytes that then have nowhere to go.
      let out: FileHandle | undefined;
      if (options.out) {
        try {
          out = await open(options.out, 'wx', 0o600);
        } catch (err) {
          return ctx.fail(`cannot create ${options.out}: ${(err as NodeJS.ErrnoException).code ?? String(err)} (an existing file is never overwritten)`);
        }
      }
      let written = false;
      try {
        await withVault(async (deps) => {
          try {
            const read = await readEvidence(deps, { evidenceId: id, actor: options.actor ?? ctx.defaultActor, scope: options.scope, reason: options.reason, part: options.part });
            if (out) {
              await out.writeFile(read.bytes);
              written = true;
              ctx.write(`wrote ${read.bytes.length} bytes of ${id} (${options.part}) to ${options.out}; audit seq ${read.auditSeq}\n`);
            } else {
              ctx.write(Buffer.from(read.bytes).toString('utf8'));
            }
          } catch (err) {
            refused(err);
          }
        });
      } finally {
        await out?.close();
        if (out && !written) await rm(options.out!, { force: true });
      }
    });

  for (const [name, on] of [['hold', true], ['release-hold', false]] as const) {
    evidence
      .command(name)
      .description(on ? 'place a legal hold: kept past retention until released (audited)' : 'lift a legal hold; retention still runs to its date (audited)')
      .argument('<id>', 'evidence id')
      .requiredOption('--reason <text>', on ? 'the request or case that asks for it' : 'why the hold ends')
      .option('--actor <id>', 'who (default cli:<user>)')
      .action(async (id: string, options: { reason: string; actor?: string }) => {
        await withVault(async (deps) => {
          try {
            const { record, objectLock } = await setLegalHold(deps, { evidenceId: id, actor: options.actor ?? ctx.defaultActor, reason: options.reason }, on);
            ctx.write(`${record.id}: legal hold ${record.legalHold ? 'on' : 'off'}${objectLock === 'refused' ? ' (the vault bucket refused the Object Lock hold: recorded in the database only)' : ''}\n`);
          } catch (err) {
            refused(err);
          }
        });
      });
  }

  evidence
    .command('expire')
    .description('remove evidence whose retention ended and that no hold keeps; each removal is logged')
    .option('--dry-run', 'only count what is due')
    .option('--json', 'print the outcome as JSON')
    .action(async (options: { dryRun?: boolean; json?: boolean }) => {
      const result = await withVault((deps) => expireEvidence(deps, { actor: ctx.defaultActor, dryRun: options.dryRun ?? false }));
      if (options.json) return ctx.write(`${JSON.stringify(result)}\n`);
      ctx.write(`${result.due} due, ${result.removed.length} removed${result.skipped.length ? `, ${result.skipped.length} skipped (${result.skipped.map((s) => `${s.id}: ${s.reason}`).join('; ')})` : ''}\n`);
    });
}
