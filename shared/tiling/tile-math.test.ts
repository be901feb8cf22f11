import { describe, expect, it } from 'vitest'
import { MAX_LAT, latToTileY, pointToTile, tileChildren, tileToBbox } from './tile-math'
import { prng } from '../../test/support/prng'
import type { Bbox, Tile } from './types'

describe('tile math', () => {
  it('z0 is the whole mercator world', () => {
    expect(tileToBbox([0, 0, 0])).toEqual([-180, -MAX_LAT, 180, MAX_LAT])
  })
  it('MAX_LAT is where the mercator square ends: the top of row 0, the bottom of the last row', () => {
    for (const z of [0, 1, 9, 18]) {
      expect(latToTileY(MAX_LAT, z)).toBeCloseTo(0, 9)
      expect(latToTileY(-MAX_LAT, z) / 2 ** z).toBeCloseTo(1, 12)
      // Past it, latitudes are held at the edge.
      expect(latToTileY(89.9, z)).toBe(latToTileY(MAX_LAT, z))
    }
  })
  it('gives the known bounds of a tile', () => {
    const [w, s, e, n] = tileToBbox([1, 0, 1])
    expect([w, e]).toEqual([0, 180])
    expect(s).toBeCloseTo(0, 12)
    expect(n).toBe(MAX_LAT)
  })
  it('children partition the parent with bit-identical shared edges', () => {
    const rnd = prng(7)
    for (let i = 0; i < 200; i++) {
      const z = Math.floor(rnd() * 21)
      const t: Tile = [Math.floor(rnd() * 2 ** z), Math.floor(rnd() * 2 ** z), z]
      const [w, s, e, n] = tileToBbox(t)
      const [nw, ne, sw, se] = tileChildren(t).map(tileToBbox) as [Bbox, Bbox, Bbox, Bbox]
      expect([nw[0], nw[3], ne[2], ne[3], sw[0], sw[1], se[2], se[1]]).toEqual([w, n, e, n, w, s, e, s])
      expect(nw[2]).toBe(ne[0]) // shared meridian
      expect(nw[1]).toBe(sw[3]) // shared parallel
      expect(sw[2]).toBe(se[0])
    }
  })
  it('pointToTile stays in range at lon 180 and the southern limit', () => {
    expect(pointToTile(180, -MAX_LAT, 3)).toEqual([7, 7, 3])
    expect(pointToTile(-180, MAX_LAT, 3)).toEqual([0, 0, 3])
  })
})
