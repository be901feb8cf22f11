import { describe, expect, it } from 'vitest'
import { bboxArea, bboxError, inBbox, splitAtAntimeridian } from './bbox'
import { planCells } from './plan-cells'
import { judgeCell, orderIds } from './sweep'
import { longAxis } from './split-cell'
import { pointToTile, tileToBbox } from './tile-math'
import { MIN_CELL_DEG, UPSTREAM_CAP, type Bbox, type Cell } from './types'
import { DENSE_BOX, FakeUpstream, denseWorld, type WorldPoint } from '../../test/support/capped-upstream'
import { fixedZ18Tiles } from '../../test/support/faq-baseline'
import { prng } from '../../test/support/prng'
import { sweepBbox } from '../../test/support/reference-sweep'

// The steps (judgeCell) driven to the end by the reference loop (test/support/reference-sweep.ts)
// against a fake capped upstream: what a box's sweep finds, and what it costs.

type F = WorldPoint
const BOX = DENSE_BOX

function expectExactly(result: { features: F[] }, truth: string[], box: Bbox): void {
  const ids = result.features.map((f) => f.id)
  expect(new Set(ids).size).toBe(ids.length) // no duplicates
  expect(ids).toEqual(truth) // exactly the truth, sorted by id
  for (const f of result.features) expect(inBbox(f.geometry.coordinates, box)).toBe(true)
}

describe('the sweep, driven to the end, against a fake capped upstream', () => {
  it('returns exactly the ground truth, with far fewer requests than one per z18 tile', async () => {
    const up = denseWorld()
    const truth = up.truth(BOX)
    expect(truth.length).toBeGreaterThan(9000)
    const result = await sweepBbox(BOX, up.fetch)
    expectExactly(result, truth, BOX)
    expect(result.saturated).toEqual([])
    expect(result.requests).toBe(up.requests)
    const baseline = fixedZ18Tiles(BOX).length
    expect(baseline).toBeGreaterThan(400)
    expect(result.requests).toBeLessThan(baseline / 10)
  })

  it('splitting dense branches at once asks fewer cells, and finds the same features', async () => {
    const dense = await sweepBbox(BOX, denseWorld(3).fetch)
    const stepwise = await sweepBbox(BOX, denseWorld(3).fetch, { denseShare: Infinity })
    expect(dense.features).toEqual(stepwise.features)
    expect(dense.requests).toBeLessThan(stepwise.requests)
  })

  it('a sparse box costs 1 request', async () => {
    const up = new FakeUpstream(5)
    const r = prng(6)
    const [w, s, e, n] = BOX
    for (let i = 0; i < 300; i++) up.add(w + r() * (e - w), s + r() * (n - s))
    const result = await sweepBbox(BOX, up.fetch)
    expectExactly(result, up.truth(BOX), BOX)
    expect(result.requests).toBe(1)
    expect(fixedZ18Tiles(BOX).length).toBeGreaterThan(100 * result.requests)
  })

  it('asks the same cells whatever the shuffles and the timing', async () => {
    const a = await sweepBbox(BOX, denseWorld(1).fetch)
    const b = await sweepBbox(BOX, denseWorld(1, 99).fetch, { concurrency: 1 })
    expect(b.requests).toBe(a.requests)
    expect(b.features.map((f) => f.id)).toEqual(a.features.map((f) => f.id))
  })

  it('dedupes features the upstream returns for two neighbouring cells', async () => {
    const up = denseWorld()
    let raw = 0
    const result = await sweepBbox(BOX, async (bbox) => {
      const answer = await up.fetch(bbox)
      raw += answer.length < UPSTREAM_CAP ? answer.filter((f) => inBbox(f.geometry.coordinates, BOX)).length : 0
      return answer
    })
    expect(raw).toBeGreaterThan(result.features.length) // edge points came back twice
    expectExactly(result, up.truth(BOX), BOX)
  })

  it('reports (does not throw) a floor cell still saturated: >2000 points on one coordinate', async () => {
    const up = denseWorld()
    const hot: [number, number] = [-79.5234567, 8.9412345]
    for (let i = 0; i < 2500; i++) up.add(...hot)
    const result = await sweepBbox(BOX, up.fetch)
    expect(result.saturated.length).toBeGreaterThanOrEqual(1)
    expect(result.saturated.some((c) => inBbox(hot, c.bbox))).toBe(true)
    for (const c of result.saturated) {
      expect(c.bbox[2] - c.bbox[0]).toBeLessThanOrEqual(MIN_CELL_DEG)
      expect(c.bbox[3] - c.bbox[1]).toBeLessThanOrEqual(MIN_CELL_DEG)
    }
    // Everything away from the hot spot is still found, each once.
    const got = new Set(result.features.map((f) => f.id))
    expect(got.size).toBe(result.features.length)
    const missed = up.truth(BOX).filter((id) => !got.has(id))
    const byId = new Map(up.points.map((p) => [p.id, p]))
    for (const id of missed) expect(result.saturated.some((c) => inBbox(byId.get(id)!.geometry.coordinates, c.bbox))).toBe(true)
  })

  it('sweeps across the antimeridian, both sides, edges included', async () => {
    const b: Bbox = [179.5, -17, -179.5, -16]
    const up = new FakeUpstream(9)
    const r = prng(10)
    for (let i = 0; i < 3000; i++) up.add(179.6 + r() * 0.01, -16.5 + r() * 0.01) // dense east side
    for (let i = 0; i < 200; i++) up.add(-180 + r() * 0.5, -17 + r()) // west side
    for (const [x, y] of [[180, -16.5], [-180, -16.5], [179.5, -17], [-179.5, -16], [179.5 - 1e-9, -16.5], [-179.5 + 1e-9, -16.5], [0, -16.5], [179.7, -15.9]])
      up.add(x!, y!)
    const result = await sweepBbox(b, up.fetch)
    expectExactly(result, up.truth(b), b)
    expect(result.saturated).toEqual([])
    expect(result.features.some((f) => f.geometry.coordinates[0]! < 0)).toBe(true)
    expect(result.features.some((f) => f.geometry.coordinates[0]! > 0)).toBe(true)
  })

  it('a point box finds the features at that point', async () => {
    const up = new FakeUpstream(12)
    up.add(0, 0), up.add(0, 0), up.add(0, 1e-9), up.add(10, 20)
    const result = await sweepBbox([0, 0, 0, 0], up.fetch)
    expect(result.features.map((f) => f.n)).toEqual([0, 1])
    expect(result.requests).toBe(1)
  })
})

