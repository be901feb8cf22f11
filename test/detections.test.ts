import { describe, expect, it } from 'vitest'
import { encodeTile, orientRings } from './stand-in/src/encode-tile'
import { encodeBase64 } from '../shared/mvt/base64'
import { expectCoordsClose } from './support/pixel-geometry-checks'
import realDetections from './fixtures/real-detections.json'
import { useSystem } from './support/system'
import { expectProblem } from './support/problem'
import { polygonsOf, referencePolygons } from './support/reference-decode'
import { featureDetectionsTruth, featureSeenIn, imageDetectionsTruth, imageSize, imageWithDetections, tokenHash } from './support/truth'

const t = useSystem()

describe('GET /v1/images/{id}/detections', () => {
  it('decodes the real Mapillary detections to the formula’s pixels, y down', async () => {
    const id = t.world.sampleImages.realDetections
    const res = await t.sys.json(`/v1/images/${id}/detections`)
    expect(res.status).toBe(200)
    const { image, detections } = res.body
    // The image's size from the stand-in's world, not from the answer under test.
    const { width, height } = imageSize(id)
    expect(width).not.toBe(height)
    expect(image).toMatchObject({ id, width, height })
    expect(image.thumb_original_url).toMatch(/^https?:\/\//)
    expect(detections.map((d: any) => d.id).sort()).toEqual(realDetections.detections.map((d) => d.id).sort())
    for (const real of realDetections.detections) {
      const d = detections.find((x: any) => x.id === real.id)
      expect(d, `detection ${real.id}`).toBeDefined()
      expect(d.geometry).toBe(real.geometry)
      const ring = real.tile_rings[0]!.map(([x, y]) => [(x! / 4096) * width, (y! / 4096) * height])
      expect(d.pixel_geometry.type).toBe('Polygon')
      expectCoordsClose(d.pixel_geometry.coordinates, [[...ring, ring[0]]])
    }
  })

  it('gives multipolygons and holes, equal to an independent decoder to 1e-6 px', async () => {
    const id = t.world.sampleImages.multipolygonWithHoles
    const res = await t.sys.json(`/v1/images/${id}/detections`)
    expect(res.status).toBe(200)
    const { image, detections } = res.body
    const { width, height } = imageSize(id)
    expect(width).not.toBe(height)
    expect(image).toMatchObject({ id, width, height })
    expect(detections.some((d: any) => d.pixel_geometry.type === 'MultiPolygon')).toBe(true)
    expect(detections.some((d: any) => polygonsOf(d.pixel_geometry).some((p) => p.length > 1))).toBe(true)
    // Every detection of the image, each geometry as the stand-in made it, decoded independently.
    const truth = imageDetectionsTruth(id, ['value', 'geometry'])
    expect(detections.map((d: any) => ({ id: d.id, value: d.value, geometry: d.geometry }))).toEqual(truth)
    for (const [i, d] of detections.entries()) {
      expectCoordsClose(polygonsOf(d.pixel_geometry), referencePolygons(truth[i]!.geometry as string, width, height))
      for (const polygon of polygonsOf(d.pixel_geometry))
        for (const ring of polygon) for (const [x, y] of ring) {
          expect(x).toBeGreaterThanOrEqual(0)
          expect(x).toBeLessThanOrEqual(width)
          expect(y).toBeGreaterThanOrEqual(0)
          expect(y).toBeLessThanOrEqual(height)
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
    // Regression: the upstream serves /{id}/detections for an image too; asked as a map feature, it is still 404.
    expectProblem(await t.sys.json(`/v1/map-features/${t.world.sampleImages.ordinary}/detections`), 404, 'not_found')
    expectProblem(await t.sys.json(`/v1/map-features/${t.world.sampleImages.multipolygonWithHoles}/detections`), 404, 'not_found')
  })

  it('calls the upstream with the client’s own token on both detection routes, and only with it', async () => {
    const own = 'MLY|31337|00112233445566778899aabbccddeeff'
    // Ids no other test here asks for: nothing of theirs is in KV yet, so the upstream must be called.
    const image = imageWithDetections(3, [t.world.sampleImages.multipolygonWithHoles, t.world.sampleImages.ordinary])
    const feature = featureSeenIn(2, [t.world.sampleMapFeatures.seenInSeveralImages])
    for (const path of [`/v1/images/${image}/detections`, `/v1/map-features/${feature}/detections`]) {
      await t.sys.sandboxControl.reset()
      const res = await t.sys.json(path, { headers: { authorization: `OAuth ${own}` } })
      expect(res.status, path).toBe(200)
      const stats = await t.sys.sandboxControl.stats()
      expect(stats.requests, path).toBeGreaterThan(0)
      expect(stats.tokensSeen, path).toEqual([tokenHash(own)])
      expect(stats.authorization_headers_seen, path).toBe(stats.requests)
    }
  })
})

describe('GET /v1/map-features/{id}/detections', () => {
  it('names each detection’s image and draws it in that image’s pixels', async () => {
    const id = t.world.sampleMapFeatures.seenInSeveralImages
    const res = await t.sys.json(`/v1/map-features/${id}/detections`)
    expect(res.status).toBe(200)
    expect(res.body.map_feature.id).toBe(id)
    const truth = featureDetectionsTruth(id)
    expect(truth.length).toBe(t.world.sampleMapFeatures.seenInSeveralImagesCount)
    expect(res.body.detections.map((d: any) => d.id).sort()).toEqual(truth.map((d) => d.id).sort())
    for (const want of truth) {
      const d = res.body.detections.find((x: any) => x.id === want.id)
      // Each detection's image and its size from the stand-in's world, the geometry decoded independently.
      const size = imageSize(want.image)
      expect(d.image).toMatchObject({ id: want.image, ...size, thumb_original_url: expect.stringMatching(/^https?:\/\//) })
      expect({ value: d.value, geometry: d.geometry }).toEqual({ value: want.value, geometry: want.geometry })
      expectCoordsClose(polygonsOf(d.pixel_geometry), referencePolygons(want.geometry, size.width, size.height))
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
