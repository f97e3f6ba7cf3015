// PDQ (Meta, 2017-2019): luma -> Jarosz tent filter -> 64x64 decimation -> 16x16 DCT -> median
// threshold, plus a 0-100 quality score and the 8 dihedral hashes from one DCT.
// Written from the published algorithm (pdqhash-2017-10-09.pdf). Pure: no I/O.
// Every float operation is rounded to float32 (Math.fround) exactly where the C++ reference works
// in `float`, so hashes and quality are bit-exact with it, not merely close.

import { formatBits256, type Hex256 } from './hash256.ts';

const f32 = Math.fround;

// Rec. 601 luma, as float32 constants like the reference's `const float`.
const LUMA_R = f32(0.299);
const LUMA_G = f32(0.587);
const LUMA_B = f32(0.114);
// Precomputed float32 products coeff * v for every byte value (exact: same single rounding).
const LUMA_R_LUT = byteLut(LUMA_R);
const LUMA_G_LUT = byteLut(LUMA_G);
const LUMA_B_LUT = byteLut(LUMA_B);

/** Below this many rows or columns the reference gives the all-zero hash with quality 0. */
export const PDQ_MIN_HASHABLE_DIM = 5;
/** Meta's recommendation: hashes with quality below this are too unstable to match on. */
export const PDQ_QUALITY_FLOOR = 50;

const JAROSZ_XY_PASSES = 2;
const DCT_SIZE = 64;
const DCT_OUT = 16;
const DCT_MATRIX = buildDctMatrix();

export const DIHEDRAL_NAMES = [
  'orig',
  'rot90',
  'rot180',
  'rot270',
  'flipx',
  'flipy',
  'flipplus1',
  'flipminus1',
] as const;
export type DihedralName = (typeof DIHEDRAL_NAMES)[number];
export type PdqDihedral = Record<DihedralName, Hex256>;

export interface PdqResult {
  hash: Hex256;
  quality: number;
}

export interface PdqDihedralResult extends PdqResult {
  /** The hashes of the 8 rotated/flipped images, computed from the one DCT. */
  dihedral: PdqDihedral;
}

/** A single-channel float32 image, row-major. */
export interface LumaImage {
  data: Float32Array;
  width: number;
  height: number;
}

/**
 * Luma from interleaved 8-bit pixels. 3 or 4 channels are read as RGB(A), alpha ignored like
 * the reference (the colour under a transparent pixel counts); 1 or 2 channels as grey(+alpha).
 */
export function lumaFromPixels(
  pixels: Uint8Array,
  width: number,
  height: number,
  channels: number,
): LumaImage {
  const n = width * height;
  if (pixels.length < n * channels) {
    throw new RangeError(`pixel buffer holds ${pixels.length} bytes, need ${n * channels}`);
  }
  const out = new Float32Array(n);
  if (channels === 4 && pixels.byteOffset % 4 === 0) {
    // One 32-bit load a pixel (little-endian RGBA) instead of three byte loads.
    const words = new Uint32Array(pixels.buffer, pixels.byteOffset, n);
    for (let i = 0; i < n; i++) {
      const w = words[i]!;
      out[i] = f32(LUMA_R_LUT[w & 0xff]! + LUMA_G_LUT[(w >>> 8) & 0xff]!) + LUMA_B_LUT[(w >>> 16) & 0xff]!;
    }
  } else if (channels >= 3) {
    for (let i = 0, p = 0; i < n; i++, p += channels) {
      out[i] = f32(LUMA_R_LUT[pixels[p]!]! + LUMA_G_LUT[pixels[p + 1]!]!) + LUMA_B_LUT[pixels[p + 2]!]!;
    }
  } else {
    for (let i = 0, p = 0; i < n; i++, p += channels) out[i] = pixels[p]!;
  }
  return { data: out, width, height };
}

export interface PdqOptions {
  /**
   * Dihedral hashes of the actually flipped and rotated image, from the mirror images' own 64x64
   * grids, instead of the reference's shortcut of flipping signs in the DCT. The shortcut assumes
   * the downsample commutes with a mirror; it does not (an even Jarosz window and the sample
   * positions shift a mirrored image by 1-3 pixels), which leaves a lossless flip 8 to 90 bits
   * from its dihedral hash. Transposes stay exact either way. Off: the reference's values.
   */
  exactDihedral?: boolean;
}