describe('regression: a box of small area but great length fanned out by its length', () => {
  // A 360° × 0.0001° box (0.036 deg², under the area limit) cost 512 requests, the meridian at the
  // antimeridian pole to pole 1,024: cells were tiles of at most 1°.
  it('a thin empty box costs 1 request, the meridian 2', async () => {
    const thin: Bbox = [-180, 10, 180, 10.0001]
    const up = new FakeUpstream(20)
    up.add(0, 10.00005), up.add(-180, 10), up.add(180, 10.0001), up.add(0, 10.0002)
    const r1 = await sweepBbox(thin, up.fetch)
    expectExactly(r1, up.truth(thin), thin)
    expect(r1.requests).toBe(1)
    const meridian: Bbox = [180, -85.05, -180, 85.05]
    const r2 = await sweepBbox(meridian, up.fetch)
    expectExactly(r2, up.truth(meridian), meridian)
    expect(r2.features.map((f) => f.n)).toEqual([1, 2])
    expect(r2.requests).toBe(2)
  })

  it('a thin box through a dense town costs about what its features need, not its length', async () => {
    const thin: Bbox = [-180, 8.9495, 180, 8.9505]
    const up = new FakeUpstream(21)
    const r = prng(22)
    for (let i = 0; i < 6000; i++) up.add(-79.531 + r() * 0.002, 8.9495 + r() * 0.001) // 6000 in 0.002°
    for (let i = 0; i < 200; i++) up.add(-180 + r() * 360, 8.9495 + r() * 0.001) // spread along the length
    const result = await sweepBbox(thin, up.fetch)
    expectExactly(result, up.truth(thin), thin)
    expect(result.saturated).toEqual([])
    // 6200 features need 4 answers at least. A hard case: the town straddles a z15 tile line, so
    // each side holds about half the sample, too little to be split at once (3 rounds). Cut by
    // its length (1° cells) it cost 360 requests, by tiles 500 and more.
    expect(result.requests).toBeLessThanOrEqual(20)
  })
})

describe('judgeCell', () => {
  const cell: Cell = planCells(BOX)[0]!
  const f = (id: string, lon: number, lat: number): F => ({ id, n: 0, geometry: { type: 'Point', coordinates: [lon, lat] } })
  it('under the cap: complete, filtered to the requested box', () => {
    const out = judgeCell(cell, [f('1', -79.53, 8.95), f('2', BOX[0] - 1e-9, 8.95), f('3', BOX[2], BOX[3])], BOX)
    expect(out).toEqual({ kind: 'complete', features: [f('1', -79.53, 8.95), f('3', BOX[2], BOX[3])] })
  })
  it('at the cap: split into narrower cells', () => {
    const out = judgeCell(cell, Array.from({ length: 3 }, (_, i) => f(String(i), -79.53, 8.95)), BOX, { cap: 3 })
    expect(out.kind).toBe('split')
    if (out.kind === 'split') expect(out.children.length).toBeGreaterThan(1)
  })
  it('at the cap on the floor (a z22 tile): saturated, with the partial answer', () => {
    const floorCell: Cell = { bbox: tileToBbox(pointToTile(-79.53, 8.95, 22)) }
    expect(longAxis(floorCell.bbox)).toBeNull()
    const answer = [f('1', -79.53, 8.95), f('2', -79.53, 8.95)]
    expect(judgeCell(floorCell, answer, BOX, { cap: 2 })).toEqual({ kind: 'saturated', cell: floorCell, features: answer })
  })
})

