// The sharp (libvips) decode adapter: untrusted bytes in, RGBA pixels or a typed `unscannable`
// outcome out. It must never throw for bad input and never decode past its limits: the size and
// format are checked from the signature and header before any pixel is decoded.
// Conventions that reproduce the reference hashes: no ICC conversion, no EXIF rotation, alpha kept.

import { isMainThread } from 'node:worker_threads';
import sharp from 'sharp';
import { readJpegHeader } from './jpeg-header.ts';
import { boxShrinkRgba } from './shrink.ts';
import { sniffImageFormat, type ImageFormat } from './sniff.ts';

export const UNSCANNABLE_REASONS = [
  'too_large',
  'too_many_pixels',
  'truncated',
  'unsupported_format',
  'decode_error',
  'timeout',
  'empty',
] as const;
export type UnscannableReason = (typeof UNSCANNABLE_REASONS)[number];

/** `fast`: one shrink-on-load decode feeds every hash (the pipeline default). `reference`: full resolution. */
export type HashMode = 'fast' | 'reference';

export interface DecodeLimits {
  /** Larger inputs are `too_large` without being parsed. */
  maxInputBytes: number;
  /** Width x height (x frames decoded) above this is `too_many_pixels`: the decompression-bomb guard. */
  maxPixels: number;
  /** Header parse plus decode; past it the outcome is `timeout`. */
  timeoutMs: number;
  /** Accepted containers; SVG is off by default (a renderer, not a decoder: fonts, entities, scripts). */
  formats: readonly ImageFormat[];
  /** With `allFrames`, at most this many frames of an animation are decoded. */
  maxFrames: number;
}

export const DEFAULT_DECODE_LIMITS: DecodeLimits = Object.freeze({
  maxInputBytes: 50 * 1024 * 1024,
  maxPixels: 100_000_000,
  timeoutMs: 10_000,
  formats: Object.freeze(['jpeg', 'png', 'webp', 'gif', 'tiff', 'avif', 'heif'] as ImageFormat[]),
  maxFrames: 32,
});

export interface DecodeRequest {
  mode: HashMode;
  /** Decode every frame of an animation (up to `maxFrames`), not just the first. */
  allFrames?: boolean;
}

/** One frame as straight (un-premultiplied) 8-bit RGBA, row-major. */
export interface PixelFrame {
  data: Uint8Array;
  width: number;
  height: number;
}

export interface DecodedImage {
  format: ImageFormat;
  /** The stored pixel grid of one frame, before EXIF orientation and before any shrink. */
  width: number;
  height: number;
  /** EXIF orientation 1-8 (1 when absent). */
  orientation: number;
  /** Frames in the file; `frames` holds the first, or the first `maxFrames` with `allFrames`. */
  frameCount: number;
  /** Decoded frames: smaller than `width` x `height` when fast mode shrank them. */
  frames: PixelFrame[];
}

export type DecodeOutcome =
  | { ok: true; image: DecodedImage }
  | { ok: false; reason: UnscannableReason; message: string };

export type Decoder = (bytes: Uint8Array, request: DecodeRequest) => Promise<DecodeOutcome>;

/**
 * Fast mode keeps the shorter side of a shrunk image at or above this: enough for PDQ's 64x64
 * sampling grid and blockhash's 16x16 blocks.
 */
export const FAST_MIN_SIDE = 128;
/**
 * Up to this many pixels fast mode decodes at full resolution, where PDQ is the reference hash
 * exactly. Any shrink moves PDQ by ~6 bits on average (the reference samples aliased detail that a
 * shrunk decode no longer holds), which on the dev corpus (images up to 768 px) cost 2 points of
 * recall on resized copies; below a megapixel exactness costs a few milliseconds.
 */
export const FAST_FULL_RESOLUTION_MAX_PIXELS = 1024 * 1024;
const FAST_MAX_SHRINK = 64;