/** PDQ hash, quality and the 8 dihedral hashes of a luma image. `luma.data` is left untouched. */
export function pdqFromLuma(luma: LumaImage, options: PdqOptions = {}): PdqDihedralResult {
  if (luma.height < PDQ_MIN_HASHABLE_DIM || luma.width < PDQ_MIN_HASHABLE_DIM) return zeroResult();
  return pdqFromGrids(downsampleTo64(luma, options.exactDihedral ?? false));
}

/**
 * Fast-mode PDQ of an image that was box-shrunk from `sourceWidth` x `sourceHeight` (by a
 * shrink-on-load decode). Instead of rerunning the Jarosz filter at the small scale, it samples
 * the reference's 64x64 grid positions with a tent whose spread matches the reference tent at full
 * resolution, less the blur the shrink already applied. Close to, not equal to, the reference hash;
 * with no shrink it is the reference.
 */
export function pdqFromShrunkLuma(luma: LumaImage, sourceWidth: number, sourceHeight: number, options: PdqOptions = {}): PdqDihedralResult {
  if (sourceWidth === luma.width && sourceHeight === luma.height) return pdqFromLuma(luma, options);
  if (sourceHeight < PDQ_MIN_HASHABLE_DIM || sourceWidth < PDQ_MIN_HASHABLE_DIM) return zeroResult();
  const rows = tentTaps(sourceHeight, luma.height, false);
  const columns = tentTaps(sourceWidth, luma.width, false);
  const sampled = sampleColumns(luma, columns);
  const orig = sampleRows(sampled, rows);
  if (!options.exactDihedral) return pdqFromGrids({ orig });
  // A mirror image samples the mirrored positions of the same (symmetric) tent.
  const mirroredRows = tentTaps(sourceHeight, luma.height, true);
  const mirroredSampled = sampleColumns(luma, tentTaps(sourceWidth, luma.width, true));
  return pdqFromGrids({
    orig,
    lr: sampleRows(mirroredSampled, rows),
    tb: sampleRows(sampled, mirroredRows),
    both: sampleRows(mirroredSampled, mirroredRows),
  });
}

/**
 * PDQ (hash and quality, no dihedral hashes) of the 64x64 grid a linear, separable resampling
 * gives: sample (i, j) is `rows[i]` applied down the column of `columns[j]` applied along each row.
 * For hashes of an image as some other resampling would show it, without building that image.
 */
export function pdqFromTaps(luma: LumaImage, columns: readonly Taps[], rows: readonly Taps[]): PdqResult {
  if (columns.length !== DCT_SIZE || rows.length !== DCT_SIZE) throw new RangeError('a PDQ grid needs 64 column and 64 row taps');
  const inside = (taps: readonly Taps[], size: number) => taps.every(({ first, weights }) => first >= 0 && first + weights.length <= size);
  if (!inside(columns, luma.width) || !inside(rows, luma.height)) throw new RangeError('taps reach past the image');
  const { hash, quality } = pdqFromGrids({ orig: sampleRows(sampleColumns(luma, columns), rows) });
  return { hash, quality };
}

/** PDQ (hash and quality, no dihedral hashes) of a 64x64 grid made some other way (see `sampleTaps`). */
export function pdqFromGrid(grid: Float32Array): PdqResult {
  if (grid.length !== DCT_SIZE * DCT_SIZE) throw new RangeError('a PDQ grid is 64x64');
  const { hash, quality } = pdqFromGrids({ orig: grid });
  return { hash, quality };
}

/** The 64x64 grid of a linear, separable resampling (as `pdqFromTaps` hashes it). */
export function sampleTaps(luma: LumaImage, columns: readonly Taps[], rows: readonly Taps[]): Float32Array {
  return sampleRows(sampleColumns(luma, columns), rows);
}

/** Horizontal pass: each row at the 64 sample columns. */
function sampleColumns(luma: LumaImage, columns: readonly Taps[]): Float32Array {
  const out = new Float32Array(luma.height * DCT_SIZE);
  for (let y = 0; y < luma.height; y++) {
    const row = y * luma.width;
    for (let j = 0; j < DCT_SIZE; j++) out[y * DCT_SIZE + j] = applyTaps(luma.data, row, 1, columns[j]!);
  }
  return out;
}

/** Vertical pass over the horizontally sampled rows: the 64x64 grid. */
function sampleRows(sampled: Float32Array, rows: readonly Taps[]): Float32Array {
  const grid = new Float32Array(DCT_SIZE * DCT_SIZE);
  for (let i = 0; i < DCT_SIZE; i++) {
    for (let j = 0; j < DCT_SIZE; j++) grid[i * DCT_SIZE + j] = applyTaps(sampled, j, DCT_SIZE, rows[i]!);
  }
  return grid;
}

