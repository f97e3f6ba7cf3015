import { describe, expect, it } from 'vitest';
import { nameBasedUuid } from './name-uuid.ts';

describe('nameBasedUuid', () => {
  it('is a stable version-5 uuid per namespace and name', () => {
    const id = nameBasedUuid('vigil-test', 'report.filed:rr_1');
    expect(id).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-5[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
    expect(nameBasedUuid('vigil-test', 'report.filed:rr_1')).toBe(id);
    expect(nameBasedUuid('vigil-other', 'report.filed:rr_1')).not.toBe(id);
    expect(nameBasedUuid('vigil-test', 'report.filed:rr_2')).not.toBe(id);
  });
});
