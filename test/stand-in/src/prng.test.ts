import { describe, expect, it } from 'vitest'
import { cumulative, hash32, Rng } from './prng'

describe('prng', () => {
  it('is deterministic per seed and differs across seeds', () => {
    const a = new Rng(42)
    const b = new Rng(42)
    const c = new Rng(43)
    const xs = Array.from({ length: 5 }, () => a.next())
    expect(Array.from({ length: 5 }, () => b.next())).toEqual(xs)
    expect(Array.from({ length: 5 }, () => c.next())).not.toEqual(xs)
    for (const x of xs) expect(x >= 0 && x < 1).toBe(true)
  })

  it('makes Graph-looking ids', () => {
    const r = new Rng(1)
    for (let i = 0; i < 200; i++) {
      expect(r.numericId()).toMatch(/^[1-9]\d{14}$/)
      expect(r.numericId(9)).toMatch(/^[1-9]\d{8}$/)
      expect(r.alnum()).toMatch(/^[A-Za-z0-9]{22}$/)
    }
  })

  it('hashes stably and spreads', () => {
    expect(hash32('a', 1)).toBe(hash32('a', 1))
    expect(hash32('a', 1)).not.toBe(hash32('a', 2))
    expect(hash32('ab')).not.toBe(hash32('a', 'b'))
  })

  it('draws integers in range, weighted picks and shuffles', () => {
    const r = new Rng(9)
    const counts = [0, 0, 0]
    const table = cumulative([1, 0, 3])
    for (let i = 0; i < 4000; i++) {
      const v = r.int(2, 4)
      expect(v >= 2 && v <= 4).toBe(true)
      counts[r.fromCumulative(table)]!++
      counts[r.weighted([1, 0, 3])]!++
    }
    expect(counts[1]).toBe(0)
    expect(counts[2]! / counts[0]!).toBeGreaterThan(2.5)
    const arr = [1, 2, 3, 4, 5, 6]
    expect([...r.shuffle(arr)].sort()).toEqual([1, 2, 3, 4, 5, 6])
  })
})
