// Benign synthetic test pictures (no corpus, no fonts): a wavy picture with flat shapes, and the
// same with a watermark-style caption drawn over it.
import type { LumaImage } from '../src/pdq.ts';

/** A benign synthetic picture: smooth waves and a few flat shapes (enough structure for a stable PDQ). */
export function picture(width: number, height: number): LumaImage {
  const data = new Float32Array(width * height);
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) {
      let v = 120 + 45 * Math.sin((x / width) * 7.1 + 0.4) * Math.cos((y / height) * 4.3) + 25 * Math.sin(((x + 2 * y) / width) * 11);
      if ((x - width * 0.3) ** 2 + (y - height * 0.35) ** 2 < (height * 0.18) ** 2) v = 200;
      if (x > width * 0.6 && x < width * 0.85 && y > height * 0.2 && y < height * 0.55) v = 40;
      data[y * width + x] = Math.max(0, Math.min(255, v));
    }
  }
  return { data, width, height };
}

/**
 * The picture with a caption composited over its lower right, the way watermarking tools draw
 * one: light glyph strokes inside a dark outline, both three quarters opaque.
 */
export function captioned(clean: LumaImage, glyphs: number): LumaImage {
  const { width, height } = clean;
  const size = Math.round(height / 12);
  const stroke = Math.max(2, Math.round(size / 7));
  const fill = new Uint8Array(width * height);
  const left = Math.round(width * 0.2);
  const top = height - size - Math.round(height * 0.04);
  for (let g = 0; g < glyphs; g++) {
    const x0 = left + Math.round(g * size * 0.75);
    const bar = (x: number, y: number, w: number, h: number) => {
      for (let yy = y; yy < y + h; yy++) for (let xx = x; xx < x + w; xx++) fill[yy * width + xx] = 1;
    };
    // Glyph-like shapes: a stem, and top, middle or bottom bars in turn.
    bar(x0, top, stroke, size);
    if (g % 3 !== 1) bar(x0, top, Math.round(size * 0.5), stroke);
    if (g % 3 !== 2) bar(x0, top + Math.round(size / 2), Math.round(size * 0.45), stroke);
    if (g % 2 === 0) bar(x0, top + size - stroke, Math.round(size * 0.5), stroke);
  }
  const out = new Float32Array(clean.data);
  const alpha = 190 / 255;
  for (let y = 2; y < height - 2; y++) {
    for (let x = 2; x < width - 2; x++) {
      const i = y * width + x;
      let outline = false;
      for (let dy = -2; dy <= 2 && !outline; dy++) for (let dx = -2; dx <= 2; dx++) if (fill[i + dy * width + dx]) outline = true;
      if (fill[i]) out[i] = alpha * 255 + (1 - alpha) * clean.data[i]!;
      else if (outline) out[i] = (1 - alpha) * clean.data[i]!;
    }
  }
  return { data: out, width, height };
}

/** A luma picture as opaque grey RGBA, the decoder's output. */
export function rgbaOf(luma: LumaImage): Uint8Array {
  const out = new Uint8Array(luma.width * luma.height * 4);
  for (let i = 0; i < luma.data.length; i++) {
    const v = Math.round(luma.data[i]!);
    out.set([v, v, v, 255], i * 4);
  }
  return out;
}

/**
 * The picture under a faint watermark the way stock-photo sites draw one: rows of glyph-like
 * strokes on a 30 degree slant over the whole picture, composited at `alpha` opacity in light
 * (white) or dark (black) ink.
 */
export function faintlyMarked(clean: LumaImage, alpha: number, ink: 'light' | 'dark' = 'light'): LumaImage {
  const { width, height } = clean;
  const size = Math.round(Math.hypot(width, height) / 14);
  const stroke = Math.max(2, Math.round(size / 9));
  const cell = Math.round(size * 0.75);
  const [cos, sin] = [Math.cos(Math.PI / 6), Math.sin(Math.PI / 6)];
  const out = new Float32Array(clean.data);
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) {
      // Position in the slanted text's frame: u along a row, v across the rows (a row of glyphs every 3 sizes).
      const u = x * cos + y * sin + 4 * width;
      const v = -x * sin + y * cos + 4 * height;
      const inRow = v % (3 * size);
      if (inRow >= size) continue;
      const g = Math.floor(u / cell);
      const across = u - g * cell;
      if (across >= size * 0.5) continue;
      const stem = across < stroke;
      const top = g % 3 !== 1 && inRow < stroke;
      const middle = g % 3 !== 2 && Math.abs(inRow - size / 2) < stroke / 2;
      const bottom = g % 2 === 0 && inRow >= size - stroke;
      if (!(stem || top || middle || bottom)) continue;
      const i = y * width + x;
      out[i] = ink === 'light' ? clean.data[i]! + alpha * (255 - clean.data[i]!) : clean.data[i]! * (1 - alpha);
    }
  }
  return { data: out, width, height };
}
