// Composition root of the `vigil` command: parses argv (commander), builds the hashing pool from
// options, runs the command and maps the result to an exit code (0 done, 2 usage error).

import { Command, CommanderError, InvalidArgumentError, Option } from 'commander';
import { ALGORITHMS, createHashPool, DEFAULT_DECODE_LIMITS, type HashPoolOptions } from '@vigil/hashing';
import { readFile } from 'node:fs/promises';
import { basename, join } from 'node:path';
import { LIST_ACTIONS, LIST_ALGORITHMS, parseList, type ListAction, type ListAlgorithm, type ListFormat } from '@vigil/matching';
import Table from 'cli-table3';
import { SingleBar, Presets } from 'cli-progress';
import { parseAlgorithms, runHashCommand, type Progress } from './commands/hash.ts';
import { DEFAULT_THRESHOLDS, diffList, importList } from './commands/lists.ts';
import { createLookup } from './commands/lookup.ts';
import { runScan, type ScanLine, type ScanSummary } from './commands/scan.ts';
import { runRescanCommand } from './commands/rescan.ts';
import { ruleChanges } from '@vigil/scanner';
import { decideSuspension, keepFlagged, listFlags, listSuspensions, processListUpdate, retroMatchesOf, ReviewError, SourceError, syncSource } from '@vigil/hashlists';
import { sourceFor } from './commands/sync.ts';
import { registerEvidenceCommands } from './commands/evidence.ts';
import { registerReportCommands } from './commands/reports.ts';
import { registerDemoCommand } from './commands/demo.ts';
import { listQuarantine, releaseQuarantine, ReleaseError } from '@vigil/actioner';
import { onShutdown } from '@vigil/bus';
import { createLogger } from '@vigil/observability';
import { userInfo } from 'node:os';
import { loadRuntimeConfig } from './runtime/config.ts';
import { openStore, ROLES, startRuntime, type Role } from './runtime/runtime.ts';
import { localDashboardUrl } from './runtime/dashboard-url.ts';
import { openDatabase, type Pool } from '@vigil/db';
import { PgListStore, type ListStore, type StoredEntry } from '@vigil/lists';

const LIST_FORMATS = ['plain', 'threatexchange-pdq', 'ncmec-csv'] as const;

export const EXIT_OK = 0;
/** The command ran and failed: a refused import, an unknown list, an unreadable file. */
export const EXIT_FAILED = 1;
export const EXIT_USAGE = 2;

export interface CliIo {
  write: (text: string) => void;
  writeError: (text: string) => void;
  progress?: (total: number) => Progress;
  readStdin?: () => Promise<string>;
}

const processIo: CliIo = {
  write: (text) => void process.stdout.write(text),
  writeError: (text) => void process.stderr.write(text),
  readStdin: () => text(process.stdin),
  // A bar on the terminal only when results go elsewhere (a file, a pipe): never mixed into them.
  ...(process.stderr.isTTY && !process.stdout.isTTY && { progress: terminalProgress }),
};

function terminalProgress(total: number): Progress {
  const bar = new SingleBar(
    { format: 'hashing {bar} {value}/{total} files | {percentage}% | {duration_formatted} elapsed, ETA {eta_formatted}', stream: process.stderr, hideCursor: true },
    Presets.shades_classic,
  );
  bar.start(total, 0);
  return { tick: () => bar.increment(), stop: () => bar.stop() };
}

export async function main(argv: readonly string[], env: NodeJS.ProcessEnv, io: CliIo = processIo): Promise<number> {
  const result = { exitCode: EXIT_OK };
  const program = createProgram(env, io, result);
  try {
    await program.parseAsync(argv as string[]);
    return result.exitCode;
  } catch (err) {
    if (err instanceof CommanderError) return err.exitCode === 0 ? EXIT_OK : EXIT_USAGE;
    throw err;
  }
}

