// Downscale compensation: the PDQ an image would have at `factor` times its size (bilinear
// upscale, then the reference's filter and 64x64 sampling). PDQ's filter window is a whole number
// of pixels (ceil(side / 128)) and its samples sit on whole pixels, so below a few hundred pixels
// a side the hash depends on the resolution itself: a 50% downscale of a 150-300 px picture lands
// 24 bits (median) from the original's hash, and hashed at twice its size 12 bits. Copies are
// shared smaller far more often than larger, so the query side also hashes small images at the
// sizes their originals likely had. An extra query, never the canonical hash. Pure.
//
// Computed without building the upscaled image: bilinear upscaling, the two box passes and the
// point sampling are all linear and separable, so each of the 64 samples along an axis is one
// set of weights over the pixels already in hand (`pdqFromTaps`).

import { jaroszWindow, pdqFromTaps, PDQ_MIN_HASHABLE_DIM, type LumaImage, type Taps } from './pdq.ts';
import type { Hex256 } from './hash256.ts';

const GRID = 64;
/** Upscaled no further than this many pixels a side: originals of small copies are rarely larger, and larger ones hash stably. */
export const UPSCALE_MAX_SIDE = 1024;
/** The reference's two box-filter passes along each axis. */
const BOX_PASSES = 2;

export interface UpscaledPdq {
  /** The copy was hashed as if this many times larger (2: a 50% downscale undone). */
  factor: number;
  pdq: Hex256;
  pdqQuality: number;
}

/**
 * PDQ of a `sourceWidth` x `sourceHeight` image (`luma` is it, or a shrink of it) as if `factor`
 * times larger, for each factor that keeps the longer side within UPSCALE_MAX_SIDE.
 */
export function upscaledPdq(luma: LumaImage, sourceWidth: number, sourceHeight: number, factors: readonly number[]): UpscaledPdq[] {
  if (Math.min(sourceWidth, sourceHeight) < PDQ_MIN_HASHABLE_DIM) return [];
  const out: UpscaledPdq[] = [];
  for (const factor of factors) {
    if (!(factor > 1)) throw new RangeError('an upscale factor must be above 1');
    if (Math.max(sourceWidth, sourceHeight) * factor > UPSCALE_MAX_SIDE) continue;
    const columns = upscaledTaps(luma.width, Math.round(sourceWidth * factor));
    const rows = upscaledTaps(luma.height, Math.round(sourceHeight * factor));
    const { hash, quality } = pdqFromTaps(luma, columns, rows);
    out.push({ factor, pdq: hash, pdqQuality: quality });
  }
  return out;
}

/**
 * Along one axis of `size` pixels upscaled to `upscaled`: for each of PDQ's 64 sample positions,
 * the weights over the original pixels. The sample's unit vector is pushed back through the
 * reference's box passes (each output the mean of a window clipped at the ends) and then through
 * bilinear interpolation (upscaled pixel X reads position (X + 0.5) size / upscaled - 0.5).
 */
export function upscaledTaps(size: number, upscaled: number): Taps[] {
  const window = jaroszWindow(upscaled);
  const half = Math.floor((window + 2) / 2);
  const before = window - half; // the reference's window over k: [k - before, k + half - 1]
  const after = half - 1;
  const taps: Taps[] = [];
  let weights = new Float64Array(upscaled);
  let next = new Float64Array(upscaled);
  for (let i = 0; i < GRID; i++) {
    const position = Math.trunc(((i + 0.5) * upscaled) / GRID);
    weights.fill(0);
    weights[position] = 1;
    let lo = position;
    let hi = position;
    for (let pass = 0; pass < BOX_PASSES; pass++) {
      next.fill(0, Math.max(0, lo - before), Math.min(upscaled, hi + after + 1));
      for (let k = lo; k <= hi; k++) {
        const start = Math.max(0, k - before);
        const end = Math.min(upscaled - 1, k + after);
        const share = weights[k]! / (end - start + 1);
        for (let j = start; j <= end; j++) next[j]! += share;
      }
      lo = Math.max(0, lo - before);
      hi = Math.min(upscaled - 1, hi + after);
      [weights, next] = [next, weights];
    }
    const first = Math.max(0, Math.floor(((lo + 0.5) * size) / upscaled - 0.5));
    const last = Math.min(size - 1, Math.floor(((hi + 0.5) * size) / upscaled - 0.5) + 1);
    const out = new Float32Array(last - first + 1);
    for (let x = lo; x <= hi; x++) {
      const w = weights[x]!;
      if (w === 0) continue;
      const at = ((x + 0.5) * size) / upscaled - 0.5;
      const left = Math.floor(at);
      const frac = at - left;
      out[Math.min(size - 1, Math.max(0, left)) - first]! += w * (1 - frac);
      out[Math.min(size - 1, Math.max(0, left + 1)) - first]! += w * frac;
    }
    taps.push({ first, weights: out });
  }
  return taps;
}
