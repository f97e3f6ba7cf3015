// Small-rotation compensation: a picture rotated by a few degrees onto a larger canvas (expanded,
// the corners filled with one colour) hashes far from its original, PDQ and blockhash alike. Its
// rectangle is recovered from where it touches the canvas (one vertex on each side) and from its
// four edges fitted between those, then resampled upright to be hashed as an extra query (the
// content region of framing.ts). Pure, on decoded RGBA.

import type { PixelFrame } from './decode-sharp.ts';

/** A rectangle of a frame rotated by `angle` degrees (counter-clockwise as displayed) about its centre. */
export interface RotatedRect {
  centreX: number;
  centreY: number;
  width: number;
  height: number;
  angle: number;
}

/** Largest per-channel difference still counted as the fill colour (anti-aliasing, JPEG ringing). */
const TOLERANCE = 24;
/** Rotations smaller than this are left to border trimming; larger ones are no longer "small". */
const MIN_ANGLE = 1;
const MAX_ANGLE = 30;
/** A vertex is looked for this share of a side inwards at most (the canvas rounds its size). */
const MAX_INSET = 0.02;
/** Where a vertex touches a side, content occupies at most this share of that side (the nearer an edge runs to the side, the longer its first row: 1/tan(angle) pixels and the blend). */
const MAX_CONTACT = 0.3;
/** The four vertices must form a rectangle to within this share of its diagonal. */
const SHAPE_TOLERANCE = 0.03;
/** The four fitted edges must be turned alike to within this (radians, half a degree). */
const EDGE_AGREEMENT = (0.5 * Math.PI) / 180;
const MIN_SIDE = 32;

/**
 * The rotated picture inside a frame, or null when the frame is not one (most images): its four
 * corners must be one fill colour, each side must touch the picture at a single vertex, and the
 * four edges fitted between the vertices must be turned alike.
 */
