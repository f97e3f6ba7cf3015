// Parses hash-list files (plain lists, ThreatExchange PDQ text, NCMEC-style CSV) into entries plus
// every problem found, each with its 1-based line number. Pure: text in, values out; never throws for
// bad content, never logs, and no message ever echoes a hash value (lists are sensitive).

export const LIST_ALGORITHMS = ['pdq', 'blockhash', 'md5', 'sha1', 'sha256'] as const;
export type ListAlgorithm = (typeof LIST_ALGORITHMS)[number];

/** Hex length of each algorithm's value: pdq/blockhash/sha256 64, sha1 40, md5 32. */
export const HEX_LENGTH: Record<ListAlgorithm, number> = Object.freeze({
  pdq: 64,
  blockhash: 64,
  md5: 32,
  sha1: 40,
  sha256: 64,
});

export type ListFormat = 'plain' | 'threatexchange-pdq' | 'ncmec-csv';

export interface ParsedEntry {
  /** 1-based line of the source file. */
  line: number;
  algorithm: ListAlgorithm;
  /** Lowercase hex, exactly HEX_LENGTH[algorithm] characters. */
  hash: string;
  externalId?: string;
  category?: string;
  /** PDQ quality 0-100, when the list carries it. */
  quality?: number;
}

/** `line` 0 is the file as a whole. `message` says what is wrong, never what the hash was. */
export interface ParseIssue {
  line: number;
  message: string;
}

/** The importer refuses a result with any error; warnings are for the operator to read. */
export interface ParseResult {
  format: ListFormat;
  entries: ParsedEntry[];
  errors: ParseIssue[];
  warnings: ParseIssue[];
}

// ---------------------------------------------------------------- shared plumbing

interface SourceLine {
  line: number;
  text: string;
}

type Delimiter = ',' | '\t';

type Checked<T> = { ok: true; value: T } | { ok: false; message: string };

/** Non-blank, non-comment lines with their 1-based numbers; BOM stripped, CRLF/LF/CR accepted. */
function contentLines(text: string): SourceLine[] {
  const lines = text.replace(/^\uFEFF/, '').split(/\r\n|\n|\r/);
  const out: SourceLine[] = [];
  lines.forEach((raw, index) => {
    const trimmed = raw.trim();
    if (trimmed === '' || trimmed.startsWith('#')) return;
    out.push({ line: index + 1, text: raw });
  });
  return out;
}

/**
 * Which delimiters occur outside quoted fields. A quote only opens a field at its start (after
 * optional spaces), as in RFC 4180, so `5" screen` stays literal text.
 */
function delimitersPresent(text: string): { tab: boolean; comma: boolean } {
  let tab = false;
  let comma = false;
  let atFieldStart = true;
  for (let i = 0; i < text.length; i++) {
    const ch = text[i];
    if (atFieldStart && ch === ' ') continue;
    if (atFieldStart && ch === '"') {
      // Skip the quoted body; `""` inside is an escaped quote.
      i++;
      while (i < text.length && !(text[i] === '"' && text[i + 1] !== '"')) i += text[i] === '"' ? 2 : 1;
      atFieldStart = false;
      continue;
    }
    atFieldStart = false;
    if (ch === '\t') tab = true;
    if (ch === ',') comma = true;
    if (ch === '\t' || ch === ',') atFieldStart = true;
  }
  return { tab, comma };
}

/**
 * Tracks the file's delimiter: the first line containing a tab or comma fixes it, and a later line
 * using the other one is an error rather than a guess (a mixed file was not produced by one tool).
 */
