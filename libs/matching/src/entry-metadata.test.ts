import { describe, expect, it } from 'vitest';
import { EntryMetadata } from './entry-metadata.ts';

describe('EntryMetadata', () => {
  it('returns each entry’s id and category, null where absent, across buffer growth', () => {
    const meta = new EntryMetadata();
    const categories = ['A1', 'B2', null, 'A1'];
    for (let id = 0; id < 5000; id++) {
      const externalId = id % 7 === 0 ? null : `NCMEC-${id}-${'é✓'.repeat(id % 5)}`;
      meta.append(id, externalId, categories[id % 4]);
    }
    expect(meta.count).toBe(5000);
    for (const id of [0, 1, 6, 7, 1023, 1024, 4999]) {
      expect(meta.get(id)).toEqual({
        externalId: id % 7 === 0 ? null : `NCMEC-${id}-${'é✓'.repeat(id % 5)}`,
        category: categories[id % 4] ?? null,
      });
    }
  });

  it('keeps the empty string distinct from no id', () => {
    const meta = new EntryMetadata();
    meta.append(0, '', undefined);
    meta.append(1, null, '');
    expect(meta.get(0)).toEqual({ externalId: '', category: null });
    expect(meta.get(1)).toEqual({ externalId: null, category: '' });
  });

  it('refuses ids out of order and unknown ids', () => {
    const meta = new EntryMetadata();
    meta.append(0, 'a', null);
    expect(() => meta.append(2, 'b', null)).toThrow(RangeError);
    expect(() => meta.get(1)).toThrow(RangeError);
    expect(() => meta.get(-1)).toThrow(RangeError);
  });
});
