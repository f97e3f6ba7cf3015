import { mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { resolvePostgres } from '@vigil/testkit/services';
import { beforeEach, describe, expect, it } from 'vitest';
import { EXIT_FAILED, EXIT_OK, EXIT_USAGE, main } from './main.ts';

/** Synthetic 256-bit values (never real list content): n in the last hex digits. */
const h = (n: number) => n.toString(16).padStart(64, '0');
/** h(n) with the top `bits` bits set: `bits` away from h(n) when n is small. */
const near = (n: number, bits: number) => (BigInt(`0x${h(n)}`) | (((1n << BigInt(bits)) - 1n) << BigInt(256 - bits))).toString(16).padStart(64, '0');

const postgres = await resolvePostgres('vigil lists (lists live in Postgres)');

let home: string;
let dir: string;
let databaseUrl: string;

async function vigil(args: string[], stdin = '') {
  let stdout = '';
  let stderr = '';
  const code = await main(['node', 'vigil', ...args], { VIGIL_HOME: home, DATABASE_URL: databaseUrl }, {
    write: (text) => void (stdout += text),
    writeError: (text) => void (stderr += text),
    readStdin: async () => stdin,
  });
  return { code, stdout, stderr };
}

async function listFile(name: string, lines: string[]) {
  const path = join(dir, name);
  await writeFile(path, `${lines.join('\n')}\n`);
  return path;
}

beforeEach(async () => {
  if (postgres.available) databaseUrl = await postgres.service.createDatabase();
  home = await mkdtemp(join(tmpdir(), 'vigil-home-'));
  dir = await mkdtemp(join(tmpdir(), 'vigil-lists-'));
});

describe.skipIf(!postgres.available)('vigil lists', () => {
  it('imports versions, diffs them, and never prints a hash', async () => {
    const v1 = await listFile('v1.csv', [`${h(1)},E-1,A1`, `${h(2)},E-2`, `${h(3)},E-3`]);
    const v2 = await listFile('v2.csv', [`${h(2)},E-2`, `${h(3)},E-3,B2`, `${h(4)},E-4`]);
    const first = await vigil(['lists', 'import', v1, '--name', 'demo-pdq', '--algo', 'pdq']);
    // The diff, then the retro-match against stored content (none here: nothing was scanned).
    expect(first).toMatchObject({ code: EXIT_OK });
    expect(first.stdout).toMatch(/^list demo-pdq version 1: 3 entries \(first version: \+3 added, -0 removed, 0 changed\)\nretro-match: 0 stored object\(s\) matched version 1 \(0 stored hashes checked in [\d.]+ s, no object fetched\)\n$/);
    const second = await vigil(['lists', 'import', v2, '--name', 'demo-pdq', '--algo', 'pdq', '--threshold', '20', '--action', 'block']);
    expect(second.stdout.split('\n')[0]).toBe('list demo-pdq version 2: 3 entries (against version 1: +1 added, -1 removed, 1 changed)');

    const ls = JSON.parse((await vigil(['lists', 'ls', '--json'])).stdout);
    expect(ls).toMatchObject({ name: 'demo-pdq', algorithm: 'pdq', threshold: 20, action: 'block', dihedral: true, source: 'v2.csv', version: { version: 2, entries: 3, added: 1, removed: 1 } });
    expect((await vigil(['lists', 'ls'])).stdout).toMatch(/demo-pdq .*pdq \(\+dihedral\).*20.*block.*2.*3/);

    const diff = JSON.parse((await vigil(['lists', 'diff', 'demo-pdq', '--ids', '--json'])).stdout);
    expect(diff).toEqual({ name: 'demo-pdq', version: 2, previous: 1, added: 1, removed: 1, changed: 1, addedIds: ['E-4'], removedIds: ['E-1'] });
    expect((await vigil(['lists', 'diff', 'demo-pdq', '1'])).stdout).toBe('list demo-pdq version 1 (first version): +3 added, -0 removed, 0 changed\n');


    const everything = [first, second].map((r) => r.stdout + r.stderr).join('') + JSON.stringify(ls) + JSON.stringify(diff);
    for (const n of [1, 2, 3, 4]) expect(everything).not.toContain(h(n));
  });

  it('refuses a file with any bad line whole, naming the line, and keeps the current version', async () => {
    await vigil(['lists', 'import', await listFile('good.csv', [h(1), h(2)]), '--name', 'l', '--algo', 'pdq']);
    const bad = await listFile('bad.csv', [h(3), h(4).slice(1), 'zz']);
    const result = await vigil(['lists', 'import', bad, '--name', 'l', '--algo', 'pdq']);
    expect(result.code).toBe(EXIT_FAILED);
    expect(result.stderr).toContain(`${bad}:2: error: expected 64 hex characters`);
    expect(result.stderr).toContain(`${bad}:3: error:`);
    expect(result.stderr).toContain('refused: 2 line(s) with errors: nothing imported');
    expect(result.stderr).not.toContain(h(4).slice(1));
    expect(JSON.parse((await vigil(['lists', 'ls', '--json'])).stdout).version).toMatchObject({ version: 1, entries: 2 });
  });

  it('refuses to change an existing list\'s algorithm, a bad name, and an unknown list', async () => {
    const file = await listFile('l.csv', [h(1)]);
    await vigil(['lists', 'import', file, '--name', 'l', '--algo', 'pdq']);
    expect(await vigil(['lists', 'import', file, '--name', 'l', '--algo', 'blockhash'])).toMatchObject({ code: EXIT_FAILED, stderr: expect.stringContaining('holds pdq hashes') });
    expect((await vigil(['lists', 'import', file, '--name', 'Bad Name', '--algo', 'pdq'])).code).toBe(EXIT_FAILED);
    expect((await vigil(['lists', 'diff', 'nope'])).code).toBe(EXIT_FAILED);
    expect((await vigil(['lists', 'import', file, '--name', 'l'])).code).toBe(EXIT_USAGE);
  });

  it('imports one algorithm from an NCMEC-style export that mixes several', async () => {
    const md5 = 'c'.repeat(32);
    const file = await listFile('ncmec.csv', ['id,md5,sha1,pdq,classification', `N-1,${md5},${'d'.repeat(40)},${h(9)},A1`]);
    const result = await vigil(['lists', 'import', file, '--name', 'ncmec-md5', '--algo', 'md5', '--format', 'ncmec-csv']);
    expect(result.stdout.split('\n')[0]).toBe('list ncmec-md5 version 1: 1 entries (first version: +1 added, -0 removed, 0 changed)');
    expect(JSON.parse((await vigil(['lists', 'ls', '--json'])).stdout)).toMatchObject({ threshold: 0, dihedral: false });
    const lookup = JSON.parse((await vigil(['lookup', '--list', 'ncmec-md5', '--algo', 'md5', '--json', md5.toUpperCase()])).stdout);
    expect(lookup).toEqual({ query: md5.toUpperCase(), matches: [{ id: 'N-1', hash: md5, distance: 0 }] });
  });
});

describe.skipIf(!postgres.available)('vigil lookup', () => {
  it('matches within the list threshold, from a stored list, a file, or standard input', async () => {
    const file = await listFile('list.csv', [`${h(1)},E-1`, `${h(2)},E-2`]);
    await vigil(['lists', 'import', file, '--name', 'demo', '--algo', 'pdq', '--threshold', '10']);

    const stored = await vigil(['lookup', '--list', 'demo', '--json', near(1, 5), near(1, 11)]);
    const [close, far] = stored.stdout.trim().split('\n').map((line) => JSON.parse(line));
    expect(close).toEqual({ query: near(1, 5), matches: [{ id: 'E-1', hash: h(1), distance: 5 }, { id: 'E-2', hash: h(2), distance: 7 }] });
    expect(far).toEqual({ query: near(1, 11), matches: [] });

    const fromFile = JSON.parse((await vigil(['lookup', '--list', file, '--threshold', '4', '--json', near(2, 3)])).stdout);
    expect(fromFile.matches).toEqual([{ id: 'E-2', hash: h(2), distance: 3 }]);

    const fromStdin = await vigil(['lookup', '--list', 'demo', '--json', '-'], `${h(1)}\n${h(2)}\n`);
    expect(fromStdin.stdout.trim().split('\n')).toHaveLength(2);
  });

  it('answers a malformed query with an error line and an unknown list with a failure', async () => {
    const file = await listFile('list.csv', [h(1)]);
    expect(JSON.parse((await vigil(['lookup', '--list', file, '--json', 'abc'])).stdout)).toEqual({ query: 'abc', error: 'expected 64 hex characters for pdq' });
    expect(await vigil(['lookup', '--list', 'missing', h(1)])).toMatchObject({ code: EXIT_FAILED, stderr: expect.stringContaining('no list file or stored list named missing') });
    expect((await vigil(['lookup', '--list', file, h(1)])).stdout).toBe(`${h(1)}  1 match(es)\n  distance 0  id (none)\n`);
  });

  it('syncs a list from a folder drop, file by file from its checkpoint, and refuses an unknown source', async () => {
    const drops = await mkdtemp(join(tmpdir(), 'vigil-drops-'));
    await writeFile(join(drops, '2026-01-01.csv'), `${h(1)},S-1\n`);
    await writeFile(join(drops, '2026-01-02.csv'), `${h(1)},S-1\n${h(2)},S-2\n`);
    const first = await vigil(['lists', 'sync', 'synced', '--from', `folder:${drops}`, '--algo', 'pdq', '--json']);
    expect(first.code).toBe(EXIT_OK);
    expect(first.stdout.trim().split('\n').map((line) => JSON.parse(line))).toEqual([
      { version: 1, label: '2026-01-01.csv', entries: 1, added: 1, removed: 0, changed: 0, retroMatched: 0 },
      { version: 2, label: '2026-01-02.csv', entries: 2, added: 1, removed: 0, changed: 0, retroMatched: 0 },
    ]);
    expect((await vigil(['lists', 'sync', 'synced', '--from', `folder:${drops}`, '--algo', 'pdq'])).stdout).toBe('list synced: nothing new from folder\n');
    expect(await vigil(['lists', 'sync', 'synced', '--from', 'gopher:x', '--algo', 'pdq'])).toMatchObject({ code: EXIT_FAILED, stderr: expect.stringContaining('unknown source') });
    expect(await vigil(['lists', 'sync', 'n', '--from', 'ncmec'])).toMatchObject({ code: EXIT_FAILED, stderr: expect.stringContaining('VIGIL_NCMEC_URL') });
  });
});
