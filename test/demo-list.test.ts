// The committed benign demo list, end to end through the built binary: regenerated demo images
// and their resized, recompressed copies are hashed by `vigil hash`, the list is imported with
// `vigil lists import`, and `vigil lookup` finds the right entries.
import { execFile } from 'node:child_process';
import { mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import sharp from 'sharp';
import { describe, expect, it } from 'vitest';
import { demoImage } from '../hashlists/demo/build-demo-list.mjs';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const vigil = join(root, 'node_modules/.bin/vigil');
const exec = promisify(execFile);

describe('the benign demo list', () => {
  it('matches regenerated demo images and their resized copies, and nothing else', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'vigil-demo-'));
    const home = await mkdtemp(join(tmpdir(), 'vigil-home-'));
    const env = { ...process.env, VIGIL_HOME: home };
    const original = await demoImage(7);
    await writeFile(join(dir, 'a-original.jpg'), original);
    await writeFile(join(dir, 'b-resized.jpg'), await sharp(original).resize(320).jpeg({ quality: 70 }).toBuffer());
    await writeFile(join(dir, 'c-unrelated.jpg'), await demoImage(1000));

    const imported = await exec(vigil, ['lists', 'import', join(root, 'hashlists/demo/demo-pdq.csv'), '--name', 'demo-pdq', '--algo', 'pdq'], { env });
    expect(imported.stdout).toMatch(/^list demo-pdq version 1: 24 entries \(first version: \+24 added, -0 removed, 0 changed\)\nretro-match: 0 stored object\(s\) matched version 1 \(0 stored hashes checked in [\d.]+ s, no object fetched\)\n$/);

    const hashed = await exec(vigil, ['hash', '--tsv', '--algo', 'pdq', dir], { env });
    const queries = hashed.stdout.trim().split('\n').map((line) => line.split('\t')[1]!);
    expect(queries).toHaveLength(3);

    const looked = await exec(vigil, ['lookup', '--list', 'demo-pdq', '--json', ...queries], { env });
    const [original7, resized7, unrelated] = looked.stdout.trim().split('\n').map((line) => JSON.parse(line));
    expect(original7.matches).toEqual([expect.objectContaining({ id: 'demo-007', distance: 0 })]);
    expect(resized7.matches).toEqual([expect.objectContaining({ id: 'demo-007' })]);
    expect(resized7.matches[0].distance).toBeLessThanOrEqual(31);
    expect(unrelated.matches).toEqual([]);
  });
});
