// Conformance with the reference implementations over every entry of ../shared/vectors, exact:
// PDQ (hash, quality, 8 dihedral hashes, auto-oriented hash), blockhash (bits 8/16, methods 1/2)
// and the exact digests. Reference mode, through the real sharp decoder.
import { createHash } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { blockhash, createImageHasher, createSharpDecoder, exactHashes } from '../src/index.ts';
import { readExpected, readVector, type BlockhashVector, type ExactVector, type PdqVector } from './vectors.ts';

const decode = createSharpDecoder();
const hash = createImageHasher(decode);
const pdqVectors = readExpected<PdqVector>('pdq');
const blockhashVectors = readExpected<BlockhashVector>('blockhash');

describe('PDQ reference vectors (reference mode)', () => {
  it('covers the whole vector set', () => {
    expect(pdqVectors.length).toBeGreaterThanOrEqual(35);
  });

  it.each(pdqVectors.map((v) => [v.file, v] as const))('%s', async (_file, vector) => {
    const outcome = await hash(readVector('pdq', vector.file), { mode: 'reference' });
    if (outcome.status !== 'hashed') throw new Error(`${vector.file}: ${outcome.reason} ${outcome.message}`);
    const { hashes } = outcome;
    expect(hashes.pdq).toBe(vector.hash);
    expect(hashes.pdqQuality).toBe(vector.quality);
    expect(hashes.pdqDihedral).toEqual(vector.dihedral);
    expect([hashes.width, hashes.height]).toEqual([vector.width, vector.height]);
    expect(hashes.sha256).toBe(vector.sha256);
    expect(hashes.md5).toBe(vector.md5);
    if (vector.autoorient) {
      expect(hashes.pdqOriented).toEqual({
        orientation: vector.exif_orientation,
        hash: vector.autoorient.hash,
        quality: vector.autoorient.quality,
      });
    } else {
      expect(hashes.pdqOriented).toBeUndefined();
    }
  });
});

describe('blockhash reference vectors (reference mode)', () => {
  it('covers bits 8 and 16, methods 1 and 2', () => {
    const kinds = new Set(blockhashVectors.map((v) => `${v.bits}/${v.method}`));
    expect([...kinds].sort()).toEqual(['16/1', '16/2', '8/1', '8/2']);
  });

  it.each(blockhashVectors.map((v) => [`${v.file} bits=${v.bits} method=${v.method}`, v] as const))(
    '%s',
    async (_name, vector) => {
      const bytes = readVector('blockhash', vector.file);
      const decoded = await decode(bytes, { mode: 'reference' });
      if (!decoded.ok) throw new Error(`${vector.file}: ${decoded.reason} ${decoded.message}`);
      expect(blockhash(decoded.image.frames[0]!, vector.bits, vector.method)).toBe(vector.hash);
      expect(exactHashes(bytes)).toMatchObject({ sha256: vector.sha256, md5: vector.md5 });
    },
  );

  it('the blockhash algorithm id is the 16-bit precise method', async () => {
    for (const vector of blockhashVectors.filter((v) => v.bits === 16 && v.method === 2)) {
      const outcome = await hash(readVector('blockhash', vector.file), { mode: 'reference', algorithms: ['blockhash'] });
      expect(outcome.status === 'hashed' && outcome.hashes.blockhash, vector.file).toBe(vector.hash);
    }
  });
});

describe('exact digest vectors (RFC 1321, FIPS 180-2)', () => {
  it.each(readExpected<ExactVector>('exact').map((v) => [`${v.algorithm} ${v.hash}`, v] as const))('%s', (_name, vector) => {
    const input = vector.input_repeat
      ? Buffer.from(vector.input_repeat.char.repeat(vector.input_repeat.count))
      : Buffer.from(vector.input_utf8 ?? '', 'utf8');
    expect(exactHashes(input, [vector.algorithm])[vector.algorithm]).toBe(vector.hash);
  });

  it('sha1 agrees with an independent OpenSSL digest', () => {
    const input = Buffer.from('abc');
    expect(exactHashes(input, ['sha1']).sha1).toBe('a9993e364706816aba3e25717850c26c9cd0d89d');
    expect(exactHashes(input).sha1).toBe(createHash('sha1').update(input).digest('hex'));
  });
});
