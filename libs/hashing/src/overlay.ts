// Overlay compensation: the PDQ of an image with overlaid caption text (a watermark, a credit
// line, a meme caption: light glyphs with a dark outline, or dark with light) left out. Such text
// changes a few percent of the pixels, but by up to 255 levels, enough to move PDQ 30-70 bits; the
// picture under it is mostly still there between the strokes. Leaving the text's pixels out of
// PDQ's downsample (each grid sample the weighted mean of the pixels around it that are not text)
// brings most such copies back within the threshold (dev corpus, corner watermarks: recall 0.667
// -> 0.896; no distractor's text-free hash within 58 bits of an entry). An extra query, never the
// canonical hash. Pure.
//
// Finding the text: glyph strokes are thin, so a morphological top-hat (the image less its
// opening, or its closing less the image) picks them out; outlined text shows a light stroke
// beside a dark one, which natural thin detail rarely does. Strokes that pair up are merged into
// components, and only line-shaped ones (wide and short, densely stroked) count as text. Inside
// such a line, every thin light or dark stroke is left out.
//
// A faint watermark over the whole picture (watermark.ts) is not left out but unblended: a second
// text-free view, with any caption lines left out too.

import type { Hex256 } from './hash256.ts';
import { pdqFromGrid, PDQ_MIN_HASHABLE_DIM, sampleTaps, type LumaImage, type Taps } from './pdq.ts';
import { boxShrinkLuma } from './shrink.ts';
import { upscaledTaps, UPSCALE_MAX_SIDE } from './upscale.ts';
import { dilateBinary, strokesOf, type Strokes } from './morphology.ts';
import { unblendFaintWatermark } from './watermark.ts';

/** Detection and the text-free PDQ work on a copy of at most this many pixels a side (measured: as many captions found as at 512, at half the cost). */
const WORKING_SIDE = 256;
/** Top-hat window radius: glyph strokes up to about 1/75 of the shorter side count as thin. */
const STROKE_DIVISOR = 150;
/** A stroke stands out of its surroundings by more than this many levels... */
const STROKE_CONTRAST = 40;
/** ...and is light (fill) or dark (outline) in absolute terms, */
const LIGHT = 180;
const DARK = 75;
/** with the other kind within this many pixels. */
const PAIR_RADIUS = 3;
/** Paired strokes closer than 1/60 of the shorter side merge into one component (glyphs into words). */
const MERGE_DIVISOR = 60;
/** A text line: at least this many times wider than tall, */
const LINE_ASPECT = 2.5;
/** at least this share of the image's width, */
const LINE_MIN_WIDTH = 0.1;
/** with paired strokes on at least this share of its box. */
const LINE_MIN_DENSITY = 0.05;
/** Inside a line, any thin stroke standing out by this much is text (antialiased and blended edges too). */
const LINE_STROKE_CONTRAST = 20;
/** A grid sample with less than this share of its weight on non-text pixels is filled from its neighbours. */
const MIN_VISIBLE_WEIGHT = 0.2;
const GRID = 64;

export interface OverlayFreePdq {
  /** 1: at the image's own size; above 1, also downscale-compensated (hashed as if this many times larger, upscale.ts). */
  factor: number;
  pdq: Hex256;
  pdqQuality: number;
  /** The share of the image's pixels left out as caption text (and, when `unblended`, unblended as a faint watermark). */
  textShare: number;
  /** Set on the view with a faint watermark unblended (watermark.ts), which queries apart from the caption-free one. */
  unblended?: true;
}

/** Where overlaid text was found: one flag per pixel of `width` x `height` (a working copy of the image). */
export interface OverlayMask {
  width: number;
  height: number;
  text: Uint8Array;
  share: number;
}

/**
 * PDQ of a `sourceWidth` x `sourceHeight` image (`luma` is it, or a shrink of it) with its overlaid
 * text left out, at its own size and as if each of `upscale`'s factors larger (where upscale.ts
 * allows), and with a faint watermark unblended; empty when neither a text line nor a faint
 * watermark is found.
 */
