// Deterministic benign test images, generated in code: natural-looking scenes (1/f "fractal"
// terrain, sky gradient, sun, texture) whose JPEG sizes and decode costs resemble photographs,
// unlike flat or pure-noise images. Never real photographs of people.

import sharp from 'sharp';

/** Interleaved 8-bit pixels. */
export interface RawImage {
  data: Uint8Array;
  width: number;
  height: number;
  channels: 3 | 4;
}

/** Mulberry32: small, fast, deterministic. */
export function seededRandom(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/**
 * A landscape-like RGB scene: sky gradient with a sun, fractal hills and ground texture whose
 * amplitude falls as 1/f (as in natural images), plus fine grain so JPEGs compress like photos.
 */
export async function naturalScene(width: number, height: number, seed = 1): Promise<RawImage> {
  const random = seededRandom(seed);
  const field = await fractalField(width, height, random);
  const detail = await fractalField(width, height, random);
  const data = new Uint8Array(width * height * 3);
  const sunX = width * (0.2 + 0.6 * random());
  const sunY = height * (0.12 + 0.2 * random());
  const sunR = Math.min(width, height) * 0.08;
  for (let y = 0; y < height; y++) {
    const horizon = 0.55 + 0.08 * Math.sin((y / height) * 3 + seed);
    for (let x = 0; x < width; x++) {
      const i = y * width + x;
      const v = field[i]!;
      const d = detail[i]!;
      const ridge = horizon + 0.18 * (v - 0.5) - 0.05 * Math.sin((x / width) * 7 + seed);
      let r: number;
      let g: number;
      let b: number;
      if (y / height < ridge) {
        const t = y / height / ridge;
        r = 60 + 170 * t + 20 * (d - 0.5);
        g = 110 + 110 * t + 20 * (d - 0.5);
        b = 190 + 40 * t + 15 * (d - 0.5);
        const sun = Math.hypot(x - sunX, y - sunY) / sunR;
        if (sun < 1) [r, g, b] = [255, 244, 200];
        else if (sun < 2.5) {
          const glow = (2.5 - sun) / 1.5;
          r += (255 - r) * glow * 0.6;
          g += (240 - g) * glow * 0.5;
        }
      } else {
        const depth = (y / height - ridge) / (1 - ridge);
        r = 40 + 90 * v + 60 * d * depth;
        g = 70 + 110 * v * (1 - 0.3 * depth) + 30 * d;
        b = 30 + 50 * v + 25 * d;
      }
      const grain = (random() - 0.5) * 14;
      data[i * 3] = clampByte(r + grain);
      data[i * 3 + 1] = clampByte(g + grain);
      data[i * 3 + 2] = clampByte(b + grain);
    }
  }
  return { data, width, height, channels: 3 };
}

/** Encodes raw pixels, e.g. `encode(scene, 'jpeg', { quality: 85 })`. */
export async function encode(
  image: RawImage,
  format: 'jpeg' | 'png' | 'webp' | 'gif' | 'tiff' | 'avif',
  options: Record<string, unknown> = {},
): Promise<Buffer> {
  const raw = sharp(image.data, { raw: { width: image.width, height: image.height, channels: image.channels } });
  return raw.toFormat(format, options).toBuffer();
}

/** Sum of octaves of smooth value noise, amplitude halving with each doubling of frequency; 0..1. */
async function fractalField(width: number, height: number, random: () => number): Promise<Float32Array> {
  const out = new Float32Array(width * height);
  let amplitude = 1;
  let total = 0;
  for (let cells = 3; cells <= Math.max(width, height) / 2; cells *= 2) {
    const gw = Math.max(2, Math.round((cells * width) / Math.max(width, height)));
    const gh = Math.max(2, Math.round((cells * height) / Math.max(width, height)));
    const grid = new Uint8Array(gw * gh);
    for (let i = 0; i < grid.length; i++) grid[i] = Math.floor(random() * 256);
    const smooth = await sharp(grid, { raw: { width: gw, height: gh, channels: 1 } })
      .resize(width, height, { fit: 'fill', kernel: 'cubic' })
      .raw()
      .toBuffer();
    for (let i = 0; i < out.length; i++) out[i]! += (amplitude * smooth[i]!) / 255;
    total += amplitude;
    amplitude *= 0.62;
  }
  for (let i = 0; i < out.length; i++) out[i]! /= total;
  return out;
}

function clampByte(value: number): number {
  return value < 0 ? 0 : value > 255 ? 255 : Math.round(value);
}
