// The join's inner loop in WebAssembly (SIMD): for one table and a page of queries, every
// candidate filed under each query's bucket is checked on 128 further bits at once (xor,
// i8x16.popcnt, pairwise sums) and only pairs within the radius on those bits are returned for
// the full 256-bit check. Hand-assembled (a few dozen instructions: no toolchain needed); the
// JavaScript path in delta-join.ts computes the same and is used where SIMD is unavailable.
// Pure: no I/O.

/** join(queries, rows, offsets, check, keyWord, high, c0, c1, c2, c3, radius, out, outCap, order) -> pairs written. */
export interface JoinKernel {
  memory: WebAssembly.Memory;
  join(queries: number, rows: number, offsets: number, check: number, keyWord: number, high: number, c0: number, c1: number, c2: number, c3: number, radius: number, out: number, outCap: number, order: number): number;
}

// Opcodes (core and the 0xfd SIMD prefix).
const I32 = 0x7f;
const V128 = 0x7b;
const op = {
  block: 0x02, loop: 0x03, if: 0x04, end: 0x0b, br: 0x0c, brIf: 0x0d, localGet: 0x20, localSet: 0x21, localTee: 0x22,
  i32Load: 0x28, i32Store: 0x36, i32Const: 0x41, i32Eqz: 0x45, i32GeU: 0x4f, i32LeU: 0x4d, i32Add: 0x6a, i32Mul: 0x6c, i32And: 0x71,
  i32ShrU: 0x76, i32Shl: 0x74, select: 0x1b, else_: 0x05,
};
const simd = (code: number) => [0xfd, ...uleb(code)];
const V128_LOAD = 0x00;
const I32X4_SPLAT = 0x11;
const I32X4_EXTRACT = 0x1b;
const I32X4_REPLACE = 0x1c;
const V128_XOR = 0x51;
const I8X16_POPCNT = 0x62;
const I16X8_EXTADD_U = 0x7d;
const I32X4_EXTADD_U = 0x7f;

function uleb(n: number): number[] {
  const out: number[] = [];
  do {
    let byte = n & 0x7f;
    n >>>= 7;
    if (n !== 0) byte |= 0x80;
    out.push(byte);
  } while (n !== 0);
  return out;
}

function sleb(n: number): number[] {
  const out: number[] = [];
  for (;;) {
    const byte = n & 0x7f;
    n >>= 7;
    if ((n === 0 && (byte & 0x40) === 0) || (n === -1 && (byte & 0x40) !== 0)) {
      out.push(byte);
      return out;
    }
    out.push(byte | 0x80);
  }
}

const section = (id: number, body: number[]) => [id, ...uleb(body.length), ...body];
const vec = (items: number[][]) => [...uleb(items.length), ...items.flat()];
const str = (s: string) => [...uleb(s.length), ...Buffer.from(s, 'utf8')];

// Parameters 0..12, then locals.
const P = { queries: 0, rows: 1, offsets: 2, check: 3, keyWord: 4, high: 5, c0: 6, c1: 7, c2: 8, c3: 9, radius: 10, out: 11, cap: 12, order: 13 };
const L = { row: 14, qa: 15, key: 16, p: 17, end: 18, n: 19, i: 20, q: 21 };
const V = { qc: 22, x: 23 };

