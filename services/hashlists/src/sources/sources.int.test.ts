// HashListSource adapters against local fixtures served over HTTP (never the live services):
// NCMEC hash-sharing pages (paging, updates, deletions by id), StopNCII FetchHashes pages
// (tokens, withdrawals), a URL drop (conditional GET), a folder drop and a re-read file; and
// syncSource turning deliveries into list versions from a stored checkpoint, idempotently.

import { createServer, type Server } from 'node:http';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { AddressInfo } from 'node:net';
import type { Pool } from '@vigil/db';
import { PgListStore } from '@vigil/lists';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openPool, postgres } from '../../test/support.ts';
import { FileSource, FolderDropSource, UrlDropSource } from './drop-sources.ts';
import { NcmecSource, parseNcmecPage, StopNciiSource } from './exchange-sources.ts';
import { SourceError } from './source.ts';
import { hashListSourceContract } from './source.contract.ts';
import { applyDelivery, loadCheckpoint, syncSource } from './sync.ts';
import { startSourceSync } from './scheduler.ts';

const FIXTURES = new URL('../../test/fixtures/', import.meta.url);
const fixture = (name: string) => readFile(new URL(name, FIXTURES), 'utf8');
const hex = (n: number, length: number) => n.toString(16).padStart(length, '0');

describe('source parsing (pure)', () => {
  it('reads NCMEC pages: image records by the chosen fingerprint, deletions by id, paging and the high-water mark', async () => {
    const page = parseNcmecPage(await fixture('ncmec-entries-1.xml'), 'md5');
    expect(page.records).toEqual([
      { id: 'img-1', entry: { hash: hex(1, 32), externalId: 'img-1', category: 'A1' }, deleted: false },
      { id: 'img-2', entry: { hash: hex(2, 32), externalId: 'img-2', category: 'B1' }, deleted: false },
      { id: 'img-pdna-only', entry: null, deleted: false },
    ]);
    expect(page.maxTimestamp).toBe('2026-01-02T10:00:00Z');
    expect(page.next).toContain('start=3');
    expect(parseNcmecPage(await fixture('ncmec-entries-1.xml'), 'pdq').records[0]!.entry).toEqual({ hash: hex(1, 64), externalId: 'img-1', category: 'A1' });
    expect(parseNcmecPage(await fixture('ncmec-entries-3.xml'), 'md5').records.at(-1)).toEqual({ id: 'img-1', entry: null, deleted: true });
    expect(() => parseNcmecPage('<queryResult><images>', 'md5')).toThrow(SourceError);
  });

  it('applies a delta to the current entries: withdrawals by hash or id, re-sent records replace', () => {
    const current = [{ hash: 'aa', externalId: 'x' }, { hash: 'bb', externalId: 'y' }, { hash: 'cc' }];
    const next = applyDelivery(current, {
      kind: 'delta', label: 'd', format: 'plain', sha256: '0', checkpoint: {},
      added: [{ hash: 'bb', externalId: 'y', category: 'A1' }, { hash: 'dd' }], removed: [{ externalId: 'x' }, { hash: 'cc' }],
    });
    expect(next).toEqual([{ hash: 'bb', externalId: 'y', category: 'A1' }, { hash: 'dd' }]);
  });
});