function zeroResult(): PdqDihedralResult {
  const zero = formatBits256(new Uint16Array(16));
  const dihedral = Object.fromEntries(DIHEDRAL_NAMES.map((name) => [name, zero])) as PdqDihedral;
  return { hash: zero, quality: 0, dihedral };
}

/** The 64x64 grid of the image and, for exact dihedral hashes, of its mirror images. */
interface Grids {
  orig: Float32Array;
  /** Mirrored left-right, top-bottom, and both (a half turn). */
  lr?: Float32Array;
  tb?: Float32Array;
  both?: Float32Array;
}

function pdqFromGrids(grids: Grids): PdqDihedralResult {
  const quality = imageDomainQuality(grids.orig);
  const dct = dct64To16(grids.orig);
  const dihedral = {} as PdqDihedral;
  if (grids.lr && grids.tb && grids.both) {
    // A transpose commutes with the separable downsample and the DCT: exact in the DCT domain.
    const [lr, tb, both] = [dct64To16(grids.lr), dct64To16(grids.tb), dct64To16(grids.both)];
    dihedral.orig = bitsAboveMedian(dct);
    dihedral.flipy = bitsAboveMedian(lr);
    dihedral.flipx = bitsAboveMedian(tb);
    dihedral.rot180 = bitsAboveMedian(both);
    dihedral.flipplus1 = bitsAboveMedian(transposed(dct));
    dihedral.rot90 = bitsAboveMedian(transposed(lr));
    dihedral.rot270 = bitsAboveMedian(transposed(tb));
    dihedral.flipminus1 = bitsAboveMedian(transposed(both));
  } else {
    for (const name of DIHEDRAL_NAMES) dihedral[name] = bitsAboveMedian(dihedralOf(dct, name));
  }
  return { hash: dihedral.orig, quality, dihedral };
}

function transposed(b: Float32Array): Float32Array {
  const out = new Float32Array(DCT_OUT * DCT_OUT);
  for (let i = 0; i < DCT_OUT; i++) for (let j = 0; j < DCT_OUT; j++) out[j * DCT_OUT + i] = b[i * DCT_OUT + j]!;
  return out;
}

/** PDQ of 8-bit interleaved pixels: `lumaFromPixels` then `pdqFromLuma`. */
export function pdqFromPixels(
  pixels: Uint8Array,
  width: number,
  height: number,
  channels: number,
): PdqDihedralResult {
  return pdqFromLuma(lumaFromPixels(pixels, width, height, channels));
}

/**
 * The luma image as displayed under an EXIF orientation (1-8), so the auto-oriented hash comes
 * from the one decode. Pixel moves only: exactly what a decoder's lossless auto-orient gives.
 */
export function orientLuma(luma: LumaImage, orientation: number): LumaImage {
  const { data, width: w, height: h } = luma;
  if (orientation <= 1 || orientation > 8) return luma;
  const swap = orientation >= 5;
  const ow = swap ? h : w;
  const oh = swap ? w : h;
  const out = new Float32Array(w * h);
  // For each output (x, y): the source column and row under each orientation.
  const source: (x: number, y: number) => number = {
    2: (x: number, y: number) => y * w + (w - 1 - x),
    3: (x: number, y: number) => (h - 1 - y) * w + (w - 1 - x),
    4: (x: number, y: number) => (h - 1 - y) * w + x,
    5: (x: number, y: number) => x * w + y,
    6: (x: number, y: number) => (h - 1 - x) * w + y,
    7: (x: number, y: number) => (h - 1 - x) * w + (w - 1 - y),
    8: (x: number, y: number) => x * w + (w - 1 - y),
  }[orientation as 2 | 3 | 4 | 5 | 6 | 7 | 8];
  for (let y = 0, o = 0; y < oh; y++) {
    for (let x = 0; x < ow; x++, o++) out[o] = data[source(x, y)]!;
  }
  return { data: out, width: ow, height: oh };
}

// ---------------------------------------------------------------------------------------------
// Downsampling: two X,Y passes of 1-D box filters (Jarosz 2001, a tent filter), then point
// sampling at 64x64 block centres. Window = ceil-ish(dim / 128): half a 64th per pass.

