// Human-readable output of `vigil hash`: one key/value table per file, printed as each file is
// done (hashes are 64 characters, too wide for one row per file).

import Table from 'cli-table3';
import type { Algorithm } from '@vigil/hashing';
import type { HashLine } from './commands/hash.ts';

/** One file's result as a key/value table, ready to print. */
export function renderTable(line: HashLine, algorithms: readonly Algorithm[]): string {
  const table = new Table({ head: ['file', line.file], style: { head: [], border: [] }, wordWrap: false });
  if (line.error) {
    const { code, message } = line.error as { code: string; message: string };
    table.push({ error: `${code}: ${message}` });
  } else if (line.format !== undefined) {
    const orientation = line.orientation !== undefined && line.orientation !== 1 ? `, EXIF orientation ${line.orientation}` : '';
    table.push({ image: `${line.format} ${line.width}x${line.height}${orientation}` });
  }
  for (const algorithm of algorithms) {
    const value = line[algorithm];
    if (value === undefined) continue;
    const note = algorithm === 'pdq' && line.pdqQuality !== undefined ? `  (quality ${line.pdqQuality})` : '';
    table.push({ [algorithm]: `${String(value)}${note}` });
  }
  const oriented = line.pdqOriented as { hash: string; quality: number } | undefined;
  if (oriented) table.push({ 'pdq (as displayed)': `${oriented.hash}  (quality ${oriented.quality})` });
  return `${table.toString()}\n\n`;
}
