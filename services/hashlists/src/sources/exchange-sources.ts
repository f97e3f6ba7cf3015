// Hash-sharing exchanges, incremental: NCMEC's hash-sharing API (v2, XML: `GET /v2/entries?from=
// &to=`, pages linked by <paging><next>, <image> records with <id>, <classification> and
// <fingerprints>, and <deletedImage> withdrawals by id) and StopNCII's FetchHashes (JSON:
// `startTimestamp`, `nextPageToken`, `hasMoreRecords`, `nextSetTimestamp`; records with
// `signalType`, `hashValue` and `hashStatus`, Withdrawn/Deleted meaning remove). Shapes follow
// the providers' public documentation as mirrored by Meta's open-source python-threatexchange
// clients; tested against local fixtures, never against the live services. Each fetch drains
// the upstream from the checkpoint to now and returns one delta.

import { createHash } from 'node:crypto';
import { XMLParser, XMLValidator } from 'fast-xml-parser';
import type { ListAlgorithm } from '@vigil/matching';
import { HEX_LENGTH } from '@vigil/matching';
import { SourceError, type Checkpoint, type Delivery, type Fetch, type HashListSource, type SourceEntry } from './source.ts';

const ncmecParser = new XMLParser({
  ignoreAttributes: false,
  attributeNamePrefix: '@_',
  parseTagValue: false,
  parseAttributeValue: false,
  removeNSPrefix: true,
  isArray: (tag: string) => tag === 'image' || tag === 'deletedImage',
});

/** At most this many pages per fetch, so a runaway `next` link cannot loop forever. */
const MAX_PAGES = 10_000;

async function get(fetchFn: Fetch, url: string, headers: Record<string, string>, signal: AbortSignal | undefined, what: string): Promise<string> {
  let response: Response;
  try {
    response = await fetchFn(url, { headers, ...(signal && { signal }) });
  } catch (err) {
    throw new SourceError(`${what}: request failed (${(err as Error).name})`, { retriable: true });
  }
  if (!response.ok) throw new SourceError(`${what}: HTTP ${response.status}`, { retriable: response.status >= 500 || response.status === 429 });
  return response.text();
}

function validHash(value: unknown, algorithm: ListAlgorithm): string | null {
  if (typeof value !== 'string') return null;
  const hex = value.trim().toLowerCase();
  return hex.length === HEX_LENGTH[algorithm] && /^[0-9a-f]+$/.test(hex) ? hex : null;
}

function digestOf(added: SourceEntry[], removed: Array<{ hash?: string; externalId?: string }>): string {
  return createHash('sha256').update(JSON.stringify([added, removed])).digest('hex');
}

export interface NcmecSourceOptions {
  id: string;
  /** e.g. https://hashsharing.ncmec.org/npo (the API root; `/v2/entries` is appended). */
  baseUrl: string;
  /** Which fingerprint of each record becomes the list entry: md5, sha1 or pdq. */
  algorithm: 'md5' | 'sha1' | 'pdq';
  username: string;
  password: string;
  fetch?: Fetch;
  now?: () => Date;
  /** Where a first fetch starts (default: the epoch: the whole history). */
  start?: Date;
}

/** NCMEC hash sharing: image records and deletions since the checkpoint's timestamp. */
export class NcmecSource implements HashListSource {
  readonly kind = 'ncmec';
  readonly id: string;
  readonly algorithm: ListAlgorithm;
  readonly #options: NcmecSourceOptions;

  constructor(options: NcmecSourceOptions) {
    this.#options = options;
    this.id = options.id;
    this.algorithm = options.algorithm;
  }

  async fetch(checkpoint: Checkpoint | null, signal?: AbortSignal): Promise<Delivery | null> {
    const o = this.#options;
    const from = typeof checkpoint?.from === 'string' ? checkpoint.from : (o.start ?? new Date(0)).toISOString();
    const to = (o.now?.() ?? new Date()).toISOString();
    const headers = { authorization: `Basic ${Buffer.from(`${o.username}:${o.password}`).toString('base64')}`, accept: 'application/xml' };
    const root = o.baseUrl.replace(/\/+$/, '');
    let url: string | null = `${root}/v2/entries?from=${encodeURIComponent(from)}&to=${encodeURIComponent(to)}`;
    // Later records win: an update re-sends the record, a deletion names its id.
    const records = new Map<string, { entry: SourceEntry | null; deleted: boolean }>();
    let maxTimestamp = from;
    for (let pages = 0; url !== null; pages++) {
      if (pages >= MAX_PAGES) throw new SourceError('NCMEC: too many pages in one fetch');
      const body = await get(o.fetch ?? fetch, url, headers, signal, 'NCMEC entries');
      const page = parseNcmecPage(body, this.algorithm);
      for (const r of page.records) records.set(r.id, r.entry === null ? { entry: null, deleted: r.deleted } : { entry: r.entry, deleted: false });
      if (page.maxTimestamp && page.maxTimestamp > maxTimestamp) maxTimestamp = page.maxTimestamp;
      // `next` is a path under the API root ("/v2/entries?...&start=2001"), XML-escaped.
      const next = page.next?.replace(/&amp;/g, '&') ?? null;
      url = next === null ? null : /^https?:/.test(next) ? next : `${root}${next.slice(Math.max(0, next.indexOf('/v2/')))}`;
    }
    if (records.size === 0) return null;
    const added: SourceEntry[] = [];
    const removed: Array<{ externalId: string }> = [];
    for (const [id, r] of records) {
      if (r.deleted) removed.push({ externalId: id });
      else if (r.entry) added.push(r.entry);
    }
    return { kind: 'delta', label: `${from}..${maxTimestamp}`, format: 'ncmec-csv', sha256: digestOf(added, removed), added, removed, checkpoint: { from: maxTimestamp } };
  }
}

