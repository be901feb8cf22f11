import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest'
import { SERVER_TOKEN, startSystem, useSystem, type System } from './support/system'
import { expectProblem } from './support/problem'
import { tokenHash } from './support/truth'

const t = useSystem()
afterEach(() => t.sys.sandboxControl.config({ rate429: 0, rate500: 0, rateDrop: 0, latencyMs: 0, jitterMs: 0 }))

const district = (name: string) => t.world.districts.find((d: any) => d.name.includes(name))
const leaks = (text: string, token: string) => [token, encodeURIComponent(token), token.split('|')[2]!].some((t) => text.includes(t))

describe('token hygiene', () => {
  it('never puts the token in an upstream URL, a response body or header', async () => {
    await t.sys.sandboxControl.reset()
    const paths = [
      `/v1/map-features?bbox=${district('sparse').bbox.join(',')}`,
      `/v1/images/${t.world.sampleImages.multipolygonWithHoles}/detections`,
      `/v1/map-features/${t.world.sampleMapFeatures.seenInSeveralImages}/images`,
      `/v1/map-features/${t.world.sampleMapFeatures.seenInSeveralImages}/detections`,
      `/v1/sequences/${t.world.sequences[1].id}/detections?pixels=true`,
      '/v1/images/999999999999999/detections',
      '/v1/map-features?bbox=oops',
    ]
    for (const path of paths) {
      const res = await t.sys.fetch(path)
      const text = await res.text()
      expect(leaks(text, SERVER_TOKEN), path).toBe(false)
      expect(leaks(JSON.stringify([...res.headers]), SERVER_TOKEN), path).toBe(false)
    }
    const stats = await t.sys.sandboxControl.stats()
    expect(stats.requests).toBeGreaterThan(0)
    expect(stats.query_tokens_seen).toBe(0)
    expect(stats.authorization_headers_seen).toBe(stats.requests)
    for (const url of stats.urls) expect(leaks(url, SERVER_TOKEN)).toBe(false)
  })

  it('uses a client’s own OAuth token for its upstream calls, and keeps it out of the answer', async () => {
    const own = 'MLY|77777|fedcba9876543210fedcba9876543210'
    await t.sys.sandboxControl.reset()
    const res = await t.sys.fetch(`/v1/map-features/${t.world.sampleMapFeatures.seenInNoImage}/detections`, { headers: { authorization: `OAuth ${own}` } })
    expect(res.status).toBe(200)
    expect(leaks(await res.text(), own)).toBe(false)
    // The upstream saw this token, and no other, for this request's calls.
    const stats = await t.sys.sandboxControl.stats()
    expect(stats.requests).toBeGreaterThan(0)
    expect(stats.tokensSeen).toEqual([tokenHash(own)])
  })
})

describe('upstream faults', () => {
  it('answers whole and exact through 8% 429s, 4% 500s and 2% dropped connections', async () => {
    await t.sys.sandboxControl.config({ rate429: 0.08, rate500: 0.04, rateDrop: 0.02, retryAfterSeconds: 0 })
    const bbox = district('dense').bbox
    const res = await t.sys.json(`/v1/map-features?bbox=${bbox.join(',')}&fields=object_type`)
    expect(res.status, JSON.stringify(res.body).slice(0, 300)).toBe(200)
    const got = res.body.features.map((f: any) => f.id)
    expect(new Set(got).size).toBe(got.length)
    expect(got.sort()).toEqual((await t.sys.sandboxControl.truthIds(bbox.join(','))).sort())

    const seq = t.world.sequences.find((s: any) => s.length === 50)
    const detections = await t.sys.json(`/v1/sequences/${seq.id}/detections?fields=id,value`)
    expect(detections.status).toBe(200)
    expect(Object.keys(detections.body.detections)).toHaveLength(50)
  })

  it('reports an upstream that keeps failing as a 502/503 problem, never a partial 200', async () => {
    await t.sys.sandboxControl.config({ rate500: 1 })
    const res = await t.sys.json(`/v1/map-features/${t.world.sampleMapFeatures.seenInNoImage}/images`)
    expect([502, 503]).toContain(res.status)
    expectProblem(res, res.status)
    expect(res.body.code).toMatch(/^upstream_/)
  })

  it('passes a 429 on as 503 with Retry-After', async () => {
    await t.sys.sandboxControl.config({ rate429: 1, retryAfterSeconds: 120 })
    const res = await t.sys.json(`/v1/images/${t.world.sampleImages.ordinary}/detections`)
    expectProblem(res, 503, 'upstream_rate_limited')
    expect(Number(res.headers.get('retry-after'))).toBeGreaterThan(0)
  })
})

describe('without a server token', () => {
  let bare: System
  beforeAll(async () => {
    bare = await startSystem({ token: null })
  })
  afterAll(() => bare?.close())

  it('says so as a problem, and serves a client that brings its own token', async () => {
    const path = `/v1/map-features/${t.world.sampleMapFeatures.seenInNoImage}/images`
    const res = await bare.json(path)
    expect(res.status).toBeGreaterThanOrEqual(400)
    expect(res.headers.get('content-type')).toMatch(/problem\+json/)
    const ok = await bare.json(path, { headers: { authorization: 'OAuth MLY|1|abc' } })
    expect(ok.status).toBe(200)
  })
})
