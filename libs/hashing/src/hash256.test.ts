import { describe, expect, it } from 'vitest';
import { formatBits256, hammingDistanceHex, isHex256 } from './hash256.ts';

describe('hash256', () => {
  it('formats words w[15]..w[0], bit 0 in the last hex digit', () => {
    const words = new Uint16Array(16);
    words[0] = 1;
    words[15] = 0xabcd;
    expect(formatBits256(words)).toBe(`abcd${'0'.repeat(56)}0001`);
  });

  it('counts differing bits', () => {
    const a = '0'.repeat(64);
    expect(hammingDistanceHex(a, a)).toBe(0);
    expect(hammingDistanceHex(a, 'f'.repeat(64))).toBe(256);
    expect(hammingDistanceHex(a, `${'0'.repeat(63)}7`)).toBe(3);
    expect(() => hammingDistanceHex(a, 'ff')).toThrow(RangeError);
  });

  it('accepts only 64 lowercase hex characters', () => {
    expect(isHex256('a'.repeat(64))).toBe(true);
    expect(isHex256('A'.repeat(64))).toBe(false);
    expect(isHex256('a'.repeat(63))).toBe(false);
  });
});
