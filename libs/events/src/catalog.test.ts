import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { asyncApiDocument } from './asyncapi.ts';
import { createEvent, EVENT_TYPES, parseEvent, partitionKey, versionOf, type EventType, type Payload } from './catalog.ts';

const object = { tenantId: 't-1', bucket: 'uploads', key: 'a/b.jpg', versionId: 'v3', etag: '"abc"', size: 1234, contentType: 'image/jpeg' };
const hashes = { sha256: 'a'.repeat(64), sha1: 'b'.repeat(40), md5: 'c'.repeat(32), pdq: 'd'.repeat(64), pdqQuality: 100, blockhash: 'e'.repeat(64) };
const uploader = { accountId: 'acct-9', ip: '203.0.113.7', userAgent: 'benign-test-agent' };
const at = '2026-11-21T10:00:00.000Z';
const match = { listId: 'demo-pdq', listVersion: 2, action: 'quarantine' as const, algorithm: 'pdq' as const, entryId: 'demo-007', category: null, distance: 4, threshold: 31, variant: 'orig' as const };

/** A valid payload of every event type. */
const samples: { [T in EventType]: Payload<T> } = {
  'upload.received.v1': { uploadId: 'u-1', source: 'workers', object, uploader, uploadedAt: at, mode: 'blocking' },
  'scan.completed.v1': { scanId: 's-1', uploadId: 'u-1', object, verdict: 'matched', blocked: true, hashes, mode: 'fast', lists: [{ listId: 'demo-pdq', version: 2 }], matches: [match], scannedAt: at },
  'match.found.v1': { matchId: 'm-1', scanId: 's-1', object, trigger: 'upload', action: 'quarantine', matches: [match], hashes, uploader, uploadedAt: at, detectedAt: at },
  'quarantine.applied.v1': { quarantineId: 'q-1', matchId: 'm-1', original: object, quarantined: { bucket: 'quarantine', key: 'q-1' }, sha256: hashes.sha256, size: 1234, removedVersions: ['v3'], appliedAt: at },
  'evidence.requested.v1': { evidenceRequestId: 'er-1', matchId: 'm-1', quarantineId: 'q-1', object, hashes, matches: [match], uploader, uploadedAt: at, detectedAt: at },
  'evidence.preserved.v1': { evidenceId: 'e-1', evidenceRequestId: 'er-1', matchId: 'm-1', object, location: { bucket: 'evidence', key: 'e-1' }, manifestKey: 'e-1.manifest.json', manifestSha256: 'f'.repeat(64), retainUntil: '2027-11-21T10:00:00.000Z', preservedAt: at },
  'report.requested.v1': { reportRequestId: 'rr-1', matchId: 'm-1', dedupeKey: 'acct-9:aaaa', priority: 'csam', category: null, object, hashes, matches: [match], uploader, detectedAt: at },
  'report.filed.v1': { reportId: 'r-1', reportRequestId: 'rr-1', dedupeKey: 'acct-9:aaaa', object, status: 'filed', externalReportId: 'CT-1', at },
  'hashlist.updated.v1': { listId: 'demo-pdq', version: 2, previousVersion: 1, algorithm: 'pdq', added: 1, removed: 1, updatedAt: at },
  'rescan.requested.v1': { rescanId: 'rs-1', object, reason: 'hashing_changed', requestedBy: 'operator-1', requestedAt: at },
};
const context = { producer: 'test', traceId: 'trace-1', now: () => new Date(at) };

