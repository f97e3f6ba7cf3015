// Small-rotation compensation: a picture rotated by a few degrees onto a larger canvas (expanded,
// the corners filled with one colour) hashes far from its original, PDQ and blockhash alike. Its
// rectangle is recovered from where it touches the canvas (one vertex on each side) and from its
// four edges fitted between those or, when vertices vanish into a fill of their own colour, from
// the canvas as its bounding box; then resampled upright to be hashed as an extra query (the
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
 * corners must be one fill colour, and either each side touches the picture at a single vertex
 * and the four edges fitted between the vertices are turned alike, or (2 to 15 degrees) the
 * picture the canvas bounds at some angle is what the sides show (fromBoundingBox).
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
  return fromVertices(frame, isFill) ?? fromBoundingBox(frame, isFill);
}

/** The rectangle from its four vertices on the canvas sides and its four fitted edges. */
function fromVertices(frame: PixelFrame, isFill: (x: number, y: number) => boolean): RotatedRect | null {
  const { width, height } = frame;
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
 * When a vertex cannot be seen (the picture's own edge there is the fill's colour: clip-art or a
 * screenshot on white turned on a white canvas), the canvas itself still tells: an expanded
 * rotation makes it the exact bounding box of the turned picture, which leaves one unknown, the
 * angle (w and h follow from W = w cos + h sin, H = w sin + h cos). The angle chosen is the one
 * whose predicted outline the first content seen from each side follows: content deeper than
 * predicted is the picture's own fill-coloured edge and neither helps nor hurts, content where
 * fill is predicted rules the angle out.
 */
function fromBoundingBox(frame: PixelFrame, isFill: (x: number, y: number) => boolean): RotatedRect | null {
  const { width, height } = frame;
  const canvas = canvasSides(width, height, isFill);
  // Each canvas corner is a fill triangle whose legs are at least min(w, h) sin 2 degrees long:
  // most pictures with same-coloured corner pixels have content right next to them.
  const leg = Math.max(BOX_SLACK + 1, Math.floor(BOX_MIN_LEG * Math.min(width, height)));
  for (const { length, at } of canvas) {
    for (let d = 0; d < leg; d++) if (!at(d, 0) || !at(length - 1 - d, 0)) return null;
  }
  // The picture touches the canvas at its four vertices; with some of them invisible, at least two
  // must show (a frame added around a picture touches none: the common case, rejected here cheaply).
  const touches = ({ length, at }: CanvasSide) => {
    for (let along = 0; along < length; along++) for (let depth = 0; depth <= BOX_SLACK; depth++) if (!at(along, depth)) return true;
    return false;
  };
  if (canvas.filter(touches).length < 2) return null;
  const sides = canvas.map(seenDepths);
  const samples = sides.reduce((n, side) => n + side.depths.length, 0);
  const tried: Array<{ radians: number; score: Score }> = [];
  const consider = (radians: number) => {
    const score = scoreAngle(width, height, radians, sides);
    if (score) tried.push({ radians, score });
  };
  const bestOf = () => tried.reduce<{ radians: number; score: Score } | null>((best, t) => (!best || t.score.follows > best.score.follows ? t : best), null);
  const coarse = (0.5 * Math.PI) / 180;
  for (let a = (BOX_MIN_ANGLE * Math.PI) / 180; a <= (BOX_MAX_ANGLE * Math.PI) / 180 + 1e-9; a += coarse) {
    consider(a);
    consider(-a);
  }
  const rough = bestOf();
  if (!rough) return null;
  tried.length = 0;
  for (let step = -coarse; step <= coarse + 1e-9; step += coarse / 25) consider(rough.radians + step);
  const found = bestOf();
  if (!found || found.score.follows < BOX_MIN_FOLLOWING * samples || found.score.sidesFollowed < 2) return null;
  // Within the 2-pixel slack several nearby angles are followed about as often: the one the followers sit closest to.
  const radians = tried
    .filter((t) => t.score.follows >= 0.97 * found.score.follows)
    .reduce((a, b) => (b.score.offBy / b.score.follows < a.score.offBy / a.score.follows ? b : a)).radians;
  const size = boundingBoxPicture(width, height, radians);
  if (!size || size.width < MIN_SIDE || size.height < MIN_SIDE) return null;
  const angle = (radians * 180) / Math.PI;
  if (Math.abs(angle) < BOX_MIN_ANGLE || Math.abs(angle) > BOX_MAX_ANGLE + 0.5) return null;
  return { centreX: (width - 1) / 2, centreY: (height - 1) / 2, width: Math.round(size.width), height: Math.round(size.height), angle };
}

/**
 * Share of all side samples whose first content must lie on the predicted outline, and of a
 * side's own for it to count as followed; two followed sides fix the angle.
 */
const BOX_MIN_FOLLOWING = 0.4;
const BOX_SIDE_FOLLOWING = 0.5;
/**
 * Below this the predicted outline hugs the sides, and a picture with rounded corners on a plain
 * ground follows it as well as a turned one (dev corpus: 7 of 9 distractors that fired were at 1 degree).
 */
const BOX_MIN_ANGLE = 2;
/** Straightening turns are small; the search (and how deep the sides are read) stops here. */
const BOX_MAX_ANGLE = 15;
/** Samples with content where fill is predicted that an angle survives (JPEG specks, rounding at the vertices). */
const BOX_MAX_CONTRADICTING = 0.02;
/** Pixels a seen depth may be off the predicted outline and still follow it. */
const BOX_SLACK = 2;
/** The shortest corner-triangle leg looked for, as a share of the canvas's shorter side (sin 2 degrees is 0.035). */
const BOX_MIN_LEG = 0.02;
/** Samples per side at most. */
const BOX_SAMPLES = 96;

interface SideDepths {
  /** Which side: depth measured down from the top, up from the bottom, right from the left, left from the right. */
  side: 'top' | 'bottom' | 'left' | 'right';
  positions: number[];
  /** First content seen from the side at each position, `cap` when none within it. */
  depths: number[];
  cap: number;
}

interface Score {
  follows: number;
  /** Summed distance of the followers from the predicted outline. */
  offBy: number;
  sidesFollowed: number;
}

/** A side of the canvas read inwards: `at(along, depth)` says whether that pixel is fill. */
interface CanvasSide {
  side: SideDepths['side'];
  length: number;
  /** The canvas's extent away from this side. */
  across: number;
  at: (along: number, depth: number) => boolean;
}

function canvasSides(width: number, height: number, isFill: (x: number, y: number) => boolean): CanvasSide[] {
  return [
    { side: 'top', length: width, across: height, at: (x, d) => isFill(x, d) },
    { side: 'bottom', length: width, across: height, at: (x, d) => isFill(x, height - 1 - d) },
    { side: 'left', length: height, across: width, at: (y, d) => isFill(d, y) },
    { side: 'right', length: height, across: width, at: (y, d) => isFill(width - 1 - d, y) },
  ];
}

function seenDepths({ side, length, across, at }: CanvasSide): SideDepths {
  // Up to 15 degrees the outline lies at most a quarter of the other dimension deep (sin 15 = 0.26).
  const cap = Math.ceil(across * 0.3);
  const step = Math.max(1, Math.floor(length / BOX_SAMPLES));
  const positions: number[] = [];
  const depths: number[] = [];
  for (let along = 0; along < length; along += step) {
    let depth = 0;
    while (depth < cap && at(along, depth)) depth++;
    positions.push(along);
    depths.push(depth);
  }
  return { side, positions, depths, cap };
}

/** The turned picture's size when the canvas is its bounding box, or null when no picture fits. */
function boundingBoxPicture(width: number, height: number, radians: number): { width: number; height: number } | null {
  const c = Math.cos(Math.abs(radians));
  const s = Math.sin(Math.abs(radians));
  const det = c * c - s * s;
  // Pixel extents: a w-pixel picture spans w - 1 between its first and last pixel centres.
  const w = ((width - 1) * c - (height - 1) * s) / det + 1;
  const h = ((height - 1) * c - (width - 1) * s) / det + 1;
  return w > 0 && h > 0 ? { width: w, height: h } : null;
}

/** How well the seen depths follow the outline the angle predicts; null when content sits where fill is predicted. */
function scoreAngle(width: number, height: number, radians: number, sides: SideDepths[]): Score | null {
  const size = boundingBoxPicture(width, height, radians);
  if (!size) return null;
  const cx = (width - 1) / 2;
  const cy = (height - 1) / 2;
  const cos = Math.cos(radians);
  const sin = Math.sin(radians);
  const hw = (size.width - 1) / 2;
  const hh = (size.height - 1) / 2;
  // Inside: |u| <= hw and |v| <= hh with u = dx cos - dy sin, v = dx sin + dy cos (the inverse of unrotate's map).
  // Along a line of the canvas, each condition bounds the other coordinate to an interval.
  // Where |a + b t| <= half along a line: b is never 0 here (the search stays within 1.5 to 15.5 degrees), so an interval.
  let lo = 0;
  let hi = 0;
  const within = (a: number, b: number, half: number) => {
    const t1 = (-half - a) / b;
    const t2 = (half - a) / b;
    lo = Math.max(lo, Math.min(t1, t2));
    hi = Math.min(hi, Math.max(t1, t2));
  };
  let follows = 0;
  let offBy = 0;
  let contradicting = 0;
  let total = 0;
  let sidesFollowed = 0;
  for (const { side, positions, depths, cap } of sides) {
    let sideFollows = 0;
    for (let i = 0; i < positions.length; i++) {
      const p = positions[i]!;
      let predicted: number;
      if (side === 'top' || side === 'bottom') {
        const dx = p - cx;
        // Along the column: dy = t - cy; u = dx cos - dy sin, v = dx sin + dy cos.
        lo = 0;
        hi = height - 1;
        within(dx * cos + cy * sin, -sin, hw);
        within(dx * sin - cy * cos, cos, hh);
        predicted = lo > hi ? cap : side === 'top' ? lo : height - 1 - hi;
      } else {
        const dy = p - cy;
        lo = 0;
        hi = width - 1;
        within(-dy * sin - cx * cos, cos, hw);
        within(dy * cos - cx * sin, sin, hh);
        predicted = lo > hi ? cap : side === 'left' ? lo : width - 1 - hi;
      }
      predicted = Math.min(cap, Math.max(0, predicted));
      const seen = depths[i]!;
      total++;
      if (seen < predicted - BOX_SLACK) contradicting++;
      else if (seen <= predicted + BOX_SLACK) {
        sideFollows++;
        offBy += Math.abs(seen - predicted);
      }
    }
    follows += sideFollows;
    if (sideFollows >= BOX_SIDE_FOLLOWING * positions.length) sidesFollowed++;
  }
  if (contradicting > BOX_MAX_CONTRADICTING * total) return null;
  return { follows, offBy, sidesFollowed };
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