export function overlayFreePdq(luma: LumaImage, sourceWidth: number, sourceHeight: number, upscale: readonly number[] = []): OverlayFreePdq[] {
  if (Math.min(sourceWidth, sourceHeight) < PDQ_MIN_HASHABLE_DIM) return [];
  const work = boxShrinkLuma(luma, Math.max(1, Math.ceil(Math.max(luma.width, luma.height) / WORKING_SIDE)));
  const strokes = strokesOf(work);
  const mask = findOverlayText(work, strokes);
  const faint = unblendFaintWatermark(work, strokes);
  if (!mask && !faint) return [];
  const factors = [1, ...upscale.filter((factor) => factor > 1 && Math.max(sourceWidth, sourceHeight) * factor <= UPSCALE_MAX_SIDE)];
  const taps = factors.map((factor) => ({
    factor,
    columns: upscaledTaps(work.width, Math.round(sourceWidth * factor)),
    rows: upscaledTaps(work.height, Math.round(sourceHeight * factor)),
  }));
  // The caption-free view, and apart from it the unblended one (captions left out of it too):
  // the unblending reaches pixels a caption-only copy never changed, so it gets its own query.
  // Without captions the unblended picture is sampled as it is (nothing to leave out).
  const sampler = (image: LumaImage): ((columns: readonly Taps[], rows: readonly Taps[]) => Float32Array | undefined) => {
    if (!mask) return (columns, rows) => sampleTaps(image, columns, rows);
    const parts = visibleParts(image, mask.text);
    return (columns, rows) => maskedGrid(parts, columns, rows);
  };
  const views = [
    ...(mask ? [{ sample: sampler(work), textShare: mask.share, unblended: false }] : []),
    ...(faint ? [{ sample: sampler(faint.image), textShare: Math.min(1, (mask?.share ?? 0) + faint.share), unblended: true }] : []),
  ];
  return views.flatMap(({ sample, textShare, unblended }) =>
    taps.flatMap(({ factor, columns, rows }) => {
      const grid = sample(columns, rows);
      if (!grid) return [];
      const { hash, quality } = pdqFromGrid(grid);
      return [{ factor, pdq: hash, pdqQuality: quality, textShare, ...(unblended && { unblended }) }];
    }),
  );
}

/** Overlaid text lines in `luma`, or undefined when there are none (`strokes`: its 8-bit copy, shared with the faint-watermark search). */
export function findOverlayText(luma: LumaImage, strokes: Strokes = strokesOf(luma)): OverlayMask | undefined {
  const { width, height, data } = strokes;
  const n = width * height;
  const radius = Math.max(1, Math.ceil(Math.min(width, height) / STROKE_DIVISOR));
  const opened = strokes.opened(radius);
  const closed = strokes.closed(radius);
  const lightStroke = new Uint8Array(n);
  const darkStroke = new Uint8Array(n);
  const light = new Uint8Array(n);
  const dark = new Uint8Array(n);
  for (let i = 0; i < n; i++) {
    const v = data[i]!;
    light[i] = v >= LIGHT ? 1 : 0;
    dark[i] = v <= DARK ? 1 : 0;
    lightStroke[i] = light[i]! && v - opened[i]! > STROKE_CONTRAST ? 1 : 0;
    darkStroke[i] = dark[i]! && closed[i]! - v > STROKE_CONTRAST ? 1 : 0;
  }
  const nearLight = dilateBinary(light, width, height, PAIR_RADIUS);
  const nearDark = dilateBinary(dark, width, height, PAIR_RADIUS);
  const paired = new Uint8Array(n);
  for (let i = 0; i < n; i++) paired[i] = (lightStroke[i]! && nearDark[i]!) || (darkStroke[i]! && nearLight[i]!) ? 1 : 0;

  const text = new Uint8Array(n);
  let lines = 0;
  for (const box of lineBoxes(paired, width, height)) {
    lines++;
    for (let y = box.top; y <= box.bottom; y++) {
      for (let x = box.left, i = y * width + x; x <= box.right; x++, i++) {
        const v = data[i]!;
        if (v - opened[i]! > LINE_STROKE_CONTRAST || closed[i]! - v > LINE_STROKE_CONTRAST) text[i] = 1;
      }
    }
  }
  if (lines === 0) return undefined;
  let count = 0;
  for (let i = 0; i < n; i++) count += text[i]!;
  // One pixel more all round: the strokes' antialiased rims.
  return { width, height, text: dilateBinary(text, width, height, 1), share: count / n };
}

