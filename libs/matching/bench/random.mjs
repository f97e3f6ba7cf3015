// Seeded 32-bit xorshift for the benchmarks: fast enough to fill ten million hashes, and
// reproducible so two runs measure the same data.
export function xorshift(seed) {
  let x = seed >>> 0 || 1;
  return () => {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    return x >>> 0;
  };
}
