// Framing removal: the content region of an image shown inside a frame (uniform borders,
// letterboxing, pillarboxing, a screenshot's chrome: status bar, margins, caption text), so the
// region can be hashed as an extra query. A framed copy hashes far from its original (PDQ and
// blockhash both see the frame); the region hashes close. Pure, on the decoded RGBA frame; it
// never replaces the canonical hash, only adds one. A picture turned by a few degrees onto a
// filled canvas is framed too: its region is a rotated rectangle (rotation.ts).

import type { PixelFrame } from './decode-sharp.ts';
import { findRotatedContent, unrotate } from './rotation.ts';

export type FramingKind = 'border' | 'chrome' | 'rotated';

/** A rectangle of the decoded frame, in its pixels. */
export interface ContentRegion {
  left: number;
  top: number;
  width: number;
  height: number;
  /** `border`: uniform lines trimmed from the sides; `chrome`: the content band of a screenshot; `rotated`: a turned picture. */
  kind: FramingKind;
  /** `rotated` only: the rectangle is turned this many degrees (counter-clockwise as displayed) about its centre. */
  angle?: number;
}

interface Box {
  left: number;
  top: number;
  right: number; // exclusive
  bottom: number; // exclusive
}

/** Largest per-channel difference still counted as the same colour (JPEG ringing next to an edge). */
const TOLERANCE = 24;
/** Off a plain ground: a flat background re-encoded stays within this of its colour (anti-aliased edges do not). */
const INK = 12;
/** A line is uniform when this share of it is within TOLERANCE of its colour (anti-aliased text fails). */
const UNIFORM_SHARE = 0.97;
/** A row holds content when this share of it differs from the background. */
const INK_SHARE = 0.25;
/** Samples per line at most: statistics of lines, not of pixels, so a stride keeps this cheap. */
const SAMPLES_PER_LINE = 256;
/** A screenshot's side margins: this share of them is the background colour. */
const PLAIN_SIDES = 0.85;
/** No side is trimmed past this share of the image (a near-uniform image is not "framed"). */
const MAX_TRIM = 0.45;
/** A region is worth a query when it drops at least this share of a side, keeps this share of the area, and this many pixels a side. */
const MIN_REMOVED = 0.02;
const MIN_AREA = 0.2;
const MIN_SIDE = 32;

/**
 * The content region of a framed image, or null when there is no frame worth removing (most
 * images): the first of `findContentRegions`.
 */
export function findContentRegion(frame: PixelFrame): ContentRegion | null {
  return findContentRegions(frame)[0] ?? null;
}

/**
 * The content regions of a framed image, best guess first; empty when there is no frame worth
 * removing (most images). A turned picture is one rectangle. Otherwise: a picture on a plain
 * background with other content above or below it (a screenshot: bars, captions) is the largest
 * content band, else uniform lines are trimmed from every side; and, as a second guess where it
 * disagrees, the picture found by its straight left and right edges. The two fail on different
 * images (a picture's rows near the background colour split the band; a picture's edge columns
 * near it blur the edges), so both are hashed.
 */
export function findContentRegions(frame: PixelFrame): ContentRegion[] {
  const full: Box = { left: 0, top: 0, right: frame.width, bottom: frame.height };
  if (frame.width < MIN_SIDE || frame.height < MIN_SIDE) return [];
  // A turned picture first: its filled corners would read as neither chrome nor a border.
  const turned = findRotatedContent(frame);
  if (turned) {
    const { centreX, centreY, width, height, angle } = turned;
    return [{ left: centreX - width / 2, top: centreY - height / 2, width, height, kind: 'rotated', angle }];
  }
  // Chrome first: its plain side margins are what identifies it, and trimming would remove them.
  // Both the band and the edges need plain side margins: the background is their colour.
  const ground = plainGround(frame);
  const chrome = ground && findChromeBand(frame, full, ground);
  const first = worthAQuery(frame, chrome ?? trimUniform(frame, full), chrome ? 'chrome' : 'border');
  const byEdges = ground && pictureByEdges(frame, ground);
  const second = byEdges && worthAQuery(frame, byEdges.box, byEdges.kind);
  if (!first || !second) return [first ?? second].filter((region): region is ContentRegion => region !== null);
  return sameRegion(first, second, frame) ? [first] : [first, second];
}

