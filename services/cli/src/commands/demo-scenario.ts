// What `vigil demo` uploads: generated landscape scenes (libs/testkit naturalScene, seeded, so
// every run plants the same bytes) — some put on a synthetic demo list, transformed copies of
// those (resized, recompressed, rotated, flipped, cropped, watermarked, re-encoded), unrelated
// scenes and one truncated file. Nothing here is, or resembles, real content. Transforms use
// sharp on raw or PNG overlays only: the hashing library blocks sharp's SVG loader process-wide.

import sharp, { type OverlayOptions, type Sharp } from 'sharp';
import { encode, naturalScene } from '@vigil/testkit';

export const DEMO_WIDTH = 480;
export const DEMO_HEIGHT = 360;

/** Which synthetic list an original is on. */
export type DemoListKind = 'pdq' | 'md5';

export type TransformKind = 'resized' | 'recompressed' | 'rotated' | 'flipped' | 'cropped' | 'cropped-corner' | 'watermarked' | 'banner' | 're-encoded';

export interface PlantedUpload {
  name: string;
  /** listed: the exact bytes on a list; copy: a transform of a listed original; unrelated: on no list. */
  role: 'listed' | 'copy' | 'unrelated' | 'unscannable';
  /** The listed original a copy was made from. */
  of?: string;
  list?: DemoListKind;
  transform?: TransformKind;
  /** What it is, in a few words. */
  description: string;
  bytes: Buffer;
}

export interface DemoScenario {
  /** The originals whose hashes make version 1 of the demo lists. */
  listed: Array<{ name: string; entryId: string; list: DemoListKind; bytes: Buffer }>;
  uploads: PlantedUpload[];
  /** Version 2 of the PDQ list adds this image's hash: a clean upload the retro-match must catch. */
  retro: { target: string; entryId: string; bytes: Buffer };
}

/**
 * Why a copy of a listed image can come back clean, by transform: the known limits of the rule
 * that should have caught it. Printed only for copies that were actually missed.
 */
export const MISS_REASONS: Record<TransformKind, string> = {
  resized: 'resampling moved the PDQ hash beyond the list threshold',
  recompressed: 'heavy compression moved the PDQ hash beyond the list threshold',
  rotated: 'the rotated PDQ variants were not within the list threshold',
  flipped: 'the flipped PDQ variants were not within the list threshold',
  cropped: 'crop compensation re-centres crops of 2.5%, 5% and 10% per side and counts them within 28 bits; this copy was not within reach',
  'cropped-corner':
    'an off-centre crop keeping 36% of the frame: PDQ hashes the whole frame, and crop compensation only re-centres crops of up to 10% per side',
  watermarked: 'the overlay changed the PDQ hash beyond the list threshold',
  banner: 'an opaque banner over 40% of the frame changes the PDQ hash far beyond the list threshold: PDQ is not robust to large overlays',
  're-encoded': 'an MD5 list matches identical bytes only: a re-encoded copy has other bytes (a PDQ entry for the same image would catch it)',
};