const SHARP_LOADERS: Record<ImageFormat, readonly string[]> = {
  jpeg: ['VipsForeignLoadJpegBuffer'],
  png: ['VipsForeignLoadPngBuffer', 'VipsForeignLoadSpngBuffer'],
  webp: ['VipsForeignLoadWebpBuffer'],
  gif: ['VipsForeignLoadNsgifBuffer', 'VipsForeignLoadGifBuffer'],
  tiff: ['VipsForeignLoadTiffBuffer'],
  avif: ['VipsForeignLoadHeifBuffer'],
  heif: ['VipsForeignLoadHeifBuffer'],
  svg: ['VipsForeignLoadSvgBuffer'],
};

/** Whether this process's loaders were blocked (by its main thread: see restrictSharpLoaders). */
let loadersBlocked = false;

/**
 * Restricts libvips, process-wide, to the buffer loaders of the given formats. Defence in depth
 * behind the signature check: even a file that fools the sniffer cannot reach the ImageMagick,
 * PDF, FITS or Matlab loaders. Idempotent; later calls widen the set.
 *
 * Blocking every loader and then unblocking the allowed ones passes through a moment where the
 * allowed ones are blocked too, and libvips' block list is shared by every thread: a decode
 * running then fails as unsupported_format ("operation is blocked"). So every loader is blocked
 * once, from the main thread before any decode (createHashPool calls this before starting its
 * workers); later calls, and worker threads, only unblock.
 */
export function restrictSharpLoaders(formats: readonly ImageFormat[]): void {
  if (isMainThread && !loadersBlocked) {
    sharp.block({ operation: ['VipsForeignLoad'] });
    loadersBlocked = true;
  }
  sharp.unblock({ operation: [...new Set(formats.flatMap((format) => SHARP_LOADERS[format]))] });
}

/** A decoder bound to its limits. Configures sharp for a hashing process: no cache, loaders restricted. */
export function createSharpDecoder(overrides: Partial<DecodeLimits> = {}): Decoder {
  const limits: DecodeLimits = { ...DEFAULT_DECODE_LIMITS, ...overrides };
  sharp.cache(false);
  restrictSharpLoaders(limits.formats);
  return (bytes, request) => decodeWithLimits(bytes, request, limits);
}

async function decodeWithLimits(bytes: Uint8Array, request: DecodeRequest, limits: DecodeLimits): Promise<DecodeOutcome> {
  if (bytes.length === 0) return unscannable('empty', 'the input has no bytes');
  if (bytes.length > limits.maxInputBytes) {
    return unscannable('too_large', `${bytes.length} bytes exceeds the limit of ${limits.maxInputBytes}`);
  }
  const format = sniffImageFormat(bytes);
  if (format === null) return unscannable('unsupported_format', 'unrecognised file signature');
  if (!limits.formats.includes(format)) return unscannable('unsupported_format', `${format} input is not accepted`);

  const deadline = Date.now() + limits.timeoutMs;
  try {
    return await withDeadline(decodeImage(bytes, format, request, limits, deadline), deadline);
  } catch (err) {
    return classifyError(err, endsEarly(bytes, format));
  }
}

