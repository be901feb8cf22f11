import { describe, expect, it } from 'vitest'
import { fixedZ18Tiles, planCells, splitCell } from './plan-cells'
import { expectCovers, prng } from './test-helpers'
import { pointToTile, tileToBbox } from './tile-math'
import type { Bbox, Cell } from './types'

const rnd = prng(42)
const PANAMA: Bbox = [-79.545, 8.935, -79.515, 8.965]

describe('planCells', () => {
  it('a small sparse box costs at most 4 start cells, the FAQ method hundreds', () => {
    const cells = planCells(PANAMA)
    expect(cells.length).toBeGreaterThanOrEqual(1)
    expect(cells.length).toBeLessThanOrEqual(4)
    expectCovers(PANAMA, cells, rnd)
    expect(fixedZ18Tiles(PANAMA).length).toBeGreaterThan(400)
  })

  it('picks the deepest zoom with at most maxStartCells cells', () => {
    // Tile lines near 0,0: z5 still cuts [-10..10]² into 4, z6 into 16.
    const cells = planCells([-10, -10, 10, 10], { maxCellSpanDeg: 360 })
    expect(cells.map((c) => c.tile)).toEqual([[15, 15, 5], [16, 15, 5], [15, 16, 5], [16, 16, 5]])
    expect(cells[0]!.bbox).toEqual([-10, tileToBbox([15, 15, 5])[1], 0, 10])
    expect(cells[3]!.bbox).toEqual([0, -10, 10, tileToBbox([16, 16, 5])[3]])
    expectCovers([-10, -10, 10, 10], cells, rnd)
  })

  it('maxStartCells: 1 gives the single deepest tile holding the whole box', () => {
    const cells = planCells(PANAMA, { maxStartCells: 1 })
    expect(cells).toHaveLength(1)
    expect(cells[0]!.bbox).toEqual(PANAMA)
    expect(splitCell(cells[0]!, PANAMA).length).toBeGreaterThan(1) // splitting it really narrows
  })

  it('the span limit wins over the count for a large box', () => {
    const b: Bbox = [-3, -3, 3, 3]
    const cells = planCells(b)
    expect(cells.length).toBeGreaterThan(4)
    for (const c of cells) {
      expect(c.bbox[2] - c.bbox[0]).toBeLessThanOrEqual(1)
      expect(c.bbox[3] - c.bbox[1]).toBeLessThanOrEqual(1)
      expect(c.tile[2]).toBe(9) // the coarsest zoom whose tiles are ≤ 1° (z8 is 1.4°)
    }
    expectCovers(b, cells, rnd)
  })

  it('covers both sides of the antimeridian', () => {
    const b: Bbox = [179.5, -17, -179.5, -16]
    const cells = planCells(b)
    expectCovers(b, cells, rnd)
    expect(cells.some((c) => c.bbox[2] === 180)).toBe(true)
    expect(cells.some((c) => c.bbox[0] === -180)).toBe(true)
    for (const c of cells) expect(c.bbox[0]).toBeLessThanOrEqual(c.bbox[2]) // never crossing
  })

  it('a box ending exactly at lon -180 keeps a cell for that meridian', () => {
    const b: Bbox = [179.9, 0, -180, 0.1]
    const cells = planCells(b)
    expectCovers(b, cells, rnd)
    expect(cells.some((c) => c.bbox[0] === -180 && c.bbox[2] === -180)).toBe(true)
  })

  it('random boxes: cells cover the box, none empty, none repeated', () => {
    const r = prng(3)
    for (let i = 0; i < 40; i++) {
      const w = -180 + r() * 360
      const s = -80 + r() * 150
      const span = 10 ** (-4 + r() * 4)
      const e = w + span > 180 ? w + span - 360 : w + span
      const b: Bbox = [w, s, e, s + span]
      expectCovers(b, planCells(b), r)
    }
  })

  describe('degenerate boxes', () => {
    it('a point gives one cell containing it', () => {
      const cells = planCells([10, 20, 10, 20])
      expect(cells).toHaveLength(1)
      expect(cells[0]!.bbox).toEqual([10, 20, 10, 20])
      expect(cells[0]!.tile).toEqual(pointToTile(10, 20, 22))
    })
    it('a point on a tile corner gives one cell, not four identical requests', () => {
      const cells = planCells([0, 0, 0, 0])
      expect(cells).toHaveLength(1)
      expect(cells[0]!.bbox).toEqual([0, 0, 0, 0])
    })
    it('a vertical and a horizontal line are covered', () => {
      for (const b of [[5, 0, 5, 0.01], [0, 10, 0.01, 10], [180, 1, -180, 1.001], [-180, 1, -180, 1.001]] as Bbox[]) {
        const cells = planCells(b)
        expect(cells.length).toBeGreaterThanOrEqual(1)
        expectCovers(b, cells, rnd)
      }
    })
  })

  it('rejects an invalid box with a RangeError', () => {
    expect(() => planCells([0, 10, 1, 5])).toThrow(RangeError)
    expect(() => planCells([0, 0, 1, 89])).toThrow(/latitude/)
  })
})

