// Bytes to every hash Vigil stores, from one decode: exact digests of the bytes, then PDQ (with
// its dihedral variants and, for EXIF-rotated images, the auto-oriented hash) and blockhash from
// the same pixels. Pure apart from the injected decoder; expected failures are values, not throws.

import { BLOCKHASH_BITS, blockhash256 } from './blockhash.ts';
import { blockhashShrinkFactor, type Decoder, type DecodedImage, type HashMode, type PixelFrame, type UnscannableReason } from './decode-sharp.ts';
import { EXACT_ALGORITHMS, exactHashes, type ExactAlgorithm, type ExactHashes } from './exact.ts';
import { extractRegion, findContentRegions, type ContentRegion, type FramingKind } from './framing.ts';
import type { Hex256 } from './hash256.ts';
import { overlayFreePdq, type OverlayFreePdq } from './overlay.ts';
import { lumaFromPixels, orientLuma, pdqFromShrunkLuma, type LumaImage, type PdqDihedral } from './pdq.ts';
import { boxShrinkRgba } from './shrink.ts';
import { uncroppedPdq, type UncroppedPdq } from './uncrop.ts';
import { upscaledPdq, type UpscaledPdq } from './upscale.ts';
import type { ImageFormat } from './sniff.ts';

export const ALGORITHMS = ['pdq', 'blockhash', 'sha256', 'sha1', 'md5'] as const;
/** Algorithm ids are storage keys: lowercase, stable, never renamed. */
export type Algorithm = (typeof ALGORITHMS)[number];

/**
 * The version of the scanner's hashing of content: its fast-mode hashes and the derived views
 * (framing, crop, downscale and overlay compensation). Bump it whenever the same bytes would hash
 * differently or a view finds something new (as the faint-watermark view did): hashes stored
 * under an older version are then recomputed the next time the content is seen (a rescan
 * included), instead of answering with hashes that lack the change.
 */
export const HASHING_VERSION = 1;

export interface HashRequest {
  algorithms?: readonly Algorithm[];
  mode?: HashMode;
  /** Also hash every frame of an animation (up to the decoder's frame cap). */
  allFrames?: boolean;
  /**
   * Also look for a frame (uniform borders, letterboxing, screenshot chrome, a turned picture)
   * around the first frame's content and, when there is one, hash the content region as well
   * (`contentRegion`, and `alternateRegion` when a second detector disagrees).
   */
  framing?: boolean;
  /**
   * Crop compensation: also the PDQ of the first frame re-expanded as the centre `kept` share of
   * a larger original, for each value (e.g. 0.95 for copies cropped by 5%).
   */
  uncrop?: readonly number[];
  /**
   * Downscale compensation: also the PDQ of the first frame as if each factor times larger (e.g.
   * 2 for copies shared at half size), for the factors that keep it within UPSCALE_MAX_SIDE; with
   * `uncrop`, the re-expanded images too.
   */
  upscale?: readonly number[];
  /**
   * Overlay compensation: when the first frame carries overlaid caption text (a watermark, a
   * credit line) or a faint watermark over the whole picture, also its PDQ with the caption's
   * pixels left out and the faint watermark unblended; with `upscale`, also as if larger.
   */
  overlay?: boolean;
}

/** Hashes of the content region inside a frame: an extra query, never the canonical hash. */
export interface RegionHashes {
  kind: FramingKind;
  /** The region in stored-pixel coordinates (before EXIF orientation), like `width`/`height`. */
  left: number;
  top: number;
  width: number;
  height: number;
  /** A turned picture's rectangle is rotated this many degrees (counter-clockwise) about its centre. */
  angle?: number;
  pdq?: Hex256;
  pdqQuality?: number;
  blockhash?: Hex256;
}

export interface FrameHashes {
  index: number;
  pdq?: Hex256;
  pdqQuality?: number;
  blockhash?: Hex256;
}

export interface ImageHashes extends ExactHashes {
  mode: HashMode;
  /** Absent when only exact digests were asked for (no decode happens then). */
  format?: ImageFormat;
  width?: number;
  height?: number;
  orientation?: number;
  frameCount?: number;
  pdq?: Hex256;
  pdqQuality?: number;
  pdqDihedral?: PdqDihedral;
  /** PDQ of the image as displayed, when EXIF orientation is not 1. */
  pdqOriented?: { orientation: number; hash: Hex256; quality: number };
  blockhash?: Hex256;
  /** Every decoded frame (the first is the canonical hash above), with `allFrames`. */
  frames?: FrameHashes[];
  /** With `framing`, when the first frame is framed: the hashes of its content region. */
  contentRegion?: RegionHashes;
  /** With `framing`: a second guess at the content region, from an independent detector, when it disagrees. */
  alternateRegion?: RegionHashes;
  /** With `uncrop` (and PDQ): the re-expanded PDQ hashes, one per `kept` share. */
  uncropped?: UncroppedPdq[];
  /** With `upscale` (and PDQ), for a small enough image: the PDQ hashes as if larger, one per factor. */
  upscaled?: UpscaledPdq[];
  /** With `overlay` (and PDQ), when overlaid text is found: the PDQ hashes with it left out, at its own size (factor 1) and as if larger. */
  overlayFree?: OverlayFreePdq[];
}

