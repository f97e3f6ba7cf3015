// Test support: a migrated database per test file, synthetic 256-bit values (never real list
// content), content_hashes rows written as the scanner writes them, list versions through
// PgListStore, and a quarantine record for a recorded match.

import { randomBytes, randomUUID } from 'node:crypto';
import { createPool, migrate, type Pool } from '@vigil/db';
import { PgListStore, type ListManifest, type StoredEntry } from '@vigil/lists';
import { resolvePostgres } from '@vigil/testkit/services';

export const postgres = await resolvePostgres('@vigil/hashlists integration tests');

export async function openPool(): Promise<Pool> {
  if (!postgres.available) throw new Error('postgres unavailable');
  const pool = createPool(await postgres.service.createDatabase(), { applicationName: 'vigil-hashlists-test' });
  await migrate(pool);
  return pool;
}

export const randomHash = (): string => randomBytes(32).toString('hex');

/** `hex` with `bits` of its bits flipped (the first ones): a copy at that Hamming distance. */
export function flip(hex: string, bits: number): string {
  const bytes = Buffer.from(hex, 'hex');
  for (let i = 0; i < bits; i++) bytes[i >> 3]! ^= 0x80 >> (i & 7);
  return bytes.toString('hex');
}

export interface ContentSpec {
  key: string;
  tenantId?: string;
  bucket?: string;
  pdq?: string;
  quality?: number;
  /** The 7 stored variants (rot90 ... flipminus1); random when absent. */
  dihedral?: string[];
  md5?: string;
  sha256?: string;
  blockhash?: string;
  /** content_hashes.derived_hashes: the derived views' hashes, as the scanner stores them. */
  derived?: object;
}

/** Writes a content_hashes row (and the scan it references) as the scanner would; returns its id. */
export async function storeContent(pool: Pool, spec: ContentSpec): Promise<string> {
  const scanId = `scan_${randomUUID()}`;
  const tenantId = spec.tenantId ?? 'tenant-a';
  const bucket = spec.bucket ?? 'uploads';
  const sha256 = spec.sha256 ?? randomHash();
  await pool.query(
    `INSERT INTO scans (id, event_id, tenant_id, bucket, object_key, sha256, verdict, blocked, mode, scanned_at)
     VALUES ($1, $2, $3, $4, $5, decode($6, 'hex'), 'clean', false, 'fast', now())`,
    [scanId, randomUUID(), tenantId, bucket, spec.key, sha256],
  );
  const dihedral = spec.pdq ? (spec.dihedral ?? Array.from({ length: 7 }, randomHash)).join('') : null;
  const { rows } = await pool.query<{ id: string }>(
    `INSERT INTO content_hashes (tenant_id, bucket, object_key, size, content_type, sha256, md5, pdq, pdq_quality, pdq_dihedral, blockhash, derived_hashes, last_scan_id)
     VALUES ($1, $2, $3, 1000, 'image/jpeg', decode($4, 'hex'), decode($5, 'hex'), decode($6, 'hex'), $7, decode($8, 'hex'), decode($9, 'hex'), $10, $11) RETURNING id`,
    [tenantId, bucket, spec.key, sha256, spec.md5 ?? null, spec.pdq ?? null, spec.pdq ? (spec.quality ?? 90) : null, dihedral, spec.blockhash ?? null,
     spec.derived ? JSON.stringify(spec.derived) : null, scanId],
  );
  return rows[0]!.id;
}

export function manifest(name: string, extra: Partial<ListManifest> = {}): ListManifest {
  return {
    name,
    algorithm: 'pdq',
    threshold: 31,
    action: 'quarantine',
    dihedral: true,
    source: 'test',
    versions: [{ version: 1, importedAt: new Date().toISOString(), format: 'plain', sourceSha256: randomBytes(32).toString('hex'), entries: 0, added: 0, removed: 0, changed: 0 }],
    ...extra,
  };
}

/** Writes the next version of a list holding exactly `entries`; returns its version and the one before. */
export async function putList(pool: Pool, name: string, entries: StoredEntry[], extra: Partial<ListManifest> = {}): Promise<{ version: number; previousVersion: number | null }> {
  const written = await new PgListStore(pool).putVersion(manifest(name, extra), entries, []);
  const version = written.versions.at(-1)!.version;
  return { version, previousVersion: version > 1 ? version - 1 : null };
}

/** Marks a recorded match as quarantined (what the actioner writes once the copy is verified). */
export async function quarantineMatch(pool: Pool, matchId: string): Promise<string> {
  const id = `q_${randomUUID()}`;
  await pool.query(
    `INSERT INTO quarantine_records (id, match_id, tenant_id, bucket, object_key, version_id, status, quarantine_bucket, quarantine_key, sha256, size, applied_at)
     SELECT $1, m.id, m.tenant_id, m.bucket, m.object_key, m.version_id, 'applied', 'vigil-quarantine', m.tenant_id || '/' || m.id, m.sha256, 1000, now()
       FROM matches m WHERE m.id = $2`,
    [id, matchId],
  );
  return id;
}
