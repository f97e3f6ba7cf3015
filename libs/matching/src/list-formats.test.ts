// Tests for the hash-list parsers: every format's happy path and each way a file can be wrong.
// All hashes here are synthetic counters (0000...0001), never real list content.

import { describe, expect, it } from 'vitest';
import {
  HEX_LENGTH,
  LIST_ALGORITHMS,
  parseList,
  parseNcmecCsv,
  parsePlainList,
  parseThreatExchangePdq,
  type ListAlgorithm,
  type ParseResult,
} from './list-formats.ts';

/** A synthetic hash: `n` in hex, zero-padded to the algorithm's length. */
const h = (n: number, algorithm: ListAlgorithm = 'pdq'): string =>
  n.toString(16).padStart(HEX_LENGTH[algorithm], '0');

const lines = (...rows: string[]): string => rows.join('\n');

/** No error or warning may quote a hash: assert none contains the given values (any case). */
function expectNoHashText(result: ParseResult, ...values: string[]): void {
  for (const issue of [...result.errors, ...result.warnings]) {
    for (const value of values) {
      expect(issue.message.toLowerCase()).not.toContain(value.toLowerCase());
    }
    // Nor anything hash-like at all.
    expect(issue.message).not.toMatch(/[0-9a-f]{16,}/i);
  }
}

describe('constants', () => {
  it('lists the algorithms and their hex lengths', () => {
    expect(LIST_ALGORITHMS).toEqual(['pdq', 'blockhash', 'md5', 'sha1', 'sha256']);
    expect(HEX_LENGTH).toEqual({ pdq: 64, blockhash: 64, md5: 32, sha1: 40, sha256: 64 });
  });
});

