// @vigil/hashing: image bytes to the hashes every verdict rests on.
export { blockhash, blockhash256, type BlockhashMethod, type RgbaImage } from './blockhash.ts';
export {
  createSharpDecoder,
  DEFAULT_DECODE_LIMITS,
  BLOCKHASH_MIN_SIDE,
  blockhashShrinkFactor,
  FAST_FULL_RESOLUTION_MAX_PIXELS,
  FAST_MIN_SIDE,
  fastShrinkFactor,
  restrictSharpLoaders,
  UNSCANNABLE_REASONS,
  type DecodedImage,
  type DecodeLimits,
  type DecodeOutcome,
  type DecodeRequest,
  type Decoder,
  type HashMode,
  type PixelFrame,
  type UnscannableReason,
} from './decode-sharp.ts';
export { EXACT_ALGORITHMS, exactHashes, type ExactAlgorithm, type ExactHashes } from './exact.ts';
export { formatBits256, hammingDistanceHex, isHex256, type Hex256 } from './hash256.ts';
export {
  ALGORITHMS,
  createImageHasher,
  HASHING_VERSION,
  hashRegion,
  regionHashes,
  type Algorithm,
  type FrameHashes,
  type HashOutcome,
  type HashRequest,
  type ImageHasher,
  type ImageHashes,
  type RegionHashes,
} from './hash-image.ts';
export { cropFrame, extractRegion, findContentRegion, findContentRegions, type ContentRegion, type FramingKind } from './framing.ts';
export { findRotatedContent, unrotate, type RotatedRect } from './rotation.ts';
export { createHashPool, type HashPool, type HashPoolOptions } from './hash-pool.ts';
export type { HashTimings, TimedHashOutcome } from './hash-worker.ts';
export {
  DIHEDRAL_NAMES,
  lumaFromPixels,
  orientLuma,
  PDQ_MIN_HASHABLE_DIM,
  PDQ_QUALITY_FLOOR,
  pdqFromLuma,
  pdqFromPixels,
  pdqFromShrunkLuma,
  pdqFromTaps,
  type DihedralName,
  type LumaImage,
  type PdqDihedral,
  type PdqDihedralResult,
  type PdqResult,
  type Taps,
} from './pdq.ts';
export { boxShrinkRgba } from './shrink.ts';
export { padEdges, uncroppedPdq, type UncroppedPdq } from './uncrop.ts';
export { UPSCALE_MAX_SIDE, upscaledPdq, upscaledTaps, type UpscaledPdq } from './upscale.ts';
export { findOverlayText, overlayFreePdq, type OverlayFreePdq, type OverlayMask } from './overlay.ts';
export { IMAGE_FORMATS, sniffImageFormat, type ImageFormat } from './sniff.ts';
