/**
 * @module
 * Checks for decoded pixel geometry (shared/mvt's tests and the end-to-end tests): float-tolerant
 * coordinate comparison and the invariants every decoded pixel geometry must satisfy.
 */
import { expect } from 'vitest'
import type { Position } from 'geojson'
import type { PixelGeometry } from '../../shared/mvt/pixel-geometry'

type Nested = number | Nested[]

/** Same nesting and length everywhere, every number within `tol` of the expected one. */
export function expectCoordsClose(actual: unknown, expected: unknown, tol = 1e-6, path = '$'): void {
  if (typeof expected === 'number') {
    expect(typeof actual, `${path} should be a number`).toBe('number')
    const diff = Math.abs((actual as number) - expected)
    expect(diff <= tol, `${path}: ${String(actual)} differs from ${expected} by more than ${tol}`).toBe(true)
    return
  }
  expect(Array.isArray(actual), `${path} should be an array`).toBe(true)
  const a = actual as Nested[]
  const e = expected as Nested[]
  expect(a.length, `${path} length`).toBe(e.length)
  e.forEach((item, i) => expectCoordsClose(a[i], item, tol, `${path}[${i}]`))
}

/** Signed area with the MVT/shoelace formula (positive = clockwise on screen, y down). */
export function ringArea(ring: Position[]): number {
  let sum = 0
  for (let i = 0; i + 1 < ring.length; i++) sum += ring[i]![0]! * ring[i + 1]![1]! - ring[i + 1]![0]! * ring[i]![1]!
  return sum / 2
}

/** The polygons of a Polygon or MultiPolygon. */
export function polygonsOf(g: PixelGeometry): Position[][][] {
  return g.type === 'Polygon' ? [g.coordinates] : g.coordinates
}

/**
 * Invariants of every decoded output: Polygon iff one polygon, rings closed with ≥ 4 positions of
 * finite 2-D numbers, exteriors all wound one way and every hole the other way.
 */
export function expectValidPixelGeometry(g: PixelGeometry): void {
  const polygons = polygonsOf(g)
  if (g.type === 'MultiPolygon') expect(polygons.length).toBeGreaterThan(1)
  expect(polygons.length).toBeGreaterThan(0)
  const exteriorSigns = new Set<number>()
  for (const polygon of polygons) {
    expect(polygon.length).toBeGreaterThan(0)
    polygon.forEach((ring, r) => {
      expect(ring.length, 'ring has ≥ 4 positions').toBeGreaterThanOrEqual(4)
      for (const p of ring) {
        expect(p).toHaveLength(2)
        expect(Number.isFinite(p[0]) && Number.isFinite(p[1])).toBe(true)
      }
      expect(ring[ring.length - 1], 'ring closed').toEqual(ring[0])
      const sign = Math.sign(ringArea(ring))
      expect(sign, 'ring has an area').not.toBe(0)
      if (r === 0) exteriorSigns.add(sign)
      else expect(sign, 'hole wound opposite to its exterior').toBe(-Math.sign(ringArea(polygon[0]!)))
    })
  }
  expect(exteriorSigns.size, 'all exteriors wound the same way').toBe(1)
}
