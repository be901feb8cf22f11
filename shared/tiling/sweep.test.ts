import { describe, expect, it } from 'vitest'
import { bboxArea, bboxError, inBbox, splitAtAntimeridian } from './bbox'
import { fixedZ18Tiles, planCells } from './plan-cells'
import { SweepBudgetError, dedupeById, judgeCell, sweepBbox, type PointFeature } from './sweep'
import { longAxis } from './split-cell'
import { prng } from './test-helpers'
import { pointToTile, tileChildren, tileToBbox } from './tile-math'
import { MIN_CELL_DEG, UPSTREAM_CAP, type Bbox, type Cell } from './types'

type F = PointFeature & { n: number }

/** A world of points and an upstream lookalike: edges included, shuffled, cut at 2000, no sign. */
class FakeUpstream {
  readonly points: F[] = []
  requests = 0
  inFlight = 0
  maxInFlight = 0
  failOn: number | null = null
  private readonly rnd: () => number
  constructor(seed: number) {
    this.rnd = prng(seed)
  }
  add(lon: number, lat: number): void {
    const n = this.points.length
    // Same-length numeric ids, so numeric and lexical order agree.
    this.points.push({ id: String(100000000000000 + n), n, geometry: { type: 'Point', coordinates: [lon, lat] } })
  }
  /** Ground truth: plain comparisons, written independently of inBbox. */
  truth(b: Bbox): string[] {
    const [w, s, e, n] = b
    return this.points
      .filter(({ geometry: { coordinates: [x, y] } }) =>
        y! >= s && y! <= n && (w <= e ? x! >= w && x! <= e : x! >= w || x! <= e))
      .map((f) => f.id)
      .sort()
  }
  fetch = async (bbox: Bbox): Promise<F[]> => {
    this.requests++
    const call = this.requests
    this.inFlight++
    this.maxInFlight = Math.max(this.maxInFlight, this.inFlight)
    try {
      await new Promise((r) => setTimeout(r, Math.floor(this.rnd() * 3)))
      if (call === this.failOn) throw new Error('upstream 503')
      const [w, s, e, n] = bbox
      expect(w).toBeLessThanOrEqual(e) // we never send a crossing box
      const hits = this.points.filter(({ geometry: { coordinates: [x, y] } }) =>
        x! >= w && x! <= e && y! >= s && y! <= n)
      for (let i = hits.length - 1; i > 0; i--) {
        const j = Math.floor(this.rnd() * (i + 1))
        ;[hits[i], hits[j]] = [hits[j]!, hits[i]!]
      }
      return hits.slice(0, UPSTREAM_CAP)
    } finally {
      this.inFlight--
    }
  }
}

const BOX: Bbox = [-79.545, 8.935, -79.515, 8.965]
const DENSE_TILE = pointToTile(-79.53, 8.95, 18)

