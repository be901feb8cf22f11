import { describe, expect, it } from 'vitest'
import { encodeTile, orientRings } from '../shared/mvt/encode-tile'
import { encodeBase64 } from '../shared/mvt/base64'
import { expectCoordsClose } from '../shared/mvt/test-helpers'
import realDetections from './fixtures/real-detections.json'
import { useSystem } from './support/system'
import { expectProblem } from './support/problem'
import { polygonsOf, referencePolygons } from './support/reference-decode'

const t = useSystem()

describe('GET /v1/images/{id}/detections', () => {
  it('decodes the real Mapillary detections to the formula’s pixels, y down', async () => {
    const res = await t.sys.json(`/v1/images/${t.world.sampleImages.realDetections}/detections`)
    expect(res.status).toBe(200)
    const { image, detections } = res.body
    expect(image.width).toBeGreaterThan(0)
    expect(image.thumb_original_url).toMatch(/^https?:\/\//)
    for (const real of realDetections.detections) {
      const d = detections.find((x: any) => x.id === real.id)
      expect(d, `detection ${real.id}`).toBeDefined()
      expect(d.geometry).toBe(real.geometry)
      const ring = real.tile_rings[0]!.map(([x, y]) => [(x! / 4096) * image.width, (y! / 4096) * image.height])
      expect(d.pixel_geometry.type).toBe('Polygon')
      expectCoordsClose(d.pixel_geometry.coordinates, [[...ring, ring[0]]])
    }
  })

  it('gives multipolygons and holes, equal to an independent decoder to 1e-6 px', async () => {
    const res = await t.sys.json(`/v1/images/${t.world.sampleImages.multipolygonWithHoles}/detections`)
    expect(res.status).toBe(200)
    const { image, detections } = res.body
    expect(detections.some((d: any) => d.pixel_geometry.type === 'MultiPolygon')).toBe(true)
    expect(detections.some((d: any) => polygonsOf(d.pixel_geometry).some((p) => p.length > 1))).toBe(true)
    for (const d of detections) {
      expectCoordsClose(polygonsOf(d.pixel_geometry), referencePolygons(d.geometry, image.width, image.height))
      for (const polygon of polygonsOf(d.pixel_geometry))
        for (const ring of polygon) for (const [x, y] of ring) {
          expect(x).toBeGreaterThanOrEqual(0)
          expect(x).toBeLessThanOrEqual(image.width)
          expect(y).toBeGreaterThanOrEqual(0)
          expect(y).toBeLessThanOrEqual(image.height)
        }
    }
  })

  it('answers an empty list for an image without detections, 404 for an unknown image', async () => {
    const none = await t.sys.json(`/v1/images/${t.world.sampleImages.noDetections}/detections`)
    expect(none.status).toBe(200)
    expect(none.body.detections).toEqual([])
    expectProblem(await t.sys.json('/v1/images/999999999999999/detections'), 404, 'not_found')
  })

  it('404s a map feature id asked for as an image, and an image id asked for as a map feature', async () => {
    expectProblem(await t.sys.json(`/v1/images/${t.world.sampleMapFeatures.seenInSeveralImages}/detections`), 404, 'not_found')
    expectProblem(await t.sys.json(`/v1/map-features/${t.world.sampleImages.ordinary}/images`), 404, 'not_found')
  })
})

describe('GET /v1/map-features/{id}/detections', () => {
  it('names each detection’s image and draws it in that image’s pixels', async () => {
    const id = t.world.sampleMapFeatures.seenInSeveralImages
    const res = await t.sys.json(`/v1/map-features/${id}/detections`)
    expect(res.status).toBe(200)
    const images = new Set(res.body.detections.map((d: any) => d.image.id))
    expect(images.size).toBe(t.world.sampleMapFeatures.seenInSeveralImagesCount)
    for (const d of res.body.detections) {
      expect(d.image).toMatchObject({ id: expect.any(String), width: expect.any(Number), height: expect.any(Number), thumb_original_url: expect.any(String) })
      expectCoordsClose(polygonsOf(d.pixel_geometry), referencePolygons(d.geometry, d.image.width, d.image.height))
    }
  })

  it('404s an unknown map feature', async () => {
    expectProblem(await t.sys.json('/v1/map-features/123456789012345/detections'), 404, 'not_found')
  })
})

describe('POST /v1/decode', () => {
  const post = (body: unknown) =>
    t.sys.json('/v1/decode', { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) })

  it('decodes a hand-made square with a hole to known pixels, no upstream call', async () => {
    const outer: [number, number][] = [[1024, 1024], [3072, 1024], [3072, 3072], [1024, 3072]]
    const hole: [number, number][] = [[1536, 1536], [1536, 2560], [2560, 2560], [2560, 1536]]
    const rings = orientRings([outer, hole])
    const geometry = encodeBase64(encodeTile([{ name: 'mpy-or', features: [{ type: 3, rings }] }]))
    const before = (await t.sys.sandboxControl.stats()).requests
    const res = await post({ geometry, width: 4000, height: 3000 })
    expect(res.status).toBe(200)
    const scale = ([x, y]: [number, number]) => [(x / 4096) * 4000, (y / 4096) * 3000]
    const expected = rings.map((r) => [...r.map(scale), scale(r[0]!)])
    expect(res.body.pixel_geometry.type).toBe('Polygon')
    expectCoordsClose(res.body.pixel_geometry.coordinates, expected)
    expect(res.body.pixel_geometry.coordinates[0][0]).toEqual([1000, 750])
    expect((await t.sys.sandboxControl.stats()).requests).toBe(before)
  })

  it('gives 422 problems for geometry that is not base64, not a tile, or empty', async () => {
    expectProblem(await post({ geometry: '%%%', width: 10, height: 10 }), 422, 'invalid_base64')
    expectProblem(await post({ geometry: btoa('hello world, not a tile'), width: 10, height: 10 }), 422, 'corrupt_tile')
    const points = encodeBase64(encodeTile([{ name: 'mpy-or', features: [{ type: 1, rings: [[[5, 5]]] }] }]))
    expectProblem(await post({ geometry: points, width: 10, height: 10 }), 422, 'empty_tile')
  })
})
