import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import sharp from 'sharp';
import { describe, expect, it } from 'vitest';
import { VECTORS_DIR } from '../test/vectors.ts';
import { readJpegHeader } from './jpeg-header.ts';

const jpegs = ['pdq', 'blockhash'].flatMap((folder) =>
  readdirSync(join(VECTORS_DIR, folder))
    .filter((file) => file.endsWith('.jpg'))
    .map((file) => join(VECTORS_DIR, folder, file)),
);

describe('readJpegHeader', () => {
  it.each(jpegs.map((path) => [path.slice(VECTORS_DIR.length + 1), path]))('agrees with libvips on %s', async (_name, path) => {
    const bytes = readFileSync(path);
    const meta = await sharp(bytes).metadata();
    expect(readJpegHeader(bytes)).toEqual({ width: meta.width, height: meta.height, orientation: meta.orientation ?? 1 });
  });

  it('reads every EXIF orientation, in both byte orders', async () => {
    const base = await sharp({ create: { width: 30, height: 20, channels: 3, background: '#777' } }).jpeg().toBuffer();
    for (let orientation = 1; orientation <= 8; orientation++) {
      const tagged = await sharp(base).withMetadata({ orientation }).jpeg().toBuffer();
      expect(readJpegHeader(tagged)).toEqual({ width: 30, height: 20, orientation });
    }
  });

  it.each([
    ['empty', new Uint8Array(0)],
    ['not a JPEG', Uint8Array.from([0x89, 0x50, 0x4e, 0x47])],
    ['SOI only', Uint8Array.from([0xff, 0xd8])],
    ['segment length past the end', Uint8Array.from([0xff, 0xd8, 0xff, 0xe0, 0x40, 0x00, 0x00])],
    ['scan before any frame header', Uint8Array.from([0xff, 0xd8, 0xff, 0xda, 0x00, 0x02])],
    ['garbage between segments', Uint8Array.from([0xff, 0xd8, 0x12, 0x34, 0x56, 0x78])],
  ])('returns null for %s', (_name, bytes) => {
    expect(readJpegHeader(bytes)).toBeNull();
  });

  it('ignores an invalid orientation value', () => {
    const exif = Buffer.alloc(6 + 8 + 2 + 12);
    exif.write('Exif\0\0', 0, 'latin1');
    exif.write('MM\0*', 6, 'latin1');
    exif.writeUInt32BE(8, 10);
    exif.writeUInt16BE(1, 14);
    exif.writeUInt16BE(0x0112, 16);
    exif.writeUInt16BE(3, 18);
    exif.writeUInt32BE(1, 20);
    exif.writeUInt16BE(9, 24);
    const app1 = Buffer.concat([Buffer.from([0xff, 0xe1, 0, exif.length + 2]), exif]);
    const sof = Buffer.from([0xff, 0xc0, 0, 11, 8, 0, 20, 0, 30, 1, 1, 0x11, 0]);
    expect(readJpegHeader(Buffer.concat([Buffer.from([0xff, 0xd8]), app1, sof]))).toEqual({ width: 30, height: 20, orientation: 1 });
  });
});
