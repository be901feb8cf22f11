import { describe, expect, it } from 'vitest'
import { cutPoint, inCell, longAxis, splitCell } from './split-cell'
import { prng } from '../../test/support/prng'
import { areaOf, expectPartition } from '../../test/support/tiling-oracle'
import { MIN_CELL_DEG, type Bbox, type Cell } from './types'

/** Points spread over a box's inner 98%. */
function pointsIn([w, s, e, n]: Bbox, count: number, rnd: () => number): number[][] {
  return Array.from({ length: count }, () => [w + (0.01 + rnd() * 0.98) * (e - w), s + (0.01 + rnd() * 0.98) * (n - s)])
}

const holding = (c: Cell, pts: number[][]) => pts.filter(([x, y]) => x! >= c.bbox[0] && x! <= c.bbox[2] && y! >= c.bbox[1] && y! <= c.bbox[3]).length

/** Web-mercator tile coordinates, written here from the formulas (not from tile-math). */
const tileX = (lon: number, z: number) => ((lon + 180) / 360) * 2 ** z
const tileY = (lat: number, z: number) => ((1 - Math.log(Math.tan((lat * Math.PI) / 180) + 1 / Math.cos((lat * Math.PI) / 180)) / Math.PI) / 2) * 2 ** z
const onTileLine = (v: number, axis: 0 | 1) =>
  Array.from({ length: 23 }, (_, z) => (axis === 0 ? tileX(v, z) : tileY(v, z))).some((t) => Math.abs(t - Math.round(t)) < 1e-6)

describe('cutPoint', () => {
  it('cuts on the coarsest tile line in the middle half of the side', () => {
    // [-79.535, -79.525] in z15 columns is [9144.5, 9145.5]: column 9145's west edge; no z14 edge in it.
    expect(cutPoint(-79.54, -79.52, 0)).toBe((9145 / 2 ** 15) * 360 - 180)
    expect(cutPoint(-180, 180, 0)).toBe(0)
    expect(cutPoint(-1, 10, 0)).toBe(5.625) // middle half [1.75, 7.25]: no z5 line (0, 11.25), the z6 line 5.625
    expect(cutPoint(0, 1, 0)).toBe(0.703125) // middle half [0.25, 0.75]: the z9 line 257 × 360/512 − 180
  })
  it('random sides: a tile line within the middle half', () => {
    const rnd = prng(21)
    for (let i = 0; i < 300; i++) {
      const axis = (i % 2) as 0 | 1
      const lo = axis === 0 ? -180 + rnd() * 350 : -80 + rnd() * 150
      const len = 10 ** (-3.5 + rnd() * 4) // 0.0003° … 3°
      const cut = cutPoint(lo, lo + len, axis)
      expect(cut).toBeGreaterThanOrEqual(lo + len / 4)
      expect(cut).toBeLessThanOrEqual(lo + (3 * len) / 4)
      expect(onTileLine(cut, axis), `${lo}+${len} cut at ${cut}`).toBe(true)
    }
  })
})