export function jaroszWindow(dimension: number): number {
  return Math.floor((dimension + 2 * DCT_SIZE - 1) / (2 * DCT_SIZE));
}

function downsampleTo64(luma: LumaImage, mirrors: boolean): Grids {
  const { width, height } = luma;
  if (width === DCT_SIZE && height === DCT_SIZE) {
    const orig = luma.data.slice();
    return mirrors ? { orig, lr: sampleGrid(orig, 64, 64, true, false, 0, 0), tb: sampleGrid(orig, 64, 64, false, true, 0, 0), both: sampleGrid(orig, 64, 64, true, true, 0, 0) } : { orig };
  }
  const rowWindow = jaroszWindow(width);
  const colWindow = jaroszWindow(height);
  const rows = new Float32Array(width * height);
  const cols = new Float32Array(width * height);
  // X, Y, X, Y: rows are `height` lines of `width` samples, columns `width` lines of `height`.
  let source = luma.data;
  for (let pass = 0; pass < JAROSZ_XY_PASSES; pass++) {
    boxFilterLines(source, rows, height, width, width, 1, rowWindow, rowBlock(width));
    boxFilterLines(rows, cols, width, 1, height, width, colWindow, width);
    source = cols;
  }
  const orig = sampleGrid(cols, width, height, false, false, 0, 0);
  if (!mirrors) return { orig };
  // The filtered mirror image is the mirror of this one filtered with the mirrored box, which for
  // an even window is this one shifted by a pixel per pass (borders aside): no second filtering.
  const shiftX = rowWindow % 2 === 0 ? JAROSZ_XY_PASSES : 0;
  const shiftY = colWindow % 2 === 0 ? JAROSZ_XY_PASSES : 0;
  return {
    orig,
    lr: sampleGrid(cols, width, height, true, false, shiftX, shiftY),
    tb: sampleGrid(cols, width, height, false, true, shiftX, shiftY),
    both: sampleGrid(cols, width, height, true, true, shiftX, shiftY),
  };
}

/** The reference's 64x64 sample positions, read (mirrored: from the far side, less `shift`) from a filtered image. */
function sampleGrid(filtered: Float32Array, width: number, height: number, mirrorX: boolean, mirrorY: boolean, shiftX: number, shiftY: number): Float32Array {
  const at = (k: number, n: number, mirror: boolean, shift: number) => {
    const p = Math.trunc(((k + 0.5) * n) / DCT_SIZE);
    return mirror ? Math.min(n - 1, Math.max(0, n - 1 - p - shift)) : p;
  };
  const out = new Float32Array(DCT_SIZE * DCT_SIZE);
  for (let i = 0; i < DCT_SIZE; i++) {
    const row = at(i, height, mirrorY, shiftY) * width;
    for (let j = 0; j < DCT_SIZE; j++) out[i * DCT_SIZE + j] = filtered[row + at(j, width, mirrorX, shiftX)]!;
  }
  return out;
}

/**
 * Rows filtered together: enough independent running sums to hide the add/round latency. When a
 * row is a multiple of 256 floats (1 KiB), interleaved rows fall on the same cache sets, so fewer
 * go together (measured at 1024 px wide: 13.1 ns a pixel with 16 rows, 9.8 with 8; 8.1 with 16 at 1000).
 */
function rowBlock(width: number): number {
  return width % 256 === 0 ? 8 : 16;
}

/**
 * The reference's 1-D box filter (grow the window, write with a growing window, slide, shrink)
 * applied to `lines` independent lines; sample k of line l sits at l * lineStride + k * step.
 * Each line keeps its own running sum in a float32 slot, updated in the reference's order (a
 * slide's add and subtract rounded separately), so every output equals the C++ value. Lines are
 * processed `block` at a time, interleaved: one running sum is a serial chain of dependent float
 * operations, several side by side keep the CPU busy (columns: all at once, rows: a few).
 */
