// Bounded reads: wraps an object body so that no caller can be made to hold more than it asked
// for, whatever the backend claims about the size. Owns counting and cutting streams; never
// buffers more than one chunk beyond what the consumer has read.

import { finished, Readable, Transform, type TransformCallback } from 'node:stream';
import { ObjectStoreError } from './errors.ts';

export interface CapOptions {
  readonly maxBytes: number;
  /** The size the backend announced, if any: a body that ends short of it is a torn read. */
  readonly expectedSize?: number;
  readonly signal?: AbortSignal;
  /** For error messages: `get bucket/key`. */
  readonly what: string;
}

/**
 * Returns a stream of `source`'s bytes that errors with `too_large` as soon as more than
 * `maxBytes` arrive, and with `unavailable` (retriable) if it ends short of `expectedSize`. On
 * either, and on abort, `source` is destroyed, which for an HTTP body closes the connection: the
 * rest of an oversized object is never downloaded.
 */
export function capStream(source: Readable, options: CapOptions): Readable {
  const { maxBytes, expectedSize, what, signal } = options;
  let seen = 0;
  const counter = new Transform({
    transform(chunk: Buffer, _encoding: BufferEncoding, callback: TransformCallback) {
      seen += chunk.length;
      if (seen > maxBytes) {
        callback(new ObjectStoreError('too_large', `${what}: more than ${maxBytes} bytes`, { retriable: false }));
        return;
      }
      callback(null, chunk);
    },
    flush(callback: TransformCallback) {
      if (expectedSize !== undefined && seen !== expectedSize) {
        callback(new ObjectStoreError('unavailable', `${what}: body ended after ${seen} of ${expectedSize} bytes`));
        return;
      }
      callback();
    },
  });
  const fail = (error: Error): void => {
    if (!counter.destroyed) counter.destroy(error);
    if (!source.destroyed) source.destroy();
  };
  const onAbort = (): void => fail(abortError(signal));
  // Whatever ends the consumer's stream (our cap, an abort, the consumer destroying it early)
  // releases the source, which for an HTTP body closes the connection.
  counter.once('close', () => {
    signal?.removeEventListener('abort', onAbort);
    if (!source.destroyed) source.destroy();
  });
  // A socket reset or disk error mid-body reaches the consumer as a retriable torn read.
  finished(source, (error) => {
    if (error && !counter.destroyed) fail(asStreamError(error, what));
  });
  if (signal?.aborted) onAbort();
  else signal?.addEventListener('abort', onAbort, { once: true });
  source.pipe(counter);
  return counter;
}

function abortError(signal: AbortSignal | undefined): Error {
  const reason: unknown = signal?.reason;
  return reason instanceof Error ? reason : new DOMException('The operation was aborted', 'AbortError');
}

function asStreamError(error: Error, what: string): Error {
  if (error instanceof ObjectStoreError || error.name === 'AbortError') return error;
  const code = (error as NodeJS.ErrnoException).code ?? error.name;
  return new ObjectStoreError('unavailable', `${what}: body stream failed (${code})`, { backendCode: code });
}

/** Reads a capped stream to the end into one buffer (the cap bounds it). */
export async function readAll(stream: Readable): Promise<Uint8Array> {
  const chunks: Buffer[] = [];
  let total = 0;
  for await (const chunk of stream as AsyncIterable<Buffer>) {
    chunks.push(chunk);
    total += chunk.length;
  }
  const out = Buffer.concat(chunks, total);
  return new Uint8Array(out.buffer, out.byteOffset, out.byteLength);
}

/** Discards a body we will not read, so its socket goes back or closes instead of stalling. */
export function discard(body: unknown): void {
  if (body instanceof Readable) body.destroy();
}
