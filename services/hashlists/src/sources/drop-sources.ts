// Drop sources: list files an operator or a partner drops somewhere. A folder (each new file, in
// name order, is the next whole version), a URL (re-fetched with If-None-Match; a changed body is
// the next version), or one file re-read (a changed content is the next version). Every file is
// parsed whole and refused whole on any error (hashlists/FORMATS.md).

import { createHash } from 'node:crypto';
import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { parseList, type ListAlgorithm, type ListFormat } from '@vigil/matching';
import { SourceError, type Checkpoint, type Delivery, type Fetch, type HashListSource, type SourceEntry } from './source.ts';

export interface DropSourceOptions {
  id: string;
  algorithm: ListAlgorithm;
  format: ListFormat;
}

/** Parses one delivered file into entries of the source's algorithm; throws on any error. */
export function parseDelivery(bytes: Uint8Array, options: DropSourceOptions, label: string): SourceEntry[] {
  const parsed = parseList(new TextDecoder('utf-8').decode(bytes), { format: options.format, algorithm: options.algorithm });
  if (parsed.errors.length > 0) {
    throw new SourceError(`${label}: ${parsed.errors.length} line(s) with errors; delivery refused`, { issues: parsed.errors });
  }
  return parsed.entries
    .filter((e) => e.algorithm === options.algorithm)
    .map(({ hash, externalId, category }) => ({ hash, ...(externalId && { externalId }), ...(category && { category }) }));
}

const sha256 = (bytes: Uint8Array) => createHash('sha256').update(bytes).digest('hex');

/** A folder of list files: each file after the checkpoint's (in name order) is the next version. */
export class FolderDropSource implements HashListSource {
  readonly kind = 'folder';
  readonly id: string;
  readonly algorithm: ListAlgorithm;
  readonly #dir: string;
  readonly #options: DropSourceOptions;

  constructor(dir: string, options: DropSourceOptions) {
    this.#dir = dir;
    this.#options = options;
    this.id = options.id;
    this.algorithm = options.algorithm;
  }

  async fetch(checkpoint: Checkpoint | null): Promise<Delivery | null> {
    const after = typeof checkpoint?.file === 'string' ? checkpoint.file : '';
    // Dot-files and partial uploads (`.part`, `.tmp`) are not deliveries yet.
    const names = (await readdir(this.#dir)).filter((n) => !n.startsWith('.') && !/\.(part|tmp)$/.test(n)).sort();
    const next = names.find((name) => name > after);
    if (next === undefined) return null;
    const bytes = await readFile(join(this.#dir, next));
    return {
      kind: 'snapshot',
      label: next,
      format: this.#options.format,
      sha256: sha256(bytes),
      entries: parseDelivery(bytes, this.#options, next),
      checkpoint: { file: next },
    };
  }
}

/** One file, re-read: when its content changes, that content is the next version. */
export class FileSource implements HashListSource {
  readonly kind = 'file';
  readonly id: string;
  readonly algorithm: ListAlgorithm;
  readonly #path: string;
  readonly #options: DropSourceOptions;

  constructor(path: string, options: DropSourceOptions) {
    this.#path = path;
    this.#options = options;
    this.id = options.id;
    this.algorithm = options.algorithm;
  }

  async fetch(checkpoint: Checkpoint | null): Promise<Delivery | null> {
    const bytes = await readFile(this.#path);
    const digest = sha256(bytes);
    if (checkpoint?.sha256 === digest) return null;
    return { kind: 'snapshot', label: this.#path, format: this.#options.format, sha256: digest, entries: parseDelivery(bytes, this.#options, this.#path), checkpoint: { sha256: digest } };
  }
}

/** A URL re-fetched conditionally (ETag / Last-Modified); a changed body is the next version. */
export class UrlDropSource implements HashListSource {
  readonly kind = 'url';
  readonly id: string;
  readonly algorithm: ListAlgorithm;
  readonly #url: string;
  readonly #options: DropSourceOptions;
  readonly #fetch: Fetch;
  readonly #headers: Record<string, string>;

  constructor(url: string, options: DropSourceOptions & { fetch?: Fetch; headers?: Record<string, string> }) {
    this.#url = url;
    this.#options = options;
    this.#fetch = options.fetch ?? fetch;
    this.#headers = options.headers ?? {};
    this.id = options.id;
    this.algorithm = options.algorithm;
  }

  async fetch(checkpoint: Checkpoint | null, signal?: AbortSignal): Promise<Delivery | null> {
    const headers: Record<string, string> = { ...this.#headers };
    if (typeof checkpoint?.etag === 'string') headers['if-none-match'] = checkpoint.etag;
    if (typeof checkpoint?.lastModified === 'string') headers['if-modified-since'] = checkpoint.lastModified;
    let response: Response;
    try {
      response = await this.#fetch(this.#url, { headers, ...(signal && { signal }) });
    } catch (err) {
      throw new SourceError(`fetching the list failed: ${(err as Error).name}`, { retriable: true });
    }
    if (response.status === 304) return null;
    if (!response.ok) throw new SourceError(`fetching the list answered HTTP ${response.status}`, { retriable: response.status >= 500 || response.status === 429 });
    const bytes = new Uint8Array(await response.arrayBuffer());
    const digest = sha256(bytes);
    if (checkpoint?.sha256 === digest) return null;
    const etag = response.headers.get('etag');
    const lastModified = response.headers.get('last-modified');
    return {
      kind: 'snapshot',
      label: etag ?? lastModified ?? digest.slice(0, 12),
      format: this.#options.format,
      sha256: digest,
      entries: parseDelivery(bytes, this.#options, 'the fetched list'),
      checkpoint: { sha256: digest, etag, lastModified },
    };
  }
}
