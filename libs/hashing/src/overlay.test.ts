import { describe, expect, it } from 'vitest';
import { hammingDistanceHex } from './hash256.ts';
import { dilate, erode, strokesOf } from './morphology.ts';
import { findOverlayText, maskedGrid, overlayFreePdq, visibleParts } from './overlay.ts';
import { upscaledTaps } from './upscale.ts';
import { pdqFromLuma } from './pdq.ts';
import { captioned, picture } from '../test/pictures.ts';

describe('overlay compensation', () => {
  const clean = picture(400, 300);
  const marked = captioned(clean, 22);
  const original = pdqFromLuma(clean).hash;

  it('finds an outlined caption and leaves nearly all of its pixels out', () => {
    const mask = findOverlayText(marked);
    expect(mask).toBeDefined();
    // The mask is of the image it was given: compare pixel by pixel.
    const { width, height, text, share } = mask!;
    expect([width, height]).toEqual([400, 300]);
    let changed = 0;
    let covered = 0;
    let extra = 0;
    for (let i = 0; i < text.length; i++) {
      const differs = Math.abs(marked.data[i]! - clean.data[i]!) > 12;
      if (differs) changed++;
      if (differs && text[i]) covered++;
      if (!differs && text[i]) extra++;
    }
    expect(covered / changed).toBeGreaterThan(0.95);
    // The picture's own edges (the disc, the dark rectangle) are not taken for text.
    expect(extra / text.length).toBeLessThan(0.03);
    // Its share counts the strokes before the one-pixel rim is added: about the changed pixels.
    expect(share).toBeGreaterThan(0.5 * (changed / text.length));
    expect(share).toBeLessThan(1.5 * (changed / text.length));
  });

  it('brings a captioned copy back near its original: closer than the plain hash, within the threshold', () => {
    const plain = hammingDistanceHex(pdqFromLuma(marked).hash, original);
    const [own] = overlayFreePdq(marked, marked.width, marked.height);
    expect(own!.factor).toBe(1);
    expect(own!.unblended).toBeUndefined();
    const textFree = hammingDistanceHex(own!.pdq, original);
    expect(plain).toBeGreaterThan(31);
    expect(textFree).toBeLessThanOrEqual(20);
    expect(own!.pdqQuality).toBeGreaterThanOrEqual(50);
  });

  it('finds nothing on a picture without text, or one whose only text is not a line', () => {
    expect(findOverlayText(clean)).toBeUndefined();
    expect(overlayFreePdq(clean, clean.width, clean.height, [2])).toEqual([]);
    expect(findOverlayText(captioned(clean, 1))).toBeUndefined();
  });

  it('also hashes the text-free view as if larger, for the factors that stay within 1024 px', () => {
    const factors = overlayFreePdq(marked, marked.width, marked.height, [2, 4]).filter((o) => !o.unblended).map((o) => o.factor);
    expect(factors).toEqual([1, 2]);
    expect(overlayFreePdq(marked, 3, 3, [2])).toEqual([]);
  });

  it('fills samples that see only text from their neighbours, and gives up when nothing is visible', () => {
    const taps = upscaledTaps(100, 100);
    const flat = { data: new Float32Array(100 * 100).fill(90), width: 100, height: 100 };
    expect(maskedGrid(visibleParts(flat, new Uint8Array(100 * 100).fill(1)), taps, taps)).toBeUndefined();
    // Only the left tenth visible: every sample takes its value, none is left empty or NaN.
    const mask = Uint8Array.from({ length: 100 * 100 }, (_, i) => (i % 100 < 10 ? 0 : 1));
    const grid = maskedGrid(visibleParts(flat, mask), taps, taps)!;
    expect(grid.every((v) => Math.abs(v - 90) < 1e-3)).toBe(true);
  });

  it('computes each opening and closing once for both stroke searches, on whole levels', () => {
    const strokes = strokesOf(clean);
    expect(strokes.data[0]).toBe(Math.round(clean.data[0]!));
    const opened = strokes.opened(2);
    expect(strokes.opened(2)).toBe(opened);
    expect(opened).toEqual(dilate(erode(strokes.data, 400, 300, 2), 400, 300, 2));
    expect(strokes.closed(1)).toEqual(erode(dilate(strokes.data, 400, 300, 1), 400, 300, 1));
    expect(strokes.opened(1)).not.toBe(opened);
  });

  it('filters with the exact windowed minimum (van Herk / Gil-Werman), edges clipped', () => {
    let seed = 7;
    const random = () => ((seed = (seed * 1103515245 + 12345) >>> 0) >>> 24) & 0xff;
    for (const [width, height, radius] of [[17, 9, 1], [23, 31, 3], [8, 5, 6], [1, 12, 2]] as const) {
      const data = Uint8Array.from({ length: width * height }, random);
      const fast = erode(data, width, height, radius);
      for (let y = 0; y < height; y++) {
        for (let x = 0; x < width; x++) {
          let low = 255;
          for (let yy = Math.max(0, y - radius); yy <= Math.min(height - 1, y + radius); yy++) {
            for (let xx = Math.max(0, x - radius); xx <= Math.min(width - 1, x + radius); xx++) low = Math.min(low, data[yy * width + xx]!);
          }
          expect(fast[y * width + x]).toBe(low);
        }
      }
    }
  });
});