async function decodeImage(
  bytes: Uint8Array,
  format: ImageFormat,
  request: DecodeRequest,
  limits: DecodeLimits,
  deadline: number,
): Promise<DecodeOutcome> {
  const input = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const header = (format === 'jpeg' && jpegHeaderInfo(bytes)) || (await libvipsHeaderInfo(input));
  const { width, frameHeight, frameCount } = header;
  if (!width || !frameHeight) return unscannable('decode_error', 'the header gives no image size');
  const framePixels = width * frameHeight;
  if (framePixels > limits.maxPixels) {
    return unscannable('too_many_pixels', `${width}x${frameHeight} exceeds the limit of ${limits.maxPixels} pixels`);
  }

  const frames = request.allFrames
    ? Math.max(1, Math.min(frameCount, limits.maxFrames, Math.floor(limits.maxPixels / framePixels)))
    : 1;
  const shrink = request.mode === 'fast' ? fastShrinkFactor(width, frameHeight) : 1;
  // With alpha, libvips would premultiply while resizing: decode full size, shrink straight RGBA here.
  const shrinkInDecoder = shrink > 1 && !header.hasAlpha;

  let pipeline = sharp(input, {
    ignoreIcc: true,
    failOn: 'error',
    limitInputPixels: limits.maxPixels,
    pages: frames,
    page: 0,
  });
  if (request.mode === 'reference') {
    // libvips then stops a long full-resolution decode by itself. Its progress monitoring costs
    // ~0.5 ms a decode, a tenth of a fast decode, so fast mode relies on the JS deadline here
    // and on the pool, which terminates a worker stuck past its hard deadline.
    pipeline = pipeline.timeout({ seconds: Math.max(1, Math.ceil((deadline - Date.now()) / 1000)) });
  }
  if (shrinkInDecoder) {
    // Exactly 1/shrink of the stored size: a JPEG or WebP decodes straight at that scale
    // (shrink-on-load), other formats get an area-averaging reduce.
    pipeline = pipeline.resize(Math.ceil(width / shrink), Math.ceil(frameHeight / shrink), {
      fit: 'fill',
      fastShrinkOnLoad: true,
    });
  }
  const { data, info } = await pipeline
    .toColourspace('srgb')
    .ensureAlpha()
    .raw({ depth: 'uchar' })
    .toBuffer({ resolveWithObject: true });

  const outFrameHeight = frames > 1 ? Math.floor(info.height / frames) : info.height;
  const pixels = new Uint8Array(data.buffer, data.byteOffset, data.byteLength);
  const frameBytes = info.width * outFrameHeight * 4;
  const decoded: PixelFrame[] = [];
  for (let i = 0; i < frames && (i + 1) * frameBytes <= pixels.length; i++) {
    const frame = { data: pixels.subarray(i * frameBytes, (i + 1) * frameBytes), width: info.width, height: outFrameHeight };
    decoded.push(shrink > 1 && !shrinkInDecoder ? boxShrinkRgba(frame, shrink) : frame);
  }
  if (decoded.length === 0) return unscannable('decode_error', 'the decoder returned no pixels');

  return {
    ok: true,
    image: {
      format,
      // Without a shrink the decoder's own size is authoritative (a header parse could disagree).
      width: shrink === 1 ? decoded[0]!.width : width,
      height: shrink === 1 ? decoded[0]!.height : frameHeight,
      orientation: header.orientation,
      frameCount,
      frames: decoded,
    },
  };
}

interface HeaderInfo {
  width: number;
  frameHeight: number;
  frameCount: number;
  orientation: number;
  hasAlpha: boolean;
}

/** JPEG: markers read in JS, no libvips call (never alpha, one frame). */
function jpegHeaderInfo(bytes: Uint8Array): HeaderInfo | null {
  const header = readJpegHeader(bytes);
  return header && { width: header.width, frameHeight: header.height, frameCount: 1, orientation: header.orientation, hasAlpha: false };
}

async function libvipsHeaderInfo(input: Buffer): Promise<HeaderInfo> {
  const metadata = await sharp(input, { failOn: 'error', limitInputPixels: false }).metadata();
  return {
    width: metadata.width,
    frameHeight: metadata.pageHeight ?? metadata.height,
    frameCount: Math.max(1, metadata.pages ?? 1),
    orientation: metadata.orientation ?? 1,
    hasAlpha: metadata.hasAlpha,
  };
}

/**
 * Fast mode's decode shrink: none up to FAST_FULL_RESOLUTION_MAX_PIXELS; above, the largest power
 * of two that keeps the shorter side at or above FAST_MIN_SIDE and stays narrower than PDQ's own
 * box window along it (ceil(side / 128)): a shrink as wide as the window erases detail the
 * reference still samples (measured: 46 bits off at 256 px with a 2x shrink).
 */