export function findRotatedContent(frame: PixelFrame): RotatedRect | null {
  const { width, height } = frame;
  if (width < MIN_SIDE || height < MIN_SIDE) return null;
  const fill = cornerFill(frame);
  if (!fill) return null;
  const isFill = (x: number, y: number) => {
    const i = (y * width + x) * 4;
    const d = frame.data;
    return Math.abs(d[i]! - fill[0]) <= TOLERANCE && Math.abs(d[i + 1]! - fill[1]) <= TOLERANCE && Math.abs(d[i + 2]! - fill[2]) <= TOLERANCE;
  };
  const top = contact(width, Math.ceil(height * MAX_INSET), (along, inset) => isFill(along, inset));
  const bottom = contact(width, Math.ceil(height * MAX_INSET), (along, inset) => isFill(along, height - 1 - inset));
  const left = contact(height, Math.ceil(width * MAX_INSET), (along, inset) => isFill(inset, along));
  const right = contact(height, Math.ceil(width * MAX_INSET), (along, inset) => isFill(width - 1 - inset, along));
  if (!top || !bottom || !left || !right) return null;
  const T = { x: top.along, y: top.inset };
  const B = { x: bottom.along, y: height - 1 - bottom.inset };
  const L = { x: left.inset, y: left.along };
  const R = { x: width - 1 - right.inset, y: right.along };

  // Vertices in order L -> T -> R -> B: opposite edges equal (a parallelogram), diagonals equal (a rectangle).
  const diagonal = Math.hypot(R.x - L.x, R.y - L.y);
  const slack = SHAPE_TOLERANCE * diagonal;
  if (Math.hypot(T.x - L.x - (R.x - B.x), T.y - L.y - (R.y - B.y)) > slack) return null;
  if (Math.abs(diagonal - Math.hypot(B.x - T.x, B.y - T.y)) > slack) return null;

  // The edge nearer horizontal is the picture's top: L->T for a counter-clockwise turn, T->R for a clockwise one.
  const counterClockwise = Math.abs(T.y - L.y) < Math.abs(T.x - L.x);
  const rough = counterClockwise ? Math.atan2(L.y - T.y, T.x - L.x) : -Math.atan2(R.y - T.y, R.x - T.x);
  if (Math.abs(rough) < (MIN_ANGLE * Math.PI) / 180 || Math.abs(rough) > (MAX_ANGLE * Math.PI) / 180) return null;

  // The vertices are a few pixels off (rounding, anti-aliasing); the four edges, fitted over their
  // middles, give the angle and the size. Near-horizontal edges as y(x), near-vertical as x(y).
  const firstContent = (from: number, to: number, step: number, isFillAt: (k: number) => boolean) => {
    for (let k = from; k !== to; k += step) if (!isFillAt(k)) return k;
    return to;
  };
  const topY = (x: number) => firstContent(0, height - 1, 1, (y) => isFill(x, y));
  const bottomY = (x: number) => firstContent(height - 1, 0, -1, (y) => isFill(x, y));
  const leftX = (y: number) => firstContent(0, width - 1, 1, (x) => isFill(x, y));
  const rightX = (y: number) => firstContent(width - 1, 0, -1, (x) => isFill(x, y));
  const topEdge = counterClockwise ? fitLine(L.x, T.x, topY) : fitLine(T.x, R.x, topY);
  const bottomEdge = counterClockwise ? fitLine(B.x, R.x, bottomY) : fitLine(L.x, B.x, bottomY);
  const leftEdge = counterClockwise ? fitLine(L.y, B.y, leftX) : fitLine(T.y, L.y, leftX);
  const rightEdge = counterClockwise ? fitLine(T.y, R.y, rightX) : fitLine(R.y, B.y, rightX);
  if (!topEdge || !bottomEdge || !leftEdge || !rightEdge) return null;
  // y = a + s x with s = -tan(angle) for the horizontal pair; x = c + t y with t = tan(angle) for the vertical pair.
  const edgeAngles = [-Math.atan(topEdge.slope), -Math.atan(bottomEdge.slope), Math.atan(leftEdge.slope), Math.atan(rightEdge.slope)];
  const radians = edgeAngles.reduce((sum, a) => sum + a, 0) / 4;
  const angle = (radians * 180) / Math.PI;
  if (Math.abs(angle) < MIN_ANGLE || Math.abs(angle) > MAX_ANGLE || Math.abs(radians - rough) > 0.05) return null;
  // A rectangle: all four edges turned alike.
  if (edgeAngles.some((a) => Math.abs(a - radians) > EDGE_AGREEMENT)) return null;
  const cos = Math.cos(radians);
  const tan = Math.tan(radians);
  // The fitted lines run through the first pixel of content on each side: both ends are counted.
  const h = Math.abs(bottomEdge.intercept - topEdge.intercept) * cos + 1;
  const w = Math.abs(rightEdge.intercept - leftEdge.intercept) * cos + 1;
  if (w < MIN_SIDE || h < MIN_SIDE) return null;
  // The centre: where the midline between top and bottom (y = a - tan x) meets the one between left and right (x = c + tan y).
  const a = (topEdge.intercept + bottomEdge.intercept) / 2;
  const c = (leftEdge.intercept + rightEdge.intercept) / 2;
  const centreY = (a - tan * c) / (1 + tan * tan);
  const centreX = c + tan * centreY;
  return { centreX, centreY, width: Math.round(w), height: Math.round(h), angle };
}

/**
 * Line v = intercept + slope * k over the middle 80% of k in [from, to], by least squares, refitted
 * without points more than 2 pixels off (picture content in the fill's colour runs deeper); null when
 * the span is too short or fewer than a quarter of its points fit.
 */
function fitLine(from: number, to: number, at: (k: number) => number): { intercept: number; slope: number } | null {
  const lo = Math.ceil(Math.min(from, to) + 0.1 * Math.abs(to - from));
  const hi = Math.floor(Math.max(from, to) - 0.1 * Math.abs(to - from));
  if (hi - lo < 8) return null;
  const ks: number[] = [];
  const vs: number[] = [];
  for (let k = lo; k <= hi; k++) {
    ks.push(k);
    vs.push(at(k));
  }
  let line = leastSquares(ks, vs, () => true);
  for (let round = 0; round < 2 && line; round++) {
    const fit = line;
    line = leastSquares(ks, vs, (k, v) => Math.abs(v - fit.intercept - fit.slope * k) <= 2);
  }
  return line;
}

