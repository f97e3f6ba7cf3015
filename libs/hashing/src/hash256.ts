// 256-bit hash values as 64 lowercase hex characters, in each algorithm's reference bit order.
// Pure. The matching library owns compact storage and fast distance; this is for format and tests.

/** 64 lowercase hex characters. */
export type Hex256 = string;

const HEX256 = /^[0-9a-f]{64}$/;

export function isHex256(value: string): value is Hex256 {
  return HEX256.test(value);
}

/**
 * PDQ's text form: 16-bit words w[15] down to w[0], each as 4 hex digits, so bit k = 16*i+j
 * (word i, bit j) lands where the C++ `Hash256::format()` puts it.
 */
export function formatBits256(words: Uint16Array): Hex256 {
  let out = '';
  for (let i = 15; i >= 0; i--) out += words[i]!.toString(16).padStart(4, '0');
  return out;
}

/** Number of differing bits between two hex hashes of equal length. */
export function hammingDistanceHex(a: string, b: string): number {
  if (a.length !== b.length) throw new RangeError(`hash lengths differ: ${a.length} vs ${b.length}`);
  let distance = 0;
  for (let i = 0; i < a.length; i += 8) {
    let x = (parseInt(a.slice(i, i + 8), 16) ^ parseInt(b.slice(i, i + 8), 16)) >>> 0;
    while (x !== 0) {
      x &= x - 1;
      distance++;
    }
  }
  return distance;
}
