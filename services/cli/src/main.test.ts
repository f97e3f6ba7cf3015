import { mkdtemp, mkdir, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { encode, naturalScene, pngWithDeclaredSize } from '@vigil/testkit';
import { beforeAll, describe, expect, it } from 'vitest';
import { EXIT_FAILED, EXIT_OK, EXIT_USAGE, main } from './main.ts';

async function run(...args: string[]) {
  return runWith({}, ...args);
}

async function runWith(env: NodeJS.ProcessEnv, ...args: string[]) {
  let stdout = '';
  let stderr = '';
  const progress = { total: -1, ticks: 0, stopped: false };
  const code = await main(['node', 'vigil', ...args], { VIGIL_HASH_THREADS: '2', ...env }, {
    write: (text) => void (stdout += text),
    writeError: (text) => void (stderr += text),
    progress: (total) => {
      progress.total = total;
      return { tick: () => void progress.ticks++, stop: () => void (progress.stopped = true) };
    },
  });
  return { code, stdout, stderr, progress, lines: () => stdout.trim().split('\n').map((line) => JSON.parse(line) as Record<string, any>) };
}

let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'vigil-cli-'));
  await mkdir(join(dir, 'nested'));
  await writeFile(join(dir, 'a.jpg'), await encode(await naturalScene(400, 300, 1), 'jpeg'));
  await writeFile(join(dir, 'nested', 'b.png'), await encode(await naturalScene(300, 200, 2), 'png'));
  await writeFile(join(dir, 'nested', 'bomb.png'), pngWithDeclaredSize(50000, 50000));
  await writeFile(join(dir, 'notes.txt'), 'not an image');
});

describe('vigil hash', () => {
  it('prints one JSON line per file, in input order, walking directories', async () => {
    const result = await run('hash', '--json', dir);
    expect(result.code).toBe(EXIT_OK);
    const lines = result.lines();
    expect(lines.map((l) => l.file)).toEqual(['a.jpg', 'nested/b.png', 'nested/bomb.png', 'notes.txt'].map((f) => join(dir, f)));
    const [jpeg, png, bomb, text] = lines;
    expect(Object.keys(jpeg!)).toEqual(expect.arrayContaining(['file', 'sha256', 'sha1', 'md5', 'blockhash', 'pdq', 'pdqQuality', 'pdqDihedral', 'width', 'height', 'format']));
    expect(jpeg).toMatchObject({ width: 400, height: 300, format: 'jpeg', mode: 'fast' });
    expect(jpeg!.pdqQuality).toBeGreaterThanOrEqual(50);
    expect(jpeg!.pdqQuality).toBeLessThanOrEqual(100);
    expect(jpeg!.pdq).toMatch(/^[0-9a-f]{64}$/);
    expect(Object.keys(jpeg!.pdqDihedral)).toHaveLength(8);
    expect(png).toMatchObject({ format: 'png', width: 300, height: 200 });
    expect(bomb!.error).toMatchObject({ code: 'too_many_pixels' });
    expect(text!.error).toMatchObject({ code: 'unsupported_format' });
    expect(text!.sha256).toMatch(/^[0-9a-f]{64}$/);
  });

  it('reports progress over every file, then stops the display', async () => {
    const result = await run('hash', '--json', dir);
    expect(result.progress).toEqual({ total: 4, ticks: 4, stopped: true });
  });

  it('answers a missing file with an error line and still exits 0', async () => {
    const result = await run('hash', '--json', join(dir, 'missing.jpg'));
    expect(result.code).toBe(EXIT_OK);
    expect(result.lines()).toEqual([{ file: join(dir, 'missing.jpg'), error: { code: 'unreadable', message: 'ENOENT' } }]);
  });

  it('limits output to the chosen algorithms and honours --mode reference', async () => {
    const line = (await run('hash', '--json', '--algo', 'md5,pdq', '--mode', 'reference', join(dir, 'a.jpg'))).lines()[0]!;
    expect(line.md5).toMatch(/^[0-9a-f]{32}$/);
    expect(line.pdq).toMatch(/^[0-9a-f]{64}$/);
    expect(line.sha256).toBeUndefined();
    expect(line.blockhash).toBeUndefined();
    expect(line.mode).toBe('reference');
  });

  it('refuses files over --max-bytes without reading them', async () => {
    const line = (await run('hash', '--json', '--max-bytes', '100', join(dir, 'a.jpg'))).lines()[0]!;
    expect(line.error).toMatchObject({ code: 'too_large' });
  });

  it('prints TSV in --algo order, errors to stderr', async () => {
    const result = await run('hash', '--tsv', '--algo', 'pdq,sha256', join(dir, 'a.jpg'), join(dir, 'notes.txt'));
    const rows = result.stdout.trim().split('\n').map((row) => row.split('\t'));
    expect(rows).toHaveLength(1);
    expect(rows[0]![0]).toBe(join(dir, 'a.jpg'));
    expect(rows[0]![1]).toMatch(/^[0-9a-f]{64}$/);
    expect(rows[0]![2]).toMatch(/^[0-9a-f]{64}$/);
    expect(result.stderr).toContain('notes.txt: unsupported_format');
  });

  it('prints a readable table by default', async () => {
    const result = await run('hash', join(dir, 'a.jpg'));
    expect(result.code).toBe(EXIT_OK);
    expect(result.stdout).toContain('jpeg 400x300');
    expect(result.stdout).toMatch(/pdq +│ [0-9a-f]{64}  \(quality \d+\)/);
    expect(result.stdout).not.toContain('\u001b');
  });

  it.each([
    [['hash', '--algo', 'pdq,nope', 'x.jpg'], 'unknown algorithm nope'],
    [['hash', '--mode', 'turbo', 'x.jpg'], 'turbo'],
    [['hash'], 'missing required argument'],
    [['hash', '--threads', '0', 'x.jpg'], 'positive integer'],
    [['frobnicate'], 'unknown command'],
    [['hash', '--json', '--tsv', 'x.jpg'], 'cannot be used with'],
  ])('exits %s with a usage error', async (args, message) => {
    const result = await run(...args);
    expect(result.code).toBe(EXIT_USAGE);
    expect(result.stderr).toContain(message);
    expect(result.stdout).toBe('');
  });
});