function createProgram(env: NodeJS.ProcessEnv, io: CliIo, result: { exitCode: number }): Command {
  const program = new Command('vigil')
    .description('Vigil: perceptual-hash scanning for hosted media.')
    .version('0.1.0')
    .exitOverride()
    .configureOutput({ writeOut: io.write, writeErr: io.writeError });

  program
    .command('hash')
    .description('hash image files (directories are walked): PDQ, blockhash, SHA-256, SHA-1, MD5')
    .argument('<files...>', 'image files or directories')
    .addOption(
      new Option('--algo <ids>', `comma-separated algorithms (${ALGORITHMS.join(', ')})`)
        .argParser(parseAlgorithmOption)
        .default([...ALGORITHMS], 'all'),
    )
    .addOption(
      new Option('--mode <mode>', 'fast (one decode, shrunk above 1 MP) or reference (full resolution, bit-exact)')
        .choices(['fast', 'reference'])
        .default('fast'),
    )
    .addOption(new Option('--json', 'one JSON object per line and file').conflicts('tsv'))
    .option('--tsv', 'file<TAB>hash per line, in --algo order (errors go to stderr)')
    .option('--all-frames', 'also hash every frame of animations (up to the frame cap)')
    .option('--threads <n>', 'worker threads (default: CPU cores)', parsePositiveInt)
    .option('--max-bytes <n>', 'largest input accepted, bytes', parsePositiveInt, DEFAULT_DECODE_LIMITS.maxInputBytes)
    .option('--max-pixels <n>', 'largest image accepted, pixels per frame', parsePositiveInt, DEFAULT_DECODE_LIMITS.maxPixels)
    .option('--timeout <ms>', 'decode deadline per file, milliseconds', parsePositiveInt, DEFAULT_DECODE_LIMITS.timeoutMs)
    .option('--allow-svg', 'accept SVG input (rendered by librsvg; off by default)')
    .action(async (files: string[], options: HashCliOptions) => {
      const pool = createHashPool(poolOptions(options, env));
      try {
        await runHashCommand(
          files,
          {
            algorithms: options.algo,
            mode: options.mode,
            output: options.json ? 'json' : options.tsv ? 'tsv' : 'table',
            allFrames: options.allFrames ?? false,
            maxInputBytes: options.maxBytes,
          },
          { pool, ...io },
        );
      } finally {
        await pool.close();
      }
    });

  // The database for one command: DATABASE_URL, else the embedded cluster under VIGIL_HOME.
  const withDatabase = async <T>(fn: (pool: Pool) => Promise<T>): Promise<T> => {
    const config = loadRuntimeConfig(env);
    const database = await openDatabase({ ...(config.databaseUrl && { databaseUrl: config.databaseUrl }), home: config.home });
    try {
      return await fn(database.pool);
    } finally {
      await database.close();
    }
  };
  // Lists live in the database.
  const withStore = <T>(fn: (store: ListStore) => Promise<T>): Promise<T> => withDatabase((pool) => fn(new PgListStore(pool)));
  const fail = (message: string) => {
    io.writeError(`${message}\n`);
    result.exitCode = EXIT_FAILED;
  };
  const lists = program.command('lists').description('hash lists: import versions, list them, see what a version changed');

  lists
    .command('import')
    .description('import FILE as the next version of list NAME (a file with any bad line is refused whole)')
    .argument('<file>', 'the list file')
    .requiredOption('--name <name>', 'list name: a lowercase storage key')
    .addOption(new Option('--algo <id>', 'the algorithm of the hashes').choices(LIST_ALGORITHMS).makeOptionMandatory())
    .addOption(new Option('--format <format>', 'file format (see hashlists/FORMATS.md)').choices(LIST_FORMATS).default('plain'))
    .option('--threshold <n>', 'match threshold, Hamming distance (default: pdq 31, blockhash 8, digests 0)', parseNonNegativeInt)
    .addOption(new Option('--action <action>', 'what a match does (default quarantine)').choices(LIST_ACTIONS))
    .option('--dihedral', 'also match rotated and flipped copies (PDQ lists; the default)')
    .option('--no-dihedral', 'match the upright image only')
    .option('--source <text>', 'where this list comes from (default: the file name)')
    .option('--json', 'print the outcome as JSON, then one line per retro match: {"object","list","version","distance"}')
    .option('--no-retro', 'do not retro-match stored content here (the hashlists service still will)')
    .action(async (file: string, options: ImportCliOptions) => {
      let bytes: Uint8Array;
      try {
        bytes = await readFile(file);
      } catch (err) {
        return fail(`cannot read ${file}: ${(err as NodeJS.ErrnoException).code ?? String(err)}`);
      }
      const config = loadRuntimeConfig(env);
      // On the embedded default the retro-match runs here, before returning; a distributed
      // deployment's `hashlists` role runs it from hashlist.updated.v1 instead.
      const retroHere = !config.kafka && options.retro !== false;
      await withDatabase(async (pool) => {
        const outcome = await importList(
          bytes,
          {
            name: options.name,
            algorithm: options.algo,
            format: options.format,
            source: options.source ?? basename(file),
            ...(options.threshold !== undefined && { threshold: options.threshold }),
            ...(options.action !== undefined && { action: options.action }),
            ...(options.dihedral !== undefined && { dihedral: options.dihedral }),
          },
          new PgListStore(pool),
          () => new Date(),
        );
        if (options.json) io.write(`${JSON.stringify(outcome)}\n`);
        for (const issue of outcome.warnings) io.writeError(`${file}:${issue.line}: warning: ${issue.message}\n`);
        if (outcome.status === 'refused') {
          for (const issue of outcome.errors) io.writeError(`${file}:${issue.line}: error: ${issue.message}\n`);
          return fail(`refused: ${outcome.reason}`);
        }
        const { version } = outcome;
        const previous = version.version > 1 ? version.version - 1 : null;
        if (!options.json) {
          const against = previous === null ? 'first version' : `against version ${previous}`;
          io.write(`list ${options.name} version ${version.version}: ${version.entries} entries (${against}: +${version.added} added, -${version.removed} removed, ${version.changed} changed)\n`);
        }
        if (!retroHere) {
          if (!options.json) io.write('retro-match: left to the hashlists service (hashlist.updated.v1)\n');
          return;
        }
        const log = createLogger({ service: 'vigil-lists', level: env.VIGIL_LOG_LEVEL ?? 'error' });
        const update = await processListUpdate({ pool, logger: log, wideMaxDelta: config.retroWideMaxDelta, rule: config.detection.rule }, { listId: options.name, version: version.version, previousVersion: previous });
        const matches = await retroMatchesOf(pool, options.name, version.version);
        if (options.json) {
          for (const m of matches) io.write(`${JSON.stringify({ object: m.object, list: m.list, version: m.version, distance: m.distance })}\n`);
          return;
        }
        const { retro, flags } = update;
        io.write(
          `retro-match: ${retro.matched} stored object(s) matched version ${version.version} (${retro.scanned} stored hashes checked in ${(retro.ms / 1000).toFixed(1)} s, no object fetched)` +
            `${retro.suspended ? `; ${retro.suspended} entr${retro.suspended === 1 ? 'y' : 'ies'} suspended for review (matched far above baseline)` : ''}` +
            `${flags.flagged.length ? `; ${flags.flagged.length} quarantine(s) flagged for review (their entries were withdrawn)` : ''}\n`,
        );
        for (const m of matches) io.write(`  ${m.object}  distance ${m.distance}${m.variant !== 'orig' && m.variant !== 'exact' ? ` (${m.variant})` : ''}\n`);
      });
    });

  lists
    .command('ls')
    .description('the lists, with algorithm, threshold, action and current version')
    .option('--json', 'one JSON object per list')
    .action(async (options: { json?: boolean }) => {
      const manifests = await withStore((store) => store.list());
      if (options.json) {
        for (const { versions, ...list } of manifests) io.write(`${JSON.stringify({ ...list, version: versions.at(-1) })}\n`);
        return;
      }
      if (manifests.length === 0) return io.write('no lists yet: import one with `vigil lists import FILE --name NAME --algo pdq`\n');
      const table = new Table({ head: ['name', 'algorithm', 'threshold', 'action', 'version', 'entries', 'imported'], style: { head: [], border: [] } });
      for (const m of manifests) {
        const v = m.versions.at(-1)!;
        table.push([m.name, m.algorithm + (m.dihedral ? ' (+dihedral)' : ''), m.threshold, m.action, v.version, v.entries, v.importedAt]);
      }
      io.write(`${table.toString()}\n`);
    });

  lists
    .command('diff')
    .description('what a version of list NAME added and removed (counts; external ids with --ids)')
    .argument('<name>', 'list name')
    .argument('[version]', 'the version (default: latest)', parsePositiveInt)
    .option('--ids', 'also list the external ids of added and removed entries')
    .option('--json', 'print the diff as JSON')
    .action(async (name: string, version: number | undefined, options: { ids?: boolean; json?: boolean }) => {
      const report = await withStore((store) => diffList(store, name, version, options.ids ?? false));
      if (!report) return fail(`no list ${name}${version ? ` version ${version}` : ''}`);
      if (options.json) return io.write(`${JSON.stringify(report)}\n`);
      const against = report.previous === null ? 'first version' : `against version ${report.previous}`;
      io.write(`list ${name} version ${report.version} (${against}): +${report.added} added, -${report.removed} removed, ${report.changed} changed\n`);
      if (report.addedIds) io.write(`added: ${report.addedIds.join(', ') || '(none)'}\nremoved: ${report.removedIds!.join(', ') || '(none)'}\n`);
    });

  lists
    .command('sync')
    .description('pull what a source has after its checkpoint into list NAME (each delivery a version), then retro-match it')
    .argument('<name>', 'the list the source feeds')
    .requiredOption('--from <source>', 'folder:DIR, file:PATH, url:URL, ncmec or stopncii (credentials from the environment)')
    .addOption(new Option('--algo <id>', 'the algorithm of the hashes (ncmec: which fingerprint, default md5)').choices(LIST_ALGORITHMS))
    .addOption(new Option('--format <format>', 'file format of drops').choices(LIST_FORMATS).default('plain'))
    .option('--json', 'one JSON line per version written')
    .action(async (name: string, options: { from: string; algo?: ListAlgorithm; format: ListFormat; json?: boolean }) => {
      const source = sourceFor(name, options, env);
      if ('error' in source) return fail(source.error);
      const config = loadRuntimeConfig(env);
      await withDatabase(async (pool) => {
        let versions;
        try {
          versions = await syncSource({ pool, store: new PgListStore(pool) }, source, { name });
        } catch (err) {
          if (!(err instanceof SourceError)) throw err;
          for (const issue of err.issues) io.writeError(`line ${issue.line}: ${issue.message}\n`);
          return fail(`${source.kind}: ${err.message}${err.retriable ? ' (retry later)' : ''}`);
        }
        for (const v of versions) {
          const retro = config.kafka ? null : (await processListUpdate({ pool, wideMaxDelta: config.retroWideMaxDelta, rule: config.detection.rule }, { listId: name, version: v.version, previousVersion: v.version > 1 ? v.version - 1 : null })).retro;
          if (options.json) io.write(`${JSON.stringify({ ...v, ...(retro && { retroMatched: retro.matched }) })}\n`);
          else io.write(`list ${name} version ${v.version} from ${v.label}: ${v.entries} entries (+${v.added} -${v.removed}, ${v.changed} changed)${retro ? `; retro-match: ${retro.matched} stored object(s) matched` : ''}\n`);
        }
        if (versions.length === 0 && !options.json) io.write(`list ${name}: nothing new from ${source.kind}\n`);
      });
    });

  lists
    .command('review')
    .description('what needs a person: entries suspended by the circuit breaker, quarantines whose entries were withdrawn')
    .option('--all', 'also decided ones')
    .option('--json', 'one JSON object per item: {"kind":"suspension"|"flag", ...}')
    .action(async (options: { all?: boolean; json?: boolean }) => {
      await withDatabase(async (pool) => {
        const suspensions = await listSuspensions(pool, { all: options.all ?? false });
        const flags = await listFlags(pool, { all: options.all ?? false });
        if (options.json) {
          for (const item of suspensions) io.write(`${JSON.stringify({ kind: 'suspension', ...item })}\n`);
          for (const item of flags) io.write(`${JSON.stringify({ kind: 'flag', ...item })}\n`);
          return;
        }
        if (suspensions.length + flags.length === 0) return io.write('nothing to review\n');
        for (const s of suspensions) {
          io.write(`suspension ${s.id}  ${s.listId} v${s.listVersion} entry ${s.entryId ?? '(no id)'}: ${s.hits} hits, limit ${s.limit} (${s.status}); decide: vigil lists suspension ${s.id} --reinstate|--confirm --reason TEXT\n`);
        }
        for (const f of flags) {
          io.write(`flag ${f.id}  quarantine ${f.quarantineId} (${f.object}): ${f.reason} in ${f.listId} v${f.listVersion} (${f.status}); keep: vigil lists flag ${f.id} --keep --reason TEXT, or release: vigil quarantine release ${f.quarantineId} --reason TEXT\n`);
        }
      });
    });

  lists
    .command('suspension')
    .description('decide a suspended entry: reinstate it (its retro matches are then recorded) or confirm the suspension')
    .argument('<id>', 'suspension id (vigil lists review)')
    .option('--reinstate', 'the entry acts again')
    .option('--confirm', 'keep it suspended')
    .requiredOption('--reason <text>', 'why, in words an auditor can follow')
    .option('--actor <id>', 'who decides (default cli:<user>)')
    .action(async (id: string, options: { reinstate?: boolean; confirm?: boolean; reason: string; actor?: string }) => {
      if (Boolean(options.reinstate) === Boolean(options.confirm)) return fail('give one of --reinstate or --confirm');
      const config = loadRuntimeConfig(env);
      await withDatabase(async (pool) => {
        try {
          const decided = await decideSuspension(pool, id, { outcome: options.reinstate ? 'reinstate' : 'confirm', actor: options.actor ?? `cli:${safeUser()}`, reason: options.reason });
          io.write(`suspension ${id} ${options.reinstate ? 'reinstated' : 'confirmed'}\n`);
          if (options.reinstate && !config.kafka) {
            const { retro } = await processListUpdate(
              { pool, wideMaxDelta: config.retroWideMaxDelta, rule: config.detection.rule },
              { listId: decided.listId, version: decided.listVersion, previousVersion: decided.listVersion > 1 ? decided.listVersion - 1 : null },
            );
            io.write(`retro-match: ${retro.matched} stored object(s) matched ${decided.listId} version ${decided.listVersion} in all\n`);
          }
        } catch (err) {
          if (!(err instanceof ReviewError)) throw err;
          fail(err.message);
        }
      });
    });

  lists
    .command('flag')
    .description('keep a flagged quarantine (its entries were withdrawn; a person checked it); releasing is vigil quarantine release')
    .argument('<id>', 'flag id (vigil lists review)')
    .requiredOption('--keep', 'keep the quarantine')
    .requiredOption('--reason <text>', 'why, in words an auditor can follow')
    .option('--actor <id>', 'who decides (default cli:<user>)')
    .action(async (id: string, options: { reason: string; actor?: string }) => {
      await withDatabase(async (pool) => {
        try {
          await keepFlagged(pool, id, { actor: options.actor ?? `cli:${safeUser()}`, reason: options.reason });
          io.write(`flag ${id}: quarantine kept\n`);
        } catch (err) {
          if (!(err instanceof ReviewError)) throw err;
          fail(err.message);
        }
      });
    });

  program
    .command('scan')
    .description('scan a folder of files (uploaded to the local upload bucket) or stored objects (s3://bucket/prefix) through the whole pipeline')
    .argument('<target>', 'a file, a directory, or s3://bucket/prefix')
    .option('--json', 'one JSON line per object: {"object","verdict","matches":[...],"reason"}')
    .option('--tenant <id>', 'the tenant the objects belong to', 'local')
    .option('--timeout <s>', 'give up on objects with no verdict after this many seconds without progress', parsePositiveInt, 120)
    .action(async (target: string, options: { json?: boolean; tenant: string; timeout: number }) => {
      const config = loadRuntimeConfig(env);
      const log = createLogger({ service: 'vigil-scan', level: env.VIGIL_LOG_LEVEL ?? 'error' });
      // Evidence and reporting run too, so a match ends preserved and reported (or held, with why).
      // A one-shot command: no metrics listener (it would contend for the port of a running `vigil serve`).
      const runtime = await startRuntime(config, ['scanner', 'actioner', 'evidence', 'reporter'], env, log, { serveMetrics: false });
      let summary: ScanSummary;
      try {
        summary = await runScan(target, {
          bus: runtime.bus,
          pool: runtime.database.pool,
          store: runtime.store,
          uploadBucket: config.uploadBucket,
          tenantId: options.tenant,
          accountId: `cli:${safeUser()}`,
          write: (line) => io.write(options.json ? `${JSON.stringify(line)}\n` : `${formatScanLine(line)}\n`),
          ...(io.progress && { progress: io.progress }),
          idleTimeoutMs: options.timeout * 1000,
        });
      } finally {
        await runtime.close();
      }
      const where = config.s3 ? `s3 bucket ${config.quarantineBucket}` : join(config.home, 'objects', config.quarantineBucket);
      const text = `scanned ${summary.total}: ${summary.clean} clean, ${summary.matched} matched (${summary.quarantined} quarantined, ${summary.review} held for review), ${summary.unscannable} unscannable${summary.failed ? `, ${summary.failed} without a verdict` : ''}${summary.quarantined ? `; quarantine: ${where}` : ''}\n`;
      if (options.json) io.writeError(text);
      else io.write(text);
      if (summary.failed > 0) result.exitCode = EXIT_FAILED;
    });

  program
    .command('rescan')
    .description('rescan stored objects on the bulk lane (after a hashing change, or content never hashed): throttled, checkpointed, resumable')
    .option('--source <url>', 'objects under s3://bucket/prefix')
    .option('--all', 'every object Vigil holds content hashes for')
    .option('--resume <id>', 'continue a rescan run after its last committed object')
    .option('--rate <n>', 'objects announced per second at most', parsePositiveInt)
    .option('--tenant <id>', 'the tenant objects listed from a bucket belong to', 'local')
    .addOption(new Option('--reason <reason>', 'why').choices(['hashing_changed', 'never_hashed', 'operator']).default('operator'))
    .option('--json', 'progress as JSON lines: {"runId","published","total","rate","etaSeconds"}')
    .action(async (options: { source?: string; all?: boolean; resume?: string; rate?: number; tenant: string; reason: 'hashing_changed' | 'never_hashed' | 'operator'; json?: boolean }) => {
      const config = loadRuntimeConfig(env);
      const store = openStore(config);
      // Ctrl-C stops after the batch in flight: its checkpoint is committed, `--resume` continues.
      const stop = new AbortController();
      const onSignal = () => stop.abort();
      process.once('SIGINT', onSignal);
      try {
        await withDatabase(async (pool) => {
          const outcome = await runRescanCommand(
            { pool, store, requestedBy: `cli:${safeUser()}` },
            options,
            { write: io.write, writeError: io.writeError, bar: Boolean(io.progress), signal: stop.signal },
          );
          if (!outcome.ok) return fail(outcome.error);
          const { result } = outcome;
          const text = result.status === 'done'
            ? `rescan ${result.runId}: ${result.published} object(s) announced on the bulk lane\n`
            : `rescan ${result.runId} stopped at ${result.published}/${result.total ?? '?'}; continue with: vigil rescan --resume ${result.runId}\n`;
          if (options.json) io.writeError(text);
          else io.write(text);
        });
      } finally {
        process.removeListener('SIGINT', onSignal);
        await store.close();
      }
    });

  program
    .command('serve')
    .description('run Vigil: the gateway and every service in this process (embedded default), or the roles given')
    .addOption(new Option('--role <role...>', 'services to run here').choices(ROLES))
    .action(async (options: { role?: Role[] }) => {
      const config = loadRuntimeConfig(env);
      const log = createLogger({ service: 'vigil', level: config.logLevel });
      const roles = options.role ?? [...ROLES];
      const runtime = await startRuntime(config, roles, env, log);
      if (runtime.gatewayUrl) io.writeError(`gateway listening on ${runtime.gatewayUrl} (OpenAPI at ${runtime.gatewayUrl}/docs)\n`);
      if (runtime.localTokenFile) io.writeError(`bearer token for the local gateway: ${runtime.localTokenFile}\n`);
      if (runtime.metricsUrl) io.writeError(`metrics (Prometheus) at ${runtime.metricsUrl}\n`);
      const dashboard = await localDashboardUrl(runtime);
      if (dashboard) io.writeError(`dashboard: ${dashboard}\n`);
      await new Promise<void>((resolve) => onShutdown(log, [async () => { await runtime.close(); resolve(); }]));
    });

  const quarantine = program.command('quarantine').description('quarantined objects: list them, release one (audited)');
  quarantine
    .command('ls')
    .description('quarantine records, newest first')
    .option('--status <status>', 'pending, applied, released or failed')
    .option('--tenant <id>', 'only this tenant')
    .option('--json', 'one JSON object per record')
    .action(async (options: { status?: string; tenant?: string; json?: boolean }) => {
      await withDatabase(async (pool) => {
        const records = await listQuarantine(pool, { ...(options.status && { status: options.status as never }), ...(options.tenant && { tenantId: options.tenant }) });
        if (options.json) return void records.forEach((r) => io.write(`${JSON.stringify(r)}\n`));
        if (records.length === 0) return io.write('no quarantine records\n');
        const table = new Table({ head: ['id', 'status', 'tenant', 'original', 'quarantined', 'at'], style: { head: [], border: [] } });
        for (const r of records) table.push([r.id, r.status + (r.reason ? ` (${r.reason})` : ''), r.tenantId, `${r.bucket}/${r.key}`, r.quarantineKey ?? '', (r.appliedAt ?? r.createdAt).toISOString()] as string[]);
        io.write(`${table.toString()}\n`);
      });
    });
  quarantine
    .command('release')
    .description('restore a quarantined object to its original location; recorded with actor and reason in the audit log')
    .argument('<id>', 'quarantine record id')
    .requiredOption('--reason <text>', 'why, in words an auditor can follow')
    .option('--actor <id>', 'who releases (default cli:<user>)')
    .action(async (id: string, options: { reason: string; actor?: string }) => {
      const config = loadRuntimeConfig(env);
      const store = openStore(config);
      try {
        await withDatabase(async (pool) => {
          try {
            const record = await releaseQuarantine({ pool, store }, { quarantineId: id, actor: options.actor ?? `cli:${safeUser()}`, reason: options.reason });
            io.write(`released ${record.id}: restored to ${record.bucket}/${record.key}\n`);
          } catch (err) {
            if (!(err instanceof ReleaseError)) throw err;
            fail(`${err.code}: ${err.message}`);
          }
        });
      } finally {
        await store.close();
      }
    });

  program
    .command('lookup')
    .description('match hashes against one list (a stored list or a list file); - reads hashes from standard input')
    .argument('<hashes...>', 'query hashes, or - for standard input (one a line)')
    .requiredOption('--list <file|name>', 'a list file, or the name of a stored list')
    .addOption(new Option('--algo <id>', 'the algorithm of the query hashes').choices(LIST_ALGORITHMS).default('pdq'))
    .addOption(new Option('--format <format>', 'format of a list file').choices(LIST_FORMATS).default('plain'))
    .option('--threshold <n>', 'match threshold (default: the list\'s, else per algorithm)', parseNonNegativeInt)
    .option('--json', 'one JSON object per query: {"query","matches":[{"id","hash","distance"}]}')
    .action(async (hashes: string[], options: LookupCliOptions) => {
      const list = await loadLookupList(options, withStore);
      if ('error' in list) return fail(list.error);
      const queries = hashes.includes('-') ? (await (io.readStdin ?? (() => Promise.resolve('')))()).split(/\s+/).filter(Boolean) : hashes;
      const lookup = createLookup(list.entries, list.algorithm, options.threshold ?? list.threshold);
      for (const query of queries) {
        const line = lookup(query);
        if (options.json) io.write(`${JSON.stringify(line)}\n`);
        else if ('error' in line) io.write(`${query}  error: ${line.error}\n`);
        else io.write(`${query}  ${line.matches.length} match(es)${line.matches.map((m) => `\n  distance ${m.distance}  id ${m.id ?? '(none)'}`).join('')}\n`);
      }
    });

  program
    .command('rule')
    .description('check and print the detection rule in effect: VIGIL_DETECTION_RULE (a JSON file, or the JSON) over the default')
    .option('--json', 'one JSON object: {"fingerprint","source","changes","rule"}')
    .action((options: { json?: boolean }) => {
      let detection;
      try {
        ({ detection } = loadRuntimeConfig(env));
      } catch (err) {
        return fail((err as Error).message);
      }
      const changes = ruleChanges(detection.rule);
      const { fingerprint, source, rule } = detection;
      if (options.json) return io.write(`${JSON.stringify({ fingerprint, source, changes, rule })}\n`);
      const changed = Object.entries(changes).map(([path, value]) => `  ${path}: ${JSON.stringify(value)}\n`).join('');
      io.write(`detection rule ${fingerprint} (${source === 'default' ? 'the default' : `from ${source}`})\n`);
      io.write(changed ? `differs from the default (measured in docs/detection-quality.md; re-measure with npm run eval -- --rule FILE):\n${changed}` : 'the default, as measured in docs/detection-quality.md\n');
      io.write(`${JSON.stringify(rule, null, 2)}\n`);
    });

  const operator = {
    write: io.write,
    fail,
    withDatabase,
    withObjectStore: async <T>(fn: (store: ReturnType<typeof openStore>) => Promise<T>): Promise<T> => {
      const store = openStore(loadRuntimeConfig(env));
      try {
        return await fn(store);
      } finally {
        await store.close();
      }
    },
    defaultActor: `cli:${safeUser()}`,
  };
  registerEvidenceCommands(program, operator);
  registerReportCommands(program, operator);
  registerDemoCommand(program, env, io, (code) => void (result.exitCode = code));

  return program;
}

