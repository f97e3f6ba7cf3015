import { describe, expect, it } from 'vitest';
import { boxShrinkRgba } from './shrink.ts';

describe('boxShrinkRgba', () => {
  it('averages straight RGBA without premultiplying', () => {
    // 2x2 block: two transparent red pixels, two opaque blue: colour averages ignore alpha.
    const data = Uint8Array.from([255, 0, 0, 0, 255, 0, 0, 0, 0, 0, 255, 255, 0, 0, 255, 255]);
    expect([...boxShrinkRgba({ data, width: 2, height: 2 }, 2).data]).toEqual([128, 0, 128, 128]);
  });

  it('keeps a block fully transparent only when every pixel is', () => {
    const data = new Uint8Array(4 * 4 * 4);
    data[3] = 1; // one barely visible pixel in the first 2x2 block
    const out = boxShrinkRgba({ data, width: 4, height: 4 }, 2);
    expect(out.data[3]).toBe(1);
    expect(out.data[7]).toBe(0);
  });

  it('rounds partial edge blocks up and averages what they hold', () => {
    const data = new Uint8Array(3 * 1 * 4).fill(10);
    data.set([250, 250, 250, 255], 8);
    const out = boxShrinkRgba({ data, width: 3, height: 1 }, 2);
    expect([out.width, out.height]).toEqual([2, 1]);
    expect([...out.data.subarray(4, 8)]).toEqual([250, 250, 250, 255]);
  });

  it('returns the frame itself for factor 1', () => {
    const frame = { data: new Uint8Array(4), width: 1, height: 1 };
    expect(boxShrinkRgba(frame, 1)).toBe(frame);
  });
});
