// A tiny hand-written WebAssembly binary emitter: LEB128, the module sections we use, and the
// handful of opcodes the Hamming kernel needs. Pure bytes in, bytes out: it never compiles,
// instantiates or validates (callers do that), and it is no general assembler.
// Encoding follows the WebAssembly core spec, section 5 (binary format).

/** A run of encoded bytes; nested arrays are flattened when a body is encoded. */
export type Code = number | readonly Code[];

/** Value types (spec 5.3.1). */
export const I32 = 0x7f;
export const I64 = 0x7e;
export type ValType = typeof I32 | typeof I64;

/** Unsigned LEB128: 7 bits per byte, low group first, high bit set on all but the last byte. */
export function uleb128(value: number): number[] {
  if (!Number.isSafeInteger(value) || value < 0) throw new RangeError(`uleb128: ${value}`);
  const out: number[] = [];
  do {
    // Division, not `>>>`, so values of 2^32 and above (never needed, but valid) stay correct.
    const low = value % 128;
    value = Math.floor(value / 128);
    out.push(value === 0 ? low : low | 0x80);
  } while (value !== 0);
  return out;
}

/** Signed LEB128 (two's complement), as i32.const immediates need. */
export function sleb128(value: number | bigint): number[] {
  let v = BigInt(value);
  const out: number[] = [];
  for (;;) {
    const low = Number(v & 0x7fn);
    v >>= 7n; // arithmetic shift: sign-extends
    // Done once the remaining bits are all copies of the sign bit just emitted (bit 6).
    if ((v === 0n && (low & 0x40) === 0) || (v === -1n && (low & 0x40) !== 0)) {
      out.push(low);
      return out;
    }
    out.push(low | 0x80);
  }
}

/** Flattens nested code into a plain byte list. */
export function flat(code: readonly Code[]): number[] {
  const out: number[] = [];
  const walk = (c: Code): void => {
    if (typeof c === 'number') out.push(c);
    else for (const x of c) walk(x);
  };
  walk(code);
  return out;
}

/** A vector: element count, then the elements (spec 5.1.3). */
export function vec(items: readonly (readonly number[])[]): number[] {
  return [...uleb128(items.length), ...items.flat()];
}

/** A name: UTF-8 byte length, then the bytes. */
export function name(text: string): number[] {
  const bytes = new TextEncoder().encode(text);
  return [...uleb128(bytes.length), ...bytes];
}

/** A section: id byte, byte length, contents (spec 5.5.2). */
export function section(id: number, contents: readonly number[]): number[] {
  return [id, ...uleb128(contents.length), ...contents];
}

export const SECTION = { type: 1, import: 2, function: 3, memory: 5, export: 7, code: 10 } as const;

/** Export / import kinds (spec 5.5.5, 5.5.10). */
export const EXTERN = { func: 0x00, memory: 0x02 } as const;

/** A function type: 0x60, parameter types, result types. */
export function funcType(params: readonly ValType[], results: readonly ValType[]): number[] {
  return [0x60, ...vec(params.map((t) => [t])), ...vec(results.map((t) => [t]))];
}

/** Memory limits: flag 0 = minimum only, 1 = minimum and maximum, in 64 KiB pages. */
export function limits(minPages: number, maxPages?: number): number[] {
  return maxPages === undefined ? [0x00, ...uleb128(minPages)] : [0x01, ...uleb128(minPages), ...uleb128(maxPages)];
}

/**
 * A code-section entry: byte size, then local declarations (run-length: count and type) and the
 * instructions. The closing `end` is appended here so bodies cannot forget it.
 */
export function functionBody(locals: readonly (readonly [count: number, type: ValType])[], code: readonly Code[]): number[] {
  const body = [...vec(locals.map(([n, t]) => [...uleb128(n), t])), ...flat(code), OP.end];
  return [...uleb128(body.length), ...body];
}

