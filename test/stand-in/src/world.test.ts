import { readFileSync } from 'node:fs'
import { describe, expect, it } from 'vitest'
import { buildWorld, featuresIn, getWorld, REAL_DETECTIONS, WORLD } from './world'
import { lonLatToTile, pointInBBox, tileBounds } from './geo'

const world = getWorld()
const s = world.summary

describe('world', () => {
  it('builds quickly with modest memory, and the same world every time', () => {
    const heap0 = process.memoryUsage().heapUsed
    const t0 = performance.now()
    const again = buildWorld()
    const ms = performance.now() - t0
    const mb = (process.memoryUsage().heapUsed - heap0) / 1e6
    console.info(`world build: ${ms.toFixed(0)} ms, ~${mb.toFixed(1)} MB heap`)
    // Typically ~60–170 ms on a loaded 2-core box; generous bound against CI noise.
    expect(ms).toBeLessThan(1000)
    expect(again.summary).toEqual(s)
    expect(getWorld()).toBe(world)
  })

  it('has Graph-looking, unique ids', () => {
    const ids = [...world.featureById.keys(), ...world.imageById.keys()]
    expect(new Set(ids).size).toBe(ids.length)
    for (const id of ids) expect(id).toMatch(/^[1-9]\d{14}$/)
    for (const seq of world.sequenceById.keys()) expect(seq).toMatch(/^[A-Za-z0-9]{22}$/)
  })

  it('has sequences of the promised lengths, one with no detections at all', () => {
    const lengths = s.sequences.map((q) => q.length)
    for (const n of [1, 3, 50, 250, 1250]) expect(lengths).toContain(n)
    const none = s.sequences.find((q) => q.label.startsWith('no detections'))!
    const seq = world.sequenceById.get(none.id)!
    expect(seq.imageIds.length).toBe(WORLD.noDetectionSequenceLength)
    for (const id of seq.imageIds) expect(world.imageById.get(id)!.slots).toBe(0)
  })

  it('packs far more than the cap into one z18 tile, with features exactly on its edges', () => {
    const [x, y, z] = s.denseTile.tile
    expect(s.denseTile.bbox).toEqual(tileBounds(x, y, z))
    expect(s.denseTile.featureCount).toBeGreaterThan(3 * WORLD.apiCap)
    const [w, so, e, n] = s.denseTile.bbox
    const inside = world.features.filter((f) => f.lon > w && f.lon < e && f.lat > so && f.lat < n)
    expect(inside.length).toBeGreaterThanOrEqual(WORLD.denseTileFeatures)
    for (const f of inside) expect(lonLatToTile(f.lon, f.lat, z)).toEqual([x, y])
    for (const edge of [w, e]) expect(world.features.filter((f) => f.lon === edge).length).toBeGreaterThanOrEqual(3)
    for (const edge of [so, n]) expect(world.features.filter((f) => f.lat === edge).length).toBeGreaterThanOrEqual(3)
    const [pw, ps, pe, pn] = s.denseTile.parentBbox
    expect(world.features.some((f) => f.lon === pe && f.lat > ps && f.lat < pn)).toBe(true)
    expect(world.features.some((f) => f.lat === ps && f.lon > pw && f.lon < pe)).toBe(true)
  })

  it('publishes district boxes whose counts match the truth', () => {
    for (const d of s.districts) expect(featuresIn(world, d.bbox).length).toBe(d.featureCount)
    const names = s.districts.map((d) => d.name)
    expect(names).toEqual(expect.arrayContaining(['panama-dense', 'malmo-sparse', 'taveuni-antimeridian', 'probe']))
    const malmo = s.districts.find((d) => d.name === 'malmo-sparse')!
    expect(malmo.featureCount).toBe(WORLD.malmoFeatures)
  })

  it('puts features exactly on the probe box edges and corners, and just outside it', () => {
    const [w, so, e, n] = s.probe.bbox
    const inBox = featuresIn(world, s.probe.bbox).map((f) => f.id).sort()
    expect(inBox).toEqual([...s.probe.insideIds].sort())
    const inside = s.probe.insideIds.map((id) => world.featureById.get(id)!)
    for (const [lon, lat] of [[w, so], [w, n], [e, so], [e, n]]) {
      expect(inside.some((f) => f.lon === lon && f.lat === lat)).toBe(true)
    }
    expect(inside.filter((f) => f.lon === w || f.lon === e || f.lat === so || f.lat === n).length).toBeGreaterThanOrEqual(12)
    for (const id of s.probe.outsideIds) {
      const f = world.featureById.get(id)!
      expect(pointInBBox(f.lon, f.lat, s.probe.bbox)).toBe(false)
      expect(pointInBBox(f.lon, f.lat, [w - 2e-7, so - 2e-7, e + 2e-7, n + 2e-7])).toBe(true)
    }
  })

  it('spans the antimeridian with features exactly on ±180', () => {
    expect(s.antimeridian.onLon180.length).toBeGreaterThan(0)
    expect(s.antimeridian.onLonMinus180.length).toBeGreaterThan(0)
    for (const id of s.antimeridian.onLon180) expect(world.featureById.get(id)!.lon).toBe(180)
    for (const id of s.antimeridian.onLonMinus180) expect(world.featureById.get(id)!.lon).toBe(-180)
    const tav = s.districts.find((d) => d.name === 'taveuni-antimeridian')!
    expect(tav.crossesAntimeridian).toBe(true)
    expect(tav.featureCount).toBe(WORLD.taveuniFeatures)
    const east = featuresIn(world, [tav.bbox[0], tav.bbox[1], 180, tav.bbox[3]]).length
    const west = featuresIn(world, [-180, tav.bbox[1], tav.bbox[2], tav.bbox[3]]).length
    // The ±180 features show up on both sides.
    expect(east + west).toBe(WORLD.taveuniFeatures + 2 * WORLD.taveuniOnMeridianEachSide)
  })

  it('links features and images both ways, about a third of features unseen', () => {
    const problems: string[] = []
    for (const f of world.features) {
      for (const imageId of f.images) if (!world.imageById.get(imageId)!.links.includes(f.id)) problems.push(`${f.id} -> ${imageId}`)
    }
    for (const image of world.imageById.values()) {
      if (image.slots < image.links.length || image.slots > WORLD.maxDetectionsPerImage) problems.push(`slots of ${image.id}`)
      for (const fid of image.links) if (!world.featureById.get(fid)!.images.includes(image.id)) problems.push(`${image.id} -> ${fid}`)
    }
    expect(problems).toEqual([])
    const unseen = s.counts.unseenFeatures / s.counts.mapFeatures
    expect(unseen).toBeGreaterThan(0.25)
    expect(unseen).toBeLessThan(0.5)
    const several = world.featureById.get(s.sampleMapFeatures.seenInSeveralImages)!
    expect(several.images.length).toBeGreaterThanOrEqual(3)
    expect(world.featureById.get(s.sampleMapFeatures.seenInNoImage)!.images).toEqual([])
    // Seen features' dates come from their images.
    const first = world.imageById.get(several.images[0]!)!.captured_at
    expect(several.first_seen_ms).toBe(first)
  })

  it('carries the real fixture geometries verbatim', () => {
    const fixture = JSON.parse(readFileSync(new URL('../../fixtures/real-detections.json', import.meta.url), 'utf8'))
    expect(REAL_DETECTIONS.map((d) => [d.id, d.geometry])).toEqual(fixture.detections.map((d: any) => [d.id, d.geometry]))
    expect(world.imageById.get(s.sampleImages.realDetections)!.special).toBe('real')
  })
})
