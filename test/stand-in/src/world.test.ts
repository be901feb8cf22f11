import { readFileSync } from 'node:fs'
import { describe, expect, it } from 'vitest'
import { bboxArea, MIN_CELL_DEG, UPSTREAM_CAP } from '../../../shared/tiling'
import { DEFAULT_MAX_BBOX_AREA } from '../../../workers/map-features/src/question'
import { DEFAULT_MAX_BOX_REQUESTS } from '../../../workers/map-features/src/box-limits'
import { sweepBbox, sweepRounds } from '../../support/reference-sweep'
// @ts-expect-error: plain JavaScript, no declarations
import { cellRounds } from '../../../bench/measures.mjs'
import app from './index'
import { buildWorld, CITY, featuresIn, getWorld, REAL_DETECTIONS, WORLD, type MapFeature } from './world'
import { lonLatToTile, pointInBBox, tileBounds, type BBox } from './geo'
import { hash32, Rng } from './prng'

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
    // Typically ~150–350 ms on a loaded 2-core box, half of it the city's 60,000 features; generous
    // bound against CI noise.
    expect(ms).toBeLessThan(2500)
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

  it('links features and images both ways, about a third of the districts\' features unseen (the city is seen nowhere)', () => {
    const problems: string[] = []
    for (const f of world.features) {
      for (const imageId of f.images) if (!world.imageById.get(imageId)!.links.includes(f.id)) problems.push(`${f.id} -> ${imageId}`)
    }
    for (const image of world.imageById.values()) {
      if (image.slots < image.links.length || image.slots > WORLD.maxDetectionsPerImage) problems.push(`slots of ${image.id}`)
      for (const fid of image.links) if (!world.featureById.get(fid)!.images.includes(image.id)) problems.push(`${image.id} -> ${fid}`)
    }
    expect(problems).toEqual([])
    const districts = world.features.filter((f) => f.district !== 'city')
    const unseen = districts.filter((f) => f.images.length === 0).length / districts.length
    expect(unseen).toBeGreaterThan(0.25)
    expect(unseen).toBeLessThan(0.5)
    expect(s.counts.unseenFeatures).toBe(world.features.filter((f) => f.images.length === 0).length)
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

describe('the city', () => {
  const city = s.districts.find((d) => d.name === 'city')!
  const box = city.bbox
  const cityFeatures = world.features.filter((f) => f.district === 'city')
  const planned = CITY.cores.reduce((a, c) => a + c.count, 0) + CITY.neighbourhoods.number * CITY.neighbourhoods.count + CITY.spreadFeatures

  it('fills a box of the largest area a question may ask with some 60,000 features, seen in no image', () => {
    expect(bboxArea(box)).toBeLessThanOrEqual(DEFAULT_MAX_BBOX_AREA)
    expect(bboxArea(box)).toBeGreaterThan(DEFAULT_MAX_BBOX_AREA - 1e-9)
    expect(planned).toBe(60_000)
    expect(cityFeatures.length).toBe(planned)
    expect(city.featureCount).toBe(planned)
    expect(cityFeatures.filter((f) => f.images.length > 0 || !(f.last_seen_ms >= f.first_seen_ms))).toEqual([])
    // No other district's feature lies in it, and none of its features in another district.
    expect(featuresIn(world, box).every((f) => f.district === 'city')).toBe(true)
    for (const d of s.districts) if (d.name !== 'city') expect(featuresIn({ features: cityFeatures }, d.bbox)).toEqual([])
  })

  it('leaves every other count of the world as it was: the districts, the images, the sequences', () => {
    const panama = WORLD.denseTileFeatures + 2 * (4 + 4 * WORLD.denseTileEdgePointsPerEdge) + WORLD.panamaSpreadFeatures
    const probe = 17 + 8
    expect(s.counts.mapFeatures - planned).toBe(panama + WORLD.malmoFeatures + WORLD.taveuniFeatures + probe)
    const lengths = 1 + 3 + 50 + 250 + 1250 + WORLD.noDetectionSequenceLength + WORLD.panamaBackgroundSequences * WORLD.panamaBackgroundLength + WORLD.taveuniBackgroundSequences * WORLD.taveuniBackgroundLength
    expect(s.counts.images).toBe(lengths)
    expect(s.counts.sequences).toBe(6 + WORLD.panamaBackgroundSequences + WORLD.taveuniBackgroundSequences)
    for (const image of world.imageById.values()) expect(image.district).not.toBe('city')
  })

  it('has dense cores of thousands of features in a few hundred metres, yet under 2000 in any z22 tile', () => {
    for (const c of CITY.cores) {
      const core: BBox = [c.lon - c.half, c.lat - c.half, c.lon + c.half, c.lat + c.half]
      expect(featuresIn({ features: cityFeatures }, core).length).toBeGreaterThanOrEqual(c.count)
      expect(2 * c.half).toBeLessThan(0.005)
    }
    expect(CITY.cores.filter((c) => c.count >= 2 * UPSTREAM_CAP).length).toBeGreaterThanOrEqual(3)
    const perTile = new Map<string, number>()
    for (const f of cityFeatures) {
      const key = lonLatToTile(f.lon, f.lat, 22).join('/')
      perTile.set(key, (perTile.get(key) ?? 0) + 1)
    }
    expect(Math.max(...perTile.values())).toBeLessThan(UPSTREAM_CAP)
    // A z22 tile is the sweep's floor: the smallest cell it still cuts.
    expect(tileBounds(0, 0, 22)[2] - tileBounds(0, 0, 22)[0]).toBeCloseTo(MIN_CELL_DEG, 12)
  })

  it('has empty parks, large ones', () => {
    for (const park of CITY.parks) {
      expect(featuresIn(world, park)).toEqual([])
      expect(bboxArea(park)).toBeGreaterThan(0.001)
    }
  })

  it('the truth route counts the city exactly', async () => {
    const res = await app.request(`http://sandbox.test/__sandbox/truth/map_features?bbox=${box.join(',')}`)
    const body = (await res.json()) as { ids: string[]; count: number }
    expect(body.count).toBe(planned)
    expect(new Set(body.ids)).toEqual(new Set(cityFeatures.map((f) => f.id)))
  })

  it('is swept whole by the product\'s own steps within the synchronous request bound', async () => {
    // A capped upstream over the truth: more than 2000 in a cell, an unordered 2000 of them.
    const asPoint = (f: MapFeature) => ({ id: f.id, geometry: { type: 'Point' as const, coordinates: [f.lon, f.lat] } })
    let n = 0
    const fetchCell = async (cell: BBox) => {
      const inside = featuresIn({ features: cityFeatures }, cell).map(asPoint)
      return inside.length <= UPSTREAM_CAP ? inside : new Rng(hash32('cut', ++n)).shuffle(inside).slice(0, UPSTREAM_CAP)
    }
    const swept = await sweepBbox(box, fetchCell, { maxRequests: DEFAULT_MAX_BOX_REQUESTS })
    expect(swept.saturated).toEqual([])
    expect(swept.features.length).toBe(planned)
    // Deep: the dependent rounds reach cells a few hundred times narrower than the box.
    n = 0
    const { rounds, features } = await sweepRounds(box, fetchCell)
    expect(features.length).toBe(planned)
    const narrowest = Math.min(...rounds.flat().map((c) => c.bbox[2] - c.bbox[0]))
    expect((box[2] - box[0]) / narrowest).toBeGreaterThanOrEqual(256)
    // The bench reads a sweep's rounds back from the cells asked: that gives these rounds exactly.
    expect(cellRounds(rounds.flat().map((c) => c.bbox))).toEqual(rounds.map((r) => r.length))
    console.info(`city, round by round: ${rounds.map((r) => r.length).join(' + ')} cells`)
    console.info(`city: ${swept.requests} requests to sweep ${planned} features`)
  })
})
