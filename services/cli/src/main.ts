// Composition root of the `vigil` command: parses argv (commander), builds the hashing pool from
// options, runs the command and maps the result to an exit code (0 done, 2 usage error).

import { Command, CommanderError, InvalidArgumentError, Option } from 'commander';
import { ALGORITHMS, createHashPool, DEFAULT_DECODE_LIMITS, type HashPoolOptions } from '@vigil/hashing';
import { SingleBar, Presets } from 'cli-progress';
import { parseAlgorithms, runHashCommand, type Progress } from './commands/hash.ts';

export const EXIT_OK = 0;
export const EXIT_USAGE = 2;

export interface CliIo {
  write: (text: string) => void;
  writeError: (text: string) => void;
  progress?: (total: number) => Progress;
}

const processIo: CliIo = {
  write: (text) => void process.stdout.write(text),
  writeError: (text) => void process.stderr.write(text),
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
  const program = createProgram(env, io);
  try {
    await program.parseAsync(argv as string[]);
    return EXIT_OK;
  } catch (err) {
    if (err instanceof CommanderError) return err.exitCode === 0 ? EXIT_OK : EXIT_USAGE;
    throw err;
  }
}

function createProgram(env: NodeJS.ProcessEnv, io: CliIo): Command {
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

  return program;
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