/** A region as a query, when it removes enough and keeps enough (else null). */
function worthAQuery(frame: PixelFrame, box: Box, kind: FramingKind): ContentRegion | null {
  const width = box.right - box.left;
  const height = box.bottom - box.top;
  const removed = frame.width - width >= MIN_REMOVED * frame.width || frame.height - height >= MIN_REMOVED * frame.height;
  const large = width >= MIN_SIDE && height >= MIN_SIDE && width * height >= MIN_AREA * frame.width * frame.height;
  return removed && large ? { left: box.left, top: box.top, width, height, kind } : null;
}

/** Two guesses within a pixel (or half a percent) on every side hash alike: one query is enough. */
function sameRegion(a: ContentRegion, b: ContentRegion, frame: PixelFrame): boolean {
  const slack = Math.max(1, 0.005 * Math.max(frame.width, frame.height));
  return (
    Math.abs(a.left - b.left) <= slack &&
    Math.abs(a.top - b.top) <= slack &&
    Math.abs(a.left + a.width - b.left - b.width) <= slack &&
    Math.abs(a.top + a.height - b.top - b.height) <= slack
  );
}

/**
 * A picture pasted on a plain ground, by its straight left and right edges: the side columns are
 * the ground's colour, and on many rows the first and the last pixel off the ground (INK) sit at
 * the same two columns. The picture spans the first to the last of those rows, which must be at
 * least half of the rows between. `chrome` when something else is inked outside it, else `border`.
 */
function pictureByEdges(frame: PixelFrame, ground: Colour): { box: Box; kind: FramingKind } | null {
  const { width, height, data } = frame;
  const [r, g, b] = ground;
  const inked = (i: number) => Math.abs(data[i]! - r) > INK || Math.abs(data[i + 1]! - g) > INK || Math.abs(data[i + 2]! - b) > INK;
  const first = new Int32Array(height).fill(-1);
  const last = new Int32Array(height).fill(-1);
  for (let y = 0; y < height; y++) {
    const row = y * width * 4;
    let x = 0;
    while (x < width && !inked(row + x * 4)) x++;
    if (x === width) continue;
    let z = width - 1;
    while (!inked(row + z * 4)) z--;
    first[y] = x;
    last[y] = z;
  }
  // Rows inked away from both sides (a bar runs across) vote for the picture's two edge columns.
  const away = (y: number) => first[y]! > 0 && last[y]! < width - 1;
  const left = commonest(height, width, (y) => (away(y) ? first[y]! : -1));
  const right = commonest(height, width, (y) => (away(y) ? last[y]! : -1));
  if (left < 0 || right <= left) return null;
  const onEdges = (y: number) => away(y) && Math.abs(first[y]! - left) <= 1 && Math.abs(last[y]! - right) <= 1;
  let top = -1;
  let bottom = -1;
  let rows = 0;
  for (let y = 0; y < height; y++) {
    if (!onEdges(y)) continue;
    if (top < 0) top = y;
    bottom = y;
    rows++;
  }
  if (rows < MIN_SIDE || rows * 2 < bottom - top + 1) return null;
  let outside = false;
  for (let y = 0; y < height && !outside; y++) outside = (y < top || y > bottom) && first[y]! >= 0;
  return { box: { left, top, right: right + 1, bottom: bottom + 1 }, kind: outside ? 'chrome' : 'border' };
}