function delimiterTracker(): (source: SourceLine) => Checked<Delimiter> {
  let fixed: { delimiter: Delimiter; line: number } | null = null;
  return (source) => {
    const { tab, comma } = delimitersPresent(source.text);
    if (fixed === null) {
      if (tab) fixed = { delimiter: '\t', line: source.line };
      else if (comma) fixed = { delimiter: ',', line: source.line };
      return { ok: true, value: fixed?.delimiter ?? ',' };
    }
    if (fixed.delimiter === ',' && tab) {
      return { ok: false, message: `tab-separated line in a comma-separated file (line ${fixed.line} set commas)` };
    }
    // In a tab-separated file commas are ordinary field content, unless the line has no tab at all.
    if (fixed.delimiter === '\t' && !tab && comma) {
      return { ok: false, message: `comma-separated line in a tab-separated file (line ${fixed.line} set tabs)` };
    }
    return { ok: true, value: fixed.delimiter };
  };
}

/** Splits one line into trimmed fields; quoted fields may hold the delimiter and `""` escapes. */
function splitFields(text: string, delimiter: Delimiter): Checked<string[]> {
  const fields: string[] = [];
  let i = 0;
  for (;;) {
    while (text[i] === ' ') i++;
    if (text[i] === '"') {
      i++;
      let value = '';
      for (;;) {
        if (i >= text.length) return { ok: false, message: 'unterminated quoted field' };
        if (text[i] === '"') {
          if (text[i + 1] === '"') {
            value += '"';
            i += 2;
            continue;
          }
          i++;
          break;
        }
        value += text[i];
        i++;
      }
      while (i < text.length && text[i] !== delimiter && /\s/.test(text[i] ?? '')) i++;
      if (i < text.length && text[i] !== delimiter) {
        return { ok: false, message: 'unexpected text after a closing quote' };
      }
      fields.push(value.trim());
    } else {
      const next = text.indexOf(delimiter, i);
      const stop = next === -1 ? text.length : next;
      fields.push(text.slice(i, stop).trim());
      i = stop;
    }
    if (i >= text.length) return { ok: true, value: fields };
    i++; // past the delimiter; a trailing delimiter yields a final empty field
  }
}

/** Lowercase hex of the right length. Messages give a position or a length, never the content. */
function checkHash(raw: string, algorithm: ListAlgorithm): Checked<string> {
  if (raw === '') return { ok: false, message: `missing ${algorithm} hash value` };
  const bad = raw.search(/[^0-9a-fA-F]/);
  if (bad !== -1) {
    return { ok: false, message: `${algorithm} hash has a non-hex character at position ${bad + 1}` };
  }
  const expected = HEX_LENGTH[algorithm];
  if (raw.length !== expected) {
    return { ok: false, message: `expected ${expected} hex characters for ${algorithm}, got ${raw.length}` };
  }
  return { ok: true, value: raw.toLowerCase() };
}

/** Strict integer 0-100. The raw value is not echoed: a shifted column could put a hash here. */
function checkQuality(raw: string): Checked<number> {
  if (raw === '') return { ok: false, message: 'missing quality value' };
  // At most three digits: a digits-only hash shifted into this column must not read as a quality.
  if (!/^\d{1,3}$/.test(raw)) return { ok: false, message: 'quality must be an integer from 0 to 100' };
  const quality = Number(raw);
  if (quality > 100) return { ok: false, message: 'quality must be an integer from 0 to 100 (value is above 100)' };
  return { ok: true, value: quality };
}

/** Lowercase, letters and digits only: `SHA-1`, `sha_1` and `Sha1` all become `sha1`. */
function normaliseName(name: string): string {
  return name.toLowerCase().replace(/[^a-z0-9]/g, '');
}