interface ImportCliOptions {
  name: string;
  algo: ListAlgorithm;
  format: ListFormat;
  threshold?: number;
  action?: ListAction;
  dihedral?: boolean;
  source?: string;
  json?: boolean;
  retro?: boolean;
}

interface LookupCliOptions {
  list: string;
  algo: ListAlgorithm;
  format: ListFormat;
  threshold?: number;
  json?: boolean;
}

/** The list to look up in: a file on disk first, else a stored list of that name. */
async function loadLookupList(
  options: LookupCliOptions,
  withStore: <T>(fn: (store: ListStore) => Promise<T>) => Promise<T>,
): Promise<{ entries: StoredEntry[]; algorithm: ListAlgorithm; threshold: number } | { error: string }> {
  let bytes: Buffer | null = null;
  try {
    bytes = await readFile(options.list);
  } catch {
    bytes = null;
  }
  if (bytes) {
    const parsed = parseList(bytes.toString('utf8'), { format: options.format, algorithm: options.algo });
    if (parsed.errors.length > 0) {
      const first = parsed.errors[0]!;
      return { error: `${options.list}: ${parsed.errors.length} line(s) with errors (line ${first.line}: ${first.message}); refused` };
    }
    const entries = parsed.entries
      .filter((e) => e.algorithm === options.algo)
      .map(({ hash, externalId }) => ({ hash, ...(externalId && { externalId }) }));
    return { entries, algorithm: options.algo, threshold: DEFAULT_THRESHOLDS[options.algo] };
  }
  return withStore(async (store) => {
    const manifest = await store.get(options.list);
    if (!manifest) return { error: `no list file or stored list named ${options.list}` };
    return { entries: await store.entries(manifest.name), algorithm: manifest.algorithm, threshold: manifest.threshold };
  });
}