function leastSquares(ks: number[], vs: number[], keep: (k: number, v: number) => boolean): { intercept: number; slope: number } | null {
  let n = 0;
  let sk = 0;
  let sv = 0;
  let skk = 0;
  let skv = 0;
  for (let i = 0; i < ks.length; i++) {
    const k = ks[i]!;
    const v = vs[i]!;
    if (!keep(k, v)) continue;
    n++;
    sk += k;
    sv += v;
    skk += k * k;
    skv += k * v;
  }
  if (n < Math.max(8, ks.length / 4)) return null;
  const slope = (n * skv - sk * sv) / (n * skk - sk * sk);
  return { intercept: (sv - slope * sk) / n, slope };
}

/** The rectangle resampled upright (bilinear), `width` x `height` pixels. */
export function unrotate(frame: PixelFrame, rect: RotatedRect): PixelFrame {
  const { width, height } = rect;
  const radians = (rect.angle * Math.PI) / 180;
  // An upright pixel (u, v) from the centre lies at (u cos + v sin, -u sin + v cos) in the frame (y down, turn counter-clockwise).
  const cos = Math.cos(radians);
  const sin = Math.sin(radians);
  const data = new Uint8Array(width * height * 4);
  const src = frame.data;
  const maxX = frame.width - 1;
  const maxY = frame.height - 1;
  // Pixel indices throughout: the centre of a `width`-pixel rectangle is (width - 1) / 2 from its first pixel.
  for (let y = 0; y < height; y++) {
    const v = y - (height - 1) / 2;
    for (let x = 0; x < width; x++) {
      const u = x - (width - 1) / 2;
      const fx = Math.min(maxX, Math.max(0, rect.centreX + u * cos + v * sin));
      const fy = Math.min(maxY, Math.max(0, rect.centreY - u * sin + v * cos));
      const x0 = Math.floor(fx);
      const y0 = Math.floor(fy);
      const x1 = Math.min(maxX, x0 + 1);
      const y1 = Math.min(maxY, y0 + 1);
      const ax = fx - x0;
      const ay = fy - y0;
      const o = (y * width + x) * 4;
      const i00 = (y0 * frame.width + x0) * 4;
      const i01 = (y0 * frame.width + x1) * 4;
      const i10 = (y1 * frame.width + x0) * 4;
      const i11 = (y1 * frame.width + x1) * 4;
      for (let c = 0; c < 4; c++) {
        const upper = src[i00 + c]! + (src[i01 + c]! - src[i00 + c]!) * ax;
        const lower = src[i10 + c]! + (src[i11 + c]! - src[i10 + c]!) * ax;
        data[o + c] = Math.round(upper + (lower - upper) * ay);
      }
    }
  }
  return { data, width, height };
}

/** The colour of the four corners when they agree, else null. */
function cornerFill(frame: PixelFrame): [number, number, number] | null {
  const at = (x: number, y: number) => {
    const i = (y * frame.width + x) * 4;
    return [frame.data[i]!, frame.data[i + 1]!, frame.data[i + 2]!] as const;
  };
  const corners = [at(0, 0), at(frame.width - 1, 0), at(0, frame.height - 1), at(frame.width - 1, frame.height - 1)];
  const first = corners[0]!;
  if (!corners.every((c) => c.every((v, k) => Math.abs(v - first[k]!) <= TOLERANCE))) return null;
  return [first[0], first[1], first[2]];
}

/**
 * Where the picture touches one side: the first line from the side inwards holding content, and
 * the middle of its content there. Null when the content there is no single short run between
 * fill on both ends (an edge, not a vertex) or when no content is met within `maxInset` lines.
 */
function contact(length: number, maxInset: number, isFill: (along: number, inset: number) => boolean): { along: number; inset: number } | null {
  for (let inset = 0; inset <= maxInset; inset++) {
    let first = -1;
    let last = -1;
    for (let along = 0; along < length; along++) {
      if (isFill(along, inset)) continue;
      if (first < 0) first = along;
      last = along;
    }
    if (first < 0) continue;
    if (first === 0 || last === length - 1 || last - first + 1 > MAX_CONTACT * length) return null;
    return { along: (first + last) / 2, inset };
  }
  return null;
}
