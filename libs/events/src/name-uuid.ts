// Event ids a redo must reproduce (so the outbox and the inbox skip the repeat) are name-based
// uuids: RFC 9562 version 5, SHA-1 over a namespace and the name. One helper for every service.

import { createHash } from 'node:crypto';

/** The same uuid for the same (namespace, name), every time; distinct namespaces never collide by design. */
export function nameBasedUuid(namespace: string | Uint8Array, name: string): string {
  const bytes = createHash('sha1').update(namespace).update(name, 'utf8').digest().subarray(0, 16);
  bytes[6] = (bytes[6]! & 0x0f) | 0x50;
  bytes[8] = (bytes[8]! & 0x3f) | 0x80;
  const hex = bytes.toString('hex');
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`;
}