describe('parsePlainList', () => {
  it('parses hash, id and category, comma-separated', () => {
    const result = parsePlainList(lines(h(1, 'md5'), `${h(2, 'md5')},id-2`, `${h(3, 'md5')},id-3,cat-a`), 'md5');
    expect(result).toEqual({
      format: 'plain',
      entries: [
        { line: 1, algorithm: 'md5', hash: h(1, 'md5') },
        { line: 2, algorithm: 'md5', hash: h(2, 'md5'), externalId: 'id-2' },
        { line: 3, algorithm: 'md5', hash: h(3, 'md5'), externalId: 'id-3', category: 'cat-a' },
      ],
      errors: [],
      warnings: [],
    });
  });

  it('parses tab-separated files', () => {
    const result = parsePlainList(lines(`${h(1, 'sha1')}\tid-1\tcat`, `${h(2, 'sha1')}\tid-2`), 'sha1');
    expect(result.errors).toEqual([]);
    expect(result.entries).toEqual([
      { line: 1, algorithm: 'sha1', hash: h(1, 'sha1'), externalId: 'id-1', category: 'cat' },
      { line: 2, algorithm: 'sha1', hash: h(2, 'sha1'), externalId: 'id-2' },
    ]);
  });

  it('keeps commas inside tab-separated fields as content', () => {
    const result = parsePlainList(`${h(1, 'sha1')}\tid, with comma`, 'sha1');
    expect(result.errors).toEqual([]);
    expect(result.entries[0]?.externalId).toBe('id, with comma');
  });

  it('accepts every algorithm at its own length', () => {
    for (const algorithm of LIST_ALGORITHMS) {
      const result = parsePlainList(h(7, algorithm), algorithm);
      expect(result.errors).toEqual([]);
      expect(result.entries).toEqual([{ line: 1, algorithm, hash: h(7, algorithm) }]);
    }
  });

  it('skips comments and blank lines but keeps physical line numbers', () => {
    const text = lines('# exported list', '', `${h(1)},a`, '   ', '  # indented comment', `${h(2)},b`, '');
    const result = parsePlainList(text, 'pdq');
    expect(result.errors).toEqual([]);
    expect(result.entries.map((e) => e.line)).toEqual([3, 6]);
  });

  it('detects a header row and skips it', () => {
    for (const word of ['hash', 'HASH', 'Hashes', 'pdq', 'pdq_hash']) {
      const result = parsePlainList(lines(`${word},id,category`, `${h(1)},a,b`), 'pdq');
      expect(result.errors).toEqual([]);
      expect(result.entries).toEqual([{ line: 2, algorithm: 'pdq', hash: h(1), externalId: 'a', category: 'b' }]);
    }
  });

  it('detects a header after leading comments', () => {
    const result = parsePlainList(lines('# list v1', 'md5', h(1, 'md5')), 'md5');
    expect(result.errors).toEqual([]);
    expect(result.entries).toHaveLength(1);
  });

  it('recognises sha-1 / sha-256 spellings in the header', () => {
    expect(parsePlainList(lines('SHA-1', h(1, 'sha1')), 'sha1').errors).toEqual([]);
    expect(parsePlainList(lines('sha-256\tid', `${h(1, 'sha256')}\tx`), 'sha256').errors).toEqual([]);
  });

  it('rejects a header that names a different algorithm', () => {
    const result = parsePlainList(lines('blockhash', h(1)), 'pdq');
    expect(result.errors).toEqual([{ line: 1, message: 'header names blockhash but the list was declared pdq' }]);
  });

  it('treats a header word after the first line as a bad hash', () => {
    const result = parsePlainList(lines(h(1), 'hash'), 'pdq');
    expect(result.errors).toEqual([{ line: 2, message: 'pdq hash has a non-hex character at position 1' }]);
  });

  it('does not treat an arbitrary first word as a header', () => {
    const result = parsePlainList(lines('hello', h(1)), 'pdq');
    expect(result.errors.map((e) => e.line)).toEqual([1]);
  });

  it('strips a UTF-8 BOM (also before a header)', () => {
    expect(parsePlainList(`\uFEFF${h(1)}`, 'pdq').entries).toHaveLength(1);
    const withHeader = parsePlainList(`\uFEFFhash\n${h(1)}`, 'pdq');
    expect(withHeader.errors).toEqual([]);
    expect(withHeader.entries).toHaveLength(1);
  });

  it('accepts CRLF line endings', () => {
    const result = parsePlainList(`hash,id\r\n${h(1)},a\r\n${h(2)},b\r\n`, 'pdq');
    expect(result.errors).toEqual([]);
    expect(result.entries.map((e) => [e.line, e.externalId])).toEqual([
      [2, 'a'],
      [3, 'b'],
    ]);
  });

  it('lowercases upper and mixed case hex', () => {
    const upper = 'ABCDEF0123456789'.repeat(4);
    const mixed = 'aBcDeF0123456789'.repeat(4);
    const result = parsePlainList(lines(upper, mixed.replace(/^a/, '1')), 'sha256');
    expect(result.errors).toEqual([]);
    expect(result.entries.map((e) => e.hash)).toEqual([upper.toLowerCase(), mixed.replace(/^a/, '1').toLowerCase()]);
  });

  it('trims whitespace around fields', () => {
    const result = parsePlainList(`  ${h(1, 'md5')}  ,  id-1 , cat  `, 'md5');
    expect(result.entries).toEqual([{ line: 1, algorithm: 'md5', hash: h(1, 'md5'), externalId: 'id-1', category: 'cat' }]);
  });

  it('rejects short and long hashes with the expected and actual length', () => {
    const short = h(1).slice(1);
    const long = `${h(2)}0`;
    const result = parsePlainList(lines(short, long, h(3)), 'pdq');
    expect(result.errors).toEqual([
      { line: 1, message: 'expected 64 hex characters for pdq, got 63' },
      { line: 2, message: 'expected 64 hex characters for pdq, got 65' },
    ]);
    expect(result.entries).toHaveLength(1);
    expectNoHashText(result, short, long);
  });

  it('rejects an md5 value in a sha1 list (wrong length)', () => {
    const result = parsePlainList(h(1, 'md5'), 'sha1');
    expect(result.errors[1]).toEqual({ line: 1, message: 'expected 40 hex characters for sha1, got 32' });
  });

  it('rejects non-hex characters, naming the position not the content', () => {
    const bad = `${h(1).slice(0, 10)}g${h(1).slice(11)}`;
    const prefixed = `0x${h(2).slice(2)}`;
    const result = parsePlainList(lines(bad, prefixed, h(3)), 'pdq');
    expect(result.errors).toEqual([
      { line: 1, message: 'pdq hash has a non-hex character at position 11' },
      { line: 2, message: 'pdq hash has a non-hex character at position 2' },
    ]);
    expectNoHashText(result, bad, prefixed);
  });

  it('rejects a missing hash field', () => {
    const result = parsePlainList(lines(`,id-1`, h(1)), 'pdq');
    expect(result.errors).toEqual([{ line: 1, message: 'missing pdq hash value' }]);
  });

  it('leaves out empty id and category instead of storing empty strings', () => {
    const result = parsePlainList(lines(`${h(1)},,`, `${h(2)},,cat`), 'pdq');
    expect(result.errors).toEqual([]);
    expect(result.entries[0]).toEqual({ line: 1, algorithm: 'pdq', hash: h(1) });
    expect(result.entries[1]).toEqual({ line: 2, algorithm: 'pdq', hash: h(2), category: 'cat' });
    expect('externalId' in (result.entries[0] ?? {})).toBe(false);
  });

  it('rejects extra columns', () => {
    const result = parsePlainList(lines(`${h(1)},id,cat,extra`, h(2)), 'pdq');
    expect(result.errors).toEqual([{ line: 1, message: 'expected at most 3 fields (hash, id, category), got 4' }]);
    expect(result.entries).toHaveLength(1);
  });

  it('supports quoted CSV fields, with delimiters and escaped quotes inside', () => {
    const text = lines(`${h(1)},"id,with,commas","cat ""quoted"""`, `"${h(2)}" , "a" ,b`);
    const result = parsePlainList(text, 'pdq');
    expect(result.errors).toEqual([]);
    expect(result.entries).toEqual([
      { line: 1, algorithm: 'pdq', hash: h(1), externalId: 'id,with,commas', category: 'cat "quoted"' },
      { line: 2, algorithm: 'pdq', hash: h(2), externalId: 'a', category: 'b' },
    ]);
  });

  it('keeps quoted tabs in a comma file and quoted commas in a tab file', () => {
    const commaFile = parsePlainList(lines(`${h(1)},"a\tb"`, `${h(2)},c`), 'pdq');
    expect(commaFile.errors).toEqual([]);
    expect(commaFile.entries[0]?.externalId).toBe('a\tb');
    const tabFile = parsePlainList(lines(`${h(1)}\t"a,b"`, `${h(2)}\t"c,d"`), 'pdq');
    expect(tabFile.errors).toEqual([]);
    expect(tabFile.entries.map((e) => e.externalId)).toEqual(['a,b', 'c,d']);
  });

  it('treats a quote inside an unquoted field as literal text', () => {
    const result = parsePlainList(`${h(1)},5" screen,cat`, 'pdq');
    expect(result.errors).toEqual([]);
    expect(result.entries[0]?.externalId).toBe('5" screen');
  });

  it('rejects an unterminated quote and text after a closing quote', () => {
    const result = parsePlainList(lines(`${h(1)},"open`, `${h(2)},"a"b`, h(3)), 'pdq');
    expect(result.errors).toEqual([
      { line: 1, message: 'unterminated quoted field' },
      { line: 2, message: 'unexpected text after a closing quote' },
    ]);
  });

  it('rejects mixing tab and comma delimiters, naming the line that set the delimiter', () => {
    const result = parsePlainList(lines('# c', `${h(1)},a`, `${h(2)}\tb`, `${h(3)},c`), 'pdq');
    expect(result.errors).toEqual([{ line: 3, message: 'tab-separated line in a comma-separated file (line 2 set commas)' }]);
    const tabFirst = parsePlainList(lines(`${h(1)}\ta`, `${h(2)},b`), 'pdq');
    expect(tabFirst.errors).toEqual([{ line: 2, message: 'comma-separated line in a tab-separated file (line 1 set tabs)' }]);
  });

  it('lets hash-only lines appear in either kind of file', () => {
    expect(parsePlainList(lines(h(1), `${h(2)}\ta`, h(3)), 'pdq').errors).toEqual([]);
    expect(parsePlainList(lines(h(1), `${h(2)},a`, h(3)), 'pdq').errors).toEqual([]);
  });

  it('warns on duplicates naming both lines, and keeps the first', () => {
    const result = parsePlainList(lines(`${h(1)},first`, h(2), `${h(1).toUpperCase()},second`), 'pdq');
    expect(result.errors).toEqual([]);
    expect(result.warnings).toEqual([
      { line: 3, message: 'duplicate pdq hash: same value as line 1 (line 3 ignored)' },
    ]);
    expect(result.entries.map((e) => e.externalId ?? null)).toEqual(['first', null]);
    expectNoHashText(result, h(1));
  });

  it('rejects an empty file with an error at line 0', () => {
    for (const text of ['', '\uFEFF', '\n\n', '# only a comment\n', 'hash\n', '\r\n  \r\n']) {
      const result = parsePlainList(text, 'md5');
      expect(result.entries).toEqual([]);
      expect(result.errors).toEqual([{ line: 0, message: 'file contains no entries' }]);
    }
  });

  it('reports no valid entries when every line is bad, plus each line', () => {
    const result = parsePlainList(lines('zz', 'yy'), 'md5');
    expect(result.errors.map((e) => e.line)).toEqual([0, 1, 2]);
    expect(result.errors[0]?.message).toBe('file contains no valid entries');
  });

  it('reports every bad line, not just the first', () => {
    const rows = [h(1), 'x', h(2).slice(2), h(3), `${h(4)},a,b,c`, h(5)];
    const result = parsePlainList(lines(...rows), 'pdq');
    expect(result.errors.map((e) => e.line)).toEqual([2, 3, 5]);
    expect(result.entries.map((e) => e.line)).toEqual([1, 4, 6]);
  });

  it('returns an error value for an unknown algorithm instead of throwing', () => {
    const result = parsePlainList(h(1), 'crc32' as ListAlgorithm);
    expect(result.errors).toEqual([
      { line: 0, message: 'unknown hash algorithm for a plain list' },
      { line: 0, message: 'file contains no valid entries' },
    ]);
  });
});

