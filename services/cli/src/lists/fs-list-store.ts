// ListStore on the local filesystem under VIGIL_HOME/lists: one folder a list (mode 0700), a
// manifest.json and per-version TSV files (mode 0600: list contents are sensitive). Writes go to a
// temporary file and are renamed into place, so readers never see half a file.

import { mkdir, readdir, readFile, rename, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { LIST_NAME, type ListManifest, type ListStore, type StoredEntry } from './list-store.ts';

export class FsListStore implements ListStore {
  readonly #root: string;

  constructor(home: string) {
    this.#root = join(home, 'lists');
  }

  async list(): Promise<ListManifest[]> {
    let names: string[];
    try {
      names = await readdir(this.#root);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return [];
      throw err;
    }
    const manifests = await Promise.all(names.filter((name) => LIST_NAME.test(name)).map((name) => this.get(name)));
    return manifests.filter((m): m is ListManifest => m !== null).sort((a, b) => a.name.localeCompare(b.name));
  }

  async get(name: string): Promise<ListManifest | null> {
    if (!LIST_NAME.test(name)) return null;
    try {
      return JSON.parse(await readFile(join(this.#root, name, 'manifest.json'), 'utf8')) as ListManifest;
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return null;
      throw err;
    }
  }

  async entries(name: string, version?: number): Promise<StoredEntry[]> {
    const manifest = await this.get(name);
    const v = version ?? manifest?.versions.at(-1)?.version;
    if (!manifest || v === undefined) return [];
    return readEntries(join(this.#root, name, `v${v}.tsv`));
  }

  async removed(name: string, version: number): Promise<StoredEntry[]> {
    return readEntries(join(this.#root, name, `v${version}.removed.tsv`));
  }

  async putVersion(manifest: ListManifest, entries: readonly StoredEntry[], removed: readonly StoredEntry[]): Promise<ListManifest> {
    if (!LIST_NAME.test(manifest.name)) throw new Error(`invalid list name "${manifest.name}"`);
    const dir = join(this.#root, manifest.name);
    await mkdir(dir, { recursive: true, mode: 0o700 });
    const version = manifest.versions.at(-1)!.version;
    await writeAtomically(join(dir, `v${version}.tsv`), formatEntries(entries));
    await writeAtomically(join(dir, `v${version}.removed.tsv`), formatEntries(removed));
    await writeAtomically(join(dir, 'manifest.json'), `${JSON.stringify(manifest, null, 2)}\n`);
    return manifest;
  }
}

function formatEntries(entries: readonly StoredEntry[]): string {
  return entries.map((e) => `${e.hash}\t${clean(e.externalId)}\t${clean(e.category)}\n`).join('');
}

/** Tabs and newlines cannot occur in the stored fields (they would break the row). */
function clean(value: string | undefined): string {
  return (value ?? '').replace(/[\t\r\n]/g, ' ');
}

async function readEntries(path: string): Promise<StoredEntry[]> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return [];
    throw err;
  }
  return text
    .split('\n')
    .filter(Boolean)
    .map((line) => {
      const [hash = '', externalId = '', category = ''] = line.split('\t');
      return { hash, ...(externalId && { externalId }), ...(category && { category }) };
    });
}

async function writeAtomically(path: string, content: string): Promise<void> {
  const temporary = `${path}.${process.pid}.tmp`;
  await writeFile(temporary, content, { mode: 0o600 });
  await rename(temporary, path);
}
