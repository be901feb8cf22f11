import { tiles as tileCover } from '@mapbox/tile-cover'
import { describe, expect, it } from 'vitest'
import { pointToTile } from '../../shared/tiling'
import { fixedZ18Tiles } from './faq-baseline'
import { prng } from './prng'
import { expectCovers } from './tiling-oracle'

const PANAMA: [number, number, number, number] = [-79.545, 8.935, -79.515, 8.965]

describe('fixedZ18Tiles (the FAQ baseline)', () => {
  it('has one cell per z18 tile touching the box, covering it', () => {
    const cells = fixedZ18Tiles(PANAMA)
    const a = pointToTile(PANAMA[0], PANAMA[3], 18)
    const b = pointToTile(PANAMA[2], PANAMA[1], 18)
    expect(cells).toHaveLength((b[0] - a[0] + 1) * (b[1] - a[1] + 1))
    expect(cells.every((c) => c.tile[2] === 18)).toBe(true)
    expectCovers(PANAMA, cells)
  })

  it('matches @mapbox/tile-cover for boxes away from tile edges and lon 180', () => {
    const rnd = prng(11)
    for (let i = 0; i < 30; i++) {
      const w = -170 + rnd() * 340
      const s = -80 + rnd() * 160
      const e = w + rnd() * 0.02
      const n = s + rnd() * 0.02
      const ours = fixedZ18Tiles([w, s, e, n]).map((c) => c.tile.join('/')).sort()
      const poly = { type: 'Polygon' as const, coordinates: [[[w, s], [e, s], [e, n], [w, n], [w, s]]] }
      const theirs = tileCover(poly, { min_zoom: 18, max_zoom: 18 }).map((t) => t.join('/')).sort()
      expect(ours).toEqual(theirs)
    }
  })

  it('covers both halves of a box across the antimeridian, and refuses an invalid box', () => {
    const b: [number, number, number, number] = [179.999, 0, -179.999, 0.001]
    const cells = fixedZ18Tiles(b)
    expectCovers(b, cells)
    expect(cells.some((c) => c.bbox[0] < 0) && cells.some((c) => c.bbox[0] > 0)).toBe(true)
    expect(() => fixedZ18Tiles([0, 10, 1, 5])).toThrow(RangeError)
  })
})
