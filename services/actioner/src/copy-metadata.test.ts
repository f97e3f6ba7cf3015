import { describe, expect, it } from 'vitest';
import { quarantineMetadata, restoredMetadata } from './copy-metadata.ts';

const origin = { matchId: 'm-1', tenantId: 't-1', bucket: 'uploads', key: 'a/ü photo.jpg', versionId: 'v1' };

describe('quarantineMetadata', () => {
  it('records the origin as printable ASCII and keeps the original metadata', () => {
    const metadata = quarantineMetadata(origin, { 'app-id': '7' });
    expect(metadata).toEqual({
      'app-id': '7',
      'vigil-match-id': 'm-1',
      'vigil-tenant-id': 't-1',
      'vigil-original-bucket': 'uploads',
      'vigil-original-version-id': 'v1',
      'vigil-original-key': 'a%2F%C3%BC%20photo.jpg',
    });
    expect(Object.values(metadata).every((value) => /^[\x20-\x7e]*$/.test(value))).toBe(true);
    expect(decodeURIComponent(metadata['vigil-original-key']!)).toBe(origin.key);
  });

  it('drops what does not fit in 2 KB: the original metadata first, then the key', () => {
    const big = { blob: 'x'.repeat(1950) };
    expect(quarantineMetadata(origin, big)).not.toHaveProperty('blob');
    const longKey = { ...origin, key: 'ü'.repeat(400), versionId: null };
    const metadata = quarantineMetadata(longKey, {});
    expect(metadata).not.toHaveProperty('vigil-original-key');
    expect(metadata['vigil-match-id']).toBe('m-1');
  });

  it('restores the original metadata without ours', () => {
    expect(restoredMetadata(quarantineMetadata(origin, { 'app-id': '7' }))).toEqual({ 'app-id': '7' });
  });
});
