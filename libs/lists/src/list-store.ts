// The ListStore port: hash lists, their versions and per-version diffs. Implementations never
// log entries and keep removed entries as tombstones (a scan's provenance names a version, which
// must stay rebuildable).

import type { ListAction, ListAlgorithm, ListFormat } from '@vigil/matching';

export interface StoredEntry {
  hash: string;
  externalId?: string;
  category?: string;
}

export interface ListVersionRecord {
  version: number;
  importedAt: string;
  format: ListFormat;
  /** SHA-256 of the imported file: which delivery this version came from. */
  sourceSha256: string;
  entries: number;
  added: number;
  removed: number;
  changed: number;
}

export interface ListManifest {
  /** Lowercase storage key, never renamed. */
  name: string;
  algorithm: ListAlgorithm;
  threshold: number;
  action: ListAction;
  dihedral: boolean;
  source: string;
  versions: ListVersionRecord[];
}

export interface ListStore {
  /** Every list, by name. */
  list(): Promise<ListManifest[]>;
  get(name: string): Promise<ListManifest | null>;
  /** Entries of a version (the latest by default). */
  entries(name: string, version?: number): Promise<StoredEntry[]>;
  /** Entries a version removed relative to the one before (its tombstones). */
  removed(name: string, version: number): Promise<StoredEntry[]>;
  /**
   * Writes a new version: its entries, its tombstones and the updated manifest, the manifest last,
   * so a crash part-way leaves the previous version current. Returns the new manifest.
   */
  putVersion(manifest: ListManifest, entries: readonly StoredEntry[], removed: readonly StoredEntry[]): Promise<ListManifest>;
}

/** List names are storage keys: lowercase letters, digits, '.', '_' and '-', at most 64. */
export const LIST_NAME = /^[a-z0-9][a-z0-9._-]{0,63}$/;
