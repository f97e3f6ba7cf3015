// The lists a scanner matches against, in memory, kept current without a restart. A refresh
// reads the list heads; a list whose version moved gets only its diff (removals, then
// additions) applied to its live index, so a daily update costs the size of the update, not of
// the list, and scanners never all rebuild at once (the failure that takes HMA deployments
// down). Each diff is applied synchronously once fetched, so a match sees a list either wholly
// at its old version or wholly at its new one, and names the version it used.

import { setTimeout as delay } from 'node:timers/promises';
import { silentLogger, type Logger, type Pool } from '@vigil/db';
import type { ListMatcher, Match, QueryHashes } from '@vigil/matching';
import { loadListMatcher, withListCategory } from './list-matchers.ts';
import { loadListChanges, loadListHeads, loadLiveEntries, loadSuspendedHashes, type ListHead } from './list-queries.ts';

export interface ListVersionRef {
  listId: string;
  version: number;
}

export interface LoadedList extends ListVersionRef {
  algorithm: ListHead['algorithm'];
  action: ListHead['action'];
  threshold: number;
  entries: number;
  /** Entries held out of matching by the circuit breaker until a person decides them. */
  suspended: number;
  /** Memory of the list's index (vigil_list_index_bytes). */
  indexBytes: number;
}

export interface RefreshResult {
  loaded: string[];
  updated: Array<{ listId: string; from: number; to: number; added: number; removed: number }>;
  dropped: string[];
  /** Entries newly suspended (taken out of matching) and reinstated (put back), by list. */
  suspended: Array<{ listId: string; hashes: number }>;
  reinstated: Array<{ listId: string; hashes: number }>;
}

/** A loaded list: its matcher, the head it reflects, and the hashes held out of it as suspended. */
interface LiveList {
  matcher: ListMatcher;
  head: ListHead;
  suspended: Set<string>;
}

export interface ListRegistryOptions {
  pool: Pool;
  logger?: Logger;
  /**
   * Rebuild a list's index tables once entries waiting outside them exceed this share of the
   * list (they are scanned by brute force until then: cheap for a day's additions).
   */
  compactRatio?: number;
  /** ...and at least this many entries, so small lists never churn. */
  compactMin?: number;
  /** A version jump whose diff exceeds this share of the list reloads the list instead. */
  reloadRatio?: number;
}

export class ListRegistry {
  readonly #pool: Pool;
  readonly #log: Logger;
  readonly #compactRatio: number;
  readonly #compactMin: number;
  readonly #reloadRatio: number;
  readonly #lists = new Map<string, LiveList>();
  #loadedOnce = false;
  #refreshing: Promise<RefreshResult> | null = null;
  #stop: AbortController | null = null;
  #loop: Promise<void> | null = null;

  constructor(options: ListRegistryOptions) {
    this.#pool = options.pool;
    this.#log = options.logger ?? silentLogger;
    this.#compactRatio = options.compactRatio ?? 0.02;
    this.#compactMin = options.compactMin ?? 20_000;
    this.#reloadRatio = options.reloadRatio ?? 0.5;
  }

  /** True once the first refresh loaded every enabled list. */
  get ready(): boolean {
    return this.#loadedOnce;
  }

  /**
   * Every match of the content against every loaded list, and the list versions consulted
   * (the scan's provenance), taken in one synchronous step so they agree.
   */
  match(query: QueryHashes): { matches: Match[]; lists: ListVersionRef[] } {
    const matches: Match[] = [];
    const lists: ListVersionRef[] = [];
    for (const { matcher } of this.#lists.values()) {
      lists.push({ listId: matcher.descriptor.id, version: matcher.descriptor.version });
      matches.push(...matcher.match(query));
    }
    return { matches, lists };
  }