/** Collects entries and issues; a repeated (algorithm, hash) keeps the first entry and warns. */
function resultBuilder(format: ListFormat) {
  const result: ParseResult = { format, entries: [], errors: [], warnings: [] };
  const firstSeen = new Map<string, number>();
  return {
    error(line: number, message: string): void {
      result.errors.push({ line, message });
    },
    warn(line: number, message: string): void {
      result.warnings.push({ line, message });
    },
    add(entry: ParsedEntry): void {
      const key = `${entry.algorithm}:${entry.hash}`;
      const earlier = firstSeen.get(key);
      if (earlier !== undefined) {
        result.warnings.push({
          line: entry.line,
          message: `duplicate ${entry.algorithm} hash: same value as line ${earlier} (line ${entry.line} ignored)`,
        });
        return;
      }
      firstSeen.set(key, entry.line);
      result.entries.push(entry);
    },
    finish(): ParseResult {
      // An empty list would silently disable matching for everything that relies on it.
      if (result.entries.length === 0) {
        result.errors.push({
          line: 0,
          message: result.errors.length === 0 ? 'file contains no entries' : 'file contains no valid entries',
        });
      }
      result.errors.sort((a, b) => a.line - b.line);
      result.warnings.sort((a, b) => a.line - b.line);
      return result;
    },
  };
}

/** Adds the optional fields only when present (exactOptionalPropertyTypes: absent, not undefined). */
function entry(
  line: number,
  algorithm: ListAlgorithm,
  hash: string,
  extra: { externalId?: string | undefined; category?: string | undefined; quality?: number | undefined },
): ParsedEntry {
  const out: ParsedEntry = { line, algorithm, hash };
  if (extra.externalId !== undefined && extra.externalId !== '') out.externalId = extra.externalId;
  if (extra.category !== undefined && extra.category !== '') out.category = extra.category;
  if (extra.quality !== undefined) out.quality = extra.quality;
  return out;
}

function isListAlgorithm(value: unknown): value is ListAlgorithm {
  return typeof value === 'string' && (LIST_ALGORITHMS as readonly string[]).includes(value);
}

// ---------------------------------------------------------------- plain lists

/** Header words for a plain list, and the algorithm a word names (null: generic). */
const PLAIN_HEADER_WORDS = new Map<string, ListAlgorithm | null>([
  ['hash', null],
  ['hashes', null],
  ['hashvalue', null],
  ['value', null],
  ['md5', 'md5'],
  ['sha1', 'sha1'],
  ['sha256', 'sha256'],
  ['pdq', 'pdq'],
  ['pdqhash', 'pdq'],
  ['blockhash', 'blockhash'],
]);

type ResultBuilder = ReturnType<typeof resultBuilder>;

/**
 * Each line's fields, split with the file's delimiter. A line whose delimiter or quoting is wrong
 * is reported on `out` and skipped; `index` counts every content line, skipped ones included.
 */
function* fieldRows(
  lines: readonly SourceLine[],
  out: ResultBuilder,
  delimiterOf = delimiterTracker(),
): Generator<{ source: SourceLine; fields: string[]; index: number }> {
  for (const [index, source] of lines.entries()) {
    const delimiter = delimiterOf(source);
    const split = delimiter.ok ? splitFields(source.text, delimiter.value) : delimiter;
    if (!split.ok) {
      out.error(source.line, split.message);
      continue;
    }
    yield { source, fields: split.value, index };
  }
}

/**
 * `hash[,id[,category]]`, comma- or tab-separated, one hash per line, `#` comments, optional header.
 * More than three fields is an error: an unexpected shape may mean the columns are not what we think.
 */
export function parsePlainList(text: string, algorithm: ListAlgorithm): ParseResult {
  const out = resultBuilder('plain');
  if (!isListAlgorithm(algorithm)) {
    out.error(0, 'unknown hash algorithm for a plain list');
    return out.finish();
  }
  for (const { source, fields, index } of fieldRows(contentLines(text), out)) {
    const [rawHash = '', externalId, category, ...extra] = fields;
    const hash = checkHash(rawHash, algorithm);

    if (index === 0 && !hash.ok) {
      const named = PLAIN_HEADER_WORDS.get(normaliseName(rawHash));
      if (named !== undefined) {
        // Same-length algorithms (pdq, blockhash, sha256) would otherwise be imported under the wrong name.
        if (named !== null && named !== algorithm) {
          out.error(source.line, `header names ${named} but the list was declared ${algorithm}`);
        }
        continue;
      }
    }
    if (extra.length > 0) {
      out.error(source.line, `expected at most 3 fields (hash, id, category), got ${fields.length}`);
      continue;
    }
    if (!hash.ok) {
      out.error(source.line, hash.message);
      continue;
    }
    out.add(entry(source.line, algorithm, hash.value, { externalId, category }));
  }
  return out.finish();
}

