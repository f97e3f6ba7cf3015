// Maps object keys to relative directory paths for FsObjectStore, such that a walk of the tree
// that sorts siblings by `sortKey` yields keys in S3's UTF-8 byte order. Pure; the adapter does
// the I/O. No key can produce `.`/`..`, an absolute path or a separator, whatever it contains.
//
// A key is split at `/` into segments; each becomes one directory level (so keys fan out the way
// their owners structured them, and no directory holds a whole bucket). Entry names are a type
// letter plus the segment's bytes, escaped:
//   d<seg>  the key continues with seg + '/'       (a "folder")
//   c<seg>  the key continues with seg, exactly CHUNK bytes of a longer segment (names stay < 255 bytes)
//   o<seg>  the key ends with seg: the object's node, holding its versions
// Siblings' key prefixes are then prefix-free except for `o` (an exact key sorts before everything
// that extends it), which is what makes "sort siblings, recurse" produce byte order.
// The escaping keeps only [a-z0-9_-]; uppercase, dots and all non-ASCII become %XX, so names are
// the same on case-insensitive or normalizing filesystems (macOS, Windows) and never end in a dot.

export const CHUNK = 80;
const KEEP = /^[a-z0-9_-]$/;

export type EntryKind = 'd' | 'c' | 'o';

export interface PathEntry {
  readonly kind: EntryKind;
  readonly bytes: Buffer;
}

function escape(bytes: Buffer): string {
  let out = '';
  for (const byte of bytes) {
    const char = String.fromCharCode(byte);
    out += byte < 0x80 && KEEP.test(char) ? char : `%${byte.toString(16).padStart(2, '0')}`;
  }
  return out;
}

/** The directory entries (outermost first) under which the key's versions live. */
export function keyToEntries(key: string): PathEntry[] {
  const bytes = Buffer.from(key, 'utf8');
  const entries: PathEntry[] = [];
  let start = 0;
  for (;;) {
    const slash = bytes.indexOf(0x2f, start);
    const end = slash === -1 ? bytes.length : slash;
    let at = start;
    // Fixed-length chunks only: a chunk entry always holds exactly CHUNK bytes and the final piece
    // fewer, which keeps siblings prefix-free (see the module comment).
    while (end - at >= CHUNK) {
      entries.push({ kind: 'c', bytes: bytes.subarray(at, at + CHUNK) });
      at += CHUNK;
    }
    if (slash === -1) {
      entries.push({ kind: 'o', bytes: bytes.subarray(at, end) });
      return entries;
    }
    entries.push({ kind: 'd', bytes: bytes.subarray(at, end) });
    start = slash + 1;
  }
}

export function entryName(entry: PathEntry): string {
  return entry.kind + escape(entry.bytes);
}

/** The relative path (with `/` separators) of a key's node. */
export function keyToPath(key: string): string {
  return keyToEntries(key).map(entryName).join('/');
}

/** Parses a directory entry name; null for anything this module did not write. */
export function parseEntryName(name: string): PathEntry | null {
  const kind = name[0];
  if (kind !== 'd' && kind !== 'c' && kind !== 'o') return null;
  const bytes: number[] = [];
  for (let i = 1; i < name.length; i++) {
    const char = name[i]!;
    if (char === '%') {
      const hex = name.slice(i + 1, i + 3);
      if (!/^[0-9a-f]{2}$/.test(hex)) return null;
      bytes.push(Number.parseInt(hex, 16));
      i += 2;
    } else if (KEEP.test(char)) {
      bytes.push(char.charCodeAt(0));
    } else {
      return null;
    }
  }
  const buffer = Buffer.from(bytes);
  if (kind === 'c' && buffer.length !== CHUNK) return null;
  return { kind, bytes: buffer };
}

/** The key bytes an entry contributes: a folder contributes its trailing slash too. */
export function entryKeyBytes(entry: PathEntry): Buffer {
  return entry.kind === 'd' ? Buffer.concat([entry.bytes, Buffer.from('/')]) : entry.bytes;
}
