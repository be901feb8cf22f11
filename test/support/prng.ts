/**
 * @module
 * A seeded pseudo-random source for test data, so every run draws the same numbers.
 */

/**
 * mulberry32: tiny, seeded, good enough for test data; numbers in [0, 1).
 * @example const rnd = prng(42); rnd() // the same first number on every run
 */
export function prng(seed: number): () => number {
  return () => {
    seed = (seed + 0x6d2b79f5) | 0
    let t = Math.imul(seed ^ (seed >>> 15), 1 | seed)
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296
  }
}
