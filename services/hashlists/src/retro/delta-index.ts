// The small side of a retro-match, indexed: a list version's added entries in the join kernel
// (delta-join.ts), the stored corpus streamed past them a page at a time, with the stored PDQ
// dihedral variants when the list allows them and the derived views' hashes when the page has
// them (the crop-compensated and text-free ones at their own, wider radius). Pages are matched
// on worker threads when the delta is large enough to be worth it (one set of kernels per
// thread), in-process otherwise. Pure computation: no database, no store, never logs hashes.

import { availableParallelism } from 'node:os';
import { Worker } from 'node:worker_threads';
import { DIHEDRAL_VARIANTS, hexToBytes, type DihedralVariant } from '@vigil/matching';
import { HASH_BYTES, idAt, STORED_VARIANT_COUNT, type CorpusPage, type PackedViews } from './corpus-pages.ts';
import { DeltaJoin, toWords } from './delta-join.ts';

export interface DeltaEntry {
  /** Lowercase hex. */
  hash: string;
  externalId?: string;
  category?: string;
}

export interface DeltaHit {
  contentId: bigint;
  /** Index into the entries the DeltaIndex was built from. */
  entry: number;
  distance: number;
  /** Which stored hash was closest: the canonical one, a dihedral variant, or a derived view's. */
  variant: DihedralVariant | 'view';
}

/** The stored variants in content_hashes.pdq_dihedral order (orig is the pdq column). */
const STORED_VARIANTS = DIHEDRAL_VARIANTS.filter((name) => name !== 'orig');
const WORKER_URL = new URL(`./join-worker${import.meta.url.endsWith('.ts') ? '.ts' : '.js'}`, import.meta.url);

/** Raw hits of one page: (row, variant index 0 = orig, 1-7 stored variants, 8 = a view, entry, distance) quadruples. */
export type RawHits = Int32Array;

const VIEW = STORED_VARIANT_COUNT + 1;

export interface DeltaIndexOptions {
  /** Largest distance reported for the canonical hashes, their variants and the views that count within the threshold. */
  radius: number;
  /** Largest distance reported for crop-compensated and text-free views (default `radius`). */
  compensatedRadius?: number;
  dihedral: boolean;
  /** Worker threads (default: up to 2 for deltas of 10 000 entries or more, else in-process). */
  threads?: number;
}

export class DeltaIndex {
  readonly entries: readonly DeltaEntry[];
  readonly radius: number;
  readonly compensatedRadius: number;
  readonly dihedral: boolean;
  readonly #packed: Uint8Array;
  #joins: PageJoins | null = null;
  readonly #workers: Array<{ worker: Worker; pending: Map<number, (hits: RawHits) => void> }> = [];
  #next = 0;
  #task = 0;