describe('splitCell', () => {
  it('a square cell: 4 quarters, each side a quarter to three quarters of the parent’s', () => {
    const b: Bbox = [13, 55.6, 13.02, 55.62]
    const kids = splitCell({ bbox: b })
    expect(kids).toHaveLength(4)
    for (const k of kids) {
      for (const [lo, hi, plo, phi] of [[k.bbox[0], k.bbox[2], b[0], b[2]], [k.bbox[1], k.bbox[3], b[1], b[3]]] as const) {
        expect(hi - lo).toBeGreaterThanOrEqual((phi - plo) / 4 - 1e-12)
        expect(hi - lo).toBeLessThanOrEqual((3 * (phi - plo)) / 4 + 1e-12)
      }
    }
    expectPartition(b, kids)
  })

  it('a thin cell is cut along its long side only: 4 pieces in a row, each the full height', () => {
    const b: Bbox = [0, 0, 4, 0.001]
    for (const sample of [undefined, pointsIn(b, 2000, prng(1))]) {
      const kids = splitCell({ bbox: b }, { sample }).sort((p, q) => p.bbox[0] - q.bbox[0])
      expect(kids).toHaveLength(4)
      for (const k of kids) expect([k.bbox[1], k.bbox[3]]).toEqual([0, 0.001])
      expect(kids[0]!.bbox[0]).toBe(0)
      expect(kids[3]!.bbox[2]).toBe(4)
      for (let i = 0; i < 3; i++) expect(kids[i]!.bbox[2]).toBe(kids[i + 1]!.bbox[0])
      expectPartition(b, kids)
    }
  })

  it('a capped 360°-long box holding one town: the empty lengths are asked as one cell each side', () => {
    const b: Bbox = [-180, 10, 180, 10.0001]
    const town = pointsIn([13, 10, 13.01, 10.0001], 2000, prng(2))
    const kids = splitCell({ bbox: b }, { sample: town })
    expect(kids.length).toBeLessThanOrEqual(5)
    for (const k of kids) expect([k.bbox[1], k.bbox[3]]).toEqual([10, 10.0001]) // cut along the long side only
    // The cells holding the town span under 1% of the length; the empty rest is one cell each side.
    const busy = kids.filter((k) => holding(k, town) > 0)
    expect(busy.reduce((a, k) => a + (k.bbox[2] - k.bbox[0]), 0)).toBeLessThan(3.6)
    const empty = kids.filter((k) => holding(k, town) === 0).sort((p, q) => p.bbox[0] - q.bbox[0])
    expect(empty).toHaveLength(2)
    expect([empty[0]!.bbox[0], empty[1]!.bbox[2]]).toEqual([-180, 180])
    expectPartition(b, kids)
  })

  it('a capped long box: the light lengths on each side of the town are one cell each, noise and all', () => {
    const b: Bbox = [-180, 10, 180, 10.0001]
    const r = prng(12)
    const sample = [...pointsIn([13, 10, 13.01, 10.0001], 1900, r), ...pointsIn(b, 100, r)] // 5% spread along it
    const kids = splitCell({ bbox: b }, { sample })
    const ends = kids.filter((k) => k.bbox[0] === -180 || k.bbox[2] === 180)
    expect(ends).toHaveLength(2)
    for (const k of ends) expect(holding(k, sample)).toBeLessThanOrEqual(2000 / 8)
    expect(ends.reduce((a, k) => a + (k.bbox[2] - k.bbox[0]), 0)).toBeGreaterThan(356)
    expect(kids.length).toBeLessThanOrEqual(6)
    expectPartition(b, kids)
  })

  it('denseAt: a part of the first cut into which the sample crowds is split at once into 4', () => {
    // A 2:1 cell whose western square holds all the sample, evenly: cut once more it would give
    // two pieces of half the sample each, each likely over the cap.
    const b: Bbox = [0, 0, 0.02, 0.01]
    const west = cutPoint(0, 0.02, 0)
    const sample = pointsIn([0, 0, west, 0.01], 2000, prng(13))
    const plain = splitCell({ bbox: b }, { sample })
    expect(plain.filter((k) => k.bbox[2] <= west)).toHaveLength(2)
    const kids = splitCell({ bbox: b }, { sample, denseAt: 1000 })
    const inWest = kids.filter((k) => k.bbox[2] <= west)
    expect(inWest).toHaveLength(4)
    for (const k of inWest) expect(holding(k, sample)).toBeLessThan(1000)
    expectPartition(b, kids)
  })

  it('denseAt: an evenly filled cell still gives its 4 quarters (a half holds half the sample by chance)', () => {
    const b: Bbox = [13, 55.6, 13.02, 55.62]
    for (let seed = 0; seed < 20; seed++) {
      expect(splitCell({ bbox: b }, { sample: pointsIn(b, 2000, prng(100 + seed)), denseAt: 1000 })).toEqual(splitCell({ bbox: b }))
    }
  })

  it('a part of the cell holding none of the sample is not cut again', () => {
    const b: Bbox = [0, 0, 1, 1]
    const corner = pointsIn([0.8, 0.8, 0.9, 0.9], 2000, prng(3))
    const kids = splitCell({ bbox: b }, { sample: corner })
    // Cut at lon 0.703125 (see cutPoint): the western part holds nothing and stays whole.
    expect(kids.filter((k) => k.bbox[0] === 0)).toEqual([{ bbox: [0, 0, 0.703125, 1] }])
    expectPartition(b, kids)
  })

  describe('the floor: no side cut at or below MIN_CELL_DEG (a z22 tile’s width)', () => {
    it('is the width of a z22 tile', () => {
      expect(MIN_CELL_DEG).toBe(360 / 4194304)
    })
    it('a cell no side of which is longer cannot be split', () => {
      const z22: Bbox = [-79.53, 8.95, -79.53 + MIN_CELL_DEG, 8.95 + MIN_CELL_DEG * 0.98]
      expect(splitCell({ bbox: z22 })).toEqual([])
      expect(splitCell({ bbox: z22 }, { sample: [[-79.5299, 8.95001]] })).toEqual([])
      expect(splitCell({ bbox: [10, 20, 10, 20] })).toEqual([])
      expect(longAxis(z22)).toBeNull()
    })
    it('a cell with one side above it is cut along that side only', () => {
      const b: Bbox = [0, 0, MIN_CELL_DEG, 3 * MIN_CELL_DEG]
      const kids = splitCell({ bbox: b })
      expect(kids.length).toBeGreaterThanOrEqual(2)
      for (const k of kids) expect([k.bbox[0], k.bbox[2]]).toEqual([0, MIN_CELL_DEG])
      expectPartition(b, kids)
    })
    it('a longer floor makes a bigger floor cell', () => {
      expect(splitCell({ bbox: [0, 0, 0.001, 0.001] }, { minCellDeg: 0.001 })).toEqual([])
    })
  })

  it('a line cell is cut along the line', () => {
    const b: Bbox = [5, 0, 5, 1]
    const kids = splitCell({ bbox: b })
    expect(kids.length).toBeGreaterThanOrEqual(2)
    for (const k of kids) expect([k.bbox[0], k.bbox[2]]).toEqual([5, 5])
    expectPartition(b, kids)
  })

  it('random cells and samples: the children cover the parent, inside it, without overlap, none empty, each smaller', () => {
    const r = prng(9)
    for (let i = 0; i < 300; i++) {
      const w = -180 + r() * 359
      const s = -80 + r() * 159
      const width = r() < 0.1 ? 0 : Math.min(180 - w, 10 ** (-4 + r() * 6))
      const height = r() < 0.1 ? 0 : Math.min(85 - s, 10 ** (-4 + r() * 3))
      const b: Bbox = [w, s, w + width, s + height]
      const kind = i % 4
      const sample =
        kind === 0 ? undefined
        : kind === 1 ? pointsIn(b, 2000, r)
        : kind === 2 ? Array.from({ length: 2000 }, () => [w + r() * width, s + r() * height].map((v, j) => (j === 0 ? Math.min(v, b[2]) : Math.min(v, b[3]))))
        : (() => { const p = [w + r() * width, s + r() * height]; return Array.from({ length: 2000 }, () => p) })()
      const kids = splitCell({ bbox: b }, { sample })
      if (width <= MIN_CELL_DEG && height <= MIN_CELL_DEG) {
        expect(kids).toEqual([])
        continue
      }
      expect(kids.length).toBeGreaterThanOrEqual(2)
      expectPartition(b, kids)
      for (const k of kids) expect(areaOf(k.bbox) < areaOf(b) || k.bbox[2] - k.bbox[0] < width || k.bbox[3] - k.bbox[1] < height).toBe(true)
    }
  })
})