/** The most common value of `at(y)` (>= 0) over the rows, a neighbour either side counted with it; -1 when none. */
function commonest(rows: number, values: number, at: (y: number) => number): number {
  const counts = new Uint32Array(values + 2);
  for (let y = 0; y < rows; y++) {
    const v = at(y);
    if (v >= 0) counts[v + 1]!++;
  }
  let best = -1;
  let bestCount = 0;
  for (let v = 0; v < values; v++) {
    const count = counts[v]! + counts[v + 1]! + counts[v + 2]!;
    if (count > bestCount || (count === bestCount && counts[v + 1]! > counts[best + 1]!)) {
      best = v;
      bestCount = count;
    }
  }
  return best;
}

/** The pixels of a content region, upright: a crop, or for a turned picture a resampling. */
export function extractRegion(frame: PixelFrame, region: ContentRegion): PixelFrame {
  if (!region.angle) return cropFrame(frame, region);
  const { left, top, width, height, angle } = region;
  return unrotate(frame, { centreX: left + width / 2, centreY: top + height / 2, width, height, angle });
}

/** A copy of one rectangle of an RGBA frame. */
export function cropFrame(frame: PixelFrame, region: Pick<ContentRegion, 'left' | 'top' | 'width' | 'height'>): PixelFrame {
  const { left, top, width, height } = region;
  if (left < 0 || top < 0 || width <= 0 || height <= 0 || left + width > frame.width || top + height > frame.height) {
    throw new RangeError('region outside the frame');
  }
  const data = new Uint8Array(width * height * 4);
  for (let y = 0; y < height; y++) {
    const from = ((top + y) * frame.width + left) * 4;
    data.set(frame.data.subarray(from, from + width * 4), y * width * 4);
  }
  return { data, width, height };
}

/** Trims, side by side, every outer line that is uniform in the colour of the side's outermost line. */
function trimUniform(frame: PixelFrame, box: Box): Box {
  const out = { ...box };
  const maxRows = Math.floor((box.bottom - box.top) * MAX_TRIM);
  const maxCols = Math.floor((box.right - box.left) * MAX_TRIM);
  out.top += uniformRun(maxRows, (i) => rowSamples(frame, out.top + i, out.left, out.right));
  out.bottom -= uniformRun(maxRows, (i) => rowSamples(frame, out.bottom - 1 - i, out.left, out.right));
  out.left += uniformRun(maxCols, (i) => columnSamples(frame, out.left + i, out.top, out.bottom));
  out.right -= uniformRun(maxCols, (i) => columnSamples(frame, out.right - 1 - i, out.top, out.bottom));
  return out;
}

/** How many lines from the outside in are uniform in the outermost line's colour. */
function uniformRun(max: number, line: (i: number) => Uint8Array): number {
  const outer = line(0);
  const colour = medianColour(outer);
  if (shareNear(outer, colour) < UNIFORM_SHARE) return 0;
  let n = 1;
  while (n < max && shareNear(line(n), colour) >= UNIFORM_SHARE) n++;
  return n;
}

/**
 * A screenshot's content band. The background is the colour of the plain side margins
 * (plainGround); a row is content when at least INK_SHARE of it differs from the background or it is
 * not uniform (dark content on a dark theme); runs of content rows, joined across gaps of a
 * percent of the height, form bands, scored by their non-uniform rows (a status bar is a band of
 * uniform rows). The best band must dominate the others (the chrome's caption lines and bars),
 * and something must lie outside it, else this is no chrome but a picture. The band, narrowed to
 * its content columns, is the region.
 */
