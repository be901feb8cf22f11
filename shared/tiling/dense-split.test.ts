import { describe, expect, it } from 'vitest'
import { splitDense } from './dense-split'
import { splitCell } from './split-cell'
import { judgeCell } from './sweep'
import { prng } from '../../test/support/prng'
import { expectPartition } from '../../test/support/tiling-oracle'
import { MIN_CELL_DEG, UPSTREAM_CAP, type Bbox, type Cell } from './types'

const BOX: Bbox = [-79.54, 8.94, -79.52, 8.96]
const CELL: Cell = { bbox: BOX }
const OPTS = { threshold: 1000 }

/** `n` points spread over a box's inner 98%. */
function pointsIn([w, s, e, n]: Bbox, count: number, rnd: () => number): number[][] {
  return Array.from({ length: count }, () => [w + (0.01 + rnd() * 0.98) * (e - w), s + (0.01 + rnd() * 0.98) * (n - s)])
}
const holding = (c: Cell, pts: number[][]) => pts.filter(([x, y]) => x! >= c.bbox[0] && x! <= c.bbox[2] && y! >= c.bbox[1] && y! <= c.bbox[3]).length

describe('splitDense', () => {
  it('a sample spread evenly: the plain 4 children', () => {
    const cells = splitDense(CELL, pointsIn(BOX, 2000, prng(1)), OPTS)
    expect(cells).toEqual(splitCell(CELL))
    expect(cells).toHaveLength(4)
  })

  it('most of the sample in one spot of ~1/16 the width: that branch is split down to where it spreads', () => {
    const rnd = prng(2)
    const hot: Bbox = [-79.5335, 8.9512, -79.5322, 8.9525]
    const sample = [...pointsIn(hot, 1900, rnd), ...pointsIn(BOX, 100, rnd)]
    const cells = splitDense(CELL, sample, OPTS)
    for (const c of cells) expect(holding(c, sample)).toBeLessThan(1000) // nothing asked that the sample says is over half
    expect(cells.length).toBeGreaterThan(4)
    expect(cells.length).toBeLessThanOrEqual(16)
    expect(cells.filter((c) => holding(c, sample) >= 100).length).toBeGreaterThanOrEqual(3) // the spot is shared out
    expectPartition(BOX, cells)
  })

  it('a sample on one spot goes down to the floor, not past it, in a few cells', () => {
    const spot = [-79.5234567, 8.9412345]
    const cells = splitDense(CELL, Array.from({ length: 2000 }, () => spot), OPTS)
    const floor = cells.filter((c) => holding(c, [spot]) > 0)
    expect(floor).toHaveLength(1)
    expect(floor[0]!.bbox[2] - floor[0]!.bbox[0]).toBeLessThanOrEqual(MIN_CELL_DEG)
    expect(floor[0]!.bbox[3] - floor[0]!.bbox[1]).toBeLessThanOrEqual(MIN_CELL_DEG)
    expect(splitCell(floor[0]!)).toEqual([]) // the floor
    // The quadtree took 3 siblings a level from z15 to z22 (22 cells); the empty sides go whole.
    expect(cells.length).toBeLessThanOrEqual(8)
    expectPartition(BOX, cells)
  })

  it('never recurses with threshold Infinity (one level at a time)', () => {
    const sample = pointsIn([-79.5335, 8.9512, -79.5322, 8.9525], 2000, prng(5))
    expect(splitDense(CELL, sample, { threshold: Infinity })).toEqual(splitCell(CELL, { sample }))
  })

  it('children stay inside the cell and ignore points outside it', () => {
    const sample = [...pointsIn([-79.6, 8.9, -79.55, 8.93], 1500, prng(6)), ...pointsIn(BOX, 500, prng(7))]
    const cells = splitDense(CELL, sample, OPTS)
    expect(cells).toEqual(splitDense(CELL, sample.slice(1500), OPTS))
    expectPartition(BOX, cells)
  })
})

describe('judgeCell with the dense split', () => {
  const f = (i: number, [lon, lat]: number[]) => ({ id: String(i), geometry: { type: 'Point' as const, coordinates: [lon!, lat!] } })
  const hot: Bbox = [-79.5335, 8.9512, -79.5322, 8.9525]
  const answer = pointsIn(hot, UPSTREAM_CAP, prng(7)).map((p, i) => f(i, p))

  it('splits the dense branch at once by default', () => {
    const out = judgeCell(CELL, answer, BOX)
    expect(out.kind).toBe('split')
    if (out.kind === 'split') expect(out.children.length).toBeGreaterThan(4)
  })
  it('one level at a time with denseShare: Infinity', () => {
    const out = judgeCell(CELL, answer, BOX, { denseShare: Infinity })
    expect(out).toEqual({ kind: 'split', children: splitCell(CELL, { sample: answer.map((a) => a.geometry.coordinates) }) })
  })
  it('the boundary: cap − 1 features is complete, exactly cap is split', () => {
    const under = judgeCell(CELL, answer.slice(0, UPSTREAM_CAP - 1), BOX)
    expect(under.kind).toBe('complete')
    if (under.kind === 'complete') expect(under.features).toHaveLength(1999)
    expect(judgeCell(CELL, answer.slice(0, 2000), BOX).kind).toBe('split')
  })
  it('exactly cap on a floor cell: saturated, with what it holds', () => {
    const z22: Cell = { bbox: [-79.53, 8.95, -79.53 + MIN_CELL_DEG, 8.95 + MIN_CELL_DEG] }
    const pile = Array.from({ length: 2000 }, (_, i) => f(i, [-79.5299999, 8.9500001]))
    expect(judgeCell(z22, pile, BOX)).toEqual({ kind: 'saturated', cell: z22, features: pile })
    expect(judgeCell(z22, pile.slice(1), BOX).kind).toBe('complete')
  })
})
