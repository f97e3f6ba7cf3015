// blockhash (Commons Machinery), through blockhash-core: bits x bits blocks of summed RGB, each
// compared with its horizontal band's median. Pure. Expects straight RGBA: a pixel with alpha 0
// counts as white (765), so transparency must be kept, never flattened.

import { bmvbhash, bmvbhashEven } from 'blockhash-core';
import type { Hex256 } from './hash256.ts';

export interface RgbaImage {
  data: Uint8Array;
  width: number;
  height: number;
}

/** Blocks per side of the stored 256-bit blockhash. */
export const BLOCKHASH_BITS = 16;

/** 1 = quick method (whole blocks only), 2 = precise method (fractional block weights). */
export type BlockhashMethod = 1 | 2;

/** blockhash with `bits` x `bits` blocks; 16 gives the 256-bit hash Vigil stores. */
export function blockhash(image: RgbaImage, bits = 16, method: BlockhashMethod = 2): string {
  if (image.data.length < image.width * image.height * 4) {
    throw new RangeError(`RGBA buffer holds ${image.data.length} bytes, need ${image.width * image.height * 4}`);
  }
  const data = { width: image.width, height: image.height, data: image.data };
  return method === 1 ? bmvbhashEven(data, bits) : bmvbhash(data, bits);
}

/** The 256-bit blockhash (16x16, precise method): the value of the `blockhash` algorithm id. */
export function blockhash256(image: RgbaImage): Hex256 {
  return blockhash(image, BLOCKHASH_BITS, 2);
}