/** 9000 points in one z18 tile, sparse points around, points on tile edges, box edges, just outside. */
function denseWorld(seed = 1, shuffleSeed = seed): FakeUpstream {
  const up = new FakeUpstream(shuffleSeed)
  const r = prng(seed + 1)
  const [tw, ts, te, tn] = tileToBbox(DENSE_TILE)
  for (let i = 0; i < 9000; i++) up.add(tw + (0.001 + r() * 0.998) * (te - tw), ts + (0.001 + r() * 0.998) * (tn - ts))
  // Exactly on the lines of the tiles the sweep will cut the dense tile into (z19–z21).
  for (const child of tileChildren(DENSE_TILE)) {
    for (const grand of tileChildren(child)) {
      const [w, s, e, n] = tileToBbox(grand)
      up.add(w, s), up.add(e, n), up.add(w, (s + n) / 2), up.add((w + e) / 2, n)
    }
  }
  // Sparse points around, some outside the box.
  const [w, s, e, n] = BOX
  for (let i = 0; i < 400; i++) up.add(w - 0.01 + r() * (e - w + 0.02), s - 0.01 + r() * (n - s + 0.02))
  // On z14–z18 tile lines inside the box.
  for (let z = 14; z <= 18; z++) {
    for (let i = 0; i < 10; i++) {
      const [x0, y0, x1, y1] = tileToBbox(pointToTile(w + r() * (e - w), s + r() * (n - s), z))
      if (inBbox([x0, y0], BOX)) up.add(x0, y0)
      if (inBbox([x1, (y0 + y1) / 2], BOX)) up.add(x1, (y0 + y1) / 2)
    }
  }
  // On the box's edges and corners, and 1e-9 outside them.
  for (const [x, y] of [[w, s], [e, s], [e, n], [w, n]] as const) up.add(x, y)
  for (let i = 0; i < 20; i++) {
    const x = w + r() * (e - w)
    const y = s + r() * (n - s)
    up.add(w, y), up.add(e, y), up.add(x, s), up.add(x, n)
    up.add(w - 1e-9, y), up.add(e + 1e-9, y), up.add(x, s - 1e-9), up.add(x, n + 1e-9)
  }
  return up
}

function expectExactly(result: { features: F[] }, truth: string[], box: Bbox): void {
  const ids = result.features.map((f) => f.id)
  expect(new Set(ids).size).toBe(ids.length) // no duplicates
  expect(ids).toEqual(truth) // exactly the truth, sorted by id
  for (const f of result.features) expect(inBbox(f.geometry.coordinates, box)).toBe(true)
}

describe('sweepBbox against a fake capped upstream', () => {
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

  it('throws SweepBudgetError past maxRequests, with the count, before spending more', async () => {
    const needed = (await sweepBbox(BOX, denseWorld().fetch)).requests
    await expect(sweepBbox(BOX, denseWorld().fetch, { maxRequests: needed })).resolves.toBeDefined()
    const up = denseWorld()
    const err = await sweepBbox(BOX, up.fetch, { maxRequests: needed - 1 }).catch((e: unknown) => e)
    expect(err).toBeInstanceOf(SweepBudgetError)
    expect((err as SweepBudgetError).limit).toBe(needed - 1)
    expect((err as SweepBudgetError).needed).toBeGreaterThan(needed - 1)
    expect(up.requests).toBeLessThanOrEqual(needed - 1)
    const few = denseWorld()
    await expect(sweepBbox(BOX, few.fetch, { maxRequests: 0 })).rejects.toThrow(SweepBudgetError)
    expect(few.requests).toBe(0)
  })

  it('never has more than `concurrency` requests in flight', async () => {
    for (const concurrency of [1, 3, 6]) {
      const up = denseWorld()
      await sweepBbox(BOX, up.fetch, { concurrency })
      expect(up.maxInFlight).toBeLessThanOrEqual(concurrency)
      if (concurrency > 1) expect(up.maxInFlight).toBeGreaterThan(1)
    }
  })

  it('rejects with the fetch error', async () => {
    const up = denseWorld()
    up.failOn = 3
    await expect(sweepBbox(BOX, up.fetch)).rejects.toThrow('upstream 503')
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

  it('with a span limit the long box is refused before any request when over maxRequests', async () => {
    const up = new FakeUpstream(23)
    const err = await sweepBbox([-180, 10, 180, 10.0001], up.fetch, { maxCellSpanDeg: 1, maxRequests: 200 }).catch((e: unknown) => e)
    expect(err).toBeInstanceOf(SweepBudgetError)
    expect((err as SweepBudgetError).needed).toBe(360)
    expect(up.requests).toBe(0)
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

describe('dedupeById', () => {
  it('keeps the first of each id and sorts numeric ids numerically', () => {
    const g = (id: string) => ({ id })
    expect(dedupeById([g('10'), g('9'), g('10'), g('100')]).map((x) => x.id)).toEqual(['9', '10', '100'])
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
