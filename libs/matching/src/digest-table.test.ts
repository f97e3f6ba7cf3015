import { createHash } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { DigestTable } from './digest-table.ts';

const md5 = (text: string) => createHash('md5').update(text).digest();

describe('DigestTable', () => {
  it('finds every stored digest, nothing else, through growth and rehashing', () => {
    const table = new DigestTable(16);
    for (let i = 0; i < 10_000; i++) expect(table.add(md5(`file-${i}`))).toBe(i);
    expect(table.size).toBe(10_000);
    for (const i of [0, 1, 4095, 9999]) expect(table.lookup(md5(`file-${i}`))).toEqual([i]);
    expect(table.lookup(md5('never-added'))).toEqual([]);
  });

  it('keeps duplicates as separate ids and removes them together', () => {
    const table = new DigestTable(16);
    table.add(md5('a'));
    table.add(md5('b'));
    table.add(md5('a'));
    expect(table.lookup(md5('a'))).toEqual([0, 2]);
    expect(table.remove(md5('a'))).toEqual([0, 2]);
    expect(table.lookup(md5('a'))).toEqual([]);
    expect(table.lookup(md5('b'))).toEqual([1]);
    expect(table.size).toBe(1);
    expect(table.add(md5('a'))).toBe(3);
    expect(table.lookup(md5('a'))).toEqual([3]);
  });

  it('tells apart digests that share their slot bytes', () => {
    const table = new DigestTable(20);
    const first = Buffer.alloc(20, 7);
    const second = Buffer.alloc(20, 7);
    second[19] = 8;
    table.add(first);
    table.add(second);
    expect(table.lookup(first)).toEqual([0]);
    expect(table.lookup(second)).toEqual([1]);
    table.remove(first);
    expect(table.lookup(second)).toEqual([1]);
  });

  it('drops removed ids when it rehashes, and still finds the live ones', () => {
    const table = new DigestTable(16);
    for (let i = 0; i < 1000; i++) table.add(md5(`x${i}`));
    for (let i = 0; i < 1000; i += 2) table.remove(md5(`x${i}`));
    for (let i = 1000; i < 5000; i++) table.add(md5(`x${i}`));
    expect(table.size).toBe(4500);
    expect(table.lookup(md5('x2'))).toEqual([]);
    expect(table.lookup(md5('x3'))).toEqual([3]);
    expect(table.lookup(md5('x4999'))).toEqual([4999]);
  });

  it('refuses digests of the wrong length', () => {
    const table = new DigestTable(32);
    expect(() => table.add(md5('a'))).toThrow(RangeError);
    expect(() => table.lookup(Buffer.alloc(31))).toThrow(RangeError);
    expect(() => new DigestTable(2)).toThrow(RangeError);
  });
});
