import { describe, expect, it } from 'vitest'
import { fixedZ18Tiles, inBbox, type Bbox } from '../shared/tiling'
import { useSystem } from './support/system'
import { expectProblem } from './support/problem'

const t = useSystem()

const district = (name: string) => t.world.districts.find((d: any) => d.name.includes(name))
const ids = (fc: any): string[] => fc.features.map((f: any) => f.id)

async function collection(bbox: Bbox | number[], extra = '') {
  const res = await t.sys.json(`/v1/map-features?bbox=${bbox.join(',')}${extra}`)
  expect(res.status, JSON.stringify(res.body).slice(0, 500)).toBe(200)
  return res
}

describe('GET /v1/map-features', () => {
  it('returns every feature of a dense district exactly once, though one z18 tile holds more than 2000', async () => {
    const dense = t.world.denseTile
    expect(dense.featureCount).toBeGreaterThan(2000)
    const bbox = district('dense').bbox as Bbox
    const truth = await t.sys.sandboxControl.truthIds(bbox.join(','))
    const res = await collection(bbox)
    expect(res.headers.get('content-type')).toMatch(/^application\/geo\+json/)
    const got = ids(res.body)
    expect(new Set(got).size).toBe(got.length)
    expect([...got].sort()).toEqual([...truth].sort())
    for (const f of res.body.features) {
      expect(inBbox(f.geometry.coordinates, bbox)).toBe(true)
      expect(f.properties.id).toBe(f.id)
      expect(typeof f.properties.object_value).toBe('string')
    }
    // far fewer upstream requests than the FAQ's fixed z18 tiling, which also loses data
    const requests = Number(res.headers.get('x-upstream-requests'))
    expect(requests).toBeGreaterThan(0)
    expect(requests * 10).toBeLessThanOrEqual(fixedZ18Tiles(bbox).length)
  })

  it('includes features on the edges and corners of the box and none just outside it', async () => {
    const probe = t.world.probe
    const got = new Set(ids((await collection(probe.bbox)).body))
    for (const id of probe.insideIds) expect(got.has(id), `edge feature ${id}`).toBe(true)
    for (const id of probe.outsideIds) expect(got.has(id), `outside feature ${id}`).toBe(false)
    expect([...got].sort()).toEqual((await t.sys.sandboxControl.truthIds(probe.bbox.join(','))).sort())
  })

  it('reads west > east as a box across the antimeridian', async () => {
    const am = district('antimeridian')
    expect(am.crossesAntimeridian).toBe(true)
    const got = ids((await collection(am.bbox)).body)
    const truth = await t.sys.sandboxControl.truthIds(am.bbox.join(','))
    expect(got.length).toBe(am.featureCount)
    expect([...got].sort()).toEqual([...truth].sort())
    for (const id of [...t.world.antimeridian.onLon180, ...t.world.antimeridian.onLonMinus180]) expect(got).toContain(id)
  })

  it('costs a sparse suburb a handful of requests, and a repeat none', async () => {
    const sparse = district('sparse').bbox as Bbox
    const first = await collection(sparse)
    expect(ids(first.body).length).toBe(district('sparse').featureCount)
    expect(Number(first.headers.get('x-upstream-requests'))).toBeLessThanOrEqual(4)
    const before = (await t.sys.sandboxControl.stats()).requests
    const again = await collection(sparse)
    expect(again.headers.get('x-cache')).toBe('hit')
    expect((await t.sys.sandboxControl.stats()).requests).toBe(before)
    expect(again.body).toEqual(first.body)
  })

  it('passes object_values upstream and adds the asked fields to properties', async () => {
    const bbox = district('sparse').bbox as Bbox
    const all = (await collection(bbox)).body
    const value = all.features[0].properties.object_value as string
    const res = await collection(bbox, `&object_values=${value}&fields=object_type,first_seen_at`)
    const truth = await t.sys.sandboxControl.truthIds(bbox.join(','), value)
    expect(ids(res.body).sort()).toEqual(truth.sort())
    for (const f of res.body.features) {
      expect(f.properties.object_value).toBe(value)
      expect(f.properties).toHaveProperty('object_type')
      expect(f.properties).toHaveProperty('first_seen_at')
    }
  })

  it('answers ETag and 304 for a matching If-None-Match', async () => {
    const bbox = district('sparse').bbox.join(',')
    const res = await t.sys.fetch(`/v1/map-features?bbox=${bbox}`)
    await res.arrayBuffer()
    const etag = res.headers.get('etag')
    expect(etag).toBeTruthy()
    expect(res.headers.get('cache-control')).toMatch(/max-age=\d+/)
    const again = await t.sys.fetch(`/v1/map-features?bbox=${bbox}`, { headers: { 'if-none-match': etag! } })
    expect(again.status).toBe(304)
  })

  it('refuses a box too large to serve with a 4xx naming the limit', async () => {
    const res = await t.sys.json('/v1/map-features?bbox=-80,8,-79,9')
    expectProblem(res, 422, 'bbox_too_large')
    expect(res.body.detail).toMatch(/limit/)
  })
})
