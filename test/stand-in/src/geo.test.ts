import { describe, expect, it } from 'vitest'
import { lonLatToTile, parseBBox, pointInBBox, tileBounds } from './geo'

describe('geo', () => {
  it('finds the tile of a point and its bounds contain it', () => {
    const [x, y] = lonLatToTile(-79.53, 8.95, 18)
    const [w, s, e, n] = tileBounds(x, y, 18)
    expect(-79.53).toBeGreaterThanOrEqual(w)
    expect(-79.53).toBeLessThan(e)
    expect(8.95).toBeGreaterThan(s)
    expect(8.95).toBeLessThanOrEqual(n)
    expect(tileBounds(0, 0, 0)[0]).toBe(-180)
    expect(tileBounds(0, 0, 0)[3]).toBeCloseTo(85.0511287798, 9)
  })

  it('includes edges, handles the antimeridian and treats ±180 as one meridian', () => {
    const box: [number, number, number, number] = [13.01, 55.61, 13.02, 55.62]
    expect(pointInBBox(13.01, 55.61, box)).toBe(true)
    expect(pointInBBox(13.02, 55.62, box)).toBe(true)
    expect(pointInBBox(13.01 - 1e-7, 55.615, box)).toBe(false)
    const cross: [number, number, number, number] = [179.9, -17, -179.9, -16]
    expect(pointInBBox(179.95, -16.5, cross)).toBe(true)
    expect(pointInBBox(-179.95, -16.5, cross)).toBe(true)
    expect(pointInBBox(0, -16.5, cross)).toBe(false)
    expect(pointInBBox(-180, -16.5, [179.9, -17, 180, -16])).toBe(true)
    expect(pointInBBox(180, -16.5, [-180, -17, -179.9, -16])).toBe(true)
  })

  it('parses bboxes strictly', () => {
    expect(parseBBox('1,2,3,4')).toEqual([1, 2, 3, 4])
    expect(parseBBox('179,-1,-179,1')).toEqual([179, -1, -179, 1])
    for (const bad of [undefined, '', '1,2,3', '1,2,3,4,5', 'a,2,3,4', '1,,3,4', '0,5,1,4', '0,0,181,1', '0,-91,1,1', 'Infinity,0,1,1']) {
      expect(parseBBox(bad)).toBeNull()
    }
  })
})