export function fastShrinkFactor(width: number, height: number): number {
  if (width * height <= FAST_FULL_RESOLUTION_MAX_PIXELS) return 1;
  const pdqWindow = Math.floor((Math.min(width, height) + 127) / 128);
  return largestShrink(width, height, FAST_MIN_SIDE, (shrink) => shrink < pdqWindow);
}

/**
 * The shrink blockhash gets in fast mode for an image decoded at full resolution: blockhash-core
 * costs ~14 ns a pixel, and its 16x16 blocks need far fewer. The shorter side stays at or above
 * BLOCKHASH_MIN_SIDE: at 128 px the 8-bit rounding of each average moved enough blocks across
 * their band's median to cost 1-2 points of recall on resized and stretched copies (dev corpus);
 * at 256 px recall matched full resolution.
 */
export const BLOCKHASH_MIN_SIDE = 256;

export function blockhashShrinkFactor(width: number, height: number): number {
  return largestShrink(width, height, BLOCKHASH_MIN_SIDE, () => true);
}

function largestShrink(width: number, height: number, minSide: number, allowed: (shrink: number) => boolean): number {
  const side = Math.min(width, height);
  let shrink = 1;
  while (shrink * 2 <= FAST_MAX_SHRINK && side / (shrink * 2) >= minSide && allowed(shrink * 2)) shrink *= 2;
  return shrink;
}

class DeadlineExceeded extends Error {}

/** Races the work against the deadline. libvips is told the same deadline and stops on its own. */
async function withDeadline<T>(work: Promise<T>, deadline: number): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const expired = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new DeadlineExceeded('decode deadline exceeded')), Math.max(0, deadline - Date.now()));
  });
  work.catch(() => undefined); // a late failure after the deadline is already answered
  try {
    return await Promise.race([work, expired]);
  } finally {
    clearTimeout(timer);
  }
}

/**
 * A file cut short, told from its bytes: a JPEG without its end-of-image marker, a PNG without
 * its IEND chunk, a GIF without its trailer. Decoder messages alone are not enough: libvips
 * keeps one error buffer per process, so concurrent decodes can read each other's text.
 */
function endsEarly(bytes: Uint8Array, format: ImageFormat): boolean {
  const tail = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).subarray(Math.max(0, bytes.length - 64));
  if (format === 'jpeg') return !tail.includes(JPEG_EOI);
  if (format === 'png') return !tail.includes(PNG_IEND);
  if (format === 'gif') return !tail.includes(GIF_TRAILER);
  return false;
}
const JPEG_EOI = Buffer.from([0xff, 0xd9]);
const PNG_IEND = Buffer.from('IEND', 'latin1');
const GIF_TRAILER = Buffer.from([0x00, 0x3b]);

/** Maps decoder errors to reasons. Messages come from libvips and its loaders (libjpeg, spng, ...). */
function classifyError(err: unknown, cutShort: boolean): DecodeOutcome {
  if (err instanceof DeadlineExceeded) return unscannable('timeout', err.message);
  const message = err instanceof Error ? err.message : String(err);
  const text = message.toLowerCase();
  if (/timeout/.test(text)) return unscannable('timeout', message);
  if (/pixel limit/.test(text)) return unscannable('too_many_pixels', message);
  if (/unsupported image format|is blocked|not supported|unsupported (codec|feature|file)/.test(text)) {
    return unscannable('unsupported_format', message);
  }
  if (/premature end|truncat|unexpected end|end of (file|stream|data)|not enough data|read error|incomplete|short read|\beof\b/.test(text)) {
    return unscannable('truncated', message);
  }
  return unscannable(cutShort ? 'truncated' : 'decode_error', message);
}

function unscannable(reason: UnscannableReason, message: string): DecodeOutcome {
  return { ok: false, reason, message };
}