function boxFilterLines(
  src: Float32Array,
  dst: Float32Array,
  lines: number,
  lineStride: number,
  length: number,
  step: number,
  window: number,
  block: number,
): void {
  const half = Math.floor((window + 2) / 2);
  const p1 = half - 1;
  const p2 = window - half + 1;
  const p3 = length - window;
  const sums = new Float32Array(Math.min(block, lines));
  for (let first = 0; first < lines; first += block) {
    const n = Math.min(block, lines - first);
    const origin = first * lineStride;
    sums.fill(0);
    let size = 0;
    let ri = origin;
    let li = origin;
    let oi = origin;
    for (let k = 0; k < p1; k++, ri += step) {
      for (let j = 0, p = ri; j < n; j++, p += lineStride) sums[j] = sums[j]! + src[p]!;
      size++;
    }
    for (let k = 0; k < p2; k++, ri += step, oi += step) {
      size++;
      for (let j = 0, o = 0; j < n; j++, o += lineStride) {
        const sum = f32(sums[j]! + src[ri + o]!);
        sums[j] = sum;
        dst[oi + o] = sum / size;
      }
    }
    for (let k = 0; k < p3; k++, ri += step, li += step, oi += step) {
      for (let j = 0, o = 0; j < n; j++, o += lineStride) {
        const sum = f32(f32(sums[j]! + src[ri + o]!) - src[li + o]!);
        sums[j] = sum;
        dst[oi + o] = sum / size;
      }
    }
    for (let k = 0; k < p1; k++, li += step, oi += step) {
      size--;
      for (let j = 0, o = 0; j < n; j++, o += lineStride) {
        const sum = f32(sums[j]! - src[li + o]!);
        sums[j] = sum;
        dst[oi + o] = sum / size;
      }
    }
  }
}

/** Weights over consecutive pixels of one line, from pixel `first` on. */
export interface Taps {
  first: number;
  weights: Float32Array;
}

/**
 * For each of the 64 reference sample positions along one axis (full-resolution index
 * trunc((i + 0.5) * n / 64)), normalised tent weights over the shrunk axis. Spread: the
 * reference's two box passes of window w have variance (w^2 - 1) / 6 full-resolution pixels^2;
 * a box shrink by s already contributed (s^2 - 1) / 12; a tent of half-width a (shrunk pixels)
 * adds a^2 s^2 / 6. Half-width at least 1: linear interpolation. `mirrored`: the positions of the
 * mirror image's samples, in this image's coordinates.
 */
function tentTaps(sourceSize: number, shrunkSize: number, mirrored: boolean): Taps[] {
  const s = sourceSize / shrunkSize;
  const w = jaroszWindow(sourceSize);
  const remaining = Math.max(0, (w * w - 1) / 6 - (s * s - 1) / 12);
  const halfWidth = Math.max(1, Math.sqrt(remaining * 6) / s);
  const taps: Taps[] = [];
  for (let i = 0; i < DCT_SIZE; i++) {
    // Mirrored: the i-th sample of the mirror image, at the far side of this one.
    const position = Math.trunc(((i + 0.5) * sourceSize) / DCT_SIZE);
    const centre = ((mirrored ? sourceSize - 1 - position : position) + 0.5) / s;
    const first = Math.max(0, Math.ceil(centre - 0.5 - halfWidth));
    const last = Math.min(shrunkSize - 1, Math.floor(centre - 0.5 + halfWidth));
    const weights = new Float32Array(Math.max(1, last - first + 1));
    let total = 0;
    for (let k = first; k <= last; k++) {
      const weight = Math.max(0, 1 - Math.abs(k + 0.5 - centre) / halfWidth);
      weights[k - first] = weight;
      total += weight;
    }
    if (total === 0) weights[0] = total = 1;
    for (let k = 0; k < weights.length; k++) weights[k]! /= total;
    taps.push({ first: Math.min(first, shrunkSize - 1), weights });
  }
  return taps;
}

function applyTaps(data: Float32Array, offset: number, stride: number, taps: Taps): number {
  let sum = 0;
  for (let k = 0, p = offset + taps.first * stride; k < taps.weights.length; k++, p += stride) {
    sum += taps.weights[k]! * data[p]!;
  }
  return sum;
}

// ---------------------------------------------------------------------------------------------
// Quality: the sum of quantized gradients of the 64x64 image, scaled (heuristic constants from
// the PDQ paper). Flat or featureless images score low and give unstable hashes.

function imageDomainQuality(a: Float32Array): number {
  let gradientSum = 0;
  for (let i = 0; i < DCT_SIZE - 1; i++) {
    for (let j = 0; j < DCT_SIZE; j++) {
      gradientSum += Math.abs(quantizedGradient(a[i * DCT_SIZE + j]!, a[(i + 1) * DCT_SIZE + j]!));
    }
  }
  for (let i = 0; i < DCT_SIZE; i++) {
    for (let j = 0; j < DCT_SIZE - 1; j++) {
      gradientSum += Math.abs(quantizedGradient(a[i * DCT_SIZE + j]!, a[i * DCT_SIZE + j + 1]!));
    }
  }
  return Math.min(100, Math.trunc(gradientSum / 90));
}

