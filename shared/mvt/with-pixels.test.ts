import { describe, expect, it } from 'vitest'
import { encodeBase64 } from './base64'
import { encodeTile } from '../../test/stand-in/src/encode-tile'
import { DEFAULT_MAX_POINTS } from './pixel-geometry'
import { withPixels } from './with-pixels'

const squareTile = encodeBase64(encodeTile([{ name: 'mpy-or', extent: 100, features: [{ type: 3, rings: [[[10, 10], [20, 10], [20, 20], [10, 20]]] }] }]))

describe('withPixels', () => {
  it('adds the pixel polygon, keeping every other member', () => {
    expect(withPixels({ id: '1', value: 'object--sign', geometry: squareTile }, 1000, 500)).toEqual({
      id: '1',
      value: 'object--sign',
      geometry: squareTile,
      pixel_geometry: { type: 'Polygon', coordinates: [[[100, 50], [200, 50], [200, 100], [100, 100], [100, 50]]] },
    })
  })

  it('keeps a detection without geometry, saying why it has no pixels', () => {
    for (const geometry of [undefined, null, 42]) {
      expect(withPixels({ id: '2', geometry }, 1000, 500)).toEqual({
        id: '2',
        geometry,
        pixel_geometry: null,
        pixel_geometry_error: { reason: 'missing_geometry', detail: 'The upstream sent no geometry for this detection.' },
      })
    }
  })

  it('keeps a detection whose geometry does not decode, with the decoder’s reason', () => {
    expect(withPixels({ id: '3', geometry: '!!' }, 1000, 500)).toEqual({
      id: '3',
      geometry: '!!',
      pixel_geometry: null,
      pixel_geometry_error: { reason: 'invalid_base64', detail: 'The geometry is not valid base64 (standard or URL-safe alphabet).' },
    })
  })

  it('passes the point cap on: a tile past it keeps its place as too_many_points', () => {
    expect(withPixels({ id: '3', geometry: squareTile }, 1000, 500, { maxPoints: 5 }).pixel_geometry).not.toBeNull()
    expect(withPixels({ id: '3', geometry: squareTile }, 1000, 500, { maxPoints: 4 })).toEqual({
      id: '3',
      geometry: squareTile,
      pixel_geometry: null,
      pixel_geometry_error: { reason: 'too_many_points', detail: 'The geometry holds more than 4 points, the most one decode answers.' },
    })
  })

  it(`caps at DEFAULT_MAX_POINTS (${DEFAULT_MAX_POINTS}) unless told otherwise, so every caller is bounded (a sequence's pixels=true too)`, () => {
    const ring = (n: number): Array<[number, number]> => Array.from({ length: n }, (_, i) => [i % 4000, Math.floor(i / 4000)])
    const big = (n: number) => encodeBase64(encodeTile([{ name: 'mpy-or', features: [{ type: 3, rings: [ring(n)] }] }]))
    // The closing point counts: n drawn points answer n + 1.
    expect(withPixels({ id: '4', geometry: big(DEFAULT_MAX_POINTS - 1) }, 4000, 4000).pixel_geometry).not.toBeNull()
    expect(withPixels({ id: '4', geometry: big(DEFAULT_MAX_POINTS) }, 4000, 4000)).toMatchObject({ pixel_geometry: null, pixel_geometry_error: { reason: 'too_many_points' } })
    expect(withPixels({ id: '4', geometry: big(DEFAULT_MAX_POINTS) }, 4000, 4000, {}).pixel_geometry).not.toBeNull()
  })
})
