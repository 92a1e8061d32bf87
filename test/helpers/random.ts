/** A seeded xorshift32 generator of unsigned 32-bit integers: the same numbers every run (tests must not depend on luck). */
export function generator(seed: number): () => number {
  let x = seed
  return () => {
    x ^= x << 13
    x ^= x >>> 17
    x ^= x << 5
    return x >>> 0
  }
}