function body(): number[] {
  const get = (i: number) => [op.localGet, ...uleb(i)];
  const set = (i: number) => [op.localSet, ...uleb(i)];
  const c = (v: number) => [op.i32Const, ...sleb(v)];
  const load = (offset = 0) => [op.i32Load, 2, ...uleb(offset)];
  const word = (param: number) => [...get(L.qa), ...get(param), ...c(2), op.i32Shl, op.i32Add, ...load()];
  return [
    ...c(0), ...set(L.n),
    ...c(0), ...set(L.i),
    op.block, 0x40, op.loop, 0x40,
    // row loop: exit when i >= rows; rows come in bucket order, 5 words each (row i at queries + 20 i;
    // order[i] is its page row), so both the rows and the table are read in sequence
    ...get(L.i), ...get(P.rows), op.i32GeU, op.brIf, 1,
    ...get(P.order), ...get(L.i), ...c(2), op.i32Shl, op.i32Add, ...load(), ...set(L.row),
    ...get(P.queries), ...get(L.i), ...c(20), op.i32Mul, op.i32Add, ...set(L.qa),
    // q = word keyWord; key = high ? q >>> 16 : q & 0xffff
    ...word(P.keyWord), ...set(L.q),
    ...get(L.q), ...c(16), op.i32ShrU, ...get(L.q), ...c(0xffff), op.i32And, ...get(P.high), op.select, ...set(L.key),
    // qc = [w(c0), w(c1), w(c2), w(c3)]
    ...word(P.c0), ...simd(I32X4_SPLAT),
    ...word(P.c1), ...simd(I32X4_REPLACE), 1,
    ...word(P.c2), ...simd(I32X4_REPLACE), 2,
    ...word(P.c3), ...simd(I32X4_REPLACE), 3,
    op.localSet, ...uleb(V.qc),
    // p = offsets[key], end = offsets[key + 1]
    ...get(P.offsets), ...get(L.key), ...c(2), op.i32Shl, op.i32Add, op.localTee, ...uleb(L.end), ...load(), ...set(L.p),
    ...get(L.end), ...load(4), ...set(L.end),
    op.block, 0x40, op.loop, 0x40,
    ...get(L.p), ...get(L.end), op.i32GeU, op.brIf, 1,
    // x = popcnt(check[p] ^ qc), summed
    ...get(P.check), ...get(L.p), ...c(4), op.i32Shl, op.i32Add, ...simd(V128_LOAD), 4, 0,
    op.localGet, ...uleb(V.qc), ...simd(V128_XOR), ...simd(I8X16_POPCNT), ...simd(I16X8_EXTADD_U), ...simd(I32X4_EXTADD_U),
    op.localTee, ...uleb(V.x), ...simd(I32X4_EXTRACT), 0,
    op.localGet, ...uleb(V.x), ...simd(I32X4_EXTRACT), 1, op.i32Add,
    op.localGet, ...uleb(V.x), ...simd(I32X4_EXTRACT), 2, op.i32Add,
    op.localGet, ...uleb(V.x), ...simd(I32X4_EXTRACT), 3, op.i32Add,
    ...get(P.radius), op.i32LeU,
    op.if, 0x40,
    // out[n] = row, out[n+1] = p (when room: the caller re-runs a page whose output filled up)
    ...get(L.n), ...get(P.cap), op.i32GeU, op.if, 0x40, ...get(L.n), ...c(2), op.i32Add, ...set(L.n), op.else_,
    ...get(P.out), ...get(L.n), ...c(2), op.i32Shl, op.i32Add, ...get(L.row), op.i32Store, 2, 0,
    ...get(P.out), ...get(L.n), ...c(2), op.i32Shl, op.i32Add, ...get(L.p), op.i32Store, 2, 4,
    ...get(L.n), ...c(2), op.i32Add, ...set(L.n),
    op.end,
    op.end,
    ...get(L.p), ...c(1), op.i32Add, ...set(L.p),
    op.br, 0,
    op.end, op.end,
    ...get(L.i), ...c(1), op.i32Add, ...set(L.i),
    op.br, 0,
    op.end, op.end,
    ...get(L.n),
  ];
}

export function encodeJoinKernel(): Uint8Array<ArrayBuffer> {
  const params = Array(14).fill(I32);
  const type = section(1, vec([[0x60, ...vec(params.map((p) => [p])), ...vec([[I32]])]]));
  const func = section(3, vec([[0]]));
  const memory = section(5, vec([[0x00, ...uleb(1)]]));
  const exports = section(7, vec([[...str('memory'), 0x02, 0], [...str('join'), 0x00, 0]]));
  const code = body();
  const locals = vec([[...uleb(8), I32], [...uleb(2), V128]]);
  const fn = [...locals, ...code, op.end];
  const codeSection = section(10, vec([[...uleb(fn.length), ...fn]]));
  return new Uint8Array([0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00, ...type, ...func, ...memory, ...exports, ...codeSection]);
}

let compiled: WebAssembly.Module | null | undefined;

/** A kernel instance with its own memory, or null where WebAssembly SIMD is unavailable. */
export function createJoinKernel(): JoinKernel | null {
  if (compiled === undefined) {
    try {
      compiled = new WebAssembly.Module(encodeJoinKernel());
    } catch {
      compiled = null;
    }
  }
  if (!compiled) return null;
  const exports = new WebAssembly.Instance(compiled).exports as unknown as JoinKernel;
  return { memory: exports.memory, join: exports.join };
}