describe('the event catalog', () => {
  it('has the ten events of the design, each versioned by its name', () => {
    expect(EVENT_TYPES).toEqual(Object.keys(samples));
    for (const type of EVENT_TYPES) expect(versionOf(type)).toBe(1);
  });

  it('carries how a match was found: a derived view (region, crop, downscale or overlay compensation), an unstable view and a corroborated near miss', () => {
    const derived = [
      { ...match, query: 'uncrop-10' },
      { ...match, query: 'region', distance: 6, unstable: true as const },
      { ...match, query: 'upscale-2' },
      { ...match, query: 'overlay' },
      { ...match, algorithm: 'blockhash' as const, distance: 14, nearMiss: true as const, corroborated: true as const },
    ];
    const event = createEvent('match.found.v1', { ...samples['match.found.v1'], matches: derived }, context);
    const parsed = parseEvent(JSON.stringify(event), 'match.found.v1');
    expect(parsed).toEqual({ ok: true, event });
    const invalid = createEvent('match.found.v1', samples['match.found.v1'], context);
    expect(parseEvent(JSON.stringify({ ...invalid, payload: { ...invalid.payload, matches: [{ ...match, query: 'anything' }] } }), 'match.found.v1')).toMatchObject({ ok: false });
    expect(parseEvent(JSON.stringify({ ...invalid, payload: { ...invalid.payload, matches: [{ ...match, unstable: false }] } }), 'match.found.v1')).toMatchObject({ ok: false });
  });

  it.each(EVENT_TYPES)('%s: created, serialised and parsed back unchanged', (type) => {
    const event = createEvent(type, samples[type] as never, context);
    expect(event).toMatchObject({ type, version: 1, occurredAt: at, producer: 'test', traceId: 'trace-1' });
    expect(event.id).toMatch(/^[0-9a-f-]{36}$/);
    expect(parseEvent(JSON.stringify(event), type)).toEqual({ ok: true, event });
    expect(parseEvent(new TextEncoder().encode(JSON.stringify(event)))).toEqual({ ok: true, event });
  });

  it('keys events by object identity, and list events by list', () => {
    const upload = createEvent('upload.received.v1', samples['upload.received.v1'], context);
    const quarantine = createEvent('quarantine.applied.v1', samples['quarantine.applied.v1'], context);
    expect(upload.key).toBe(partitionKey(object));
    expect(quarantine.key).toBe(upload.key);
    expect(partitionKey({ tenantId: 'a', bucket: 'b/c', key: 'd' })).not.toBe(partitionKey({ tenantId: 'a', bucket: 'b', key: 'c/d' }));
    expect(createEvent('hashlist.updated.v1', samples['hashlist.updated.v1'], context).key).toBe('["hashlist","demo-pdq"]');
  });

  it('refuses to create an event whose payload breaks its schema', () => {
    expect(() => createEvent('upload.received.v1', { ...samples['upload.received.v1'], mode: 'later' } as never, context)).toThrow();
  });
});

describe('poison messages get a reason, never a throw, never their values', () => {
  const good = createEvent('upload.received.v1', samples['upload.received.v1'], context);
  it.each([
    ['bad_json', '{"id": '],
    ['not_an_event', JSON.stringify({ hello: 'world' })],
    ['unknown_type', JSON.stringify({ ...good, type: 'upload.exploded.v1' })],
    ['wrong_topic', JSON.stringify(good), 'scan.completed.v1'],
    ['schema_violation', JSON.stringify({ ...good, version: 2 })],
    ['schema_violation', JSON.stringify({ ...good, payload: { ...good.payload, uploader: { accountId: 'acct-9', ip: 'not-an-ip 203.0.113.99' } } })],
    ['schema_violation', JSON.stringify({ ...good, payload: { ...good.payload, object: { ...object, size: -1 } } })],
  ] as const)('%s', (reason, raw, topic?: string) => {
    const parsed = parseEvent(raw, topic);
    expect(parsed).toMatchObject({ ok: false, reason });
    if (!parsed.ok) {
      expect(parsed.message.length).toBeGreaterThan(0);
      expect(parsed.message).not.toContain('203.0.113');
    }
  });

  it('also takes null and non-objects', () => {
    expect(parseEvent(null)).toMatchObject({ ok: false, reason: 'not_an_event' });
    expect(parseEvent(42)).toMatchObject({ ok: false, reason: 'not_an_event' });
  });
});

describe('the AsyncAPI document', () => {
  it('is the one in infra/asyncapi.json (regenerate with npm run asyncapi -w @vigil/events)', () => {
    const committed = JSON.parse(readFileSync(new URL('../../../infra/asyncapi.json', import.meta.url), 'utf8'));
    expect(committed).toEqual(asyncApiDocument());
  });

  it('has a channel and a message per event, with the envelope around each payload', () => {
    const doc = asyncApiDocument() as { channels: Record<string, unknown>; components: { messages: Record<string, { payload: { required: string[] } }> } };
    expect(Object.keys(doc.channels)).toEqual(EVENT_TYPES);
    for (const message of Object.values(doc.components.messages)) {
      expect(message.payload.required).toEqual(['id', 'type', 'version', 'occurredAt', 'producer', 'traceId', 'key', 'payload']);
    }
  });
});