// ---------------------------------------------------------------- ThreatExchange PDQ

const PDQ_HEADER_WORDS = new Set(['hash', 'pdq', 'pdqhash', 'hashvalue', 'value']);

/**
 * ThreatExchange PDQ text, as written by the reference `pdq-photo-hasher`: `hash,quality[,more...]`
 * or `hash<TAB>quality[<TAB>more...]`, bare `hash` lines, and the `--details` form
 * `hash=<hex>,quality=<n>,...`. Columns after quality (the hasher writes the file name there) are
 * ignored: they are not an id we can rely on, and file names are not needed for matching.
 */
export function parseThreatExchangePdq(text: string): ParseResult {
  const out = resultBuilder('threatexchange-pdq');
  for (const { source, fields, index } of fieldRows(contentLines(text), out)) {
    const isFirst = index === 0;
    const head = fields[0] ?? '';

    let rawHash: string;
    let rawQuality: string | undefined;
    if (/^hash=/i.test(head)) {
      // Key=value form: the reference loader strips a leading `hash=`; quality is `quality=<n>`.
      rawHash = head.slice('hash='.length).trim();
      for (const field of fields.slice(1)) {
        const eq = field.indexOf('=');
        if (eq !== -1 && field.slice(0, eq).trim().toLowerCase() === 'quality') {
          rawQuality = field.slice(eq + 1).trim();
        }
      }
    } else {
      rawHash = head;
      rawQuality = fields[1];
    }

    const hash = checkHash(rawHash, 'pdq');
    if (isFirst && !hash.ok && PDQ_HEADER_WORDS.has(normaliseName(rawHash))) continue;
    if (!hash.ok) {
      out.error(source.line, hash.message);
      continue;
    }
    if (rawQuality === undefined) {
      out.add(entry(source.line, 'pdq', hash.value, {}));
      continue;
    }
    const quality = checkQuality(rawQuality);
    if (!quality.ok) {
      out.error(source.line, quality.message);
      continue;
    }
    out.add(entry(source.line, 'pdq', hash.value, { quality: quality.value }));
  }
  return out.finish();
}

// ---------------------------------------------------------------- NCMEC-style CSV

type NcmecRole = ListAlgorithm | 'id' | 'category';

/**
 * Column names, normalised. NCMEC's hash-sharing API names fingerprints `md5`, `sha1`, `pdq`, ...
 * and carries `id` and `classification`; CSV exports built from it are assumed to reuse those names.
 */
const NCMEC_COLUMNS = new Map<string, NcmecRole>([
  ['md5', 'md5'],
  ['md5hash', 'md5'],
  ['md5sum', 'md5'],
  ['sha1', 'sha1'],
  ['sha1hash', 'sha1'],
  ['sha256', 'sha256'],
  ['sha256hash', 'sha256'],
  ['pdq', 'pdq'],
  ['pdqhash', 'pdq'],
  ['id', 'id'],
  ['hashid', 'id'],
  ['externalid', 'id'],
  ['entryid', 'id'],
  ['ncmecid', 'id'],
  ['category', 'category'],
  ['classification', 'category'],
]);

/** A column's name for messages, unless it could itself be a hash (a header-less file). */
function columnLabel(index: number, name: string): string {
  const looksLikeValue = name.length > 40 || /^[0-9a-f]{16,}$/i.test(name);
  return looksLikeValue || name === '' ? `column ${index + 1}` : `column ${index + 1} ("${name}")`;
}

