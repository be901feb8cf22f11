import { describe, expect, it } from 'vitest'
import { useSystem } from './support/system'
import { expectProblem } from './support/problem'
import { featureTruth, inBoxTruth, z18TileCount } from './support/truth'

type Bbox = [number, number, number, number]

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
      expect(inBoxTruth(f.geometry.coordinates, bbox)).toBe(true)
      expect(f.properties.id).toBe(f.id)
      const want = featureTruth(f.id, ['object_value', 'geometry'])
      expect(f.geometry).toEqual(want.geometry)
      expect(f.properties.object_value).toBe(want.object_value)
    }
    // far fewer upstream requests than the FAQ's fixed z18 tiling (counted with the stand-in's tile math), which also loses data
    const requests = Number(res.headers.get('x-upstream-requests'))
    expect(requests).toBeGreaterThan(0)
    expect(z18TileCount(bbox)).toBeGreaterThanOrEqual(256)
    expect(requests * 10).toBeLessThanOrEqual(z18TileCount(bbox))
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
    expect(truth.length).toBeGreaterThan(0)
    expect(ids(res.body).sort()).toEqual(truth.sort())
    for (const f of res.body.features) {
      expect(f.properties.object_value).toBe(value)
      // Each asked field with the stand-in's value for this feature (a key holding null is not an answer).
      expect(f.properties).toEqual(featureTruth(f.id, ['object_value', 'object_type', 'first_seen_at']))
    }
  })

  it('answers each fields list with exactly those fields and their true values, asked one after another or at once', async () => {
    const bbox = t.world.probe.bbox as Bbox
    const truth = await t.sys.sandboxControl.truthIds(bbox.join(','))
    expect(truth.length).toBeGreaterThan(0)
    const expectExactly = (fc: any, fields: string[]) => {
      expect(ids(fc).sort()).toEqual(truth)
      for (const f of fc.features) expect(f.properties, `feature ${f.id} with fields ${fields}`).toEqual(featureTruth(f.id, ['object_value', ...fields]))
    }
    // One after another: the second must not be the first's cached answer.
    for (const fields of [['last_seen_at'], ['aligned_direction', 'object_type'], ['last_seen_at']]) {
      expectExactly((await collection(bbox, `&fields=${fields.join(',')}`)).body, fields)
    }
    // At once, while the first is still sweeping (slowed upstream): each question its own sweep.
    await t.sys.sandboxControl.config({ latencyMs: 300 })
    try {
      const lists = [['first_seen_at'], ['first_seen_at', 'last_seen_at', 'object_type']]
      const answers = await Promise.all(lists.map((fields) => collection(bbox, `&fields=${fields.join(',')}`)))
      answers.forEach((res, i) => expectExactly(res.body, lists[i]!))
    } finally {
      await t.sys.sandboxControl.config({ latencyMs: 0 })
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

  it('serves a box of exactly the documented 0.05 square degrees, and refuses one just over it', async () => {
    // 0.25 × 0.2 is exactly 0.05 in doubles; the limit is README's MAX_BBOX_AREA default.
    const at = await collection([0, 0, 0.25, 0.2])
    expect(at.body.features).toEqual([])
    const over = await t.sys.json('/v1/map-features?bbox=0,0,0.25,0.2000001')
    expectProblem(over, 422, 'bbox_too_large')
    expect(over.body.limit_square_degrees).toBe(0.05)
  })

  it('takes a cell with 1999 features (cap − 1) as complete, and splits one with exactly 2000', async () => {
    // A pile of features on one point, far from the world's: no split can separate them.
    const lon = 10.1234567
    const lat = 45.1234567
    const near: Bbox = [10.12, 45.12, 10.13, 45.13]
    // Another box around the same point, so that the second question is not the first's cached answer.
    const nearer: Bbox = [10.121, 45.121, 10.129, 45.129]
    expect(await t.sys.sandboxControl.truthIds(near.join(','))).toEqual([])
    try {
      await t.sys.sandboxControl.config({ pile: { lon, lat, count: 1999 } })
      const truth = await t.sys.sandboxControl.truthIds(near.join(','))
      expect(truth).toHaveLength(1999)
      const below = await collection(near)
      expect(ids(below.body).sort()).toEqual(truth)
      for (const f of below.body.features) expect(f.geometry.coordinates).toEqual([lon, lat])

      // Exactly the cap: the upstream's answer may have been cut, so the cell must be split; here no
      // split can bring it under the cap, so the honest answer is 502, never those 2000 as complete.
      await t.sys.sandboxControl.config({ pile: { lon, lat, count: 2000 } })
      expect(await t.sys.sandboxControl.truthIds(nearer.join(','))).toHaveLength(2000)
      const before = (await t.sys.sandboxControl.stats()).requests
      const atCap = await t.sys.json(`/v1/map-features?bbox=${nearer.join(',')}`)
      expectProblem(atCap, 502, 'incomplete_result')
      expect((await t.sys.sandboxControl.stats()).requests - before).toBeGreaterThan(1)
    } finally {
      await t.sys.sandboxControl.config({ pile: null })
    }
  })
})
