/**
 * @module
 * Small deterministic randomness for the sandbox world: a 32-bit string hash (FNV-1a) to derive
 * seeds from ids, and mulberry32 as the generator. Pure, no platform APIs.
 */

/** FNV-1a over the UTF-16 code units of the given parts (joined by '\u0000'), as an unsigned 32-bit int. */
export function hash32(...parts: Array<string | number>): number {
  let h = 0x811c9dc5
  const s = parts.map(String).join('\u0000')
  for (let i = 0; i < s.length; i++) {
    h ^= s.charCodeAt(i)
    h = Math.imul(h, 0x01000193)
  }
  // Final avalanche (murmur3 fmix32) so nearby strings give unrelated seeds.
  h ^= h >>> 16
  h = Math.imul(h, 0x85ebca6b)
  h ^= h >>> 13
  h = Math.imul(h, 0xc2b2ae35)
  h ^= h >>> 16
  return h >>> 0
}

const ALNUM = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789'

/** A seeded generator (mulberry32). Same seed, same sequence, on every platform. */
export class Rng {
  private state: number

  constructor(seed: number) {
    this.state = seed >>> 0
  }

  /** Uniform in [0, 1). */
  next(): number {
    this.state = (this.state + 0x6d2b79f5) >>> 0
    let t = this.state
    t = Math.imul(t ^ (t >>> 15), t | 1)
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61)
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296
  }

  /** Integer in [lo, hi] (both included). */
  int(lo: number, hi: number): number {
    return lo + Math.floor(this.next() * (hi - lo + 1))
  }

  /** Uniform float in [lo, hi). */
  range(lo: number, hi: number): number {
    return lo + this.next() * (hi - lo)
  }

  /** True with probability p. */
  chance(p: number): boolean {
    return this.next() < p
  }

  pick<T>(items: readonly T[]): T {
    if (items.length === 0) throw new RangeError('pick from an empty list')
    return items[Math.floor(this.next() * items.length)]!
  }

  /** Index drawn with the given (non-negative) weights. */
  weighted(weights: readonly number[]): number {
    const total = weights.reduce((a, b) => a + b, 0)
    let r = this.next() * total
    for (let i = 0; i < weights.length; i++) {
      r -= weights[i]!
      if (r < 0) return i
    }
    return weights.length - 1
  }

  /** Index drawn from a precomputed `cumulative(weights)` table (faster in hot loops). */
  fromCumulative(table: Float64Array): number {
    const r = this.next() * table[table.length - 1]!
    for (let i = 0; i < table.length; i++) if (r < table[i]!) return i
    return table.length - 1
  }

  /** Fisher–Yates, in place; returns the same array. */
  shuffle<T>(items: T[]): T[] {
    for (let i = items.length - 1; i > 0; i--) {
      const j = Math.floor(this.next() * (i + 1))
      const tmp = items[i]!
      items[i] = items[j]!
      items[j] = tmp
    }
    return items
  }

  /** A numeric-string id of exactly `digits` digits (no leading zero), like Graph API ids. */
  numericId(digits = 15): string {
    if (digits === 15) {
      // Two draws: 8 leading digits (no leading zero) and 7 trailing ones; < 2^53, so exact.
      const hi = 10_000_000 + Math.floor(this.next() * 90_000_000)
      const lo = Math.floor(this.next() * 10_000_000)
      return String(hi * 10_000_000 + lo)
    }
    let s = String(this.int(1, 9))
    while (s.length < digits) {
      const chunk = Math.min(7, digits - s.length)
      s += String(Math.floor(this.next() * 10 ** chunk)).padStart(chunk, '0')
    }
    return s
  }

  /** An alphanumeric key like a Mapillary sequence id (22 characters by default). */
  alnum(length = 22): string {
    let s = ''
    for (let i = 0; i < length; i++) s += ALNUM[Math.floor(this.next() * ALNUM.length)]
    return s
  }
}

/** Running sums of `weights`, for `Rng.fromCumulative`. */
export function cumulative(weights: readonly number[]): Float64Array {
  const out = new Float64Array(weights.length)
  let sum = 0
  weights.forEach((w, i) => (out[i] = sum += w))
  return out
}