export interface NcmecPage {
  records: Array<{ id: string; entry: SourceEntry | null; deleted: boolean }>;
  maxTimestamp: string | null;
  next: string | null;
}

/**
 * One page of `GET /v2/entries`. Image records without a fingerprint of the wanted algorithm are
 * skipped (a PhotoDNA-only record); videos are not images and are skipped.
 */
export function parseNcmecPage(body: string, algorithm: ListAlgorithm): NcmecPage {
  if (XMLValidator.validate(body) !== true) throw new SourceError('NCMEC: the response is not well-formed XML');
  const doc = ncmecParser.parse(body) as { queryResult?: { images?: { '@_maxTimestamp'?: string; image?: unknown[]; deletedImage?: unknown[] }; paging?: { next?: string } } };
  const result = doc.queryResult;
  if (!result) throw new SourceError('NCMEC: no <queryResult> in the response');
  const images = result.images;
  const records: NcmecPage['records'] = [];
  for (const raw of images?.image ?? []) {
    const image = raw as { id?: string; classification?: string; fingerprints?: Record<string, unknown> };
    if (typeof image.id !== 'string' || image.id === '') continue;
    const hash = validHash(image.fingerprints?.[algorithm], algorithm);
    records.push({ id: image.id, entry: hash ? { hash, externalId: image.id, ...(image.classification && { category: String(image.classification) }) } : null, deleted: false });
  }
  for (const raw of images?.deletedImage ?? []) {
    const deleted = raw as { id?: string };
    if (typeof deleted.id === 'string' && deleted.id !== '') records.push({ id: deleted.id, entry: null, deleted: true });
  }
  const next = typeof result.paging?.next === 'string' && result.paging.next.trim() !== '' ? result.paging.next.trim() : null;
  return { records, maxTimestamp: images?.['@_maxTimestamp'] ?? null, next };
}

export interface StopNciiSourceOptions {
  id: string;
  /** e.g. https://api.stopncii.org/v1 */
  baseUrl: string;
  subscriptionKey: string;
  fetchFunctionKey: string;
  pageSize?: number;
  fetch?: Fetch;
}

interface StopNciiRecord {
  signalType?: string;
  hashValue?: string;
  hashStatus?: string;
  caseNumbers?: Record<string, string>;
}

interface StopNciiPage {
  count?: number;
  nextPageToken?: string;
  nextSetTimestamp?: number;
  hasMoreRecords?: boolean;
  hashRecords?: StopNciiRecord[];
}

/** StopNCII FetchHashes: PDQ image hashes changed since the checkpoint's timestamp. */
export class StopNciiSource implements HashListSource {
  readonly kind = 'stopncii';
  readonly id: string;
  readonly algorithm: ListAlgorithm = 'pdq';
  readonly #options: StopNciiSourceOptions;

  constructor(options: StopNciiSourceOptions) {
    this.#options = options;
    this.id = options.id;
  }

  async fetch(checkpoint: Checkpoint | null, signal?: AbortSignal): Promise<Delivery | null> {
    const o = this.#options;
    const start = typeof checkpoint?.startTimestamp === 'number' ? checkpoint.startTimestamp : 0;
    const headers = { 'x-functions-key': o.fetchFunctionKey, 'Ocp-Apim-Subscription-Key': o.subscriptionKey, accept: 'application/json' };
    // Records are the current state of each hash: a later one replaces an earlier one.
    const latest = new Map<string, StopNciiRecord>();
    let token = '';
    let nextStart = start;
    for (let pages = 0; ; pages++) {
      if (pages >= MAX_PAGES) throw new SourceError('StopNCII: too many pages in one fetch');
      const params = new URLSearchParams({ startTimestamp: String(start), pageSize: String(o.pageSize ?? 800), ...(token && { nextPageToken: token }) });
      const body = await get(o.fetch ?? fetch, `${o.baseUrl.replace(/\/+$/, '')}/FetchHashes?${params}`, headers, signal, 'StopNCII FetchHashes');
      let page: StopNciiPage;
      try {
        page = JSON.parse(body) as StopNciiPage;
      } catch {
        throw new SourceError('StopNCII: the response is not JSON');
      }
      for (const record of page.hashRecords ?? []) {
        if (record.signalType !== 'ImagePDQ') continue;
        const hash = validHash(record.hashValue, 'pdq');
        if (hash) latest.set(hash, record);
      }
      if (typeof page.nextSetTimestamp === 'number' && page.nextSetTimestamp > nextStart) nextStart = page.nextSetTimestamp;
      if (!page.hasMoreRecords || !page.nextPageToken) break;
      token = page.nextPageToken;
    }
    if (latest.size === 0) return null;
    const added: SourceEntry[] = [];
    const removed: Array<{ hash: string }> = [];
    for (const [hash, record] of latest) {
      if (record.hashStatus === 'Withdrawn' || record.hashStatus === 'Deleted') removed.push({ hash });
      else {
        const caseId = Object.keys(record.caseNumbers ?? {}).sort()[0];
        added.push({ hash, category: 'ncii', ...(caseId && { externalId: caseId }) });
      }
    }
    return {
      kind: 'delta', label: `startTimestamp ${start}..${nextStart}`, format: 'threatexchange-pdq', sha256: digestOf(added, removed), added, removed,
      checkpoint: { startTimestamp: nextStart },
    };
  }
}
