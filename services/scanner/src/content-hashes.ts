// The hashes of one piece of content as the scanner keeps them: what the hashing pool computed,
// what content_hashes stores (the retro-match corpus), and what a re-upload of the same bytes
// (same SHA-256) is answered from without decoding again. Pure conversions plus a bounded
// in-memory layer over the table.

import { DIHEDRAL_NAMES, HASHING_VERSION, PDQ_QUALITY_FLOOR, type DihedralName, type ImageHashes } from '@vigil/hashing';
import type { ExtraQuery, QueryHashes } from '@vigil/matching';
import type { Pool } from '@vigil/db';
import type { DetectionRule } from './decide.ts';

export interface StoredHashes {
  sha256: string;
  sha1?: string;
  md5?: string;
  pdq?: string;
  pdqQuality?: number;
  /** The 8 dihedral PDQ hashes (orig included). */
  pdqDihedral?: Record<DihedralName, string>;
  blockhash?: string;
  /** Hashes of the content region inside a frame (borders, screenshot chrome, a turned picture): an extra query. */
  region?: RegionQueryHashes;
  /** A second guess at the content region (another detector disagreed): an extra query too. */
  alternateRegion?: RegionQueryHashes;
  /** Crop-compensated PDQ hashes (extra queries), by the share of each side assumed kept; `upscale`: also downscale-compensated. */
  uncropped?: Array<{ kept: number; upscale?: number; pdq: string; pdqQuality: number }>;
  /** Downscale-compensated PDQ hashes of a small image (extra queries), by how many times larger it was hashed. */
  upscaled?: Array<{ factor: number; pdq: string; pdqQuality: number }>;
  /**
   * PDQ hashes with overlaid caption text (a watermark) left out (extra queries): at the image's own
   * size (factor 1) and as if larger; `unblended`: with a faint watermark unblended too.
   */
  overlayFree?: Array<{ factor: number; pdq: string; pdqQuality: number; textShare: number; unblended?: true }>;
  /**
   * Which views the hashing was asked for. A view can be absent because it found nothing (no
   * frame, no caption) or because nobody asked: only this tells the two apart, so stored hashes
   * answer a scan only when they were computed for every view its rule queries.
   */
  computed?: ComputedViews;
}

/** The derived views one hashing request computed, and the version of the hashing (HASHING_VERSION). */
export interface ComputedViews {
  version: number;
  region: boolean;
  uncrop: number[];
  upscale: number[];
  overlay: boolean;
}

/** The views a scan under `rule` queries: what the hashing pool is asked for. */
export function viewsFor(rule: DetectionRule): ComputedViews {
  return { version: HASHING_VERSION, region: rule.region, uncrop: [...rule.uncrop], upscale: [...rule.upscale], overlay: rule.overlay };
}

/** Whether hashes computed for `have` hold every view `need` queries (unknown `have`: no). */
export function coversViews(have: ComputedViews | undefined, need: ComputedViews): boolean {
  if (!have || have.version !== need.version) return false;
  return (
    (have.region || !need.region) &&
    (have.overlay || !need.overlay) &&
    need.uncrop.every((kept) => have.uncrop.includes(kept)) &&
    need.upscale.every((factor) => have.upscale.includes(factor))
  );
}

export interface RegionQueryHashes {
  pdq?: string;
  pdqQuality?: number;
  blockhash?: string;
}

/** The seven non-canonical variants, in the order content_hashes.pdq_dihedral stores them. */
const STORED_VARIANTS = DIHEDRAL_NAMES.filter((name) => name !== 'orig');

function regionQueryHashes(region: NonNullable<ImageHashes['contentRegion']>): RegionQueryHashes {
  return {
    ...(region.pdq && { pdq: region.pdq, pdqQuality: region.pdqQuality ?? 0 }),
    ...(region.blockhash && { blockhash: region.blockhash }),
  };
}

export function fromImageHashes(hashes: ImageHashes & { sha256: string }): StoredHashes {
  return {
    sha256: hashes.sha256,
    ...(hashes.sha1 && { sha1: hashes.sha1 }),
    ...(hashes.md5 && { md5: hashes.md5 }),
    ...(hashes.pdq && { pdq: hashes.pdq, pdqQuality: hashes.pdqQuality ?? 0 }),
    ...(hashes.pdqDihedral && { pdqDihedral: { ...hashes.pdqDihedral } }),
    ...(hashes.blockhash && { blockhash: hashes.blockhash }),
    ...(hashes.contentRegion && { region: regionQueryHashes(hashes.contentRegion) }),
    ...(hashes.alternateRegion && { alternateRegion: regionQueryHashes(hashes.alternateRegion) }),
    ...(hashes.uncropped?.length && {
      uncropped: hashes.uncropped.map(({ kept, upscale, pdq, pdqQuality }) => ({ kept, ...(upscale !== undefined && { upscale }), pdq, pdqQuality })),
    }),
    ...(hashes.upscaled?.length && { upscaled: hashes.upscaled.map(({ factor, pdq, pdqQuality }) => ({ factor, pdq, pdqQuality })) }),
    ...(hashes.overlayFree?.length && {
      overlayFree: hashes.overlayFree.map(({ factor, pdq, pdqQuality, textShare, unblended }) => ({ factor, pdq, pdqQuality, textShare, ...(unblended && { unblended }) })),
    }),
  };
}