/** Opcodes (spec 5.4), in numeric order. Only what the kernel and its benchmark use. */
export const OP = {
  unreachable: 0x00,
  block: 0x02,
  loop: 0x03,
  if: 0x04,
  end: 0x0b,
  br_if: 0x0d,
  local_get: 0x20,
  local_set: 0x21,
  local_tee: 0x22,
  i32_load: 0x28,
  i64_load: 0x29,
  i32_store: 0x36,
  i32_store8: 0x3a,
  i32_const: 0x41,
  i32_eqz: 0x45,
  i32_ne: 0x47,
  i32_gt_u: 0x4b,
  i32_le_u: 0x4d,
  i32_add: 0x6a,
  i32_sub: 0x6b,
  i32_shl: 0x74,
  i32_shr_u: 0x76,
  i64_popcnt: 0x7b,
  i64_add: 0x7c,
  i64_xor: 0x85,
  i32_wrap_i64: 0xa7,
} as const;

/** Block type for blocks that leave nothing on the stack. */
export const VOID = 0x40;

// Instruction helpers, so function bodies read like WAT, one instruction per call.
export const localGet = (i: number): number[] => [OP.local_get, ...uleb128(i)];
export const localSet = (i: number): number[] => [OP.local_set, ...uleb128(i)];
export const localTee = (i: number): number[] => [OP.local_tee, ...uleb128(i)];
export const i32Const = (v: number): number[] => [OP.i32_const, ...sleb128(v)];
// memarg: alignment as log2 bytes (a hint: misaligned accesses are still correct, only slower),
// then a constant byte offset added to the dynamic address.
export const i64Load = (offset = 0, alignLog2 = 3): number[] => [OP.i64_load, ...uleb128(alignLog2), ...uleb128(offset)];
export const i32Load = (offset = 0, alignLog2 = 2): number[] => [OP.i32_load, ...uleb128(alignLog2), ...uleb128(offset)];
export const i32Store = (offset = 0, alignLog2 = 2): number[] => [OP.i32_store, ...uleb128(alignLog2), ...uleb128(offset)];
export const i32Store8 = (offset = 0): number[] => [OP.i32_store8, 0, ...uleb128(offset)];
export const brIf = (depth: number): number[] => [OP.br_if, ...uleb128(depth)];

export interface FunctionSpec {
  readonly name: string;
  readonly params: readonly ValType[];
  readonly results: readonly ValType[];
  readonly locals: readonly (readonly [count: number, type: ValType])[];
  readonly code: readonly Code[];
}

export interface ModuleSpec {
  /** The module's own memory, exported as `export`; or an imported one (`module`.`field`). */
  readonly memory:
    | { readonly export: string; readonly minPages: number; readonly maxPages?: number }
    | { readonly import: readonly [module: string, field: string]; readonly minPages: number };
  /** Every function is exported under its name; none imported, so indices are positions here. */
  readonly functions: readonly FunctionSpec[];
}

/** Assembles a whole module. One type per function: a few duplicate entries cost nothing. */
export function encodeModule(spec: ModuleSpec): Uint8Array<ArrayBuffer> {
  const fns = spec.functions;
  const mem = spec.memory;
  const exports = fns.map((f, i) => [...name(f.name), EXTERN.func, ...uleb128(i)]);
  const bytes = [
    ...[0x00, 0x61, 0x73, 0x6d], // "\0asm"
    ...[0x01, 0x00, 0x00, 0x00], // version 1
    ...section(SECTION.type, vec(fns.map((f) => funcType(f.params, f.results)))),
    ...('import' in mem
      ? section(SECTION.import, vec([[...name(mem.import[0]), ...name(mem.import[1]), EXTERN.memory, ...limits(mem.minPages)]]))
      : []),
    ...section(SECTION.function, vec(fns.map((_, i) => uleb128(i)))),
    ...('export' in mem ? section(SECTION.memory, vec([limits(mem.minPages, mem.maxPages)])) : []),
    ...section(
      SECTION.export,
      vec('export' in mem ? [[...name(mem.export), EXTERN.memory, 0x00], ...exports] : exports),
    ),
    ...section(SECTION.code, vec(fns.map((f) => functionBody(f.locals, f.code)))),
  ];
  return Uint8Array.from(bytes);
}
