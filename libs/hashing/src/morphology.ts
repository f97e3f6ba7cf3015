// Morphology on 8-bit images: square-window minimum and maximum filters and binary dilation, for
// finding thin strokes (overlaid text) by their top-hat. Pure.

// The minimum filter (erode) is separable, each 1-D pass the van Herk / Gil-Werman way: block-wise
// running minima forwards and backwards, three comparisons a pixel whatever the radius. The
// vertical pass runs over whole rows at once (cache-friendly). A maximum filter (dilate) is the
// minimum filter of the negated image.

/** Minimum over the (2 radius + 1)-square around each pixel, the window clipped at the edges. */
export function erode(data: Uint8Array, width: number, height: number, radius: number): Uint8Array {
  const span = 2 * radius + 1;
  const across = new Uint8Array(data.length);
  const length = width + 2 * radius;
  const pad = new Uint8Array(length);
  const forward = new Uint8Array(length);
  const backward = new Uint8Array(length);
  for (let y = 0; y < height; y++) {
    const row = y * width;
    // Padding repeats the end values: a minimum over a clipped window equals one over the padded window.
    pad.fill(data[row]!, 0, radius);
    pad.set(data.subarray(row, row + width), radius);
    pad.fill(data[row + width - 1]!, radius + width);
    runningMinima(pad, forward, backward, length, span);
    for (let x = 0; x < width; x++) {
      const a = backward[x]!;
      const b = forward[x + span - 1]!;
      across[row + x] = a < b ? a : b;
    }
  }
  // Down the columns, a whole row at a time: the same block-wise minima, element by element.
  const rows = height + 2 * radius;
  const source = (p: number) => Math.min(height - 1, Math.max(0, p - radius)) * width;
  const forwardRows = new Uint8Array(rows * width);
  const backwardRows = new Uint8Array(rows * width);
  for (let start = 0; start < rows; start += span) {
    const end = Math.min(rows, start + span);
    forwardRows.set(across.subarray(source(start), source(start) + width), start * width);
    for (let p = start + 1; p < end; p++) minRows(forwardRows, (p - 1) * width, across, source(p), forwardRows, p * width, width);
    backwardRows.set(across.subarray(source(end - 1), source(end - 1) + width), (end - 1) * width);
    for (let p = end - 2; p >= start; p--) minRows(backwardRows, (p + 1) * width, across, source(p), backwardRows, p * width, width);
  }
  const out = across;
  for (let y = 0; y < height; y++) {
    const a = y * width;
    const b = (y + span - 1) * width;
    for (let x = 0; x < width; x++) {
      const u = backwardRows[a + x]!;
      const v = forwardRows[b + x]!;
      out[a + x] = u < v ? u : v;
    }
  }
  return out;
}

/** Minima from each `span`-block's start up to each element (forward) and down from its end (backward), along a line. */
function runningMinima(src: Uint8Array, forward: Uint8Array, backward: Uint8Array, length: number, span: number): void {
  for (let start = 0; start < length; start += span) {
    const end = Math.min(length, start + span);
    let low = src[start]!;
    forward[start] = low;
    for (let p = start + 1; p < end; p++) {
      const v = src[p]!;
      if (v < low) low = v;
      forward[p] = low;
    }
    low = src[end - 1]!;
    backward[end - 1] = low;
    for (let p = end - 2; p >= start; p--) {
      const v = src[p]!;
      if (v < low) low = v;
      backward[p] = low;
    }
  }
}

/** out[o..o+n) = min(a[i..i+n), b[j..j+n)). */
function minRows(a: Uint8Array, i: number, b: Uint8Array, j: number, out: Uint8Array, o: number, n: number): void {
  for (let x = 0; x < n; x++) {
    const u = a[i + x]!;
    const v = b[j + x]!;
    out[o + x] = u < v ? u : v;
  }
}

/** Maximum over the (2 radius + 1)-square around each pixel, the window clipped at the edges. */
export function dilate(data: Uint8Array, width: number, height: number, radius: number): Uint8Array {
  const inverted = new Uint8Array(data.length);
  for (let i = 0; i < data.length; i++) inverted[i] = 255 - data[i]!;
  const out = erode(inverted, width, height, radius);
  for (let i = 0; i < out.length; i++) out[i] = 255 - out[i]!;
  return out;
}

/** Binary dilation by a square of the given radius (a pixel is set when any within the square is). */
export function dilateBinary(flags: Uint8Array, width: number, height: number, radius: number): Uint8Array {
  const across = new Uint8Array(flags.length);
  for (let y = 0; y < height; y++) {
    const row = y * width;
    let last = -Infinity; // the last set pixel at or left of x + radius
    for (let x = 0; x < width + radius; x++) {
      if (x < width && flags[row + x]) last = x;
      const at = x - radius;
      if (at >= 0 && at < width) {
        // set when a flag lies in [at - radius, at + radius]: the last one up to at + radius is close enough
        across[row + at] = last >= at - radius ? 1 : 0;
      }
    }
  }
  const out = new Uint8Array(flags.length);
  for (let x = 0; x < width; x++) {
    let last = -Infinity;
    for (let y = 0; y < height + radius; y++) {
      if (y < height && across[y * width + x]) last = y;
      const at = y - radius;
      if (at >= 0 && at < height) out[at * width + x] = last >= at - radius ? 1 : 0;
    }
  }
  return out;
}

/** An 8-bit working copy with its openings and closings, each computed once whichever stroke detector asks for it. */
export interface Strokes {
  data: Uint8Array;
  width: number;
  height: number;
  /** The opening (erode, then dilate): thin light strokes removed. */
  opened(radius: number): Uint8Array;
  /** The closing (dilate, then erode): thin dark strokes removed. */
  closed(radius: number): Uint8Array;
}

export function strokesOf(luma: { data: Float32Array; width: number; height: number }): Strokes {
  const { width, height } = luma;
  // Whole levels are plenty for strokes that stand out by tens of them, and a quarter of the memory.
  const data = new Uint8Array(width * height);
  for (let i = 0; i < data.length; i++) data[i] = Math.round(luma.data[i]!);
  const openings = new Map<number, Uint8Array>();
  const closings = new Map<number, Uint8Array>();
  const memo = (cache: Map<number, Uint8Array>, radius: number, make: () => Uint8Array) => {
    let out = cache.get(radius);
    if (!out) cache.set(radius, (out = make()));
    return out;
  };
  return {
    data,
    width,
    height,
    opened: (radius) => memo(openings, radius, () => dilate(erode(data, width, height, radius), width, height, radius)),
    closed: (radius) => memo(closings, radius, () => erode(dilate(data, width, height, radius), width, height, radius)),
  };
}
