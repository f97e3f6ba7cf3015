// Integer box shrinks of straight RGBA and of luma. Pure. Fast mode uses the RGBA one where
// libvips cannot be asked: images with alpha (a libvips resize premultiplies, which zeroes the colour under transparent
// pixels that the reference PDQ reads and turns "transparent" into "black" for blockhash), and
// the blockhash copy of an image decoded at full resolution.

import type { PixelFrame } from './decode-sharp.ts';
import type { LumaImage } from './pdq.ts';

/** Averages each `factor` x `factor` block (partial blocks at the edges over what they hold). */
export function boxShrinkRgba(frame: PixelFrame, factor: number): PixelFrame {
  if (factor <= 1) return frame;
  const { data, width, height } = frame;
  const outWidth = Math.ceil(width / factor);
  const outHeight = Math.ceil(height / factor);
  const out = new Uint8Array(outWidth * outHeight * 4);
  // 255 * 64 * 64 per channel at most: integer sums stay exact in a Uint32Array.
  const sums = new Uint32Array(outWidth * 4);
  // Whole pixels as little-endian 32-bit words (RGBA): one load instead of four.
  const words = data.byteOffset % 4 === 0 ? new Uint32Array(data.buffer, data.byteOffset, width * height) : null;
  for (let oy = 0; oy < outHeight; oy++) {
    sums.fill(0);
    const y0 = oy * factor;
    const y1 = Math.min(height, y0 + factor);
    for (let y = y0; y < y1; y++) {
      let i = y * width;
      for (let ox = 0, s = 0; ox < outWidth; ox++, s += 4) {
        const end = y * width + Math.min(width, (ox + 1) * factor);
        let r = 0;
        let g = 0;
        let b = 0;
        let a = 0;
        if (words) {
          for (; i < end; i++) {
            const w = words[i]!;
            r += w & 0xff;
            g += (w >>> 8) & 0xff;
            b += (w >>> 16) & 0xff;
            a += w >>> 24;
          }
        } else {
          for (; i < end; i++) {
            r += data[i * 4]!;
            g += data[i * 4 + 1]!;
            b += data[i * 4 + 2]!;
            a += data[i * 4 + 3]!;
          }
        }
        sums[s]! += r;
        sums[s + 1]! += g;
        sums[s + 2]! += b;
        sums[s + 3]! += a;
      }
    }
    for (let ox = 0, s = 0, o = oy * outWidth * 4; ox < outWidth; ox++, s += 4, o += 4) {
      const n = (y1 - y0) * (Math.min(width, (ox + 1) * factor) - ox * factor);
      out[o] = Math.round(sums[s]! / n);
      out[o + 1] = Math.round(sums[s + 1]! / n);
      out[o + 2] = Math.round(sums[s + 2]! / n);
      // Any visible pixel keeps the block visible (alpha 0 means "all transparent" to blockhash).
      const alpha = sums[s + 3]!;
      out[o + 3] = alpha === 0 ? 0 : Math.max(1, Math.round(alpha / n));
    }
  }
  return { data: out, width: outWidth, height: outHeight };
}

/** Area-averaging shrink of a luma image by a whole factor (edge blocks average what they hold). */
export function boxShrinkLuma(luma: LumaImage, factor: number): LumaImage {
  if (factor <= 1) return luma;
  const width = Math.ceil(luma.width / factor);
  const height = Math.ceil(luma.height / factor);
  const data = new Float32Array(width * height);
  const counts = new Float32Array(width * height);
  for (let y = 0; y < luma.height; y++) {
    const out = Math.floor(y / factor) * width;
    for (let x = 0; x < luma.width; x++) {
      const o = out + Math.floor(x / factor);
      data[o]! += luma.data[y * luma.width + x]!;
      counts[o]!++;
    }
  }
  for (let i = 0; i < data.length; i++) data[i]! /= counts[i]!;
  return { data, width, height };
}