/**
 * NCMEC-style CSV: a header row naming the columns, then one row per record. Every non-empty hash
 * column yields one entry sharing the row's id and category. Columns we do not import (PhotoDNA,
 * timestamps, ...) are reported once as warnings, so nothing is dropped without the operator seeing it.
 */
export function parseNcmecCsv(text: string): ParseResult {
  const out = resultBuilder('ncmec-csv');
  const delimiterOf = delimiterTracker();
  const lines = contentLines(text);
  const [headerLine, ...rows] = lines;
  if (headerLine === undefined) return out.finish();

  const headerDelimiter = delimiterOf(headerLine);
  const header = headerDelimiter.ok ? splitFields(headerLine.text, headerDelimiter.value) : headerDelimiter;
  if (!header.ok) {
    out.error(headerLine.line, header.message);
    return out.finish();
  }

  const hashColumns: { index: number; algorithm: ListAlgorithm }[] = [];
  let idColumn: number | undefined;
  let categoryColumn: number | undefined;
  const seenRoles = new Map<NcmecRole, number>();
  let headerOk = true;
  header.value.forEach((name, index) => {
    const role = NCMEC_COLUMNS.get(normaliseName(name));
    if (role === undefined) {
      out.warn(headerLine.line, `${columnLabel(index, name)} is not an imported column and is ignored`);
      return;
    }
    const earlier = seenRoles.get(role);
    if (earlier !== undefined) {
      out.error(headerLine.line, `columns ${earlier + 1} and ${index + 1} both name ${role}`);
      headerOk = false;
      return;
    }
    seenRoles.set(role, index);
    if (role === 'id') idColumn = index;
    else if (role === 'category') categoryColumn = index;
    else hashColumns.push({ index, algorithm: role });
  });
  if (hashColumns.length === 0) {
    // Without a header naming a hash column there is no safe way to tell which column is which.
    out.error(headerLine.line, 'header row names no hash column (expected md5, sha1, sha256 or pdq)');
    headerOk = false;
  }
  if (!headerOk) {
    // Column warnings about a rejected header are noise (and may describe data, not names).
    return { ...out.finish(), warnings: [] };
  }

  for (const { source, fields } of fieldRows(rows, out, delimiterOf)) {
    if (fields.length !== header.value.length) {
      out.error(source.line, `expected ${header.value.length} fields as in the header, got ${fields.length}`);
      continue;
    }
    const externalId = idColumn === undefined ? undefined : fields[idColumn];
    const category = categoryColumn === undefined ? undefined : fields[categoryColumn];
    let present = 0;
    for (const { index, algorithm } of hashColumns) {
      const raw = fields[index] ?? '';
      if (raw === '') continue;
      present++;
      const hash = checkHash(raw, algorithm);
      if (!hash.ok) {
        out.error(source.line, `${algorithm} column: ${hash.message}`);
        continue;
      }
      out.add(entry(source.line, algorithm, hash.value, { externalId, category }));
    }
    if (present === 0) out.error(source.line, 'row has no hash value');
  }
  return out.finish();
}

// ---------------------------------------------------------------- dispatch

/** Parses `text` as `options.format`; a plain list needs `options.algorithm`. */
export function parseList(text: string, options: { format: ListFormat; algorithm?: ListAlgorithm }): ParseResult {
  switch (options.format) {
    case 'plain':
      if (options.algorithm === undefined) {
        const errors = [{ line: 0, message: 'a plain list needs an algorithm' }];
        return { format: 'plain', entries: [], errors, warnings: [] };
      }
      return parsePlainList(text, options.algorithm);
    case 'threatexchange-pdq':
      return parseThreatExchangePdq(text);
    case 'ncmec-csv':
      return parseNcmecCsv(text);
    default: {
      // Formats arrive from configuration at run time; an unknown one is a value, not a crash.
      const unknown: never = options.format;
      return {
        format: unknown,
        entries: [],
        errors: [{ line: 0, message: 'unknown list format' }],
        warnings: [],
      };
    }
  }
}
