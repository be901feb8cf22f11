import { describe, expect, it } from 'vitest'
import { bboxArea, bboxError, bboxWidth, inBbox, sameBbox, splitAtAntimeridian } from './bbox'
import { MAX_LAT } from './tile-math'
import type { Bbox } from './types'

describe('splitAtAntimeridian', () => {
  it('leaves a normal box alone', () => {
    expect(splitAtAntimeridian([-79.54, 8.94, -79.52, 8.96])).toEqual([[-79.54, 8.94, -79.52, 8.96]])
  })
  it('splits a crossing box into its two halves', () => {
    expect(splitAtAntimeridian([179.5, -17, -179.5, -16])).toEqual([
      [179.5, -17, 180, -16],
      [-180, -17, -179.5, -16],
    ])
  })
  it('keeps degenerate boxes (w == e) whole', () => {
    expect(splitAtAntimeridian([10, 20, 10, 20])).toEqual([[10, 20, 10, 20]])
  })
})

describe('inBbox', () => {
  const b: Bbox = [10, 20, 11, 21]
  it('includes all four corners and edges', () => {
    for (const p of [
      [10, 20], [11, 20], [11, 21], [10, 21], // corners
      [10, 20.5], [11, 20.5], [10.5, 20], [10.5, 21], // edges
      [10.5, 20.5],
    ]) expect(inBbox(p, b), String(p)).toBe(true)
  })
  it('excludes points 1e-9 outside each edge', () => {
    for (const p of [
      [10 - 1e-9, 20.5], [11 + 1e-9, 20.5], [10.5, 20 - 1e-9], [10.5, 21 + 1e-9], [11 + 1e-9, 21 + 1e-9],
    ]) expect(inBbox(p, b), String(p)).toBe(false)
  })
  it('holds both sides of the antimeridian for a crossing box', () => {
    const x: Bbox = [179.5, -17, -179.5, -16]
    for (const p of [[179.7, -16.5], [-179.7, -16.5], [180, -16.5], [-180, -16.5], [179.5, -17], [-179.5, -16]])
      expect(inBbox(p, x), String(p)).toBe(true)
    for (const p of [[0, -16.5], [179.5 - 1e-9, -16.5], [-179.5 + 1e-9, -16.5], [179.7, -16 + 1e-9]])
      expect(inBbox(p, x), String(p)).toBe(false)
  })
  it('treats non-finite or missing coordinates as outside', () => {
    expect(inBbox([Number.NaN, 20.5], b)).toBe(false)
    expect(inBbox([10.5], b)).toBe(false)
    expect(inBbox([], b)).toBe(false)
  })
})

describe('bboxArea', () => {
  it('is lon span × lat span, antimeridian-aware', () => {
    expect(bboxArea([0, 0, 2, 3])).toBe(6)
    expect(bboxArea([179.5, -17, -179.5, -16])).toBe(1)
    expect(bboxArea([10, 20, 10, 20])).toBe(0)
    expect(bboxArea([-180, -MAX_LAT, 180, MAX_LAT])).toBeCloseTo(360 * 2 * MAX_LAT)
  })
})

describe('bboxError', () => {
  it('accepts valid boxes, crossing and degenerate ones included', () => {
    expect(bboxError([-79.54, 8.94, -79.52, 8.96])).toBeNull()
    expect(bboxError([179.5, -17, -179.5, -16])).toBeNull()
    expect(bboxError([10, 20, 10, 20])).toBeNull()
  })
  it('names what is wrong', () => {
    expect(bboxError([0, 10, 1, 5])).toBe('south 10 is greater than north 5')
    expect(bboxError([-181, 0, 1, 1])).toBe('west -181 is outside [-180, 180]')
    expect(bboxError([0, 0, 181, 1])).toBe('east 181 is outside [-180, 180]')
    expect(bboxError([0, -86, 1, 1])).toBe('south -86 is outside [-85.0511, 85.0511]')
    expect(bboxError([0, 0, 1, 86])).toBe('north 86 is outside [-85.0511, 85.0511]')
    expect(bboxError([0, 0, Number.NaN, 1])).toBe('east NaN is not a finite number')
    expect(bboxError([0, 0, 1])).toBe('needs 4 numbers west,south,east,north; got 3')
  })
  it('bounds latitudes where the public contract does: 85.0511, short of the tiles’ 85.05112878', () => {
    expect(bboxError([-180, -85.0511, 180, 85.0511])).toBeNull()
    expect(bboxError([0, 0, 1, 85.05111])).toMatch(/^north 85.05111 is outside/)
  })
})

// Found by mutation testing (`npm run mutate`): each test below pins a value a mutant changed.
describe('bbox predicates, pinned', () => {
  it('sameBbox: all four numbers equal', () => {
    const b: Bbox = [1, 2, 3, 4]
    expect(sameBbox(b, [1, 2, 3, 4])).toBe(true)
    expect([[0, 2, 3, 4], [1, 0, 3, 4], [1, 2, 0, 4], [1, 2, 3, 0]].map((o) => sameBbox(b, o as Bbox))).toEqual([false, false, false, false])
  })

  it('inBbox: a line box holds its line only; a NaN latitude is outside', () => {
    const line: Bbox = [10, 20, 10, 21]
    expect([[10, 20.5], [11, 20.5], [9, 20.5], [-170, 20.5]].map((p) => inBbox(p, line))).toEqual([true, false, false, false])
    expect(inBbox([10.5, Number.NaN], [10, 20, 11, 21])).toBe(false)
  })

  it('a line box has no width and no area', () => {
    expect(bboxWidth([5, 0, 5, 1])).toBe(0)
    expect(bboxArea([10, 20, 10, 21])).toBe(0)
  })

  it('bboxError checks both bounds of both longitudes', () => {
    expect(bboxError([181, 0, 1, 1])).toBe('west 181 is outside [-180, 180]')
    expect(bboxError([0, 0, -181, 1])).toBe('east -181 is outside [-180, 180]')
    expect(bboxError([0, 0, 1, 1, 1])).toBe('needs 4 numbers west,south,east,north; got 5')
    expect(bboxError([Number.POSITIVE_INFINITY, 0, 1, 1])).toBe('west Infinity is not a finite number')
  })
})
