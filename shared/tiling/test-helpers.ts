/**
 * @module
 * Test-only helpers for the tiling tests: a seeded PRNG and the cover invariants.
 */
import { expect } from 'vitest'
import { inBbox, intersectBbox, splitAtAntimeridian } from './bbox'
import { tileToBbox } from './tile-math'
import type { Bbox, Cell } from './types'

/** mulberry32: tiny, seeded, good enough for test data. */
export function prng(seed: number): () => number {
  return () => {
    seed = (seed + 0x6d2b79f5) | 0
    let t = Math.imul(seed ^ (seed >>> 15), 1 | seed)
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296
  }
}

/** Points of a non-crossing box worth checking: corners, edge midpoints, random interior points. */
export function samplePoints(b: Bbox, rnd: () => number, n = 200): [number, number][] {
  const [w, s, e, n_] = b
  const pts: [number, number][] = [
    [w, s], [e, s], [e, n_], [w, n_], [(w + e) / 2, s], [(w + e) / 2, n_], [w, (s + n_) / 2], [e, (s + n_) / 2],
  ]
  for (let i = 0; i < n; i++) pts.push([w + rnd() * (e - w), s + rnd() * (n_ - s)])
  return pts
}

/**
 * Cover invariants: every cell is tile ∩ box and inside the box, no two cells repeat a request,
 * no empty cell (zero width only for a degenerate box part), and every sampled point of the box
 * lies in some cell.
 */
export function expectCovers(b: Bbox, cells: Cell[], rnd: () => number): void {
  expect(cells.length).toBeGreaterThan(0)
  const halves = splitAtAntimeridian(b)
  const keys = new Set(cells.map((c) => c.bbox.join(',')))
  expect(keys.size).toBe(cells.length)
  for (const c of cells) {
    const [w, s, e, n] = c.bbox
    const half = halves.find((h) => intersectBbox(h, c.bbox))
    expect(half, `cell ${c.bbox} outside ${b}`).toBeDefined()
    expect(c.bbox).toEqual(intersectBbox(tileToBbox(c.tile), half!))
    if (half![0] !== half![2]) expect(e).toBeGreaterThan(w)
    if (half![1] !== half![3]) expect(n).toBeGreaterThan(s)
  }
  for (const half of halves) {
    for (const p of samplePoints(half, rnd)) {
      expect(cells.some((c) => inBbox(p, c.bbox)), `point ${p} not covered`).toBe(true)
    }
  }
}