describe('vigil rule', () => {
  it('prints the default rule and says it is the measured one', async () => {
    const result = await run('rule');
    expect(result.code).toBe(EXIT_OK);
    expect(result.stdout).toMatch(/^detection rule r-[0-9a-f]{12} \(the default\)\nthe default, as measured in docs\/detection-quality\.md\n\{/);
    expect(JSON.parse(result.stdout.slice(result.stdout.indexOf('{')))).toMatchObject({ region: true, overlay: true, lowQualityPdqMax: 16 });
  });

  it('shows what a rule file changes, with a fingerprint of its own', async () => {
    const file = join(dir, 'rule.json');
    await writeFile(file, JSON.stringify({ overlay: false, extraMax: { watermark: { max: 31 } } }));
    const text = await runWith({ VIGIL_DETECTION_RULE: file }, 'rule');
    expect(text.code).toBe(EXIT_OK);
    expect(text.stdout).toContain(`(from ${file})\ndiffers from the default`);
    expect(text.stdout).toContain('  overlay: false\n  extraMax.watermark.max: 31\n');
    const json = (await runWith({ VIGIL_DETECTION_RULE: file }, 'rule', '--json')).lines()[0]!;
    expect(json).toMatchObject({ source: file, changes: { overlay: false, 'extraMax.watermark.max': 31 }, rule: { overlay: false, extraMax: { watermark: { beyond: 1, max: 31 } } } });
    expect(json.fingerprint).not.toBe((await run('rule', '--json')).lines()[0]!.fingerprint);
  });

  it('refuses a rule it cannot honour, saying why', async () => {
    const result = await runWith({ VIGIL_DETECTION_RULE: '{"uncrop": [0.955]}' }, 'rule');
    expect(result.code).toBe(EXIT_FAILED);
    expect(result.stderr).toContain('VIGIL_DETECTION_RULE: detection rule: uncrop.0: a kept share is a whole percentage');
    expect(result.stdout).toBe('');
  });
});