function findChromeBand(frame: PixelFrame, box: Box, background: Colour): Box | null {
  const height = box.bottom - box.top;

  const content = new Uint8Array(height);
  const flat = new Uint8Array(height);
  for (let y = 0; y < height; y++) {
    const row = rowSamples(frame, box.top + y, box.left, box.right);
    flat[y] = shareNear(row, medianColour(row)) >= UNIFORM_SHARE ? 1 : 0;
    content[y] = !flat[y] || 1 - shareNear(row, background) >= INK_SHARE ? 1 : 0;
  }
  const maxGap = Math.max(2, Math.round(height * 0.01));
  const bands: Array<{ start: number; end: number; score: number }> = [];
  for (let y = 0; y < height; y++) {
    if (!content[y]) continue;
    const last = bands.at(-1);
    if (last && y - last.end <= maxGap) last.end = y + 1;
    else bands.push({ start: y, end: y + 1, score: 0 });
    bands.at(-1)!.score += flat[y] ? 0 : 1;
  }
  const best = bands.reduce<(typeof bands)[number] | null>((a, b) => (!a || b.score > a.score ? b : a), null);
  if (!best || best.score === 0 || best.end - best.start >= height * (1 - MIN_REMOVED)) return null;
  const others = bands.reduce((sum, band) => sum + (band === best ? 0 : band.score), 0);
  if (bands.length < 2 || others * 2 > best.score) return null;

  const top = box.top + best.start;
  const bottom = box.top + best.end;
  const isContent = (x: number) => {
    const column = columnSamples(frame, x, top, bottom);
    return shareNear(column, medianColour(column)) < UNIFORM_SHARE || 1 - shareNear(column, background) >= INK_SHARE;
  };
  let left = box.left;
  let right = box.right;
  while (left < right && !isContent(left)) left++;
  while (right > left && !isContent(right - 1)) right--;
  return right - left >= MIN_SIDE && bottom - top >= MIN_SIDE ? { left, top, right, bottom } : null;
}

type Colour = [number, number, number];

/** The colour of the outermost columns when PLAIN_SIDES of them is that colour (a screenshot's margins, a border), else null. */
function plainGround(frame: PixelFrame): Colour | null {
  const sides = concat(columnSamples(frame, 0, 0, frame.height), columnSamples(frame, frame.width - 1, 0, frame.height));
  const ground = medianColour(sides);
  return shareNear(sides, ground) >= PLAIN_SIDES ? ground : null;
}

function rowSamples(frame: PixelFrame, y: number, from: number, to: number): Uint8Array {
  return lineSamples(frame, (y * frame.width + from) * 4, 4, to - from);
}

function columnSamples(frame: PixelFrame, x: number, from: number, to: number): Uint8Array {
  return lineSamples(frame, (from * frame.width + x) * 4, frame.width * 4, to - from);
}

/** RGB triples of up to SAMPLES_PER_LINE evenly spaced pixels of a line of `length` pixels. */
function lineSamples(frame: PixelFrame, start: number, stride: number, length: number): Uint8Array {
  const count = Math.min(length, SAMPLES_PER_LINE);
  const out = new Uint8Array(count * 3);
  for (let k = 0; k < count; k++) {
    const i = start + Math.floor(((k + 0.5) * length) / count) * stride;
    out[k * 3] = frame.data[i]!;
    out[k * 3 + 1] = frame.data[i + 1]!;
    out[k * 3 + 2] = frame.data[i + 2]!;
  }
  return out;
}

function concat(a: Uint8Array, b: Uint8Array): Uint8Array {
  const out = new Uint8Array(a.length + b.length);
  out.set(a);
  out.set(b, a.length);
  return out;
}

/** Per-channel median of RGB triples. */
function medianColour(samples: Uint8Array): Colour {
  const n = samples.length / 3;
  const colour: Colour = [0, 0, 0];
  const histogram = new Uint32Array(256);
  for (let c = 0; c < 3; c++) {
    histogram.fill(0);
    for (let k = 0; k < n; k++) histogram[samples[k * 3 + c]!]!++;
    let seen = 0;
    let v = 0;
    while ((seen += histogram[v]!) * 2 < n) v++;
    colour[c] = v;
  }
  return colour;
}

/** Share of the samples within TOLERANCE of `colour` on every channel. */
function shareNear(samples: Uint8Array, [r, g, b]: readonly number[]): number {
  const n = samples.length / 3;
  let near = 0;
  for (let k = 0; k < n; k++) {
    const i = k * 3;
    if (Math.abs(samples[i]! - r!) <= TOLERANCE && Math.abs(samples[i + 1]! - g!) <= TOLERANCE && Math.abs(samples[i + 2]! - b!) <= TOLERANCE) near++;
  }
  return n === 0 ? 0 : near / n;
}
