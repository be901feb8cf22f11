/**
 * @module
 * A fake of the upstream's `/map_features` for the tiling tests, in memory: a world of points,
 * answered like the Graph API answers a bbox (edges included, shuffled, silently cut at 2000),
 * with its own ground truth written independently of shared/tiling's point test.
 */
import { expect } from 'vitest'
import { inBbox, pointToTile, tileChildren, tileToBbox, UPSTREAM_CAP, type Bbox, type PointFeature } from '../../shared/tiling'
import { prng } from './prng'

export type WorldPoint = PointFeature & { n: number }

/** A world of points and an upstream lookalike: edges included, shuffled, cut at 2000, no sign. */
export class FakeUpstream {
  readonly points: WorldPoint[] = []
  requests = 0
  inFlight = 0
  maxInFlight = 0
  /** The request (1-based) that fails with `upstream 503`, or none. */
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
  fetch = async (bbox: Bbox): Promise<WorldPoint[]> => {
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

/** The box of {@link denseWorld}: about the sample world's dense district. */
export const DENSE_BOX: Bbox = [-79.545, 8.935, -79.515, 8.965]
const DENSE_TILE = pointToTile(-79.53, 8.95, 18)

/** 9000 points in one z18 tile, sparse points around, points on tile edges, box edges, just outside. */
export function denseWorld(seed = 1, shuffleSeed = seed): FakeUpstream {
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
  const [w, s, e, n] = DENSE_BOX
  for (let i = 0; i < 400; i++) up.add(w - 0.01 + r() * (e - w + 0.02), s - 0.01 + r() * (n - s + 0.02))
  // On z14–z18 tile lines inside the box.
  for (let z = 14; z <= 18; z++) {
    for (let i = 0; i < 10; i++) {
      const [x0, y0, x1, y1] = tileToBbox(pointToTile(w + r() * (e - w), s + r() * (n - s), z))
      if (inBbox([x0, y0], DENSE_BOX)) up.add(x0, y0)
      if (inBbox([x1, (y0 + y1) / 2], DENSE_BOX)) up.add(x1, (y0 + y1) / 2)
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
