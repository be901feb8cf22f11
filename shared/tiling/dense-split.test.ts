import { describe, expect, it } from 'vitest'
import { splitDense } from './dense-split'
import { splitCell } from './plan-cells'
import { judgeCell } from './sweep'
import { expectCovers, prng } from './test-helpers'
import { tileChildren, tileToBbox } from './tile-math'
import type { Bbox, Cell, Tile } from './types'

const TILE: Tile = [9145, 15566, 15]
const CELL: Cell = { tile: TILE, bbox: tileToBbox(TILE) }
const OPTS = { threshold: 1000, floorZoom: 22 }

/** `n` points spread over a tile's inner 98%. */
function pointsIn(tile: Tile, n: number, rnd: () => number): number[][] {
  const [w, s, e, north] = tileToBbox(tile)
  return Array.from({ length: n }, () => [w + (0.01 + rnd() * 0.98) * (e - w), s + (0.01 + rnd() * 0.98) * (north - s)])
}

const area = ([w, s, e, n]: Bbox) => (e - w) * (n - s)

describe('splitDense', () => {
  it('a sample spread evenly: the plain 4 children', () => {
    expect(splitDense(CELL, pointsIn(TILE, 2000, prng(1)), CELL.bbox, OPTS)).toEqual(splitCell(CELL, CELL.bbox))
  })

  it('most of the sample in one grandchild: that branch is split down to where the sample spreads', () => {
    const rnd = prng(2)
    const hot = tileChildren(tileChildren(TILE)[1]!)[2]! // a z17 tile
    const cells = splitDense(CELL, [...pointsIn(hot, 1900, rnd), ...pointsIn(TILE, 100, rnd)], CELL.bbox, OPTS)
    // 3 z16 siblings, 3 z17 siblings, and the hot z17 tile's 4 z18 children (~475 points each).
    expect(cells.map((c) => c.tile[2]).sort()).toEqual([16, 16, 16, 17, 17, 17, 18, 18, 18, 18])
    expect(cells.filter((c) => c.tile[2] === 18).map((c) => c.tile)).toEqual(tileChildren(hot))
    expect(cells.some((c) => c.tile.join() === hot.join())).toBe(false)
    // Still exactly the cell: covered, and no overlap (the areas add up).
    expectCovers(CELL.bbox, cells, prng(3))
    expect(cells.reduce((a, c) => a + area(c.bbox), 0)).toBeCloseTo(area(CELL.bbox), 12)
  })

  it('a sample on one spot goes down to the floor, not past it', () => {
    const cells = splitDense(CELL, Array.from({ length: 2000 }, () => [-79.53, 8.95]), CELL.bbox, { threshold: 1000, floorZoom: 19 })
    expect(Math.max(...cells.map((c) => c.tile[2]))).toBe(19)
    expect(cells).toHaveLength(4 * 3 + 1) // 3 siblings on each of z16–z19, plus the spot's z19 tile
    expectCovers(CELL.bbox, cells, prng(4))
  })

  it('a box edge inside the cell: children stay clipped to the box', () => {
    const [w, s, e, n] = CELL.bbox
    const box: Bbox = [w, s, (w + e) / 2 + (e - w) / 8, n]
    const clipped: Cell = { tile: TILE, bbox: box }
    const cells = splitDense(clipped, pointsIn(tileChildren(TILE)[0]!, 2000, prng(5)), box, OPTS)
    for (const c of cells) expect(c.bbox[2]).toBeLessThanOrEqual(box[2])
    expectCovers(box, cells, prng(6))
  })
})

describe('judgeCell with the dense split', () => {
  const f = (i: number, [lon, lat]: number[]) => ({ id: String(i), geometry: { type: 'Point' as const, coordinates: [lon!, lat!] } })
  const hot = tileChildren(tileChildren(TILE)[0]!)[3]!
  const answer = pointsIn(hot, 2000, prng(7)).map((p, i) => f(i, p))

  it('splits the dense branch at once by default', () => {
    const out = judgeCell(CELL, answer, CELL.bbox)
    expect(out.kind === 'split' && out.children.length).toBe(10)
  })
  it('one level at a time with denseShare: Infinity', () => {
    expect(judgeCell(CELL, answer, CELL.bbox, { denseShare: Infinity })).toEqual({ kind: 'split', children: splitCell(CELL, CELL.bbox) })
  })
})
