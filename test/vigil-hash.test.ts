// The built `vigil` binary against the reference vectors, spawned as a user would run it
// (`npx vigil hash --json ...`): what a user sees must agree with the references.
import { execFile } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const vigil = join(root, 'node_modules/.bin/vigil');
const vectors = process.env.VIGIL_VECTORS_DIR ?? resolve(root, '../shared/vectors');
const exec = promisify(execFile);

interface PdqVector {
  file: string;
  hash: string;
  quality: number;
}

async function vigilHash(...args: string[]) {
  const { stdout } = await exec(vigil, ['hash', ...args], { cwd: root, maxBuffer: 64 * 1024 * 1024 });
  return stdout.trim().split('\n').map((line) => JSON.parse(line) as Record<string, unknown>);
}

describe('npx vigil hash (built binary)', () => {
  it('is installed as a bin by npm ci', () => {
    expect(existsSync(vigil), `${vigil} missing: run npm ci at the repository root`).toBe(true);
  });

  it('reproduces every PDQ reference vector in reference mode, in one run over the folder', async () => {
    const expected = JSON.parse(readFileSync(join(vectors, 'pdq/expected.json'), 'utf8')) as PdqVector[];
    const lines = await vigilHash('--json', '--mode', 'reference', '--algo', 'pdq', join(vectors, 'pdq'));
    const byFile = new Map(lines.map((line) => [String(line.file).split('/').pop(), line]));
    for (const vector of expected) {
      expect(byFile.get(vector.file), vector.file).toMatchObject({ pdq: vector.hash, pdqQuality: vector.quality });
    }
    // expected.json itself is in the folder: it gets its own error line.
    expect(byFile.get('expected.json')).toMatchObject({ error: { code: 'unsupported_format' } });
  });

  it('exits 2 on a usage error', async () => {
    await expect(exec(vigil, ['hash', '--algo', 'bogus', 'x'])).rejects.toMatchObject({ code: 2 });
  });
});