/** Scenes 801.. (the committed demo list in hashlists/demo uses 1-24); `offset` shifts them for a kept home's next run. */
export async function buildScenario(offset = 0): Promise<DemoScenario> {
  const scene = (n: number, quality = 90) => sceneJpeg(800 + offset + n, quality);
  const [a, b, c, d, e, f, u1, u2, u3, u4, broken] = await Promise.all(
    [1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11].map((n) => scene(n)),
  );
  const W = DEMO_WIDTH;
  const H = DEMO_HEIGHT;
  const jpeg = (image: Sharp, quality = 85) => image.jpeg({ quality }).toBuffer();
  const copy = (name: string, of: string, transform: TransformKind, description: string, bytes: Buffer, list: DemoListKind = 'pdq'): PlantedUpload => ({
    name, role: 'copy', of, list, transform, description, bytes,
  });
  const uploads: PlantedUpload[] = [
    { name: 'listed-a.jpg', role: 'listed', list: 'pdq', description: 'on the PDQ list, exact bytes', bytes: a! },
    copy('a-resized.jpg', 'listed-a.jpg', 'resized', 'resized to 75%, JPEG q85', await jpeg(sharp(a!).resize(Math.round(W * 0.75)))),
    copy('b-recompressed.jpg', 'listed-b.jpg', 'recompressed', 'recompressed, JPEG q35', await jpeg(sharp(b!), 35)),
    copy('b-rotated.jpg', 'listed-b.jpg', 'rotated', 'rotated 90°', await jpeg(sharp(b!).rotate(90))),
    copy('c-flipped.jpg', 'listed-c.jpg', 'flipped', 'mirrored left to right', await jpeg(sharp(c!).flop())),
    copy('d-cropped.jpg', 'listed-d.jpg', 'cropped', 'centred crop, 2.5% off each side', await jpeg(sharp(d!).extract(centredCrop(W, H, 0.95)))),
    copy('d-cropped-corner.jpg', 'listed-d.jpg', 'cropped-corner', 'top-left 60% x 60% only', await jpeg(sharp(d!).extract({ left: 0, top: 0, width: Math.round(W * 0.6), height: Math.round(H * 0.6) }))),
    copy('e-watermarked.jpg', 'listed-e.jpg', 'watermarked', 'semi-transparent logo in a corner', await jpeg(sharp(e!).composite(await cornerLogo(W)))),
    copy('e-banner.jpg', 'listed-e.jpg', 'banner', 'dark banner over 40% of the frame', await jpeg(sharp(e!).composite([{ input: await box(W, Math.round(H * 0.4), [0, 0, 0, 0.7]), left: 0, top: Math.round(H * 0.3) }]))),
    { name: 'f-exact.jpg', role: 'listed', list: 'md5', description: 'on the MD5 list, exact bytes', bytes: f! },
    copy('f-reencoded.jpg', 'f-exact.jpg', 're-encoded', 're-encoded, JPEG q80', await jpeg(sharp(f!), 80), 'md5'),
    { name: 'unrelated-1.jpg', role: 'unrelated', description: 'a scene on no list', bytes: u1! },
    { name: 'unrelated-2.jpg', role: 'unrelated', description: 'a scene on no list (until list version 2)', bytes: u2! },
    { name: 'unrelated-3.jpg', role: 'unrelated', description: 'a scene on no list', bytes: u3! },
    { name: 'unrelated-4.jpg', role: 'unrelated', description: 'a scene on no list', bytes: u4! },
    { name: 'truncated.jpg', role: 'unscannable', description: 'a JPEG cut off after 3,000 bytes', bytes: broken!.subarray(0, 3000) },
  ];
  return {
    listed: [
      { name: 'listed-a.jpg', entryId: 'synthetic-a', list: 'pdq', bytes: a! },
      { name: 'listed-b.jpg', entryId: 'synthetic-b', list: 'pdq', bytes: b! },
      { name: 'listed-c.jpg', entryId: 'synthetic-c', list: 'pdq', bytes: c! },
      { name: 'listed-d.jpg', entryId: 'synthetic-d', list: 'pdq', bytes: d! },
      { name: 'listed-e.jpg', entryId: 'synthetic-e', list: 'pdq', bytes: e! },
      { name: 'f-exact.jpg', entryId: 'synthetic-f', list: 'md5', bytes: f! },
    ],
    uploads,
    // The list's copy of unrelated-2 is its own encoding (q95), as a list's original would be.
    retro: { target: 'unrelated-2.jpg', entryId: 'synthetic-retro-1', bytes: await sceneJpeg(800 + offset + 8, 95) },
  };
}

async function sceneJpeg(seed: number, quality: number): Promise<Buffer> {
  return encode(await naturalScene(DEMO_WIDTH, DEMO_HEIGHT, seed), 'jpeg', { quality });
}

function centredCrop(width: number, height: number, kept: number) {
  const w = Math.round(width * kept);
  const h = Math.round(height * kept);
  return { left: Math.round((width - w) / 2), top: Math.round((height - h) / 2), width: w, height: h };
}

function box(width: number, height: number, [r, g, b, alpha]: [number, number, number, number]): Promise<Buffer> {
  return sharp({ create: { width, height, channels: 4, background: { r, g, b, alpha } } }).png().toBuffer();
}

/** A small badge (15% of the width, 40% opaque) in the top-right corner: a typical site logo. */
async function cornerLogo(width: number): Promise<OverlayOptions[]> {
  const bw = Math.round(width * 0.15);
  const bh = Math.round(bw * 0.32);
  const x = width - bw - 12;
  const y = 12;
  const bar = Math.max(2, Math.round(bh / 5));
  return [
    { input: await box(bw, bh, [255, 255, 255, 0.4]), left: x, top: y },
    { input: await box(bh - 8, bh - 8, [200, 40, 40, 0.9]), left: x + 4, top: y + 4 },
    { input: await box(bw - bh - 4, bar, [40, 40, 40, 0.85]), left: x + bh, top: y + Math.round(bh * 0.25) },
    { input: await box(Math.round((bw - bh - 4) * 0.7), bar, [40, 40, 40, 0.85]), left: x + bh, top: y + Math.round(bh * 0.58) },
  ];
}
