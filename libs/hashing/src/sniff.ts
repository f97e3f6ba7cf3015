// Identifies an image container from its first bytes, before any decoder sees the input.
// Pure. Deciding by signature (not by file name or a declared content type) keeps hostile
// files away from decoders that were never meant to parse them.

export const IMAGE_FORMATS = ['jpeg', 'png', 'webp', 'gif', 'tiff', 'avif', 'heif', 'svg'] as const;
export type ImageFormat = (typeof IMAGE_FORMATS)[number];

const AVIF_BRANDS = new Set(['avif', 'avis']);
const HEIF_BRANDS = new Set(['heic', 'heix', 'heim', 'heis', 'hevc', 'hevx', 'mif1', 'msf1']);

/** The format the signature announces, or null for anything else (including text that is not SVG). */
export function sniffImageFormat(bytes: Uint8Array): ImageFormat | null {
  const at = (offset: number, signature: readonly number[]): boolean =>
    signature.every((byte, i) => bytes[offset + i] === byte);
  const ascii = (offset: number, length: number): string =>
    String.fromCharCode(...bytes.subarray(offset, offset + length));

  if (at(0, [0xff, 0xd8, 0xff])) return 'jpeg';
  if (at(0, [0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a])) return 'png';
  if (ascii(0, 6) === 'GIF87a' || ascii(0, 6) === 'GIF89a') return 'gif';
  if (ascii(0, 4) === 'RIFF' && ascii(8, 4) === 'WEBP') return 'webp';
  // Classic and BigTIFF, both byte orders.
  if (at(0, [0x49, 0x49, 0x2a, 0x00]) || at(0, [0x4d, 0x4d, 0x00, 0x2a])) return 'tiff';
  if (at(0, [0x49, 0x49, 0x2b, 0x00]) || at(0, [0x4d, 0x4d, 0x00, 0x2b])) return 'tiff';
  if (ascii(4, 4) === 'ftyp') return isoBmffImageFormat(bytes);
  if (looksLikeSvg(bytes)) return 'svg';
  return null;
}

/** AVIF or HEIF from the ISO-BMFF `ftyp` box: the major brand, then the compatible brands. */
function isoBmffImageFormat(bytes: Uint8Array): ImageFormat | null {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  if (bytes.length < 16) return null;
  const boxSize = Math.min(view.getUint32(0), bytes.length, 4096);
  const brands: string[] = [];
  for (let offset = 8; offset + 4 <= boxSize; offset += offset === 8 ? 8 : 4) {
    brands.push(String.fromCharCode(...bytes.subarray(offset, offset + 4)));
  }
  if (brands.some((brand) => AVIF_BRANDS.has(brand))) return 'avif';
  if (brands.some((brand) => HEIF_BRANDS.has(brand))) return 'heif';
  return null;
}

/** XML or a bare `<svg` root within the first 1 KiB, after an optional BOM and whitespace. */
function looksLikeSvg(bytes: Uint8Array): boolean {
  const head = new TextDecoder('utf-8', { fatal: false }).decode(bytes.subarray(0, 1024));
  const text = head.replace(/^\uFEFF/, '').trimStart();
  if (!text.startsWith('<')) return false;
  return /<svg[\s>]/i.test(text);
}