/**
 * What the scanner matches under a detection rule: the canonical query (`toQuery`), and the rule's
 * extra queries and near-miss margins for corroboration. A PDQ below the quality floor (canonical
 * or a derived view's) is kept when the rule admits unstable PDQ near-exact; a view's is marked
 * `unstable` so the decision can tell.
 */
export function toScanQuery(hashes: StoredHashes, rule: DetectionRule): QueryHashes {
  const query = toQuery(hashes);
  const keepUnstable = rule.lowQualityPdqMax >= 0;
  if (hashes.pdq !== undefined && query.pdq === undefined && keepUnstable) {
    query.pdq = hashes.pdq;
    if (hashes.pdqDihedral) query.pdqDihedral = hashes.pdqDihedral;
  }
  // A view's PDQ: plain above the floor, marked below it (when kept at all).
  const pdqOf = (pdq: string | undefined, quality: number | undefined): Pick<ExtraQuery, 'pdq' | 'unstable'> | null => {
    if (pdq === undefined) return null;
    if ((quality ?? 0) >= PDQ_QUALITY_FLOOR) return { pdq };
    return keepUnstable ? { pdq, unstable: true } : null;
  };
  const extra: ExtraQuery[] = [];
  // Both guesses at the content region query as `region`: they are views of the same thing.
  for (const region of rule.region ? [hashes.region, hashes.alternateRegion] : []) {
    if (!region) continue;
    const pdq = pdqOf(region.pdq, region.pdqQuality);
    if (pdq || region.blockhash) extra.push({ source: 'region', ...pdq, ...(region.blockhash && { blockhash: region.blockhash }) });
  }
  // A crop-compensated hash also hashed as if larger queries as crop compensation: the crop is what it undoes.
  for (const { kept, upscale, pdq, pdqQuality } of hashes.uncropped ?? []) {
    const wanted = rule.uncrop.includes(kept) && (upscale === undefined || rule.upscale.includes(upscale));
    const view = wanted && pdqOf(pdq, pdqQuality);
    if (view) extra.push({ source: uncropSource(kept), ...view });
  }
  for (const { factor, pdq, pdqQuality } of hashes.upscaled ?? []) {
    const view = rule.upscale.includes(factor) && pdqOf(pdq, pdqQuality);
    if (view) extra.push({ source: upscaleSource(factor), ...view });
  }
  // Every scale of the text-free view queries as `overlay`, or `watermark` with a faint watermark unblended: the text is what it undoes.
  for (const { factor, pdq, pdqQuality, unblended } of rule.overlay ? (hashes.overlayFree ?? []) : []) {
    const view = (factor === 1 || rule.upscale.includes(factor)) && pdqOf(pdq, pdqQuality);
    if (view) extra.push({ source: unblended ? 'watermark' : 'overlay', ...view });
  }
  if (extra.length > 0) query.extra = extra;
  const { pdq, blockhash } = rule.corroboration;
  if (pdq > 0 || blockhash > 0) query.nearMiss = { pdq, blockhash };
  return query;
}

/** `uncrop-5` for a copy assumed to keep 95% of each side. */
export function uncropSource(kept: number): `uncrop-${number}` {
  return `uncrop-${Math.round((1 - kept) * 100)}`;
}

/** `upscale-2` for a small image hashed as if twice its size. */
export function upscaleSource(factor: number): `upscale-${number}` {
  return `upscale-${factor}`;
}

/**
 * What is matched against the lists. PDQ below Meta's quality floor (50) is left out: such hashes
 * (flat, featureless images) are unstable and cause PDQ's worst false positives. Exact digests
 * and blockhash always run.
 */