describe('orderIds', () => {
  it('orders numeric ids as numbers (shorter first), others by code unit', () => {
    expect(orderIds(['10', '9', '100', '09'])).toEqual(['9', '09', '10', '100'])
    expect(orderIds(['b', '10', 'a', '9', 'B'])).toEqual(['9', '10', 'B', 'a', 'b'])
    expect(orderIds([])).toEqual([])
  })
})

describe("regression: the FAQ's swapped west/east", () => {
  // The FAQ's sample passes the box as south,west,north,east. We read w,s,e,n, always, and a
  // west greater than east is a box across the antimeridian, not an error.
  it('reads w,s,e,n: lat/lon swapped numbers are a different (valid) box, not a guess', () => {
    const swapped: Bbox = [8.935, -79.545, 8.965, -79.515] // south,west,north,east of BOX
    expect(bboxError(swapped)).toBeNull()
    const cells = planCells(swapped)
    for (const c of cells) {
      expect(c.bbox[0]).toBeGreaterThanOrEqual(8.935)
      expect(c.bbox[2]).toBeLessThanOrEqual(8.965)
      expect(c.bbox[3]).toBeLessThanOrEqual(-79.515)
    }
  })
  it('west > east is the antimeridian: the box wraps the world, not an error', async () => {
    const wrapped: Bbox = [BOX[2], BOX[1], BOX[0], BOX[3]] // east and west exchanged
    expect(bboxError(wrapped)).toBeNull()
    expect(splitAtAntimeridian(wrapped)).toEqual([[BOX[2], BOX[1], 180, BOX[3]], [-180, BOX[1], BOX[0], BOX[3]]])
    expect(bboxArea(wrapped)).toBeCloseTo((360 - 0.03) * 0.03, 9)
    expect(inBbox([-79.53, 8.95], wrapped)).toBe(false) // the original box is the hole
    expect(inBbox([0, 8.95], wrapped)).toBe(true)
    const up = denseWorld()
    up.add(0, 8.95), up.add(179.9, 8.96), up.add(-179.9, 8.94)
    const result = await sweepBbox(wrapped, up.fetch)
    expectExactly(result, up.truth(wrapped), wrapped)
    expect(result.features.some((f) => f.geometry.coordinates[0] === 0)).toBe(true)
  })
})

// Found by mutation testing (`npm run mutate`).
describe('judgeCell and orderIds, pinned', () => {
  const pt = (id: string, lon: number, lat: number) => ({ id, geometry: { type: 'Point' as const, coordinates: [lon, lat] } })

  it('leaves out a feature without geometry, capped answer or not', () => {
    const cell: Cell = { bbox: [0, 0, 1, 1] }
    const noGeometry = { id: 'x' } as unknown as ReturnType<typeof pt>
    expect(judgeCell(cell, [pt('1', 0.5, 0.5), noGeometry], cell.bbox)).toEqual({ kind: 'complete', features: [pt('1', 0.5, 0.5)] })
    expect(judgeCell(cell, [pt('1', 0.5, 0.5), noGeometry], cell.bbox, { cap: 2 }).kind).toBe('split')
  })

  it('honours minCellDeg: a capped cell no side of which is above it is saturated', () => {
    const cell: Cell = { bbox: [0, 0, 0.5, 0.5] }
    const answer = [pt('1', 0.1, 0.1), pt('2', 0.4, 0.4)]
    expect(judgeCell(cell, answer, cell.bbox, { cap: 2, minCellDeg: 1 })).toEqual({ kind: 'saturated', cell, features: answer })
  })

  it('orderIds: numeric ids by value, then the others by code unit, whole ids only counting as numeric', () => {
    expect(orderIds(['b', '10', '9', 'a'])).toEqual(['9', '10', 'a', 'b'])
    expect(orderIds(['b1', '100'])).toEqual(['100', 'b1'])
    expect(orderIds(['1a', '100'])).toEqual(['100', '1a'])
  })
})