  loaded(): LoadedList[] {
    return [...this.#lists.values()].map(({ matcher, suspended }) => ({
      listId: matcher.descriptor.id,
      version: matcher.descriptor.version,
      algorithm: matcher.descriptor.algorithm,
      action: matcher.descriptor.action,
      threshold: matcher.descriptor.threshold,
      entries: matcher.size,
      suspended: suspended.size,
      indexBytes: matcher.byteLength(),
    }));
  }

  /** Brings every list to its current version. Concurrent calls share one refresh. */
  refresh(): Promise<RefreshResult> {
    this.#refreshing ??= this.#refresh().finally(() => {
      this.#refreshing = null;
    });
    return this.#refreshing;
  }

  /**
   * Refreshes every `intervalMs` (plus up to `jitterMs`, so a fleet's reads spread out) until
   * `stop()`. A failed refresh is logged and retried at the next tick; the lists stay as they were.
   */
  start(intervalMs = 2_000, jitterMs = intervalMs / 2): void {
    if (this.#loop) return;
    const stop = (this.#stop = new AbortController());
    this.#loop = (async () => {
      while (!stop.signal.aborted) {
        try {
          await delay(intervalMs + Math.random() * jitterMs, undefined, { signal: stop.signal });
          await this.refresh();
        } catch (err) {
          if (stop.signal.aborted) return;
          this.#log.error({ err }, 'list refresh failed; keeping the loaded versions');
        }
      }
    })();
  }

  async stop(): Promise<void> {
    this.#stop?.abort();
    await this.#loop;
    this.#loop = null;
  }

  async #refresh(): Promise<RefreshResult> {
    const result: RefreshResult = { loaded: [], updated: [], dropped: [], suspended: [], reinstated: [] };
    const [allHeads, suspensions] = await Promise.all([loadListHeads(this.#pool), loadSuspendedHashes(this.#pool)]);
    const heads = allHeads.filter((head) => head.enabled && head.currentVersion !== null);
    const wanted = new Set(heads.map((head) => head.id));
    for (const id of this.#lists.keys()) {
      if (!wanted.has(id)) {
        this.#lists.delete(id);
        result.dropped.push(id);
      }
    }
    for (const head of heads) {
      const suspended = suspensions.get(head.id) ?? new Set<string>();
      const current = this.#lists.get(head.id);
      const to = head.currentVersion!;
      const settingsChanged = current && current.head.algorithm !== head.algorithm;
      if (!current || settingsChanged || to < current.matcher.descriptor.version) {
        const live: LiveList = { matcher: await this.#load(head), head, suspended: new Set() };
        this.#suspend(live, suspended, result);
        this.#lists.set(head.id, live);
        result.loaded.push(head.id);
        continue;
      }
      const { matcher } = current;
      const from = matcher.descriptor.version;
      if (to !== from) {
        const changes = await loadListChanges(this.#pool, head.id, from, to);
        if (changes.added.length + changes.removed.length > this.#reloadRatio * Math.max(matcher.size, 1) && matcher.size > this.#compactMin) {
          const live: LiveList = { matcher: await this.#load(head), head, suspended: new Set() };
          this.#suspend(live, suspended, result);
          this.#lists.set(head.id, live);
          result.loaded.push(head.id);
          continue;
        }
        // Synchronous from here to reconfigure: no match interleaves with a half-applied diff,
        // nor sees a suspended hash the diff added back.
        matcher.remove(changes.removed);
        matcher.add(changes.added.map((e) => withListCategory(e, head)));
        for (const hash of changes.removed) current.suspended.delete(hash);
        for (const { hash } of changes.added) current.suspended.delete(hash);
        this.#suspend(current, suspended, result);
        matcher.reconfigure({ version: to });
        result.updated.push({ listId: head.id, from, to, added: changes.added.length, removed: changes.removed.length });
        this.#log.info({ listId: head.id, from, to, added: changes.added.length, removed: changes.removed.length }, 'list updated in place');
      } else {
        this.#suspend(current, suspended, result);
      }
      await this.#reinstate(current, suspended, result);
      matcher.reconfigure({ threshold: head.threshold, action: head.action, dihedral: head.dihedral && head.algorithm === 'pdq' });
      current.head = head;
      this.#maybeCompact(matcher);
    }
    this.#loadedOnce = true;
    return result;
  }

  /** Takes newly suspended hashes out of the list's index (synchronous: no match sees half of it). */
  #suspend(list: LiveList, suspended: ReadonlySet<string>, result: RefreshResult): void {
    const fresh = [...suspended].filter((hash) => !list.suspended.has(hash));
    if (fresh.length === 0) return;
    list.matcher.remove(fresh);
    for (const hash of fresh) list.suspended.add(hash);
    result.suspended.push({ listId: list.head.id, hashes: fresh.length });
    this.#log.warn({ listId: list.head.id, entries: fresh.length }, 'suspended list entries taken out of matching');
  }

  /** Puts back hashes no longer suspended, if they are still live at the loaded version. */
  async #reinstate(list: LiveList, suspended: ReadonlySet<string>, result: RefreshResult): Promise<void> {
    const back = [...list.suspended].filter((hash) => !suspended.has(hash));
    if (back.length === 0) return;
    const version = list.matcher.descriptor.version;
    // Refreshes never overlap, so the list stays at `version` while its entries are read.
    const entries = await loadLiveEntries(this.#pool, list.head.id, version, back);
    list.matcher.add(entries.map((e) => withListCategory(e, list.head)));
    for (const hash of back) list.suspended.delete(hash);
    result.reinstated.push({ listId: list.head.id, hashes: back.length });
    this.#log.info({ listId: list.head.id, entries: back.length }, 'reinstated list entries back in matching');
  }

  async #load(head: ListHead): Promise<ListMatcher> {
    const started = performance.now();
    const matcher = await loadListMatcher(this.#pool, { ...head, currentVersion: head.currentVersion! });
    this.#log.info({ listId: head.id, version: head.currentVersion, entries: matcher.size, ms: Math.round(performance.now() - started) }, 'list loaded');
    return matcher;
  }

  #maybeCompact(matcher: ListMatcher): void {
    const stats = matcher.indexStats();
    if (!stats || stats.pending < Math.max(this.#compactMin, this.#compactRatio * stats.size)) return;
    const started = performance.now();
    matcher.compact();
    this.#log.info({ listId: matcher.descriptor.id, entries: stats.size, ms: Math.round(performance.now() - started) }, 'list index compacted');
  }
}
