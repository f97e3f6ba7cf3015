// Integer box shrink of straight RGBA. Pure. Used in fast mode for images with alpha, where a
// libvips resize would premultiply: that zeroes the colour under transparent pixels, which the
// reference PDQ reads (it ignores alpha) and blockhash must see as "transparent", not "black".

import type { PixelFrame } from './decode-sharp.ts';

/** Averages each `factor` x `factor` block (partial blocks at the edges over what they hold). */
export function boxShrinkRgba(frame: PixelFrame, factor: number): PixelFrame {
  if (factor <= 1) return frame;
  const { data, width, height } = frame;
  const outWidth = Math.ceil(width / factor);
  const outHeight = Math.ceil(height / factor);
  const out = new Uint8Array(outWidth * outHeight * 4);
  const sums = new Float64Array(outWidth * 4);
  const counts = new Float64Array(outWidth);
  for (let oy = 0; oy < outHeight; oy++) {
    sums.fill(0);
    counts.fill(0);
    const yEnd = Math.min(height, (oy + 1) * factor);
    for (let y = oy * factor; y < yEnd; y++) {
      for (let x = 0, p = y * width * 4; x < width; x++, p += 4) {
        const ox = (x / factor) | 0;
        const s = ox * 4;
        sums[s]! += data[p]!;
        sums[s + 1]! += data[p + 1]!;
        sums[s + 2]! += data[p + 2]!;
        sums[s + 3]! += data[p + 3]!;
        counts[ox]! += 1;
      }
    }
    for (let ox = 0, o = oy * outWidth * 4; ox < outWidth; ox++, o += 4) {
      const n = counts[ox]!;
      out[o] = Math.round(sums[ox * 4]! / n);
      out[o + 1] = Math.round(sums[ox * 4 + 1]! / n);
      out[o + 2] = Math.round(sums[ox * 4 + 2]! / n);
      // Any opaque pixel keeps the block visible (alpha 0 means "all transparent" to blockhash).
      const alpha = sums[ox * 4 + 3]! / n;
      out[o + 3] = alpha > 0 && alpha < 1 ? 1 : Math.round(alpha);
    }
  }
  return { data: out, width: outWidth, height: outHeight };
}