  constructor(entries: readonly DeltaEntry[], options: DeltaIndexOptions) {
    this.entries = entries;
    this.radius = options.radius;
    this.compensatedRadius = options.compensatedRadius ?? options.radius;
    this.dihedral = options.dihedral;
    this.#packed = new Uint8Array(entries.length * HASH_BYTES);
    entries.forEach((entry, i) => this.#packed.set(hexToBytes(entry.hash), i * HASH_BYTES));
    const threads = options.threads ?? (entries.length >= 10_000 ? Math.min(2, availableParallelism()) : 0);
    for (let i = 0; i < threads; i++) {
      const worker = new Worker(WORKER_URL, { workerData: { hashes: this.#packed, count: entries.length, radius: this.radius, compensatedRadius: this.compensatedRadius } });
      const pending = new Map<number, (hits: RawHits) => void>();
      worker.on('message', ({ task, hits }: { task: number; hits: RawHits }) => {
        pending.get(task)?.(hits);
        pending.delete(task);
      });
      worker.unref();
      this.#workers.push({ worker, pending });
    }
    if (threads === 0) this.#joins = pageJoins(this.#packed, entries.length, this.radius, this.compensatedRadius);
  }

  get size(): number {
    return this.entries.length;
  }

  /** Stops the worker threads. */
  async close(): Promise<void> {
    await Promise.all(this.#workers.map(({ worker }) => worker.terminate()));
    this.#workers.length = 0;
  }

  /**
   * Every (stored content, entry) pair within the radius in a page: at most one hit per pair,
   * the closest of its hashes (the original wins ties), as the scanner's ListMatcher decides.
   */
  async matchPage(page: CorpusPage): Promise<DeltaHit[]> {
    const queries = toWords(page.hashes.subarray(0, page.count * HASH_BYTES));
    const variants = this.dihedral && page.dihedral ? toWords(page.dihedral.subarray(0, page.count * STORED_VARIANT_COUNT * HASH_BYTES)) : null;
    const views = pageViews(page.views);
    const compensated = pageViews(page.compensated);
    const raw = this.#workers.length > 0
      ? await this.#dispatch(queries, page.count, variants, views, compensated)
      : joinPage(this.#joins!, queries, page.count, variants, views, compensated);
    const best = new Map<string, DeltaHit>();
    for (let i = 0; i < raw.length; i += 4) {
      const row = raw[i]!;
      const variant = raw[i + 1]!;
      if (variant > 0 && variant < VIEW && page.hasDihedral?.[row] !== 1) continue;
      const hit: DeltaHit = {
        contentId: idAt(page, row), entry: raw[i + 2]!, distance: raw[i + 3]!,
        variant: variant === 0 ? 'orig' : variant === VIEW ? 'view' : STORED_VARIANTS[variant - 1]!,
      };
      const key = `${row}:${hit.entry}`;
      const seen = best.get(key);
      if (!seen || hit.distance < seen.distance || (hit.distance === seen.distance && hit.variant === 'orig')) best.set(key, hit);
    }
    return [...best.values()];
  }

  #dispatch(queries: Uint32Array, count: number, variants: Uint32Array | null, views: PageViews | null, compensated: PageViews | null): Promise<RawHits> {
    const slot = this.#workers[this.#next++ % this.#workers.length]!;
    const task = this.#task++;
    return new Promise<RawHits>((resolve) => {
      slot.pending.set(task, resolve);
      const transfer = [queries, variants, views?.words, compensated?.words].flatMap((words) => (words ? [words.buffer as ArrayBuffer] : []));
      slot.worker.postMessage({ task, queries, count, variants, views, compensated }, transfer);
    });
  }
}

/** A page's view hashes as join words, and the page row of each. */
export interface PageViews {
  words: Uint32Array;
  rows: Int32Array;
}

function pageViews(packed: PackedViews | null): PageViews | null {
  return packed ? { words: toWords(packed.hashes), rows: packed.rows } : null;
}

/** The join at the main radius, and at the compensated views' radius (the same join when they are equal). */
export interface PageJoins {
  main: DeltaJoin;
  compensated: DeltaJoin;
}

export function pageJoins(hashes: Uint8Array, count: number, radius: number, compensatedRadius: number): PageJoins {
  const main = new DeltaJoin(hashes, count, radius);
  return { main, compensated: compensatedRadius === radius ? main : new DeltaJoin(hashes, count, compensatedRadius) };
}

/** A page joined in this thread: hits of the upright hashes, the 7 stored variants, then the views. */
export function joinPage(
  joins: PageJoins, queries: Uint32Array, count: number, variants: Uint32Array | null, views: PageViews | null, compensated: PageViews | null,
): RawHits {
  const out: number[] = [];
  joins.main.searchPage(queries, count, (row, entry, distance) => void out.push(row, 0, entry, distance));
  if (variants) {
    joins.main.searchPage(variants, count * STORED_VARIANT_COUNT, (row, entry, distance) => {
      out.push(Math.floor(row / STORED_VARIANT_COUNT), (row % STORED_VARIANT_COUNT) + 1, entry, distance);
    });
  }
  for (const [join, packed] of [[joins.main, views], [joins.compensated, compensated]] as const) {
    if (packed) join.searchPage(packed.words, packed.rows.length, (view, entry, distance) => void out.push(packed.rows[view]!, VIEW, entry, distance));
  }
  return Int32Array.from(out);
}