export type HashOutcome =
  | { status: 'hashed'; hashes: ImageHashes }
  | {
      status: 'unscannable';
      reason: UnscannableReason;
      message: string;
      /** Digests of the bytes still match exact-hash lists (NCMEC MD5/SHA-1) when pixels fail. */
      exact: ExactHashes;
    };

export type ImageHasher = (bytes: Uint8Array, request?: HashRequest) => Promise<HashOutcome>;

export function createImageHasher(decode: Decoder): ImageHasher {
  return async (bytes, request = {}) => {
    const algorithms = new Set(request.algorithms ?? ALGORITHMS);
    const mode = request.mode ?? 'fast';
    const exactAlgorithms = EXACT_ALGORITHMS.filter((algorithm: ExactAlgorithm) => algorithms.has(algorithm));
    const wantsPixels = algorithms.has('pdq') || algorithms.has('blockhash');

    if (!wantsPixels) return { status: 'hashed', hashes: { mode, ...exactHashes(bytes, exactAlgorithms) } };

    const decoded = await decode(bytes, { mode, allFrames: request.allFrames ?? false });
    if (!decoded.ok) {
      const exact = decoded.reason === 'too_large' || decoded.reason === 'empty' ? {} : exactHashes(bytes, exactAlgorithms);
      return { status: 'unscannable', reason: decoded.reason, message: decoded.message, exact };
    }
    try {
      const { frames, width, height } = decoded.image;
      // The first frame's luma, made once: the canonical PDQ and the extra PDQ views all read it.
      const luma = algorithms.has('pdq') ? lumaFromPixels(frames[0]!.data, frames[0]!.width, frames[0]!.height, 4) : undefined;
      const hashes = hashDecoded(decoded.image, algorithms, mode, bytes, exactAlgorithms, luma);
      if (request.framing) {
        const [region, alternate] = regionHashes(frames[0]!, width, height, mode, algorithms);
        if (region) hashes.contentRegion = region;
        if (alternate) hashes.alternateRegion = alternate;
      }
      if (luma) {
        if (request.uncrop?.length) hashes.uncropped = uncroppedPdq(luma, width, height, request.uncrop, request.upscale);
        const upscaled = request.upscale?.length ? upscaledPdq(luma, width, height, request.upscale) : [];
        if (upscaled.length > 0) hashes.upscaled = upscaled;
        const overlayFree = request.overlay ? overlayFreePdq(luma, width, height, request.upscale) : [];
        if (overlayFree.length > 0) hashes.overlayFree = overlayFree;
      }
      return { status: 'hashed', hashes };
    } catch (err) {
      // Hashing decoded pixels has no expected failure; should one appear, it is still an outcome.
      const message = `hashing the decoded pixels failed: ${err instanceof Error ? err.message : String(err)}`;
      return { status: 'unscannable', reason: 'decode_error', message, exact: exactHashes(bytes, exactAlgorithms) };
    }
  };
}

function hashDecoded(
  image: DecodedImage,
  algorithms: ReadonlySet<Algorithm>,
  mode: HashMode,
  bytes: Uint8Array,
  exactAlgorithms: readonly ExactAlgorithm[],
  firstLuma?: LumaImage,
): ImageHashes {
  const hashes: ImageHashes = {
    mode,
    ...exactHashes(bytes, exactAlgorithms),
    format: image.format,
    width: image.width,
    height: image.height,
    orientation: image.orientation,
    frameCount: image.frameCount,
  };
  const frames = image.frames.map((frame, index) =>
    hashFrame(frame, index, algorithms, index === 0 ? image.orientation : 1, image.width, image.height, mode, index === 0 ? firstLuma : undefined),
  );
  const first = frames[0]!;
  if (first.pdq !== undefined) {
    hashes.pdq = first.pdq;
    hashes.pdqQuality = first.pdqQuality!;
    hashes.pdqDihedral = first.dihedral!;
    if (first.oriented) hashes.pdqOriented = first.oriented;
  }
  if (first.blockhash !== undefined) hashes.blockhash = first.blockhash;
  if (image.frames.length > 1) {
    hashes.frames = frames.map(({ index, pdq, pdqQuality, blockhash }) => ({
      index,
      ...(pdq !== undefined && { pdq, pdqQuality: pdqQuality! }),
      ...(blockhash !== undefined && { blockhash }),
    }));
  }
  return hashes;
}

