// Crop compensation: the PDQ of an image re-expanded to the size its original would have if it
// were the centre `kept` x `kept` of it, the missing margins filled by repeating the edges. A
// centred crop of a few percent scales every DCT frequency PDQ keeps and moves it tens of bits
// away from its original; re-expanded at the right scale, the shared centre lines up again and
// only the thin invented margins differ. An extra query, never the canonical hash. Pure.

import type { Hex256 } from './hash256.ts';
import { pdqFromShrunkLuma, type LumaImage } from './pdq.ts';
import { boxShrinkLuma } from './shrink.ts';
import { upscaledPdq } from './upscale.ts';

/** Re-expansion works on a copy of at most this many pixels a side (PDQ samples a 64x64 grid). */
const WORKING_SIDE = 256;

export interface UncroppedPdq {
  /** The share of each side the query is assumed to have kept (0.95: a 5% crop). */
  kept: number;
  /** Set when also downscale-compensated: the re-expanded image hashed as if this many times larger (upscale.ts). */
  upscale?: number;
  pdq: Hex256;
  pdqQuality: number;
}

/**
 * PDQ of `luma` (a shrink of a `sourceWidth` x `sourceHeight` image, or the image itself) as the
 * centre `kept` of a larger picture, for each `kept` in (0, 1); with `upscale` factors, also as if
 * that many times larger where upscale.ts allows it (a copy cropped, then shared smaller).
 */
export function uncroppedPdq(luma: LumaImage, sourceWidth: number, sourceHeight: number, kept: readonly number[], upscale: readonly number[] = []): UncroppedPdq[] {
  const factor = Math.max(1, Math.floor(Math.max(luma.width, luma.height) / WORKING_SIDE));
  const small = boxShrinkLuma(luma, factor);
  return kept.flatMap((share) => {
    if (!(share > 0 && share < 1)) throw new RangeError('kept must be between 0 and 1');
    const padded = padEdges(small, share);
    const width = Math.max(padded.width, Math.round(sourceWidth / share));
    const height = Math.max(padded.height, Math.round(sourceHeight / share));
    const pdq = pdqFromShrunkLuma(padded, width, height);
    const larger = upscaledPdq(padded, width, height, upscale).map((u) => ({ kept: share, upscale: u.factor, pdq: u.pdq, pdqQuality: u.pdqQuality }));
    return [{ kept: share, pdq: pdq.hash, pdqQuality: pdq.quality }, ...larger];
  });
}

/** The image centred on a canvas `1 / kept` times its size, edge pixels repeated outwards. */
export function padEdges(luma: LumaImage, kept: number): LumaImage {
  const width = Math.round(luma.width / kept);
  const height = Math.round(luma.height / kept);
  const dx = Math.floor((width - luma.width) / 2);
  const dy = Math.floor((height - luma.height) / 2);
  const data = new Float32Array(width * height);
  for (let y = 0; y < height; y++) {
    const row = Math.min(luma.height - 1, Math.max(0, y - dy)) * luma.width;
    for (let x = 0; x < width; x++) data[y * width + x] = luma.data[row + Math.min(luma.width - 1, Math.max(0, x - dx))]!;
  }
  return { data, width, height };
}