function safeUser(): string {
  try {
    return userInfo().username;
  } catch {
    return 'unknown';
  }
}

function formatScanLine(line: ScanLine): string {
  if (line.error) return `${line.object}  error: ${line.error}`;
  const nearest = line.matches?.[0];
  const detail = nearest ? `  ${nearest.list} v${nearest.listVersion} ${nearest.algorithm} distance ${nearest.distance} (${line.action})` : line.reason ? `  ${line.reason}` : '';
  const moved = line.quarantine ? `  quarantine: ${line.quarantine.status}${line.quarantine.reason ? ` (${line.quarantine.reason})` : ''}` : '';
  const reported = line.report ? `  report: ${line.report.status}${line.report.externalReportId ? ` ${line.report.externalReportId}` : ''}${line.report.status === 'held' && line.report.reason ? ` (${line.report.reason})` : ''}` : '';
  return `${line.object}  ${line.verdict}${detail}${moved}${line.evidence ? `  evidence: ${line.evidence.id}` : ''}${reported}`;
}

async function text(stream: NodeJS.ReadableStream): Promise<string> {
  let out = '';
  for await (const chunk of stream) out += chunk.toString();
  return out;
}

function parseNonNegativeInt(value: string): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n < 0) throw new InvalidArgumentError(`expected a non-negative integer, got "${value}"`);
  return n;
}

