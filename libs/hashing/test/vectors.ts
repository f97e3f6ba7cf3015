// Locates ../shared/vectors (beside the repository) and reads its expectation files.
import { existsSync, readFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const repoRoot = resolve(dirname(fileURLToPath(import.meta.url)), '../../..');
export const VECTORS_DIR = process.env.VIGIL_VECTORS_DIR ?? resolve(repoRoot, '../shared/vectors');

if (!existsSync(join(VECTORS_DIR, 'pdq/expected.json'))) {
  throw new Error(`reference vectors not found at ${VECTORS_DIR}: check out ../shared beside the repository or set VIGIL_VECTORS_DIR`);
}

export function readExpected<T>(folder: 'pdq' | 'blockhash' | 'exact'): T[] {
  return JSON.parse(readFileSync(join(VECTORS_DIR, folder, 'expected.json'), 'utf8')) as T[];
}

export function readVector(folder: 'pdq' | 'blockhash', file: string): Buffer {
  return readFileSync(join(VECTORS_DIR, folder, file));
}

export interface PdqVector {
  file: string;
  hash: string;
  quality: number;
  width: number;
  height: number;
  dihedral: Record<string, string>;
  autoorient?: { hash: string; quality: number; width: number; height: number };
  exif_orientation?: number;
  sha256: string;
  md5: string;
}

export interface BlockhashVector {
  file: string;
  bits: number;
  method: 1 | 2;
  hash: string;
  sha256: string;
  md5: string;
}

export interface ExactVector {
  input_utf8?: string;
  input_repeat?: { char: string; count: number };
  algorithm: 'md5' | 'sha256' | 'sha1';
  hash: string;
}
