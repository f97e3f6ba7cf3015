// `vigil hash`: hashes image files through the worker pool and prints one result per file, in
// input order, as JSON lines, TSV or a table. Bad files get an error line, never an abort.

import { open } from 'node:fs/promises';
import {
  ALGORITHMS,
  type Algorithm,
  type HashMode,
  type HashOutcome,
  type HashPool,
  type HashRequest,
  type UnscannableReason,
} from '@vigil/hashing';
import { expandInputs, type InputFile } from '../inputs.ts';
import { renderTable } from '../table.ts';

export interface HashCommandOptions {
  algorithms: readonly Algorithm[];
  mode: HashMode;
  output: 'json' | 'tsv' | 'table';
  allFrames: boolean;
  maxInputBytes: number;
}

export interface HashLine {
  file: string;
  [field: string]: unknown;
}

export interface HashCommandDeps {
  pool: HashPool;
  write: (text: string) => void;
  writeError: (text: string) => void;
  /** A progress display for `total` files, when the terminal wants one. */
  progress?: (total: number) => Progress;
}

export interface Progress {
  tick(): void;
  stop(): void;
}

/** Parses `--algo`: comma-separated algorithm ids. Throws a usage error on an unknown one. */
export function parseAlgorithms(value: string): Algorithm[] {
  const ids = value.split(',').map((id) => id.trim().toLowerCase()).filter(Boolean);
  const unknown = ids.filter((id) => !(ALGORITHMS as readonly string[]).includes(id));
  if (ids.length === 0 || unknown.length > 0) {
    throw new Error(`unknown algorithm ${unknown.join(', ') || '(none)'}; choose from ${ALGORITHMS.join(', ')}`);
  }
  return [...new Set(ids)] as Algorithm[];
}

/** Hashes every input, `threads x 4` in flight, printing results in input order. Returns the line count. */
export async function runHashCommand(paths: readonly string[], options: HashCommandOptions, deps: HashCommandDeps): Promise<number> {
  const request: HashRequest = { algorithms: options.algorithms, mode: options.mode, allFrames: options.allFrames };
  const inputs: InputFile[] = [];
  for await (const input of expandInputs(paths)) inputs.push(input);
  const progress = deps.progress?.(inputs.length);
  const window = deps.pool.threads * 4;
  const pending: Promise<HashLine>[] = [];
  let lines = 0;

  const emit = (line: HashLine) => {
    lines++;
    progress?.tick();
    if (options.output === 'json') deps.write(`${JSON.stringify(line)}\n`);
    else if (options.output === 'tsv') writeTsv(line, options.algorithms, deps);
    else deps.write(renderTable(line, options.algorithms));
  };

  try {
    for (const input of inputs) {
      pending.push(hashInput(input, request, options.maxInputBytes, deps.pool));
      if (pending.length >= window) emit(await pending.shift()!);
    }
    for (const line of pending) emit(await line);
  } finally {
    progress?.stop();
  }
  return lines;
}

async function hashInput(input: InputFile, request: HashRequest, maxInputBytes: number, pool: HashPool): Promise<HashLine> {
  if (input.error) return errorLine(input.path, 'unreadable', input.error);
  let bytes: Uint8Array;
  try {
    bytes = await readCapped(input.path, maxInputBytes);
  } catch (err) {
    if (err instanceof TooLarge) return errorLine(input.path, 'too_large', err.message);
    return errorLine(input.path, 'unreadable', (err as NodeJS.ErrnoException).code ?? String(err));
  }
  return toLine(input.path, await pool.hash(bytes, request));
}

class TooLarge extends Error {}

/** Reads a file, refusing (without reading it) one larger than the decoder would accept. */
async function readCapped(path: string, maxBytes: number): Promise<Uint8Array> {
  const handle = await open(path, 'r');
  try {
    const { size } = await handle.stat();
    if (size > maxBytes) throw new TooLarge(`${size} bytes exceeds the limit of ${maxBytes}`);
    return await handle.readFile();
  } finally {
    await handle.close();
  }
}

export function toLine(file: string, outcome: HashOutcome): HashLine {
  if (outcome.status === 'unscannable') return { ...errorLine(file, outcome.reason, outcome.message), ...outcome.exact };
  const { mode, format, width, height, orientation, frameCount, sha256, sha1, md5, blockhash, pdq, pdqQuality, pdqDihedral, pdqOriented, frames } =
    outcome.hashes;
  return dropUndefined({
    file,
    sha256,
    sha1,
    md5,
    blockhash,
    pdq,
    pdqQuality,
    pdqDihedral,
    pdqOriented,
    width,
    height,
    format,
    orientation,
    frameCount,
    frames,
    mode,
  });
}

function errorLine(file: string, code: UnscannableReason | 'unreadable', message: string): HashLine {
  return { file, error: { code, message } };
}

function writeTsv(line: HashLine, algorithms: readonly Algorithm[], deps: HashCommandDeps): void {
  if (line.error) {
    const { code, message } = line.error as { code: string; message: string };
    deps.writeError(`${line.file}: ${code}: ${message}\n`);
    return;
  }
  deps.write(`${[line.file, ...algorithms.map((algorithm) => String(line[algorithm] ?? ''))].join('\t')}\n`);
}

function dropUndefined(line: HashLine): HashLine {
  return Object.fromEntries(Object.entries(line).filter(([, value]) => value !== undefined)) as HashLine;
}
