// @vigil/lists: hash lists in Postgres and the in-memory registry scanners match against.
export { loadListChanges, loadListHeads, streamListEntries, type ListChanges, type ListHead } from './list-queries.ts';
export { listDescriptor, loadListMatcher } from './list-matchers.ts';
export { ListRegistry, type ListRegistryOptions, type ListVersionRef, type LoadedList, type RefreshResult } from './list-registry.ts';
export { LIST_NAME, type ListManifest, type ListStore, type ListVersionRecord, type StoredEntry } from './list-store.ts';
export { PgListStore, type PgListStoreOptions } from './pg-list-store.ts';
