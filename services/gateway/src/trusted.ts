// Ports of the routes beyond the check core: the trusted-reporter corpus lookup and list
// administration. The composition root implements them (services/hashlists); the gateway only
// validates, authorizes and shapes responses. Neither ever carries list contents or bytes.

import type { LookupQuery } from './core.ts';

export type ObjectState = 'live' | 'quarantined' | 'removed';

export interface CorpusObjectView {
  tenantId: string;
  bucket: string;
  key: string;
  versionId?: string;
  state: ObjectState;
  algorithm: string;
  distance: number;
  variant: string;
  lastSeenAt: string;
}

export interface CorpusLookupContext {
  /** Who asked (`token:<id>`): every query is audited under it. */
  actor: string;
  requestId: string;
  /** The token's tenants: objects of other tenants are never answered. */
  tenants: readonly string[] | '*';
}

export interface CorpusPort {
  /** One result per query, in query order. Audits the query; never reads object bytes. */
  lookup(queries: LookupQuery[], context: CorpusLookupContext): Promise<Array<{ objects: CorpusObjectView[] }>>;
}

export interface ListImportRequest {
  name: string;
  algorithm: 'pdq' | 'blockhash' | 'md5' | 'sha1' | 'sha256';
  format: 'plain' | 'threatexchange-pdq' | 'ncmec-csv';
  threshold?: number;
  action?: 'block' | 'quarantine' | 'review' | 'allow';
  dihedral?: boolean;
  source: string;
}

export type ListImportResult =
  | { status: 'imported'; list: string; version: number; entries: number; added: number; removed: number; changed: number }
  /** Issues name lines and problems, never hash values. */
  | { status: 'refused'; reason: string; errors: Array<{ line: number; message: string }> };

export interface ListsAdminPort {
  /** Imports the file as the list's next version (refused whole on any bad line); audited under `actor`. */
  importVersion(bytes: Uint8Array, request: ListImportRequest, actor: string): Promise<ListImportResult>;
}