interface FrameResult extends FrameHashes {
  dihedral?: PdqDihedral;
  oriented?: { orientation: number; hash: Hex256; quality: number };
}

function hashFrame(
  frame: PixelFrame,
  index: number,
  algorithms: ReadonlySet<Algorithm>,
  orientation: number,
  sourceWidth: number,
  sourceHeight: number,
  mode: HashMode,
  /** This frame's luma when already made. */
  made?: LumaImage,
): FrameResult {
  const result: FrameResult = { index };
  if (algorithms.has('blockhash')) {
    result.blockhash = blockhash256(mode === 'fast' ? blockhashInput(frame, sourceWidth, sourceHeight) : frame);
  }
  if (algorithms.has('pdq')) {
    const luma = made ?? lumaFromPixels(frame.data, frame.width, frame.height, 4);
    // Fast mode's dihedral hashes are those of the flipped image itself (what a flipped copy
    // hashes to); reference mode keeps the reference implementation's DCT shortcut.
    const pdq = pdqFromShrunkLuma(luma, sourceWidth, sourceHeight, { exactDihedral: mode === 'fast' });
    result.pdq = pdq.hash;
    result.pdqQuality = pdq.quality;
    result.dihedral = pdq.dihedral;
    if (orientation !== 1) {
      const swap = orientation >= 5;
      const oriented = pdqFromShrunkLuma(
        orientLuma(luma, orientation),
        swap ? sourceHeight : sourceWidth,
        swap ? sourceWidth : sourceHeight,
      );
      result.oriented = { orientation, hash: oriented.hash, quality: oriented.quality };
    }
  }
  return result;
}

/** Framing removal on one decoded frame: the content regions' hashes, best guess first (none when it is not framed). */
export function regionHashes(
  frame: PixelFrame,
  sourceWidth: number,
  sourceHeight: number,
  mode: HashMode,
  algorithms: ReadonlySet<Algorithm> = new Set(ALGORITHMS),
): RegionHashes[] {
  return findContentRegions(frame).map((region) => hashRegion(frame, region, sourceWidth, sourceHeight, mode, algorithms));
}

/** PDQ and blockhash of one region of a decoded frame (which may be a shrunk copy of the source). */
export function hashRegion(
  frame: PixelFrame,
  region: ContentRegion,
  sourceWidth: number,
  sourceHeight: number,
  mode: HashMode,
  algorithms: ReadonlySet<Algorithm> = new Set(ALGORITHMS),
): RegionHashes {
  const sx = sourceWidth / frame.width;
  const sy = sourceHeight / frame.height;
  const cropped = extractRegion(frame, region);
  const width = Math.round(region.width * sx);
  const height = Math.round(region.height * sy);
  const out: RegionHashes = { kind: region.kind, left: Math.round(region.left * sx), top: Math.round(region.top * sy), width, height };
  if (region.angle) out.angle = Math.round(region.angle * 100) / 100;
  if (algorithms.has('pdq')) {
    const pdq = pdqFromShrunkLuma(lumaFromPixels(cropped.data, cropped.width, cropped.height, 4), width, height);
    out.pdq = pdq.hash;
    out.pdqQuality = pdq.quality;
  }
  if (algorithms.has('blockhash')) out.blockhash = blockhash256(mode === 'fast' ? blockhashInput(cropped, width, height) : cropped);
  return out;
}

/**
 * Fast mode's blockhash input. A frame the decoder already shrank is used as it is. At full
 * resolution (small images), blockhash-core's whole-block path is cheap and exact when both sides
 * divide into 16 blocks; otherwise its fractional path (~14 ns a pixel) gets a box-shrunk copy.
 */
function blockhashInput(frame: PixelFrame, sourceWidth: number, sourceHeight: number): PixelFrame {
  const atFullResolution = frame.width === sourceWidth && frame.height === sourceHeight;
  const wholeBlocks = frame.width % BLOCKHASH_BITS === 0 && frame.height % BLOCKHASH_BITS === 0;
  if (!atFullResolution || wholeBlocks) return frame;
  return boxShrinkRgba(frame, blockhashShrinkFactor(frame.width, frame.height));
}
