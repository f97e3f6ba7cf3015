// Per-entry metadata (external id, category) kept off the JavaScript heap. A loaded list of ten
// million entries as one object and string per entry costs hundreds of megabytes the garbage
// collector must mark on every major cycle: pauses of 50-100 ms at a million entries, seconds at
// ten million, landing on upload-time checks. Here the ids are UTF-8 bytes packed into one
// growable buffer and categories (a handful of distinct values) are interned, so the heap holds
// a few typed arrays whatever the list size. Ids are dense and assigned in order.

const NO_ID = 0xffffffff;
const NO_CATEGORY = 0xffff;
const encoder = new TextEncoder();
const decoder = new TextDecoder();

export interface EntryMeta {
  externalId: string | null;
  category: string | null;
}

export class EntryMetadata {
  #count = 0;
  /** Byte offset of each entry's external id in #bytes, NO_ID for none; length in #lengths. */
  #starts = new Uint32Array(1024);
  #lengths = new Uint32Array(1024);
  #categoryCodes = new Uint16Array(1024);
  #bytes = new Uint8Array(16 * 1024);
  #used = 0;
  readonly #categories: string[] = [];
  readonly #categoryCode = new Map<string, number>();

  get count(): number {
    return this.#count;
  }

  /** Appends the metadata of entry `id`, which must be the next id (ids are dense). */
  append(id: number, externalId: string | null | undefined, category: string | null | undefined): void {
    if (id !== this.#count) throw new RangeError(`entry ids are dense: expected ${this.#count}, got ${id}`);
    if (id === this.#starts.length) this.#growEntries(id * 2);
    if (externalId == null) {
      this.#starts[id] = NO_ID;
      this.#lengths[id] = 0;
    } else {
      // At most 3 bytes per UTF-16 unit: reserve that, write, keep what was written.
      this.#reserveBytes(this.#used + externalId.length * 3);
      const { written } = encoder.encodeInto(externalId, this.#bytes.subarray(this.#used));
      this.#starts[id] = this.#used;
      this.#lengths[id] = written;
      this.#used += written;
    }
    this.#categoryCodes[id] = category == null ? NO_CATEGORY : this.#intern(category);
    this.#count++;
  }

  get(id: number): EntryMeta {
    if (!(id >= 0 && id < this.#count)) throw new RangeError(`no entry ${id}`);
    const start = this.#starts[id]!;
    const code = this.#categoryCodes[id]!;
    return {
      externalId: start === NO_ID ? null : decoder.decode(this.#bytes.subarray(start, start + this.#lengths[id]!)),
      category: code === NO_CATEGORY ? null : this.#categories[code]!,
    };
  }

  /** Bytes held, for index memory reporting. */
  byteLength(): number {
    return this.#starts.byteLength + this.#lengths.byteLength + this.#categoryCodes.byteLength + this.#bytes.byteLength;
  }

  #intern(category: string): number {
    let code = this.#categoryCode.get(category);
    if (code === undefined) {
      if (this.#categories.length === NO_CATEGORY) throw new RangeError(`a list may use at most ${NO_CATEGORY} distinct categories`);
      code = this.#categories.push(category) - 1;
      this.#categoryCode.set(category, code);
    }
    return code;
  }

  #growEntries(capacity: number): void {
    this.#starts = grow(this.#starts, capacity);
    this.#lengths = grow(this.#lengths, capacity);
    this.#categoryCodes = grow(this.#categoryCodes, capacity);
  }

  #reserveBytes(needed: number): void {
    if (needed <= this.#bytes.length) return;
    this.#bytes = grow(this.#bytes, Math.max(needed, this.#bytes.length * 2));
  }
}

function grow<T extends Uint8Array | Uint16Array | Uint32Array>(array: T, capacity: number): T {
  const next = new (array.constructor as new (length: number) => T)(capacity);
  next.set(array);
  return next;
}