describe('parseThreatExchangePdq', () => {
  it('parses hash,quality lines', () => {
    const result = parseThreatExchangePdq(lines(`${h(1)},100`, `${h(2)},0`, `${h(3)},57`));
    expect(result).toEqual({
      format: 'threatexchange-pdq',
      entries: [
        { line: 1, algorithm: 'pdq', hash: h(1), quality: 100 },
        { line: 2, algorithm: 'pdq', hash: h(2), quality: 0 },
        { line: 3, algorithm: 'pdq', hash: h(3), quality: 57 },
      ],
      errors: [],
      warnings: [],
    });
  });

  it('parses the tab-separated variant and ignores the extra columns', () => {
    const result = parseThreatExchangePdq(lines(`${h(1)}\t90\tsome/file.jpg\tmore`, `${h(2)}\t80`));
    expect(result.errors).toEqual([]);
    expect(result.entries).toEqual([
      { line: 1, algorithm: 'pdq', hash: h(1), quality: 90 },
      { line: 2, algorithm: 'pdq', hash: h(2), quality: 80 },
    ]);
  });

  it('ignores the file-name column the reference hasher writes after quality', () => {
    const result = parseThreatExchangePdq(`${h(1)},100,images/a.jpg`);
    expect(result.errors).toEqual([]);
    expect(result.entries).toEqual([{ line: 1, algorithm: 'pdq', hash: h(1), quality: 100 }]);
  });

  it('accepts hash-only lines, mixed with hash,quality lines', () => {
    const result = parseThreatExchangePdq(lines(h(1), `${h(2)},75`));
    expect(result.errors).toEqual([]);
    expect(result.entries).toEqual([
      { line: 1, algorithm: 'pdq', hash: h(1) },
      { line: 2, algorithm: 'pdq', hash: h(2), quality: 75 },
    ]);
  });

  it('accepts the key=value details form', () => {
    const text = lines(`hash=${h(1)},norm=128,delta=0,quality=99,filename=a.jpg`, `hash=${h(2)},xform=rot90,filename=a.jpg`);
    const result = parseThreatExchangePdq(text);
    expect(result.errors).toEqual([]);
    expect(result.entries).toEqual([
      { line: 1, algorithm: 'pdq', hash: h(1), quality: 99 },
      { line: 2, algorithm: 'pdq', hash: h(2) },
    ]);
  });

  it('rejects quality outside 0-100 and non-integers', () => {
    const bad = ['101', '-1', '50.5', 'high', '1e2', '+5', '0100'];
    const result = parseThreatExchangePdq(lines(...bad.map((q, i) => `${h(i + 1)},${q}`)));
    expect(result.entries).toEqual([]);
    expect(result.errors.slice(1)).toEqual([
      { line: 1, message: 'quality must be an integer from 0 to 100 (value is above 100)' },
      ...[2, 3, 4, 5, 6, 7].map((line) => ({ line, message: 'quality must be an integer from 0 to 100' })),
    ]);
  });

  it('rejects an empty quality field and a bad quality in the details form', () => {
    const result = parseThreatExchangePdq(lines(`${h(1)},`, `hash=${h(2)},quality=200`, h(3)));
    expect(result.errors).toEqual([
      { line: 1, message: 'missing quality value' },
      { line: 2, message: 'quality must be an integer from 0 to 100 (value is above 100)' },
    ]);
  });

  it('never echoes a hash that landed in the quality column', () => {
    const result = parseThreatExchangePdq(`${h(1)},${h(2)}`);
    expect(result.errors[1]).toEqual({ line: 1, message: 'quality must be an integer from 0 to 100' });
    expectNoHashText(result, h(1), h(2));
  });

  it('rejects wrong lengths and non-hex without echoing the value', () => {
    const short = h(9).slice(0, 63);
    const long = `${h(9)}ab`;
    const nonHex = `${h(9).slice(0, 63)}z`;
    const result = parseThreatExchangePdq(lines(`${short},90`, `${long},90`, `${nonHex},90`, `hash=${short},quality=9`));
    expect(result.errors).toEqual([
      { line: 0, message: 'file contains no valid entries' },
      { line: 1, message: 'expected 64 hex characters for pdq, got 63' },
      { line: 2, message: 'expected 64 hex characters for pdq, got 66' },
      { line: 3, message: 'pdq hash has a non-hex character at position 64' },
      { line: 4, message: 'expected 64 hex characters for pdq, got 63' },
    ]);
    expectNoHashText(result, short, long, nonHex);
  });

  it('handles BOM, CRLF, comments, blank lines, header and mixed case', () => {
    const upper = h(0xabc).toUpperCase();
    const text = `\uFEFF# TE export\r\nhash,quality\r\n\r\n${upper},88\r\n`;
    const result = parseThreatExchangePdq(text);
    expect(result.errors).toEqual([]);
    expect(result.entries).toEqual([{ line: 4, algorithm: 'pdq', hash: upper.toLowerCase(), quality: 88 }]);
  });

  it('supports quoted fields', () => {
    const result = parseThreatExchangePdq(`"${h(1)}","70","a,b.jpg"`);
    expect(result.errors).toEqual([]);
    expect(result.entries).toEqual([{ line: 1, algorithm: 'pdq', hash: h(1), quality: 70 }]);
  });

  it('rejects delimiter mixing', () => {
    const result = parseThreatExchangePdq(lines(`${h(1)}\t90`, `${h(2)},90`));
    expect(result.errors).toEqual([{ line: 2, message: 'comma-separated line in a tab-separated file (line 1 set tabs)' }]);
  });

  it('warns on duplicates even when quality differs', () => {
    const result = parseThreatExchangePdq(lines(`${h(1)},90`, `${h(1)},50`));
    expect(result.warnings).toEqual([{ line: 2, message: 'duplicate pdq hash: same value as line 1 (line 2 ignored)' }]);
    expect(result.entries).toEqual([{ line: 1, algorithm: 'pdq', hash: h(1), quality: 90 }]);
  });

  it('rejects an empty file', () => {
    expect(parseThreatExchangePdq('').errors).toEqual([{ line: 0, message: 'file contains no entries' }]);
    expect(parseThreatExchangePdq('hash,quality\n').errors).toEqual([{ line: 0, message: 'file contains no entries' }]);
  });

  it('rejects a non-PDQ-length value (e.g. an md5 list fed to the PDQ parser)', () => {
    const result = parseThreatExchangePdq(h(1, 'md5'));
    expect(result.errors[1]).toEqual({ line: 1, message: 'expected 64 hex characters for pdq, got 32' });
  });
});