export function toQuery(hashes: StoredHashes): QueryHashes {
  const trustedPdq = hashes.pdq !== undefined && (hashes.pdqQuality ?? 0) >= PDQ_QUALITY_FLOOR;
  return {
    sha256: hashes.sha256,
    ...(hashes.sha1 && { sha1: hashes.sha1 }),
    ...(hashes.md5 && { md5: hashes.md5 }),
    ...(trustedPdq && { pdq: hashes.pdq! }),
    ...(trustedPdq && hashes.pdqDihedral && { pdqDihedral: hashes.pdqDihedral }),
    ...(hashes.blockhash && { blockhash: hashes.blockhash }),
  };
}

/** The hash columns of a content_hashes row. */
export interface ContentHashesRow {
  sha256: Buffer;
  sha1: Buffer | null;
  md5: Buffer | null;
  pdq: Buffer | null;
  pdq_quality: number | null;
  pdq_dihedral: Buffer | null;
  blockhash: Buffer | null;
  derived_hashes?: unknown;
}

/** A content_hashes row as the hashes the scanner (and retro-matching) match with. */
export function storedHashesOf(row: ContentHashesRow): StoredHashes {
  const pdq = row.pdq?.toString('hex');
  return {
    sha256: row.sha256.toString('hex'),
    ...(row.sha1 && { sha1: row.sha1.toString('hex') }),
    ...(row.md5 && { md5: row.md5.toString('hex') }),
    ...(pdq && { pdq, pdqQuality: row.pdq_quality ?? 0 }),
    ...(pdq && row.pdq_dihedral && { pdqDihedral: unpackDihedral(pdq, row.pdq_dihedral) }),
    ...(row.blockhash && { blockhash: row.blockhash.toString('hex') }),
    ...fromDerivedHashes(row.derived_hashes),
  };
}

type DerivedHashes = Pick<StoredHashes, 'region' | 'alternateRegion' | 'uncropped' | 'upscaled' | 'overlayFree' | 'computed'>;

/** content_hashes.derived_hashes (migration 0009): the extra-query hashes and what was computed, or null when neither is known. */
export function derivedHashes(hashes: StoredHashes): DerivedHashes | null {
  if (!hashes.region && !hashes.alternateRegion && !hashes.uncropped && !hashes.upscaled && !hashes.overlayFree && !hashes.computed) return null;
  return {
    ...(hashes.computed && { computed: hashes.computed }),
    ...(hashes.region && { region: hashes.region }),
    ...(hashes.alternateRegion && { alternateRegion: hashes.alternateRegion }),
    ...(hashes.uncropped && { uncropped: hashes.uncropped }),
    ...(hashes.upscaled && { upscaled: hashes.upscaled }),
    ...(hashes.overlayFree && { overlayFree: hashes.overlayFree }),
  };
}

/** The extra-query hashes read back from content_hashes.derived_hashes; anything malformed is left out. */
export function fromDerivedHashes(value: unknown): DerivedHashes {
  if (typeof value !== 'object' || value === null) return {};
  const { region, alternateRegion, uncropped, upscaled, overlayFree, computed } = value as Record<string, unknown>;
  const hex = (v: unknown): v is string => typeof v === 'string' && /^[0-9a-f]{64}$/.test(v);
  const quality = (v: unknown): v is number => typeof v === 'number' && Number.isFinite(v);
  const factor = (v: unknown): v is number => Number.isInteger(v) && (v as number) > 1 && (v as number) < 10;
  const regionOf = (v: unknown): RegionQueryHashes | undefined => {
    if (typeof v !== 'object' || v === null) return undefined;
    const r = v as Record<string, unknown>;
    return {
      ...(hex(r.pdq) && { pdq: r.pdq, pdqQuality: quality(r.pdqQuality) ? r.pdqQuality : 0 }),
      ...(hex(r.blockhash) && { blockhash: r.blockhash }),
    };
  };
  const out: DerivedHashes = {};
  const first = regionOf(region);
  const second = regionOf(alternateRegion);
  if (first) out.region = first;
  if (second) out.alternateRegion = second;
  if (Array.isArray(uncropped)) {
    const valid = uncropped.filter(
      (u): u is { kept: number; upscale?: number; pdq: string; pdqQuality: number } =>
        typeof u === 'object' && u !== null && quality(u.kept) && hex(u.pdq) && quality(u.pdqQuality) && (u.upscale === undefined || factor(u.upscale)),
    );
    if (valid.length > 0) out.uncropped = valid.map(({ kept, upscale, pdq, pdqQuality }) => ({ kept, ...(upscale !== undefined && { upscale }), pdq, pdqQuality }));
  }
  if (Array.isArray(upscaled)) {
    const valid = upscaled.filter(
      (u): u is { factor: number; pdq: string; pdqQuality: number } =>
        typeof u === 'object' && u !== null && factor(u.factor) && hex(u.pdq) && quality(u.pdqQuality),
    );
    if (valid.length > 0) out.upscaled = valid.map(({ factor, pdq, pdqQuality }) => ({ factor, pdq, pdqQuality }));
  }
  if (Array.isArray(overlayFree)) {
    const valid = overlayFree.filter(
      (u): u is { factor: number; pdq: string; pdqQuality: number; textShare: number; unblended?: true } =>
        typeof u === 'object' &&
        u !== null &&
        (u.factor === 1 || factor(u.factor)) &&
        hex(u.pdq) &&
        quality(u.pdqQuality) &&
        quality(u.textShare) &&
        (u.unblended === undefined || u.unblended === true),
    );
    if (valid.length > 0) out.overlayFree = valid.map(({ factor, pdq, pdqQuality, textShare, unblended }) => ({ factor, pdq, pdqQuality, textShare, ...(unblended && { unblended }) }));
  }
  const views = computedViewsOf(computed);
  if (views) out.computed = views;
  return out;
}