function quantizedGradient(u: number, v: number): number {
  return Math.trunc(f32(f32(f32(u - v) * 100) / 255));
}

// ---------------------------------------------------------------------------------------------
// DCT: only coefficients (1..16)x(1..16) of the 64x64 DCT-II are needed: B = D A D^T with D the
// 16x64 slice of the DCT matrix that skips the DC row.

function buildDctMatrix(): Float32Array {
  const d = new Float32Array(DCT_OUT * DCT_SIZE);
  const scale = f32(Math.sqrt(2 / DCT_SIZE));
  for (let i = 0; i < DCT_OUT; i++) {
    for (let j = 0; j < DCT_SIZE; j++) {
      d[i * DCT_SIZE + j] = scale * Math.cos((Math.PI / 2 / DCT_SIZE) * (i + 1) * (2 * j + 1));
    }
  }
  return d;
}

function dct64To16(a: Float32Array): Float32Array {
  const d = DCT_MATRIX;
  const t = new Float32Array(DCT_OUT * DCT_SIZE);
  for (let i = 0; i < DCT_OUT; i++) {
    for (let j = 0; j < DCT_SIZE; j++) {
      let sum = 0;
      for (let k = 0; k < DCT_SIZE; k++) sum = f32(sum + f32(d[i * DCT_SIZE + k]! * a[k * DCT_SIZE + j]!));
      t[i * DCT_SIZE + j] = sum;
    }
  }
  const b = new Float32Array(DCT_OUT * DCT_OUT);
  for (let i = 0; i < DCT_OUT; i++) {
    for (let j = 0; j < DCT_OUT; j++) {
      let sum = 0;
      for (let k = 0; k < DCT_SIZE; k++) sum = f32(sum + f32(t[i * DCT_SIZE + k]! * d[j * DCT_SIZE + k]!));
      b[i * DCT_OUT + j] = sum;
    }
  }
  return b;
}

/**
 * Dihedral variants in the DCT domain: flipping an axis negates that axis's odd-frequency
 * coefficients (even indices here, as index i is frequency i+1); a quarter turn transposes.
 */
const DIHEDRAL_RULES: Record<Exclude<DihedralName, 'orig'>, { transpose: boolean; negate: (i: number, j: number) => boolean }> = {
  rot90: { transpose: true, negate: (_i, j) => (j & 1) === 0 },
  rot180: { transpose: false, negate: (i, j) => ((i + j) & 1) === 1 },
  rot270: { transpose: true, negate: (i) => (i & 1) === 0 },
  flipx: { transpose: false, negate: (i) => (i & 1) === 0 },
  flipy: { transpose: false, negate: (_i, j) => (j & 1) === 0 },
  flipplus1: { transpose: true, negate: () => false },
  flipminus1: { transpose: true, negate: (i, j) => ((i + j) & 1) === 1 },
};

function dihedralOf(b: Float32Array, name: DihedralName): Float32Array {
  if (name === 'orig') return b;
  const { transpose, negate } = DIHEDRAL_RULES[name];
  const out = new Float32Array(DCT_OUT * DCT_OUT);
  for (let i = 0; i < DCT_OUT; i++) {
    for (let j = 0; j < DCT_OUT; j++) {
      const v = b[i * DCT_OUT + j]!;
      out[transpose ? j * DCT_OUT + i : i * DCT_OUT + j] = negate(i, j) ? -v : v;
    }
  }
  return out;
}

/**
 * Bit 16*i+j is set when coefficient [i][j] exceeds the median. The reference's Torben median
 * of 256 values is the 128th smallest, i.e. index 127 once sorted.
 */
function bitsAboveMedian(b: Float32Array): Hex256 {
  const median = b.slice().sort()[DCT_OUT * DCT_OUT / 2 - 1]!;
  const words = new Uint16Array(16);
  for (let i = 0; i < DCT_OUT; i++) {
    let word = 0;
    for (let j = 0; j < DCT_OUT; j++) if (b[i * DCT_OUT + j]! > median) word |= 1 << j;
    words[i] = word;
  }
  return formatBits256(words);
}

function byteLut(coefficient: number): Float32Array {
  const lut = new Float32Array(256);
  for (let v = 0; v < 256; v++) lut[v] = coefficient * v;
  return lut;
}
