// Builders for hostile and malformed inputs: bombs, truncations, polyglots, oversized metadata.
// Generated in code from benign pixels, so tests carry no binary fixtures.

import { crc32, deflateSync } from 'node:zlib';
import sharp from 'sharp';
import { seededRandom } from './images.ts';

/** A structurally valid PNG whose header declares `width` x `height` (a decompression bomb when large). */
export function pngWithDeclaredSize(width: number, height: number): Buffer {
  const ihdr = Buffer.alloc(13);
  ihdr.writeUInt32BE(width, 0);
  ihdr.writeUInt32BE(height, 4);
  ihdr.set([8, 2, 0, 0, 0], 8); // 8-bit RGB, deflate, no filter set, no interlace
  // One row of zeros is all the data: a real bomb would inflate to width*height*3 bytes.
  const idat = deflateSync(Buffer.alloc(1 + width * 3));
  return Buffer.concat([
    Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]),
    pngChunk('IHDR', ihdr),
    pngChunk('IDAT', idat),
    pngChunk('IEND', Buffer.alloc(0)),
  ]);
}

function pngChunk(type: string, data: Buffer): Buffer {
  const head = Buffer.alloc(8);
  head.writeUInt32BE(data.length, 0);
  head.write(type, 4, 'latin1');
  const crc = Buffer.alloc(4);
  crc.writeUInt32BE(crc32(Buffer.concat([head.subarray(4), data])), 0);
  return Buffer.concat([head, data, crc]);
}

/** An animated GIF of `frames` small frames (alternating shades), built by libvips from one strip. */
export async function animatedGif(frames: number, size = 16): Promise<Buffer> {
  const data = Buffer.alloc(size * size * frames * 3);
  for (let f = 0; f < frames; f++) data.fill(f % 2 === 0 ? 40 : 200, f * size * size * 3, (f + 1) * size * size * 3);
  return sharp(data, { raw: { width: size, height: size * frames, channels: 3, pageHeight: size } })
    .gif({ effort: 1, loop: 0 })
    .toBuffer();
}

/**
 * Inserts `segments` APP1 "Exif" segments of maximal size (64 KiB each) after the SOI marker,
 * each holding a TIFF header that claims 65535 IFD entries it does not have.
 */
export function jpegWithHugeExif(jpeg: Buffer, segments: number): Buffer {
  const payload = Buffer.alloc(65533);
  payload.write('Exif\0\0', 0, 'latin1');
  payload.write('II*\0', 6, 'latin1');
  payload.writeUInt32LE(8, 10);
  payload.writeUInt16LE(0xffff, 14);
  const random = seededRandom(7);
  for (let i = 16; i < payload.length; i++) payload[i] = Math.floor(random() * 256);
  const segment = Buffer.concat([Buffer.from([0xff, 0xe1, 0xff, 0xff]), payload]);
  return Buffer.concat([jpeg.subarray(0, 2), ...Array<Buffer>(segments).fill(segment), jpeg.subarray(2)]);
}

/** Deterministic random bytes. */
export function randomBytes(length: number, seed = 1): Buffer {
  const random = seededRandom(seed);
  const out = Buffer.alloc(length);
  for (let i = 0; i < length; i++) out[i] = Math.floor(random() * 256);
  return out;
}

/** A minimal ZIP archive (one stored file) to append to an image: the classic GIFAR-style polyglot. */
export function zipArchive(name: string, content: string): Buffer {
  const file = Buffer.from(content);
  const fileName = Buffer.from(name);
  const crc = crc32(file);
  const local = Buffer.alloc(30);
  local.writeUInt32LE(0x04034b50, 0);
  local.writeUInt16LE(10, 4);
  local.writeUInt32LE(crc, 14);
  local.writeUInt32LE(file.length, 18);
  local.writeUInt32LE(file.length, 22);
  local.writeUInt16LE(fileName.length, 26);
  const central = Buffer.alloc(46);
  central.writeUInt32LE(0x02014b50, 0);
  central.writeUInt16LE(20, 4);
  central.writeUInt16LE(10, 6);
  central.writeUInt32LE(crc, 16);
  central.writeUInt32LE(file.length, 20);
  central.writeUInt32LE(file.length, 24);
  central.writeUInt16LE(fileName.length, 28);
  const end = Buffer.alloc(22);
  end.writeUInt32LE(0x06054b50, 0);
  end.writeUInt16LE(1, 8);
  end.writeUInt16LE(1, 10);
  end.writeUInt32LE(central.length + fileName.length, 12);
  end.writeUInt32LE(local.length + fileName.length + file.length, 16);
  return Buffer.concat([local, fileName, file, central, fileName, end]);
}
