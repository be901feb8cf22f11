import { describe, expect, it } from 'vitest'
import { PbfReader } from 'pbf'
import { VectorTile } from '@mapbox/vector-tile'
import { decodeBase64 } from '../../../shared/mvt/base64'
import { ringArea } from './encode-tile'
import { getWorld, REAL_DETECTIONS } from './world'
import { detectionsOfFeature, detectionsOfImage, DETECTION_EXTENT, DETECTION_LAYER } from './detections'

const world = getWorld()
const s = world.summary

/** Polygons (exterior + holes) of every feature of a detection tile, in tile coordinates. */
function decode(geometry: string) {
  const tile = new VectorTile(new PbfReader(decodeBase64(geometry)!))
  expect(Object.keys(tile.layers)).toEqual([DETECTION_LAYER])
  const layer = tile.layers[DETECTION_LAYER]!
  expect(layer.extent).toBe(DETECTION_EXTENT)
  const features = []
  for (let i = 0; i < layer.length; i++) {
    const f = layer.feature(i)
    expect(f.type).toBe(3)
    features.push(f.loadGeometry().map((ring) => ring.map((p) => [p.x, p.y] as [number, number])))
  }
  return features
}

describe('detections', () => {
  it('encodes real MVT polygons inside the extent, with multipolygons and holes on the showcase image', () => {
    const image = world.imageById.get(s.sampleImages.multipolygonWithHoles)!
    const dets = detectionsOfImage(world, image)
    expect(dets.length).toBe(4)
    let multi = 0
    let holes = 0
    for (const d of dets) {
      const features = decode(d.geometry)
      if (features.length >= 2) multi++
      for (const rings of features) {
        // Closed by the decoder (first point repeated); drop the repeat for the area.
        const open = rings.map((r) => r.slice(0, -1))
        expect(ringArea(open[0]!)).toBeGreaterThan(0)
        for (const hole of open.slice(1)) {
          expect(ringArea(hole)).toBeLessThan(0)
          holes++
        }
        for (const r of rings) for (const [x, y] of r) expect(x >= 0 && x < DETECTION_EXTENT && y >= 0 && y < DETECTION_EXTENT).toBe(true)
      }
    }
    expect(multi).toBeGreaterThanOrEqual(2)
    expect(holes).toBeGreaterThanOrEqual(2)
  })

  it('is deterministic and the same whether reached from the image or the map feature', () => {
    const f = world.featureById.get(s.sampleMapFeatures.seenInSeveralImages)!
    const fromFeature = detectionsOfFeature(world, f)
    expect(fromFeature.length).toBe(f.images.length)
    for (const d of fromFeature) {
      expect(d.value).toBe(f.object_value)
      expect(d.map_feature).toBe(f.id)
      const fromImage = detectionsOfImage(world, world.imageById.get(d.image)!)
      expect(fromImage).toContainEqual(d)
    }
    expect(detectionsOfFeature(world, f)).toEqual(fromFeature)
    expect(detectionsOfFeature(world, world.featureById.get(s.sampleMapFeatures.seenInNoImage)!)).toEqual([])
  })

  it('has images with none, the real fixture image, and 0–6 everywhere', () => {
    expect(detectionsOfImage(world, world.imageById.get(s.sampleImages.noDetections)!)).toEqual([])
    const real = detectionsOfImage(world, world.imageById.get(s.sampleImages.realDetections)!)
    expect(real.map((d) => d.geometry)).toEqual(REAL_DETECTIONS.map((d) => d.geometry))
    expect(decode(real[0]!.geometry)[0]![0]!.slice(0, 3)).toEqual([[2810, 2381], [2824, 2381], [2824, 2387]])
    const sample = [...world.imageById.values()].filter((_, i) => i % 37 === 0)
    const counts = new Set<number>()
    for (const image of sample) {
      const dets = detectionsOfImage(world, image)
      counts.add(dets.length)
      expect(dets.length).toBeLessThanOrEqual(6)
      for (const d of dets) {
        expect(d.id).toMatch(/^\d{15}$/)
        expect(d.created_at).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\+0000$/)
        decode(d.geometry)
      }
    }
    expect(counts.has(0)).toBe(true)
    expect(counts.has(6)).toBe(true)
  })
})
