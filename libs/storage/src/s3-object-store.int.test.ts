import { Readable } from 'node:stream';
import { resolveS3, type S3Service } from '@vigil/testkit/services';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { objectStoreContract, type SentRequest } from './object-store.contract.ts';
import { S3ObjectStore } from './s3-object-store.ts';

/** Records every request the client signs and sends (after all headers are final). */
export function captureRequests(store: S3ObjectStore): () => readonly SentRequest[] {
  const sent: SentRequest[] = [];
  store.client.middlewareStack.add(
    (next, context) => async (args) => {
      const request = args.request as {
        method?: string;
        path?: string;
        headers?: Record<string, string>;
        query?: Record<string, string | null>;
        body?: unknown;
      };
      const headers: Record<string, string> = {};
      for (const [name, value] of Object.entries(request.headers ?? {})) headers[name.toLowerCase()] = value;
      sent.push({
        command: context.commandName ?? '',
        method: request.method ?? '',
        path: request.path ?? '',
        headers,
        query: { ...request.query },
        body: typeof request.body === 'string' ? request.body : undefined,
      });
      return next(args);
    },
    { step: 'finalizeRequest', name: 'vigilCaptureRequests', priority: 'low' },
  );
  return () => sent;
}

const resolved = await resolveS3({ suite: 'S3ObjectStore contract' });

function storeFor(service: S3Service, extra: Partial<ConstructorParameters<typeof S3ObjectStore>[0]> = {}): S3ObjectStore {
  return new S3ObjectStore({
    endpoint: service.endpoint,
    region: service.region,
    credentials: service.credentials,
    forcePathStyle: service.forcePathStyle,
    requestChecksums: service.requestChecksums,
    // The smallest part S3 allows, so the contract's 6 MiB stream really goes in parts.
    uploadPartSizeBytes: 5 * 1024 * 1024,
    ...extra,
  });
}

if (resolved.available) {
  const service = resolved.service;
  objectStoreContract(`S3ObjectStore (${service.source})`, async () => {
    const store = storeFor(service);
    const requests = captureRequests(store);
    return {
      store,
      capabilities: {
        versioning: service.versioning,
        enforcesObjectLock: service.enforcesObjectLock,
        conditionalWrites: service.conditionalWrites,
        tagsOnWrite: service.tagsOnWrite,
        keyFidelity: service.keyFidelity,
      },
      requests,
      // The server's clock decides; ours is close enough on one machine.
      passTime: async (date) => {
        const wait = date.getTime() - Date.now();
        if (wait > 0) await new Promise((resolve) => setTimeout(resolve, wait));
      },
      close: async () => {
        await store.close();
        await service.close();
      },
    };
  });
} else {
  describe.skip(`S3ObjectStore contract: ${resolved.reason}`, () => {
    it('needs an S3 endpoint', () => undefined);
  });
}

describe.runIf(resolved.available && resolved.source === 'stand-in')('s3rver, as the notes measured', () => {
  let service: S3Service;
  let store: S3ObjectStore;
  beforeAll(async () => {
    const again = await resolveS3({ suite: 's3rver checks' });
    if (!again.available) throw new Error(again.reason);
    service = again.service;
    store = storeFor(service);
  });
  afterAll(async () => {
    await store?.close();
    await service?.close();
  });

  it('pages ListObjectsV2 with continuation tokens (needs the legacy OpenSSL provider in its process)', async () => {
    await store.ensureBucket('paging');
    for (let i = 0; i < 7; i++) await store.put({ bucket: 'paging', key: `k${i}` }, new Uint8Array([i]));
    const requests = captureRequests(store);
    const keys: string[] = [];
    for await (const item of store.list('paging', { pageSize: 2 })) keys.push(item.key);
    expect(keys).toEqual(['k0', 'k1', 'k2', 'k3', 'k4', 'k5', 'k6']);
    const lists = requests().filter((r) => r.command === 'ListObjectsV2Command');
    expect(lists).toHaveLength(4);
    expect(lists.slice(1).every((r) => typeof r.query['continuation-token'] === 'string')).toBe(true);
  });

  it("stores the SDK's default aws-chunked stream framing as content (why requestChecksums exists)", async () => {
    const defaults = new S3ObjectStore({ endpoint: service.endpoint, credentials: service.credentials, forcePathStyle: true });
    try {
      await defaults.ensureBucket('chunked');
      const bytes = new TextEncoder().encode('exact bytes');
      await defaults.put({ bucket: 'chunked', key: 'k' }, Readable.from([Buffer.from(bytes)]), { contentLength: bytes.length });
      const info = await defaults.head({ bucket: 'chunked', key: 'k' });
      expect(info?.size).not.toBe(bytes.length);
    } finally {
      await defaults.close();
    }
  });

  it('deleteAllVersions falls back to a plain delete where ListObjectVersions is refused', async () => {
    await store.ensureBucket('noversions');
    await store.put({ bucket: 'noversions', key: 'pub/a' }, new Uint8Array([1]));
    expect(await store.deleteAllVersions('noversions', 'pub/a')).toBe(1);
    expect(await store.head({ bucket: 'noversions', key: 'pub/a' })).toBeNull();
  });
});
