import { describe, expect, it } from 'vitest'
import { planCells, startCellCount } from './plan-cells'
import { fixedZ18Tiles } from '../../test/support/faq-baseline'
import { prng } from '../../test/support/prng'
import { expectCovers } from '../../test/support/tiling-oracle'
import type { Bbox } from './types'

const PANAMA: Bbox = [-79.545, 8.935, -79.515, 8.965]

describe('planCells', () => {
  it('a box is one start cell, itself (the FAQ method: hundreds)', () => {
    expect(planCells(PANAMA)).toEqual([{ bbox: PANAMA }])
    expect(startCellCount(PANAMA)).toBe(1)
    expect(fixedZ18Tiles(PANAMA).length).toBeGreaterThan(400)
  })

  describe('regression: a thin box fanned out by its length (512 and 1,024 requests)', () => {
    it('a 360° × 0.0001° box is one cell', () => {
      const b: Bbox = [-180, 10, 180, 10.0001]
      expect(planCells(b)).toEqual([{ bbox: [-180, 10, 180, 10.0001] }])
      expect(startCellCount(b)).toBe(1)
    })
    it('the meridian across the antimeridian, pole to pole, is two line cells', () => {
      const b: Bbox = [180, -85.05, -180, 85.05]
      expect(planCells(b)).toEqual([{ bbox: [180, -85.05, 180, 85.05] }, { bbox: [-180, -85.05, -180, 85.05] }])
      expect(startCellCount(b)).toBe(2)
      expectCovers(b, planCells(b))
    })
  })

  it('covers both sides of the antimeridian with one cell each', () => {
    const b: Bbox = [179.5, -17, -179.5, -16]
    const cells = planCells(b)
    expect(cells).toEqual([{ bbox: [179.5, -17, 180, -16] }, { bbox: [-180, -17, -179.5, -16] }])
    expectCovers(b, cells)
  })

  it('a box ending exactly at lon -180 keeps a cell for that meridian', () => {
    const b: Bbox = [179.9, 0, -180, 0.1]
    const cells = planCells(b)
    expectCovers(b, cells)
    expect(cells.some((c) => c.bbox[0] === -180 && c.bbox[2] === -180)).toBe(true)
  })

  it('random boxes: cells cover the box, none empty, none repeated, one per antimeridian half', () => {
    const r = prng(3)
    for (let i = 0; i < 40; i++) {
      const w = -180 + r() * 360
      const s = -80 + r() * 150
      const span = 10 ** (-4 + r() * 4)
      const e = w + span > 180 ? w + span - 360 : w + span
      const b: Bbox = [w, s, e, s + span]
      const cells = planCells(b)
      expectCovers(b, cells)
      expect(cells).toHaveLength(w > e ? 2 : 1)
    }
  })

  describe('degenerate boxes', () => {
    it('a point gives one cell, the point', () => {
      expect(planCells([10, 20, 10, 20])).toEqual([{ bbox: [10, 20, 10, 20] }])
      expect(planCells([0, 0, 0, 0])).toEqual([{ bbox: [0, 0, 0, 0] }])
    })
    it('a vertical and a horizontal line are covered', () => {
      for (const b of [[5, 0, 5, 0.01], [0, 10, 0.01, 10], [180, 1, -180, 1.001], [-180, 1, -180, 1.001]] as Bbox[]) {
        expectCovers(b, planCells(b))
      }
    })
  })

  describe('maxCellSpanDeg (off by default: whether the upstream limits a bbox is unknown)', () => {
    it('cuts each half into an even grid of cells no wider, edges exact', () => {
      const b: Bbox = [-3, -3, 3, 3.5]
      const cells = planCells(b, { maxCellSpanDeg: 1 })
      expect(cells).toHaveLength(6 * 7)
      expect(startCellCount(b, { maxCellSpanDeg: 1 })).toBe(42)
      for (const c of cells) {
        expect(c.bbox[2] - c.bbox[0]).toBeCloseTo(1, 12)
        expect(c.bbox[3] - c.bbox[1]).toBeCloseTo(6.5 / 7, 12) // 6.5° in 7 rows
      }
      expect(cells[0]!.bbox[3]).toBe(3.5) // north to south
      expect(cells.at(-1)!.bbox).toEqual([cells.at(-1)!.bbox[0], -3, 3, cells.at(-1)!.bbox[3]])
      expectCovers(b, cells)
    })
    it('counts the cells of a long box without building them', () => {
      expect(startCellCount([-180, 10, 180, 10.0001], { maxCellSpanDeg: 1 })).toBe(360)
      expect(startCellCount([-180, 10, 180, 10.0001], { maxCellSpanDeg: 1e-3 })).toBe(360e3)
      expect(startCellCount([179.5, -17, -179.5, -16], { maxCellSpanDeg: 0.25 })).toBe(2 * 2 * 4)
    })
    it('ignores a span that is not a positive number', () => {
      for (const maxCellSpanDeg of [0, -1, Number.NaN, Infinity]) expect(planCells(PANAMA, { maxCellSpanDeg })).toEqual([{ bbox: PANAMA }])
    })
  })

  it('rejects an invalid box with a RangeError', () => {
    expect(() => planCells([0, 10, 1, 5])).toThrow(RangeError)
    expect(() => planCells([0, 0, 1, 89])).toThrow('invalid bbox [0,0,1,89]: north 89 is outside [-85.0511, 85.0511]')
    expect(() => startCellCount([0, 10, 1, 5])).toThrow(RangeError)
  })
})

// Found by mutation testing (`npm run mutate`).
describe('planCells, pinned', () => {
  it('ends the last cell exactly on the box edge, where lo + (hi - lo) · n / n would miss it', () => {
    // 0.5103 + (2.1767 - 0.5103) * 3 / 3 is 2.1767000000000003 in floating point.
    const cells = planCells([0.5103, 0, 2.1767, 0.5], { maxCellSpanDeg: 0.6 })
    expect(cells.map((c) => c.bbox[2])).toEqual([cells[0]!.bbox[2], cells[1]!.bbox[2], 2.1767])
    expect(cells.map((c) => c.bbox[0])[0]).toBe(0.5103)
  })

  it('names the box it refuses', () => {
    expect(() => planCells([0, 10, 1, 5])).toThrow('invalid bbox [0,10,1,5]: south 10 is greater than north 5')
  })
})