describe('parseNcmecCsv', () => {
  const header = 'ID,MD5,SHA1,PDQ,Classification';

  it('emits one entry per non-empty hash column, sharing id and category', () => {
    const text = lines(header, `e-1,${h(1, 'md5')},${h(1, 'sha1')},${h(1)},A1`, `e-2,${h(2, 'md5')},,,B1`);
    const result = parseNcmecCsv(text);
    expect(result).toEqual({
      format: 'ncmec-csv',
      entries: [
        { line: 2, algorithm: 'md5', hash: h(1, 'md5'), externalId: 'e-1', category: 'A1' },
        { line: 2, algorithm: 'sha1', hash: h(1, 'sha1'), externalId: 'e-1', category: 'A1' },
        { line: 2, algorithm: 'pdq', hash: h(1), externalId: 'e-1', category: 'A1' },
        { line: 3, algorithm: 'md5', hash: h(2, 'md5'), externalId: 'e-2', category: 'B1' },
      ],
      errors: [],
      warnings: [],
    });
  });

  it('accepts common column spellings in any case and order', () => {
    const text = lines(
      'category,SHA-256,pdq_hash,Sha-1,hash_id,md5',
      `A2,${h(4, 'sha256')},${h(5)},${h(6, 'sha1')},x-9,${h(7, 'md5')}`,
    );
    const result = parseNcmecCsv(text);
    expect(result.errors).toEqual([]);
    expect(result.entries.map((e) => [e.algorithm, e.externalId, e.category])).toEqual([
      ['sha256', 'x-9', 'A2'],
      ['pdq', 'x-9', 'A2'],
      ['sha1', 'x-9', 'A2'],
      ['md5', 'x-9', 'A2'],
    ]);
    for (const idName of ['id', 'External_ID', 'external id', 'hash_id']) {
      const r = parseNcmecCsv(lines(`${idName},md5`, `q,${h(1, 'md5')}`));
      expect(r.errors).toEqual([]);
      expect(r.entries[0]?.externalId).toBe('q');
    }
  });

  it('works without id or category columns', () => {
    const result = parseNcmecCsv(lines('md5', h(1, 'md5')));
    expect(result.errors).toEqual([]);
    expect(result.entries).toEqual([{ line: 2, algorithm: 'md5', hash: h(1, 'md5') }]);
  });

  it('keeps sha256 and pdq values apart although both are 64 hex characters', () => {
    const result = parseNcmecCsv(lines('sha256,pdq', `${h(1)},${h(1)}`));
    expect(result.warnings).toEqual([]);
    expect(result.entries.map((e) => e.algorithm)).toEqual(['sha256', 'pdq']);
  });

  it('warns once about columns it does not import, without failing', () => {
    const result = parseNcmecCsv(lines('id,md5,pdna,timestamp', `1,${h(1, 'md5')},opaque,2020-01-01`));
    expect(result.errors).toEqual([]);
    expect(result.warnings).toEqual([
      { line: 1, message: 'column 3 ("pdna") is not an imported column and is ignored' },
      { line: 1, message: 'column 4 ("timestamp") is not an imported column and is ignored' },
    ]);
    expect(result.entries).toHaveLength(1);
  });

  it('rejects a file without a header naming a hash column, without echoing its first row', () => {
    const result = parseNcmecCsv(lines(`e-1,${h(1, 'md5')},${h(1, 'sha1')}`, `e-2,${h(2, 'md5')},${h(2, 'sha1')}`));
    expect(result.entries).toEqual([]);
    expect(result.warnings).toEqual([]);
    expect(result.errors).toEqual([
      { line: 0, message: 'file contains no valid entries' },
      { line: 1, message: 'header row names no hash column (expected md5, sha1, sha256 or pdq)' },
    ]);
    expectNoHashText(result, h(1, 'md5'), h(1, 'sha1'));
  });

  it('rejects a header naming the same role twice', () => {
    const result = parseNcmecCsv(lines('md5,MD5', `${h(1, 'md5')},${h(2, 'md5')}`));
    expect(result.errors).toContainEqual({ line: 1, message: 'columns 1 and 2 both name md5' });
    expect(result.entries).toEqual([]);
    const ids = parseNcmecCsv(lines('id,external_id,md5', `a,b,${h(1, 'md5')}`));
    expect(ids.errors).toContainEqual({ line: 1, message: 'columns 1 and 2 both name id' });
  });

  it('rejects rows with missing or extra fields', () => {
    const text = lines(header, `e-1,${h(1, 'md5')},,`, `e-2,${h(2, 'md5')},,,A1,extra`, `e-3,${h(3, 'md5')},,,A1`);
    const result = parseNcmecCsv(text);
    expect(result.errors).toEqual([
      { line: 2, message: 'expected 5 fields as in the header, got 4' },
      { line: 3, message: 'expected 5 fields as in the header, got 6' },
    ]);
    expect(result.entries.map((e) => e.line)).toEqual([4]);
  });

  it('rejects a row with no hash value', () => {
    const result = parseNcmecCsv(lines(header, 'e-1,,,,A1', `e-2,${h(2, 'md5')},,,A1`));
    expect(result.errors).toEqual([{ line: 2, message: 'row has no hash value' }]);
  });

  it('reports each bad hash column of a row, naming the column, not the value', () => {
    const shortMd5 = h(1, 'md5').slice(1);
    const badSha1 = `${h(1, 'sha1').slice(0, 39)}x`;
    const longPdq = `${h(1)}00`;
    const result = parseNcmecCsv(lines(header, `e-1,${shortMd5},${badSha1},${longPdq},A1`));
    expect(result.errors).toEqual([
      { line: 0, message: 'file contains no valid entries' },
      { line: 2, message: 'md5 column: expected 32 hex characters for md5, got 31' },
      { line: 2, message: 'sha1 column: sha1 hash has a non-hex character at position 40' },
      { line: 2, message: 'pdq column: expected 64 hex characters for pdq, got 66' },
    ]);
    expectNoHashText(result, shortMd5, badSha1, longPdq);
  });

  it('still returns the valid hashes of a row that has a bad one (the caller refuses the file)', () => {
    const result = parseNcmecCsv(lines(header, `e-1,${h(1, 'md5')},zz,,A1`));
    expect(result.entries.map((e) => e.algorithm)).toEqual(['md5']);
    expect(result.errors).toHaveLength(1);
  });

  it('handles BOM, CRLF, blank lines, comments, mixed case and quoted fields', () => {
    const upper = h(0xface, 'md5').toUpperCase();
    const text = `\uFEFF"ID","MD5","Classification"\r\n\r\n# note\r\n"id,1",${upper},"A1"\r\n`;
    const result = parseNcmecCsv(text);
    expect(result.errors).toEqual([]);
    expect(result.entries).toEqual([
      { line: 4, algorithm: 'md5', hash: upper.toLowerCase(), externalId: 'id,1', category: 'A1' },
    ]);
  });

  it('accepts tab-separated exports and rejects delimiter mixing', () => {
    const result = parseNcmecCsv(lines('id\tmd5', `a\t${h(1, 'md5')}`, `b,${h(2, 'md5')}`));
    expect(result.entries).toHaveLength(1);
    expect(result.errors).toEqual([{ line: 3, message: 'comma-separated line in a tab-separated file (line 1 set tabs)' }]);
  });

  it('warns on duplicates across rows naming both lines', () => {
    const result = parseNcmecCsv(lines('id,md5', `a,${h(1, 'md5')}`, `b,${h(2, 'md5')}`, `c,${h(1, 'md5')}`));
    expect(result.errors).toEqual([]);
    expect(result.warnings).toEqual([{ line: 4, message: 'duplicate md5 hash: same value as line 2 (line 4 ignored)' }]);
    expect(result.entries.map((e) => e.externalId)).toEqual(['a', 'b']);
  });

  it('rejects an empty file and a header-only file', () => {
    expect(parseNcmecCsv('').errors).toEqual([{ line: 0, message: 'file contains no entries' }]);
    expect(parseNcmecCsv(`${header}\n`).errors).toEqual([{ line: 0, message: 'file contains no entries' }]);
  });

  it('rejects an unterminated quote in the header', () => {
    const result = parseNcmecCsv(lines('"id,md5', `a,${h(1, 'md5')}`));
    expect(result.errors).toContainEqual({ line: 1, message: 'unterminated quoted field' });
    expect(result.entries).toEqual([]);
  });
});

