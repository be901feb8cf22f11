/**
 * @module
 * Test-only helpers for the tiling tests: a seeded PRNG and the cover invariants.
 */
import { expect } from 'vitest'
import { inBbox, splitAtAntimeridian } from './bbox'
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

/** Area of a non-crossing box in square degrees. */
export function areaOf([w, s, e, n]: Bbox): number {
  return (e - w) * (n - s)
}

/**
 * Cover invariants: every cell lies inside one antimeridian half of the box and never crosses,
 * no two cells repeat a request, no cell has zero width (or height) unless that half does, and
 * every sampled point of the box lies in some cell.
 */
export function expectCovers(b: Bbox, cells: Cell[], rnd: () => number): void {
  expect(cells.length).toBeGreaterThan(0)
  const halves = splitAtAntimeridian(b)
  const keys = new Set(cells.map((c) => c.bbox.join(',')))
  expect(keys.size).toBe(cells.length)
  for (const c of cells) {
    const [w, s, e, n] = c.bbox
    expect(w).toBeLessThanOrEqual(e)
    const half = halves.find((h) => w >= h[0] && e <= h[2] && s >= h[1] && n <= h[3])
    expect(half, `cell ${c.bbox} outside ${b}`).toBeDefined()
    if (half![0] !== half![2]) expect(e).toBeGreaterThan(w)
    if (half![1] !== half![3]) expect(n).toBeGreaterThan(s)
  }
  for (const half of halves) {
    for (const p of samplePoints(half, rnd)) {
      expect(cells.some((c) => inBbox(p, c.bbox)), `point ${p} not covered`).toBe(true)
    }
  }
}

/**
 * Split invariants: the children cover the parent (sampled points), lie inside it, repeat no
 * request, have width and height wherever the parent does, and do not overlap (their areas add
 * up to the parent's).
 */
export function expectPartition(parent: Bbox, children: Cell[], rnd: () => number): void {
  expectCovers(parent, children, rnd)
  const sum = children.reduce((a, c) => a + areaOf(c.bbox), 0)
  expect(Math.abs(sum - areaOf(parent))).toBeLessThanOrEqual(1e-9 * Math.max(areaOf(parent), 1e-12))
}
