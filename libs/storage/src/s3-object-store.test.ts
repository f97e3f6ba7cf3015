// S3ObjectStore against a scripted HTTP server on loopback: the failures a real S3 rarely shows on
// demand (lying sizes, endless bodies, throttling, resets) and the multipart copy s3rver lacks.

import { once } from 'node:events';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { readAll } from './byte-cap.ts';
import { expectStoreError } from './object-store.contract.ts';
import { copySource, S3ObjectStore, type S3ObjectStoreConfig } from './s3-object-store.ts';

type Handler = (req: IncomingMessage, res: ServerResponse, url: URL, body: string) => void;

interface Fake {
  store: S3ObjectStore;
  requests: { method: string; url: URL; headers: IncomingMessage['headers']; body: string }[];
  server: Server;
}

const open: Fake[] = [];
afterEach(async () => {
  for (const fake of open.splice(0)) {
    await fake.store.close();
    fake.server.closeAllConnections();
    fake.server.close();
  }
});

const SECRET = 'wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY';
const KEY_ID = 'AKIAIOSFODNN7EXAMPLE';

async function fake(handler: Handler, config: Partial<S3ObjectStoreConfig> = {}): Promise<Fake> {
  const requests: Fake['requests'] = [];
  const server = createServer((req, res) => {
    const url = new URL(req.url ?? '/', 'http://fake');
    // Bodies of GET/HEAD/DELETE are empty; PUT parts would be large, but no test sends data parts.
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => {
      const body = Buffer.concat(chunks).toString('utf8');
      requests.push({ method: req.method ?? '', url, headers: req.headers, body });
      handler(req, res, url, body);
    });
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const { port } = server.address() as AddressInfo;
  const store = new S3ObjectStore({
    endpoint: `http://127.0.0.1:${port}`,
    region: 'us-east-1',
    credentials: { accessKeyId: KEY_ID, secretAccessKey: SECRET },
    forcePathStyle: true,
    maxAttempts: 1,
    ...config,
  });
  const made = { store, requests, server };
  open.push(made);
  return made;
}

function xmlError(res: ServerResponse, status: number, code: string, message = `${code} message`): void {
  res.writeHead(status, { 'content-type': 'application/xml' });
  res.end(`<?xml version="1.0" encoding="UTF-8"?><Error><Code>${code}</Code><Message>${message}</Message><RequestId>r1</RequestId></Error>`);
}

function objectHeaders(extra: Record<string, string> = {}): Record<string, string> {
  return { etag: '"0123456789abcdef0123456789abcdef"', 'last-modified': new Date().toUTCString(), 'content-type': 'image/png', ...extra };
}

describe('S3ObjectStore byte cap', () => {
  it('aborts a body of unknown length at the cap and closes the connection', async () => {
    let sent = 0;
    let closed = false;
    const { store } = await fake((_req, res) => {
      res.writeHead(200, objectHeaders()); // chunked: no Content-Length
      res.on('close', () => (closed = true));
      const chunk = Buffer.alloc(64 * 1024, 7);
      const pump = () => {
        while (!closed && sent < 1024 ** 3) {
          sent += chunk.length;
          if (!res.write(chunk)) return void res.once('drain', pump);
        }
      };
      pump();
    });
    const { info, body } = await store.get({ bucket: 'bkt', key: 'endless' }, { maxBytes: 1024 * 1024 });
    expect(info.size).toBe(0);
    await expectStoreError(readAll(body), 'too_large');
    await expect.poll(() => closed, { timeout: 5000 }).toBe(true);
    // Socket buffers hold a few MiB at most; an unbounded read would have taken the full GiB.
    expect(sent).toBeLessThan(64 * 1024 * 1024);
  });

  it('refuses a declared size over the cap without reading the body', async () => {
    let closed = false;
    const { store } = await fake((_req, res) => {
      res.writeHead(200, objectHeaders({ 'content-length': String(10 * 1024 ** 3) }));
      res.on('close', () => (closed = true));
      res.write(Buffer.alloc(1024));
    });
    const error = await expectStoreError(store.get({ bucket: 'bkt', key: 'huge' }, { maxBytes: 1024 * 1024 }), 'too_large');
    expect(error.retriable).toBe(false);
    await expect.poll(() => closed, { timeout: 5000 }).toBe(true);
  });

  it('reports a body cut short of its Content-Length as a retriable torn read', async () => {
    const { store } = await fake((_req, res) => {
      res.writeHead(200, objectHeaders({ 'content-length': '1000' }));
      res.write(Buffer.alloc(100), () => res.socket?.destroy());
    });
    const { body } = await store.get({ bucket: 'bkt', key: 'torn' }, { maxBytes: 5000 });
    const error = await expectStoreError(readAll(body), 'unavailable');
    expect(error.retriable).toBe(true);
  });
});

describe('S3ObjectStore error mapping (as parsed by the SDK)', () => {
  it.each([
    [503, 'SlowDown', 'unavailable', true],
    [500, 'InternalError', 'unavailable', true],
    [403, 'AccessDenied', 'access_denied', false],
    [403, 'InvalidAccessKeyId', 'access_denied', false],
    [404, 'NoSuchKey', 'not_found', false],
    [404, 'NoSuchBucket', 'not_found', false],
    [501, 'NotImplemented', 'invalid', false],
    [400, 'InvalidArgument', 'invalid', false],
  ] as const)('GET answered %s %s is %s (retriable %s)', async (status, code, expected, retriable) => {
    const { store } = await fake((_req, res) => xmlError(res, status, code));
    const error = await expectStoreError(store.get({ bucket: 'bkt', key: 'k' }, { maxBytes: 10 }), expected);
    expect(error).toMatchObject({ retriable, backendCode: code, httpStatus: status, operation: 'get', bucket: 'bkt', key: 'k' });
    expect(JSON.stringify(error) + error.message).not.toContain(KEY_ID);
    expect(JSON.stringify(error) + error.message).not.toContain(SECRET);
  });

  it('a conditional put that loses is precondition_failed', async () => {
    const { store, requests } = await fake((_req, res) => xmlError(res, 412, 'PreconditionFailed'));
    await expectStoreError(store.put({ bucket: 'bkt', key: 'k' }, new Uint8Array([1]), { ifNoneMatch: '*' }), 'precondition_failed');
    expect(requests[0]?.headers['if-none-match']).toBe('*');
  });

  it('the SDK retries throttling itself before giving up', async () => {
    let calls = 0;
    const { store } = await fake(
      (_req, res) => {
        calls += 1;
        if (calls < 3) return xmlError(res, 503, 'SlowDown');
        res.writeHead(200, objectHeaders({ 'content-length': '2' }));
        res.end('ok');
      },
      { maxAttempts: 3 },
    );
    const { bytes } = await store.getBytes({ bucket: 'bkt', key: 'k' }, { maxBytes: 10 });
    expect(new TextDecoder().decode(bytes)).toBe('ok');
    expect(calls).toBe(3);
  });

  it('a refused connection is retriable unavailable', async () => {
    const { store, server } = await fake(() => undefined);
    server.close();
    await once(server, 'close');
    const error = await expectStoreError(store.head({ bucket: 'bkt', key: 'k' }), 'unavailable');
    expect(error.retriable).toBe(true);
    expect(error.backendCode).toBe('ECONNREFUSED');
  });

  it('scrubs a presigned URL echoed in an error message', async () => {
    const { store } = await fake((_req, res) =>
      xmlError(res, 400, 'InvalidRequest', `bad http://127.0.0.1/bkt/k?X-Amz-Credential=${KEY_ID}%2F2026&amp;X-Amz-Signature=f00d`),
    );
    const error = await expectStoreError(store.get({ bucket: 'bkt', key: 'k' }, { maxBytes: 10 }), 'invalid');
    expect(error.message).not.toContain(KEY_ID);
    expect(error.message).not.toContain('f00d');
  });

  it('head tells a missing key (null) from a missing bucket (not_found)', async () => {
    let bucketExists = true;
    const { store } = await fake((req, res, url) => {
      if (url.pathname === '/bkt' || url.pathname === '/bkt/') return void res.writeHead(bucketExists ? 200 : 404).end();
      res.writeHead(404).end();
    });
    expect(await store.head({ bucket: 'bkt', key: 'k' })).toBeNull();
    bucketExists = false;
    await expectStoreError(store.head({ bucket: 'bkt', key: 'k' }), 'not_found');
  });

  it('a 403 on deleting a version under retention is locked; without a lock it stays access_denied', async () => {
    let locked = true;
    const { store } = await fake((req, res) => {
      if (req.method === 'DELETE') return xmlError(res, 403, 'AccessDenied', 'Access Denied');
      const lock: Record<string, string> = locked
        ? { 'x-amz-object-lock-mode': 'COMPLIANCE', 'x-amz-object-lock-retain-until-date': new Date(Date.now() + 86_400_000).toISOString() }
        : {};
      res.writeHead(200, objectHeaders({ 'content-length': '1', 'x-amz-version-id': 'v1', ...lock })).end();
    });
    await expectStoreError(store.delete({ bucket: 'bkt', key: 'k', versionId: 'v1' }), 'locked');
    locked = false;
    await expectStoreError(store.delete({ bucket: 'bkt', key: 'k', versionId: 'v1' }), 'access_denied');
  });

  it('reads retention and legal hold from HEAD', async () => {
    const until = new Date('2031-01-01T00:00:00.000Z');
    const { store } = await fake((_req, res) =>
      res
        .writeHead(200, objectHeaders({ 'content-length': '5', 'x-amz-version-id': 'v9', 'x-amz-meta-upload-id': 'u1', 'x-amz-object-lock-mode': 'GOVERNANCE', 'x-amz-object-lock-retain-until-date': until.toISOString(), 'x-amz-object-lock-legal-hold': 'ON' }))
        .end(),
    );
    expect(await store.head({ bucket: 'bkt', key: 'k' })).toMatchObject({
      versionId: 'v9',
      size: 5,
      etag: '0123456789abcdef0123456789abcdef',
      metadata: { 'upload-id': 'u1' },
      retention: { mode: 'GOVERNANCE', retainUntil: until },
      legalHold: true,
    });
  });
});

describe('S3ObjectStore multipart copy (objects over the CopyObject limit)', () => {
  const MiB = 1024 * 1024;
  const size = 12 * MiB + 1;

  function multipartServer(failPart?: number): Handler {
    return (req, res, url) => {
      const xml = (body: string) => res.writeHead(200, { 'content-type': 'application/xml' }).end(`<?xml version="1.0" encoding="UTF-8"?>${body}`);
      if (req.method === 'HEAD') return void res.writeHead(200, objectHeaders({ 'content-length': String(size), 'x-amz-meta-a': '1', etag: '"srcetag"' })).end();
      if (req.method === 'GET' && url.searchParams.has('tagging')) return xml('<Tagging><TagSet><Tag><Key>origin</Key><Value>public</Value></Tag></TagSet></Tagging>');
      if (req.method === 'POST' && url.searchParams.has('uploads')) return xml('<InitiateMultipartUploadResult><Bucket>dst</Bucket><Key>out</Key><UploadId>up-1</UploadId></InitiateMultipartUploadResult>');
      if (req.method === 'PUT' && url.searchParams.has('partNumber')) {
        const part = Number(url.searchParams.get('partNumber'));
        if (part === failPart) return xmlError(res, 500, 'InternalError');
        return xml(`<CopyPartResult><ETag>"part${part}"</ETag><LastModified>2026-01-01T00:00:00.000Z</LastModified></CopyPartResult>`);
      }
      if (req.method === 'POST' && url.searchParams.has('uploadId')) return xml('<CompleteMultipartUploadResult><Bucket>dst</Bucket><Key>out</Key><ETag>"whole-3"</ETag></CompleteMultipartUploadResult>');
      if (req.method === 'DELETE' && url.searchParams.has('uploadId')) return void res.writeHead(204).end();
      xmlError(res, 400, 'Unexpected');
    };
  }

  const config = { multipartCopyThresholdBytes: 10 * MiB, copyPartSizeBytes: 5 * MiB };

  it('copies in ranged parts pinned to the source ETag, carrying metadata, type and tags', async () => {
    const { store, requests } = await fake(multipartServer(), config);
    const result = await store.copy({ bucket: 'src', key: 'big file.bin' }, { bucket: 'dst', key: 'out' });
    expect(result).toEqual({ versionId: null, etag: 'whole-3' });
    const create = requests.find((r) => r.method === 'POST' && r.url.searchParams.has('uploads'));
    expect(create?.headers['content-type']).toBe('image/png');
    expect(create?.headers['x-amz-meta-a']).toBe('1');
    expect(create?.headers['x-amz-tagging']).toBe('origin=public');
    const parts = requests.filter((r) => r.method === 'PUT').sort((a, b) => Number(a.url.searchParams.get('partNumber')) - Number(b.url.searchParams.get('partNumber')));
    expect(parts.map((p) => p.headers['x-amz-copy-source-range'])).toEqual([`bytes=0-${5 * MiB - 1}`, `bytes=${5 * MiB}-${10 * MiB - 1}`, `bytes=${10 * MiB}-${size - 1}`]);
    for (const part of parts) {
      expect(part.headers['x-amz-copy-source']).toBe('src/big%20file.bin');
      expect(part.headers['x-amz-copy-source-if-match']).toBe('"srcetag"');
    }
    const complete = requests.find((r) => r.method === 'POST' && r.url.searchParams.has('uploadId'));
    expect(complete?.body.match(/<PartNumber>(\d+)<\/PartNumber>/g)).toEqual(['<PartNumber>1</PartNumber>', '<PartNumber>2</PartNumber>', '<PartNumber>3</PartNumber>']);
    expect(complete?.body).toMatch(/<ETag>(&quot;|")part2(&quot;|")<\/ETag>/);
  });

  it('aborts the upload when a part fails', async () => {
    const { store, requests } = await fake(multipartServer(2), config);
    const error = await expectStoreError(store.copy({ bucket: 'src', key: 'big' }, { bucket: 'dst', key: 'out' }), 'unavailable');
    expect(error.retriable).toBe(true);
    expect(requests.some((r) => r.method === 'DELETE' && r.url.searchParams.get('uploadId') === 'up-1')).toBe(true);
    expect(requests.some((r) => r.method === 'POST' && r.url.searchParams.has('uploadId'))).toBe(false);
  });
});

describe('copySource', () => {
  it('encodes the key but keeps slashes, and appends the version', () => {
    expect(copySource({ bucket: 'b-1', key: 'a b/ü?#.jpg' })).toBe('b-1/a%20b/%C3%BC%3F%23.jpg');
    expect(copySource({ bucket: 'b-1', key: 'k', versionId: 'v+1' })).toBe('b-1/k?versionId=v%2B1');
  });
});