describe('parseList', () => {
  it('dispatches to each parser', () => {
    expect(parseList(h(1, 'md5'), { format: 'plain', algorithm: 'md5' }).entries).toHaveLength(1);
    expect(parseList(`${h(1)},50`, { format: 'threatexchange-pdq' }).entries[0]?.quality).toBe(50);
    expect(parseList(lines('md5', h(1, 'md5')), { format: 'ncmec-csv' }).format).toBe('ncmec-csv');
  });

  it('needs an algorithm for plain lists', () => {
    expect(parseList(h(1), { format: 'plain' })).toEqual({
      format: 'plain',
      entries: [],
      errors: [{ line: 0, message: 'a plain list needs an algorithm' }],
      warnings: [],
    });
  });

  it('returns an error value for an unknown format', () => {
    const result = parseList(h(1), { format: 'stix' as 'plain' });
    expect(result.errors).toEqual([{ line: 0, message: 'unknown list format' }]);
  });

  it('never throws on hostile input', () => {
    const inputs = ['"', '""""', ',,,,', '\t\t', '\uFEFF\uFEFF', '\0\0\0', 'hash=', '"a"b"c', 'x'.repeat(10_000)];
    for (const text of inputs) {
      for (const options of [
        { format: 'plain', algorithm: 'pdq' },
        { format: 'threatexchange-pdq' },
        { format: 'ncmec-csv' },
      ] as const) {
        const result = parseList(text, options);
        expect(result.entries).toEqual([]);
        expect(result.errors.length).toBeGreaterThan(0);
      }
    }
  });
});
