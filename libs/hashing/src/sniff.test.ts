import { describe, expect, it } from 'vitest';
import { sniffImageFormat } from './sniff.ts';

const bytes = (...parts: Array<string | number[]>) =>
  Uint8Array.from(parts.flatMap((p) => (typeof p === 'string' ? [...Buffer.from(p, 'latin1')] : p)));

describe('sniffImageFormat', () => {
  it.each([
    ['jpeg', bytes([0xff, 0xd8, 0xff, 0xe0])],
    ['png', bytes([0x89], 'PNG\r\n\x1a\n')],
    ['gif', bytes('GIF89a....')],
    ['gif', bytes('GIF87a....')],
    ['webp', bytes('RIFF', [1, 2, 3, 4], 'WEBPVP8 ')],
    ['tiff', bytes('II*\0')],
    ['tiff', bytes('MM\0*')],
    ['tiff', bytes('II+\0')],
    ['avif', bytes([0, 0, 0, 0x1c], 'ftypavif', [0, 0, 0, 0], 'mif1miaf')],
    ['avif', bytes([0, 0, 0, 0x18], 'ftypmif1', [0, 0, 0, 0], 'avif')],
    ['heif', bytes([0, 0, 0, 0x18], 'ftypheic', [0, 0, 0, 0], 'mif1')],
    ['svg', bytes([0xef, 0xbb, 0xbf], '  <?xml version="1.0"?>\n<svg xmlns="http://www.w3.org/2000/svg">')],
    ['svg', bytes('<svg width="1">')],
  ])('%s', (format, input) => {
    expect(sniffImageFormat(input)).toBe(format);
  });

  it.each([
    ['empty', bytes()],
    ['BMP', bytes('BM', [0, 0, 0, 0])],
    ['PDF', bytes('%PDF-1.7')],
    ['HTML', bytes('<html><body>')],
    ['MP4', bytes([0, 0, 0, 0x18], 'ftypisom', [0, 0, 0, 0], 'mp41')],
    ['RIFF that is not WebP', bytes('RIFF', [1, 2, 3, 4], 'WAVEfmt ')],
    ['short JPEG prefix', bytes([0xff, 0xd8])],
  ])('%s is not an image format we accept', (_name, input) => {
    expect(sniffImageFormat(input)).toBeNull();
  });
});