interface HashCliOptions {
  algo: ReturnType<typeof parseAlgorithms>;
  mode: 'fast' | 'reference';
  json?: boolean;
  tsv?: boolean;
  allFrames?: boolean;
  threads?: number;
  maxBytes: number;
  maxPixels: number;
  timeout: number;
  allowSvg?: boolean;
}

function poolOptions(options: HashCliOptions, env: NodeJS.ProcessEnv): HashPoolOptions {
  const threads = options.threads ?? (env.VIGIL_HASH_THREADS ? Number(env.VIGIL_HASH_THREADS) : undefined);
  return {
    ...(threads !== undefined && { threads }),
    limits: {
      maxInputBytes: options.maxBytes,
      maxPixels: options.maxPixels,
      timeoutMs: options.timeout,
      formats: options.allowSvg ? [...DEFAULT_DECODE_LIMITS.formats, 'svg'] : DEFAULT_DECODE_LIMITS.formats,
    },
  };
}

function parseAlgorithmOption(value: string) {
  try {
    return parseAlgorithms(value);
  } catch (err) {
    throw new InvalidArgumentError((err as Error).message);
  }
}

function parsePositiveInt(value: string): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n <= 0) throw new InvalidArgumentError(`expected a positive integer, got "${value}"`);
  return n;
}