describe.skipIf(!postgres.available)('sources and sync', () => {
  let pool: Pool;
  let server: Server;
  let base: string;
  let dir: string;
  const requests: string[] = [];
  let listBody = `hash,id\n${hex(100, 64)},L-100\n`;

  beforeAll(async () => {
    pool = await openPool();
    dir = await mkdtemp(join(tmpdir(), 'vigil-sources-'));
    server = createServer(async (req, res) => {
      const url = new URL(req.url!, 'http://local');
      requests.push(url.pathname + url.search);
      if (url.pathname === '/npo/v2/entries') {
        if (req.headers.authorization !== `Basic ${Buffer.from('member:secret').toString('base64')}`) return void res.writeHead(401).end();
        const from = url.searchParams.get('from')!;
        const body = url.searchParams.get('start') === '3' ? await fixture('ncmec-entries-2.xml')
          : from < '2026-01-02T12:00:00Z' ? await fixture('ncmec-entries-1.xml')
          : from < '2026-01-05T08:00:00Z' ? await fixture('ncmec-entries-3.xml')
          : '<?xml version="1.0"?><queryResult xmlns="https://hashsharing.ncmec.org/hashsharing/v2"><images count="0"/></queryResult>';
        return void res.writeHead(200, { 'content-type': 'application/xml' }).end(body);
      }
      if (url.pathname === '/v1/FetchHashes') {
        if (req.headers['x-functions-key'] !== 'fn-key' || req.headers['ocp-apim-subscription-key'] !== 'sub-key') return void res.writeHead(401).end();
        const start = Number(url.searchParams.get('startTimestamp'));
        const name = url.searchParams.get('nextPageToken') === 'page-2' ? 'stopncii-page-2.json' : start < 1767000500 ? 'stopncii-page-1.json' : start < 1767100000 ? 'stopncii-page-3.json' : null;
        const body = name ? await fixture(name) : JSON.stringify({ count: 0, nextPageToken: '', nextSetTimestamp: start, hasMoreRecords: false, hashRecords: [] });
        return void res.writeHead(200, { 'content-type': 'application/json' }).end(body);
      }
      if (url.pathname === '/drop/list.csv') {
        const etag = `"${Buffer.from(listBody).toString('base64url').slice(-16)}"`;
        if (req.headers['if-none-match'] === etag) return void res.writeHead(304).end();
        return void res.writeHead(200, { etag, 'content-type': 'text/csv' }).end(listBody);
      }
      res.writeHead(404).end();
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });
  afterAll(async () => {
    await new Promise((resolve) => server?.close(resolve));
    await pool?.end();
    await rm(dir, { recursive: true, force: true });
  });

  const entriesOf = async (name: string) => (await new PgListStore(pool).entries(name)).map((e) => [e.externalId, e.category ?? null]);

  it('syncs NCMEC incrementally: all pages into one version, then updates and deletions as the next, then nothing', async () => {
    const store = new PgListStore(pool);
    const source = new NcmecSource({ id: 'ncmec-md5', baseUrl: `${base}/npo`, algorithm: 'md5', username: 'member', password: 'secret', now: () => new Date('2026-01-03T00:00:00Z') });
    // One sync drains the exchange from the checkpoint: each fetch (all its pages) is a version.
    const synced = await syncSource({ pool, store }, source, { name: 'ncmec-md5' });
    expect(synced).toEqual([
      { version: 1, label: '1970-01-01T00:00:00.000Z..2026-01-02T12:00:00Z', entries: 3, added: 3, removed: 0, changed: 0 },
      { version: 2, label: '2026-01-02T12:00:00Z..2026-01-05T08:00:00Z', entries: 2, added: 0, removed: 1, changed: 1 },
    ]);
    expect(await new PgListStore(pool).entries('ncmec-md5', 1).then((es) => es.map((e) => [e.externalId, e.category]))).toEqual([['img-1', 'A1'], ['img-2', 'B1'], ['img-3', 'A2']]);
    expect(await entriesOf('ncmec-md5')).toEqual([['img-3', 'A2'], ['img-2', 'A1']]);
    expect(await loadCheckpoint(pool, 'ncmec-md5')).toEqual({ from: '2026-01-05T08:00:00Z' });
    expect(requests.some((r) => r.includes('start=3'))).toBe(true);
    expect(await syncSource({ pool, store }, source, { name: 'ncmec-md5' })).toEqual([]);

    // A crash after the version was written but before the checkpoint: the re-fetched delivery is recognised.
    await pool.query(`UPDATE hashlist_source_checkpoints SET checkpoint = '{"from": "2026-01-02T12:00:00Z"}' WHERE source_id = 'ncmec-md5'`);
    expect(await syncSource({ pool, store }, source, { name: 'ncmec-md5' })).toEqual([]);
    expect((await store.get('ncmec-md5'))!.versions).toHaveLength(2);

    const refused = new NcmecSource({ id: 'bad', baseUrl: `${base}/npo`, algorithm: 'md5', username: 'member', password: 'wrong' });
    await expect(syncSource({ pool, store }, refused, { name: 'ncmec-bad' })).rejects.toMatchObject({ name: 'SourceError', retriable: false });
  });

  it('syncs StopNCII: image PDQ records across page tokens, then a withdrawal removes its hash', async () => {
    const store = new PgListStore(pool);
    const source = new StopNciiSource({ id: 'stopncii', baseUrl: `${base}/v1`, subscriptionKey: 'sub-key', fetchFunctionKey: 'fn-key' });
    const synced = await syncSource({ pool, store }, source, { name: 'stopncii', action: 'review' });
    expect(synced).toEqual([expect.objectContaining({ version: 1, entries: 2, added: 2 }), expect.objectContaining({ version: 2, entries: 1, removed: 1 })]);
    expect(await store.entries('stopncii', 1).then((es) => es.map((e) => [e.externalId, e.category]))).toEqual([['case-17', 'ncii'], ['case-19', 'ncii']]);
    expect(await entriesOf('stopncii')).toEqual([['case-19', 'ncii']]);
    expect(await loadCheckpoint(pool, 'stopncii')).toEqual({ startTimestamp: 1767100000 });
    expect(requests.filter((r) => r.includes('nextPageToken=page-2'))).toHaveLength(1);
    expect((await store.get('stopncii'))!.action).toBe('review');
  });

  it('takes a URL drop when its body changes (conditional GET), and a folder drop file by file', async () => {
    const store = new PgListStore(pool);
    const url = new UrlDropSource(`${base}/drop/list.csv`, { id: 'drop-url', algorithm: 'pdq', format: 'plain' });
    expect(await syncSource({ pool, store }, url, { name: 'drop-url' })).toEqual([expect.objectContaining({ version: 1, entries: 1 })]);
    const before = requests.length;
    expect(await syncSource({ pool, store }, url, { name: 'drop-url' })).toEqual([]);
    expect(requests.length).toBe(before + 1);
    listBody += `${hex(101, 64)},L-101\n`;
    expect(await syncSource({ pool, store }, url, { name: 'drop-url' })).toEqual([expect.objectContaining({ version: 2, entries: 2, added: 1 })]);

    await writeFile(join(dir, '2026-01-01.csv'), `${hex(200, 64)},F-1\n`);
    await writeFile(join(dir, '2026-01-02.csv'), `${hex(200, 64)},F-1\n${hex(201, 64)},F-2\n`);
    await writeFile(join(dir, '2026-01-03.csv.part'), 'half a file');
    const folder = new FolderDropSource(dir, { id: 'drop-folder', algorithm: 'pdq', format: 'plain' });
    expect((await syncSource({ pool, store }, folder, { name: 'drop-folder' })).map((v) => [v.version, v.label, v.entries])).toEqual([
      [1, '2026-01-01.csv', 1], [2, '2026-01-02.csv', 2],
    ]);
    await writeFile(join(dir, '2026-01-04.csv'), `${hex(200, 64)},F-1\nnot-a-hash\n`);
    await expect(syncSource({ pool, store }, folder, { name: 'drop-folder' })).rejects.toMatchObject({ issues: [{ line: 2 }] });
    expect(await loadCheckpoint(pool, 'drop-folder')).toEqual({ file: '2026-01-02.csv' });

    // Scheduled: the next file dropped is picked up by the running sync loop; a bad one is logged and skipped over time.
    const synced: number[] = [];
    const scheduler = startSourceSync({ pool, store, onSynced: (_list, versions) => synced.push(...versions.map((v) => v.version)) }, [
      { source: new FolderDropSource(dir, { id: 'drop-scheduled', algorithm: 'pdq', format: 'plain' }), target: { name: 'drop-scheduled' }, intervalMs: 50 },
    ]);
    await new Promise((resolve) => setTimeout(resolve, 400));
    await scheduler.stop();
    expect(synced).toEqual([1, 2]);
    expect(await loadCheckpoint(pool, 'drop-scheduled')).toEqual({ file: '2026-01-02.csv' });

    const path = join(dir, 'single.txt');
    await writeFile(path, `${hex(300, 64)}\n`);
    const file = new FileSource(path, { id: 'file', algorithm: 'pdq', format: 'plain' });
    expect(await syncSource({ pool, store }, file, { name: 'file-list' })).toHaveLength(1);
    expect(await syncSource({ pool, store }, file, { name: 'file-list' })).toEqual([]);
  });
});

describe('HashListSource contract', () => {
  const servers: Server[] = [];
  afterAll(async () => Promise.all(servers.map((s) => new Promise((resolve) => s.close(resolve)))));

  /** An HTTP upstream whose answers a test can change. */
  async function upstream(handler: (url: URL, headers: Record<string, string | string[] | undefined>) => Promise<{ status: number; body: string; headers?: Record<string, string> }>) {
    const server = createServer(async (req, res) => {
      const answer = await handler(new URL(req.url!, 'http://local'), req.headers);
      res.writeHead(answer.status, answer.headers ?? {}).end(answer.body);
    });
    servers.push(server);
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    return `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  }

  hashListSourceContract('FolderDropSource', async () => {
    const folder = await mkdtemp(join(tmpdir(), 'vigil-contract-'));
    await writeFile(join(folder, 'a.csv'), `${hex(1, 64)}\n`);
    await writeFile(join(folder, 'b.csv'), `${hex(1, 64)}\n${hex(2, 64)}\n`);
    return { source: new FolderDropSource(folder, { id: 'c-folder', algorithm: 'pdq', format: 'plain' }), advance: () => writeFile(join(folder, 'c.csv'), `${hex(3, 64)}\n`) };
  });

  hashListSourceContract('FileSource', async () => {
    const path = join(await mkdtemp(join(tmpdir(), 'vigil-contract-')), 'list.txt');
    await writeFile(path, `${hex(1, 32)}\n`);
    return { source: new FileSource(path, { id: 'c-file', algorithm: 'md5', format: 'plain' }), advance: () => writeFile(path, `${hex(2, 32)}\n`) };
  });

  hashListSourceContract('UrlDropSource', async () => {
    let body = `${hex(1, 64)}\n`;
    const base = await upstream(async (_url, headers) => {
      const etag = `"${body.length}"`;
      return headers['if-none-match'] === etag ? { status: 304, body: '' } : { status: 200, body, headers: { etag } };
    });
    return { source: new UrlDropSource(`${base}/list`, { id: 'c-url', algorithm: 'pdq', format: 'plain' }), advance: async () => void (body += `${hex(2, 64)}\n`) };
  });

  hashListSourceContract('NcmecSource', async () => {
    const pages = [await fixture('ncmec-entries-1.xml'), await fixture('ncmec-entries-2.xml')];
    let later = false;
    const empty = '<?xml version="1.0"?><queryResult xmlns="https://hashsharing.ncmec.org/hashsharing/v2"><images count="0"/></queryResult>';
    const base = await upstream(async (url) => {
      const from = url.searchParams.get('from')!;
      if (url.searchParams.get('start') === '3') return { status: 200, body: pages[1]! };
      if (from < '2026-01-02T12:00:00Z') return { status: 200, body: pages[0]! };
      return { status: 200, body: later && from < '2026-01-05T08:00:00Z' ? await fixture('ncmec-entries-3.xml') : empty };
    });
    return {
      source: new NcmecSource({ id: 'c-ncmec', baseUrl: `${base}/npo`, algorithm: 'md5', username: 'u', password: 'p', now: () => new Date('2026-02-01T00:00:00Z') }),
      advance: async () => void (later = true),
    };
  });

  hashListSourceContract('StopNciiSource', async () => {
    let later = false;
    const base = await upstream(async (url) => {
      const start = Number(url.searchParams.get('startTimestamp'));
      const name = url.searchParams.get('nextPageToken') === 'page-2' ? 'stopncii-page-2.json' : start < 1767000500 ? 'stopncii-page-1.json' : later && start < 1767100000 ? 'stopncii-page-3.json' : null;
      return { status: 200, body: name ? await fixture(name) : JSON.stringify({ count: 0, nextPageToken: '', nextSetTimestamp: start, hasMoreRecords: false, hashRecords: [] }) };
    });
    return { source: new StopNciiSource({ id: 'c-stopncii', baseUrl: base, subscriptionKey: 's', fetchFunctionKey: 'f' }), advance: async () => void (later = true) };
  });
});