interface Box {
  left: number;
  top: number;
  right: number;
  bottom: number;
}

/** Boxes of the line-shaped components of `paired` strokes, merged over glyph gaps. */
function lineBoxes(paired: Uint8Array, width: number, height: number): Box[] {
  const merged = dilateBinary(paired, width, height, Math.max(1, Math.ceil(Math.min(width, height) / MERGE_DIVISOR)));
  const seen = new Uint8Array(width * height);
  const stack = new Int32Array(width * height);
  const boxes: Box[] = [];
  for (let start = 0; start < merged.length; start++) {
    if (!merged[start] || seen[start]) continue;
    let left = width;
    let right = 0;
    let top = height;
    let bottom = 0;
    let strokes = 0;
    let size = 0;
    stack[size++] = start;
    seen[start] = 1;
    while (size > 0) {
      const p = stack[--size]!;
      const x = p % width;
      const y = (p - x) / width;
      strokes += paired[p]!;
      if (x < left) left = x;
      if (x > right) right = x;
      if (y < top) top = y;
      if (y > bottom) bottom = y;
      if (x > 0 && merged[p - 1] && !seen[p - 1]) (seen[p - 1] = 1), (stack[size++] = p - 1);
      if (x < width - 1 && merged[p + 1] && !seen[p + 1]) (seen[p + 1] = 1), (stack[size++] = p + 1);
      if (y > 0 && merged[p - width] && !seen[p - width]) (seen[p - width] = 1), (stack[size++] = p - width);
      if (y < height - 1 && merged[p + width] && !seen[p + width]) (seen[p + width] = 1), (stack[size++] = p + width);
    }
    const w = right - left + 1;
    const h = bottom - top + 1;
    if (w >= LINE_ASPECT * h && w >= LINE_MIN_WIDTH * width && strokes >= LINE_MIN_DENSITY * w * h) boxes.push({ left, top, right, bottom });
  }
  return boxes;
}

/** The image with its text pixels zeroed (`weighted`), and where it is visible (1) or text (0): made once, sampled at every scale. */
export interface VisibleParts {
  weighted: LumaImage;
  visible: LumaImage;
}

export function visibleParts(luma: LumaImage, text: Uint8Array): VisibleParts {
  const { width, height, data } = luma;
  const visible = new Float32Array(width * height);
  const weighted = new Float32Array(width * height);
  for (let i = 0; i < visible.length; i++) {
    visible[i] = text[i] ? 0 : 1;
    weighted[i] = text[i] ? 0 : data[i]!;
  }
  return { weighted: { data: weighted, width, height }, visible: { data: visible, width, height } };
}

/**
 * The 64x64 grid PDQ would sample through `columns` and `rows`, text pixels left out: each sample
 * is the weighted mean of the visible pixels under its weights. Samples that see almost only text
 * take the mean of their filled neighbours, rings inwards.
 */
export function maskedGrid({ weighted, visible }: VisibleParts, columns: readonly Taps[], rows: readonly Taps[]): Float32Array | undefined {
  const sums = sampleTaps(weighted, columns, rows);
  const weights = sampleTaps(visible, columns, rows);
  const grid = new Float32Array(GRID * GRID);
  let known = new Uint8Array(GRID * GRID);
  let missing = 0;
  for (let i = 0; i < grid.length; i++) {
    if (weights[i]! >= MIN_VISIBLE_WEIGHT) {
      grid[i] = sums[i]! / weights[i]!;
      known[i] = 1;
    } else missing++;
  }
  // Nothing visible anywhere: no picture left to hash (and no neighbour to fill from).
  if (missing === grid.length) return undefined;
  while (missing > 0) {
    const next = known.slice();
    for (let i = 0; i < grid.length; i++) {
      if (known[i]) continue;
      const x = i % GRID;
      let sum = 0;
      let count = 0;
      for (const j of [x > 0 ? i - 1 : -1, x < GRID - 1 ? i + 1 : -1, i - GRID, i + GRID]) {
        if (j >= 0 && j < grid.length && known[j]) (sum += grid[j]!), count++;
      }
      if (count > 0) {
        grid[i] = sum / count;
        next[i] = 1;
        missing--;
      }
    }
    known = next;
  }
  return grid;
}
