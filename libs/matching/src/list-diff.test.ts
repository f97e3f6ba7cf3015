import { describe, expect, it } from 'vitest';
import { diffListVersions, entryKey, type VersionedEntry } from './list-diff.ts';

const h = (n: number) => n.toString(16).padStart(64, '0');
const e = (n: number, extra: Partial<VersionedEntry> = {}): VersionedEntry => ({ algorithm: 'pdq', hash: h(n), ...extra });

describe('diffListVersions', () => {
  it('reports added, removed (as tombstones), changed and unchanged entries', () => {
    const v1 = [e(1, { externalId: 'a' }), e(2), e(3, { category: 'x' })];
    const v2 = [e(2), e(3, { category: 'y' }), e(4)];
    expect(diffListVersions(v1, v2)).toEqual({
      added: [e(4)],
      removed: [e(1, { externalId: 'a' })],
      changed: [e(3, { category: 'y' })],
      unchanged: 1,
    });
  });

  it('treats hex case as the same hash and keys entries by algorithm too', () => {
    const upper = { algorithm: 'md5' as const, hash: 'ABCDEF0123456789ABCDEF0123456789' };
    expect(diffListVersions([upper], [{ ...upper, hash: upper.hash.toLowerCase() }])).toMatchObject({ added: [], removed: [], unchanged: 1 });
    expect(entryKey(upper)).toBe('md5:abcdef0123456789abcdef0123456789');
    const asSha1 = { algorithm: 'sha1' as const, hash: h(1) };
    expect(diffListVersions([e(1)], [asSha1])).toMatchObject({ added: [asSha1], removed: [e(1)] });
  });

  it('gives a first version as all additions and an emptied list as all removals', () => {
    expect(diffListVersions([], [e(1), e(2)])).toMatchObject({ added: [e(1), e(2)], removed: [] });
    expect(diffListVersions([e(1), e(2)], [])).toMatchObject({ added: [], removed: [e(1), e(2)] });
  });

  it('counts a hash repeated within the new version once', () => {
    expect(diffListVersions([], [e(1), e(1)])).toMatchObject({ added: [e(1)], unchanged: 0 });
  });
});
