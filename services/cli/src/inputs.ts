// Expands command-line paths into the files to read: files as given, directories walked
// recursively in sorted order (symlinked directories are not followed, to avoid cycles).

import { readdir, stat } from 'node:fs/promises';
import { join } from 'node:path';

export interface InputFile {
  path: string;
  /** Set when the path cannot be read; the file still gets its output line. */
  error?: string;
}

export async function* expandInputs(paths: readonly string[]): AsyncGenerator<InputFile> {
  for (const path of paths) yield* expandPath(path);
}

async function* expandPath(path: string): AsyncGenerator<InputFile> {
  let info;
  try {
    info = await stat(path);
  } catch (err) {
    yield { path, error: (err as NodeJS.ErrnoException).code ?? String(err) };
    return;
  }
  if (!info.isDirectory()) {
    yield { path };
    return;
  }
  const entries = await readdir(path, { withFileTypes: true });
  entries.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  for (const entry of entries) {
    if (entry.name.startsWith('.')) continue;
    const child = join(path, entry.name);
    if (entry.isDirectory()) yield* expandPath(child);
    else if (entry.isFile()) yield { path: child };
  }
}
