import { describe, expect, it } from 'vitest';
import { hammingDistanceHex } from './hash256.ts';
import { overlayFreePdq } from './overlay.ts';
import { pdqFromLuma, type LumaImage } from './pdq.ts';
import { unblendFaintWatermark } from './watermark.ts';
import { faintlyMarked, picture } from '../test/pictures.ts';

/** Mean absolute difference from `clean` over the pixels the watermark changed. */
function errorUnderStrokes(image: LumaImage, marked: LumaImage, clean: LumaImage): number {
  let sum = 0;
  let count = 0;
  for (let i = 0; i < clean.data.length; i++) {
    if (Math.abs(marked.data[i]! - clean.data[i]!) <= 3) continue;
    sum += Math.abs(image.data[i]! - clean.data[i]!);
    count++;
  }
  return sum / count;
}

describe('faint watermarks', () => {
  const clean = picture(400, 300);

  it.each([
    ['light', 0.2],
    ['light', 0.3],
    ['light', 0.45],
    ['dark', 0.2],
    ['dark', 0.3],
    ['dark', 0.45],
  ] as const)('finds %s ink at opacity %s and unblends the picture under its strokes', (ink, alpha) => {
    const marked = faintlyMarked(clean, alpha, ink);
    const found = unblendFaintWatermark(marked);
    expect(found).toBeDefined();
    expect(found!.ink).toBe(ink);
    expect(Math.abs(found!.alpha - alpha)).toBeLessThanOrEqual(0.03);
    // The strokes cover about a twelfth of the picture; nearly all are unblended, little else.
    expect(found!.share).toBeGreaterThan(0.05);
    expect(found!.share).toBeLessThan(0.15);
    expect(errorUnderStrokes(found!.image, marked, clean)).toBeLessThan(0.25 * errorUnderStrokes(marked, marked, clean));
  });

  it('brings a watermarked copy back near its original through the text-free hash', () => {
    const small = picture(256, 192);
    const marked = faintlyMarked(small, 0.45);
    const original = pdqFromLuma(small).hash;
    expect(hammingDistanceHex(pdqFromLuma(marked).hash, original)).toBeGreaterThan(31);
    const [own] = overlayFreePdq(marked, marked.width, marked.height);
    expect(own!.factor).toBe(1);
    expect(hammingDistanceHex(own!.pdq, original)).toBeLessThanOrEqual(16);
    expect(own!.textShare).toBeGreaterThan(0.05);
    expect(own!.unblended).toBe(true);
  });

  it('finds nothing on a picture without a watermark', () => {
    expect(unblendFaintWatermark(clean)).toBeUndefined();
    expect(unblendFaintWatermark(picture(256, 192))).toBeUndefined();
    expect(unblendFaintWatermark({ data: new Float32Array(0), width: 0, height: 0 })).toBeUndefined();
  });
});