describe('splitCell', () => {
  it('splits into 4 clipped children', () => {
    const b: Bbox = [-10, -10, 10, 10]
    const kids = splitCell({ tile: [0, 0, 0], bbox: b }, b)
    expect(kids.map((k) => k.tile)).toEqual([[0, 0, 1], [1, 0, 1], [0, 1, 1], [1, 1, 1]])
    expect(kids.map((k) => k.bbox)).toEqual([
      [-10, 0, 0, 10], [0, 0, 10, 10], [-10, -10, 0, 0], [0, -10, 10, 0],
    ])
  })

  it('drops zero-width children when the box has width', () => {
    const b: Bbox = [-10, -10, 0, 10] // east edge on the z1 tile line
    const kids = splitCell({ tile: [0, 0, 0], bbox: b }, b)
    expect(kids.map((k) => k.bbox)).toEqual([[-10, 0, 0, 10], [-10, -10, 0, 0]])
  })

  it('descends instead of repeating the same request', () => {
    const cell: Cell = { tile: [0, 0, 0], bbox: PANAMA }
    const kids = splitCell(cell, PANAMA)
    expect(kids.length).toBeGreaterThan(1)
    expect(kids.every((k) => k.tile[2] > 1)).toBe(true)
    expectCovers(PANAMA, kids, rnd)
  })

  it('children edges coincide with the box edges where clipped', () => {
    const [start] = planCells(PANAMA, { maxStartCells: 1 })
    const kids = splitCell(start!, PANAMA)
    expect(Math.min(...kids.map((k) => k.bbox[0]))).toBe(PANAMA[0])
    expect(Math.max(...kids.map((k) => k.bbox[2]))).toBe(PANAMA[2])
    expect(Math.min(...kids.map((k) => k.bbox[1]))).toBe(PANAMA[1])
    expect(Math.max(...kids.map((k) => k.bbox[3]))).toBe(PANAMA[3])
  })

  it('a point cannot be split: [] (no narrower request before the floor)', () => {
    const b: Bbox = [10, 20, 10, 20]
    expect(splitCell({ tile: [0, 0, 0], bbox: b }, b)).toEqual([])
    expect(splitCell({ tile: pointToTile(10, 20, 22), bbox: b }, b, { floorZoom: 22 })).toEqual([])
  })

  it('keeps zero-width children along a degenerate line box', () => {
    const b: Bbox = [0, -1, 0, 1] // on the z1 meridian
    const kids = splitCell({ tile: [0, 0, 0], bbox: b }, b)
    expect(kids.length).toBeGreaterThanOrEqual(2)
    expectCovers(b, kids, rnd)
  })
})

describe('fixedZ18Tiles', () => {
  it('has one cell per z18 tile touching the box (the FAQ baseline)', () => {
    const cells = fixedZ18Tiles(PANAMA)
    const a = pointToTile(PANAMA[0], PANAMA[3], 18)
    const b = pointToTile(PANAMA[2], PANAMA[1], 18)
    expect(cells).toHaveLength((b[0] - a[0] + 1) * (b[1] - a[1] + 1))
    expect(cells.every((c) => c.tile[2] === 18)).toBe(true)
    expectCovers(PANAMA, cells, rnd)
  })
})
