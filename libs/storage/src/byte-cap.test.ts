import { Readable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { capStream, readAll } from './byte-cap.ts';

function endless(chunk: number, onStop: () => void): Readable {
  return Readable.from(
    (async function* () {
      try {
        for (;;) yield Buffer.alloc(chunk, 1);
      } finally {
        onStop();
      }
    })(),
  );
}

describe('capStream', () => {
  it('cuts an endless body at the cap and stops its source', async () => {
    let stopped = false;
    const body = capStream(endless(1000, () => (stopped = true)), { maxBytes: 10_500, what: 'get b/k' });
    await expect(readAll(body)).rejects.toMatchObject({ name: 'ObjectStoreError', code: 'too_large', retriable: false });
    await new Promise((resolve) => setImmediate(resolve));
    expect(stopped).toBe(true);
  });

  it('cuts a body longer than it claimed', async () => {
    const body = capStream(Readable.from([Buffer.alloc(600), Buffer.alloc(600)]), { maxBytes: 1000, expectedSize: 500, what: 'get b/k' });
    await expect(readAll(body)).rejects.toMatchObject({ code: 'too_large' });
  });

  it('reports a body shorter than announced as a retriable torn read', async () => {
    const body = capStream(Readable.from([Buffer.alloc(100)]), { maxBytes: 1000, expectedSize: 500, what: 'get b/k' });
    await expect(readAll(body)).rejects.toMatchObject({ code: 'unavailable', retriable: true });
  });

  it('passes an exact body through untouched', async () => {
    const bytes = Buffer.from('exactly this');
    const out = await readAll(capStream(Readable.from([bytes]), { maxBytes: bytes.length, expectedSize: bytes.length, what: 'x' }));
    expect(Buffer.from(out).equals(bytes)).toBe(true);
  });

  it('stops on abort', async () => {
    let stopped = false;
    const controller = new AbortController();
    const body = capStream(endless(10, () => (stopped = true)), { maxBytes: Number.MAX_SAFE_INTEGER, signal: controller.signal, what: 'x' });
    let chunks = 0;
    const consume = async () => {
      for await (const _chunk of body) if (++chunks === 5) controller.abort();
    };
    await expect(consume()).rejects.toMatchObject({ name: 'AbortError' });
    expect(chunks).toBeLessThan(10);
    await new Promise((resolve) => setImmediate(resolve));
    expect(stopped).toBe(true);
  });
});
