// Exact-digest lists (MD5, SHA-1, SHA-256: NCMEC's lists run to millions of entries) as an
// open-addressing hash table over packed bytes: the digests in one buffer, the slots in an
// Int32Array. A Map keyed by hex strings would put one string and one array per entry on the
// JavaScript heap, which the garbage collector marks on every major cycle (see entry-metadata).
// Ids are dense, assigned in order and never reused; removal marks the id, and a growth rehash
// drops removed ids from the slots.

const EMPTY = -1;

export class DigestTable {
  readonly digestBytes: number;
  #digests: Uint8Array;
  #removed: Uint8Array;
  #count = 0;
  #live = 0;
  /** Ids by slot, EMPTY where free; power-of-two length, at most half full. */
  #slots: Int32Array;

  constructor(digestBytes: number, expectedSize = 0) {
    if (!Number.isInteger(digestBytes) || digestBytes < 4) throw new RangeError('digests need at least 4 bytes');
    this.digestBytes = digestBytes;
    const capacity = Math.max(1024, expectedSize);
    this.#digests = new Uint8Array(capacity * digestBytes);
    this.#removed = new Uint8Array(capacity);
    this.#slots = new Int32Array(slotCountFor(capacity)).fill(EMPTY);
  }

  /** Live entries. */
  get size(): number {
    return this.#live;
  }

  /** Stores a digest (duplicates allowed: each gets its own id); returns its id. */
  add(digest: Uint8Array): number {
    this.#check(digest);
    const id = this.#count;
    if (id === this.#removed.length) this.#growEntries(id * 2);
    if (2 * (this.#count + 1) > this.#slots.length) this.#rehash(this.#slots.length * 2);
    this.#digests.set(digest, id * this.digestBytes);
    this.#count++;
    this.#live++;
    this.#insert(id);
    return id;
  }

  /** Live ids whose digest equals `digest`, in id order. */
  lookup(digest: Uint8Array): number[] {
    this.#check(digest);
    const ids: number[] = [];
    const mask = this.#slots.length - 1;
    for (let slot = slotOf(digest, 0) & mask; ; slot = (slot + 1) & mask) {
      const id = this.#slots[slot]!;
      if (id === EMPTY) break;
      if (this.#removed[id] === 0 && this.#equals(id, digest)) ids.push(id);
    }
    return ids.sort((a, b) => a - b);
  }

  /** Removes every live entry with this digest; returns their ids. */
  remove(digest: Uint8Array): number[] {
    const ids = this.lookup(digest);
    for (const id of ids) this.#removed[id] = 1;
    this.#live -= ids.length;
    return ids;
  }

  byteLength(): number {
    return this.#digests.byteLength + this.#removed.byteLength + this.#slots.byteLength;
  }

  #check(digest: Uint8Array): void {
    if (digest.length !== this.digestBytes) throw new RangeError(`expected a ${this.digestBytes}-byte digest`);
  }

  #insert(id: number): void {
    const mask = this.#slots.length - 1;
    let slot = slotOf(this.#digests, id * this.digestBytes) & mask;
    while (this.#slots[slot] !== EMPTY) slot = (slot + 1) & mask;
    this.#slots[slot] = id;
  }

  #equals(id: number, digest: Uint8Array): boolean {
    const base = id * this.digestBytes;
    for (let i = 0; i < this.digestBytes; i++) if (this.#digests[base + i] !== digest[i]) return false;
    return true;
  }

  #growEntries(capacity: number): void {
    const digests = new Uint8Array(capacity * this.digestBytes);
    digests.set(this.#digests);
    this.#digests = digests;
    const removed = new Uint8Array(capacity);
    removed.set(this.#removed);
    this.#removed = removed;
  }

  #rehash(slotCount: number): void {
    this.#slots = new Int32Array(Math.max(slotCount, slotCountFor(this.#live + 1))).fill(EMPTY);
    for (let id = 0; id < this.#count; id++) if (this.#removed[id] === 0) this.#insert(id);
  }
}

function slotCountFor(entries: number): number {
  let slots = 2048;
  while (slots < 2 * entries) slots *= 2;
  return slots;
}

/** The first four bytes, mixed: cryptographic digests are uniform, the mix guards odd inputs. */
function slotOf(bytes: Uint8Array, offset: number): number {
  const word = (bytes[offset]! << 24) | (bytes[offset + 1]! << 16) | (bytes[offset + 2]! << 8) | bytes[offset + 3]!;
  return Math.imul(word ^ (word >>> 16), 0x45d9f3b) >>> 0;
}