// Found by mutation testing (`npm run mutate`): each test below pins a value a mutant changed.
describe('split-cell, pinned', () => {
  it('inCell holds the corners and edges', () => {
    const b: Bbox = [10, 20, 11, 21]
    expect([[10, 20], [11, 21], [10, 20.5], [11, 20.5], [10.5, 20], [10.5, 21]].map((p) => inCell(p, b))).toEqual([true, true, true, true, true, true])
    expect([[10 - 1e-9, 20.5], [10.5, 21 + 1e-9], [10.5]].map((p) => inCell(p, b))).toEqual([false, false, false])
  })

  it('cutPoint takes a tile line on either end of the middle half', () => {
    expect(cutPoint(-1, 3, 0)).toBe(0) // middle half [0, 2]: the z1 line 0, at its west end
    expect(cutPoint(-3, 1, 0)).toBe(0) // middle half [-2, 0]: the z1 line 0, at its east end
  })

  it('cutPoint goes down to z22 lines', () => {
    const d = 360 / 2 ** 22 // a z22 column; z21 lines are its even multiples
    expect(cutPoint(0.2 * d, 1.6 * d, 0)).toBe(d) // middle half [0.55d, 1.25d] holds the z22 line d only
  })

  it('an empty sample cuts as no sample does', () => {
    const b: Bbox = [13, 55.6, 13.02, 55.62]
    expect(splitCell({ bbox: b }, { sample: [] })).toEqual(splitCell({ bbox: b }))
  })

  it('a town at one end of a long box: the empty length is asked as one cell', () => {
    const b: Bbox = [-180, 10, 180, 10.0001]
    const east = pointsIn([179.99, 10, 180, 10.0001], 2000, prng(31))
    const westEnd = splitCell({ bbox: b }, { sample: east }).find((k) => k.bbox[0] === -180)!
    expect(holding(westEnd, east)).toBe(0)
    expect(westEnd.bbox[2]).toBeGreaterThan(179)
    const west = pointsIn([-180, 10, -179.99, 10.0001], 2000, prng(32))
    const eastEnd = splitCell({ bbox: b }, { sample: west }).find((k) => k.bbox[2] === 180)!
    expect(holding(eastEnd, west)).toBe(0)
    expect(eastEnd.bbox[0]).toBeLessThan(-179)
  })
})