/** A stored `computed` record, or undefined when it is missing or malformed (the views then count as unknown). */
function computedViewsOf(value: unknown): ComputedViews | undefined {
  if (typeof value !== 'object' || value === null) return undefined;
  const { version, region, uncrop, upscale, overlay } = value as Record<string, unknown>;
  const numbers = (v: unknown): v is number[] => Array.isArray(v) && v.every((n) => typeof n === 'number' && Number.isFinite(n));
  if (!Number.isInteger(version) || typeof region !== 'boolean' || typeof overlay !== 'boolean' || !numbers(uncrop) || !numbers(upscale)) return undefined;
  return { version: version as number, region, uncrop: [...uncrop], upscale: [...upscale], overlay };
}

export function packDihedral(dihedral: Record<DihedralName, string> | undefined): Buffer | null {
  if (!dihedral) return null;
  return Buffer.from(STORED_VARIANTS.map((name) => dihedral[name]).join(''), 'hex');
}

export function unpackDihedral(pdq: string, packed: Buffer): Record<DihedralName, string> {
  const out = { orig: pdq } as Record<DihedralName, string>;
  STORED_VARIANTS.forEach((name, i) => (out[name] = packed.subarray(i * 32, i * 32 + 32).toString('hex')));
  return out;
}

/**
 * Hashes already computed for some bytes, by SHA-256: a bounded LRU in front of content_hashes.
 * Only perceptually hashed content is kept (an unscannable file is decoded again, cheaply refused).
 * Hashes computed for fewer views than a scan needs (an older hashing version, a rule that asked
 * for less) do not answer it: the content is hashed again, and the newer hashes replace them.
 */
export class ContentHashCache {
  readonly #pool: Pool;
  readonly #capacity: number;
  readonly #memory = new Map<string, StoredHashes>();

  constructor(pool: Pool, capacity = 50_000) {
    this.#pool = pool;
    this.#capacity = capacity;
  }

  /** Stored hashes of `sha256` computed for every view in `needs`, or null (never seen, or hashed for fewer views). */
  async get(sha256: string, needs: ComputedViews): Promise<StoredHashes | null> {
    const usable = (hashes: StoredHashes) => coversViews(hashes.computed, needs);
    const cached = this.#memory.get(sha256);
    if (cached && usable(cached)) {
      this.#memory.delete(sha256);
      this.#memory.set(sha256, cached);
      return cached;
    }
    const { rows } = await this.#pool.query<{
      sha1: Buffer | null; md5: Buffer | null; pdq: Buffer | null; pdq_quality: number | null; pdq_dihedral: Buffer | null; blockhash: Buffer | null; derived_hashes: unknown;
    }>(
      `SELECT sha1, md5, pdq, pdq_quality, pdq_dihedral, blockhash, derived_hashes FROM content_hashes
        WHERE sha256 = $1 AND (pdq IS NOT NULL OR blockhash IS NOT NULL)
        ORDER BY last_seen_at DESC LIMIT 1`,
      [Buffer.from(sha256, 'hex')],
    );
    const row = rows[0];
    if (!row) return null;
    const hashes = storedHashesOf({ ...row, sha256: Buffer.from(sha256, 'hex') });
    if (!usable(hashes)) return null;
    this.remember(hashes);
    return hashes;
  }

  remember(hashes: StoredHashes): void {
    if (!hashes.pdq && !hashes.blockhash) return;
    this.#memory.delete(hashes.sha256);
    this.#memory.set(hashes.sha256, hashes);
    if (this.#memory.size > this.#capacity) this.#memory.delete(this.#memory.keys().next().value!);
  }
}
