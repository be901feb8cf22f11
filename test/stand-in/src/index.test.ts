import { beforeEach, describe, expect, it } from 'vitest'
import app from './index'
import { tokenHash } from './stats'
import { getWorld } from './world'

const ORIGIN = 'http://sandbox.test'
const TOKEN = 'MLY|4242|abcdef'
const auth = { authorization: `OAuth ${TOKEN}` }
const world = getWorld()
const s = world.summary
const get = (path: string, headers: Record<string, string> = auth) => app.request(`${ORIGIN}${path}`, { headers })
const json = async (path: string, headers?: Record<string, string>) => {
  const res = await get(path, headers)
  return { status: res.status, headers: res.headers, body: (await res.json()) as any }
}
const post = (path: string, body?: unknown) =>
  app.request(`${ORIGIN}${path}`, { method: 'POST', body: body === undefined ? undefined : JSON.stringify(body), headers: { 'content-type': 'application/json' } })

beforeEach(async () => {
  await post('/__sandbox/reset')
})

describe('sandbox Graph routes', () => {
  it('asks for a token, rejects non-Mapillary ones, accepts the header or access_token', async () => {
    const seq = s.sequences.find((q) => q.length === 3)!.id
    const none = await json(`/image_ids?sequence_id=${seq}`, {})
    expect(none.status).toBe(401)
    expect(none.body.error).toMatchObject({ type: 'OAuthException', code: 2500 })
    const bad = await json(`/image_ids?sequence_id=${seq}`, { authorization: 'OAuth EAAB-not-mapillary' })
    expect(bad.status).toBe(401)
    expect(bad.body.error.code).toBe(190)
    const ok = await json(`/image_ids?sequence_id=${seq}`)
    expect(ok.status).toBe(200)
    expect(ok.headers.get('content-type')).toBe('application/json')
    expect(ok.body.data.map((d: any) => d.id)).toEqual(world.sequenceById.get(seq)!.imageIds)
    const q = await json(`/image_ids?sequence_id=${seq}&access_token=${encodeURIComponent(TOKEN)}`, {})
    expect(q.status).toBe(200)
    const stats = (await json('/__sandbox/stats', {})).body
    expect(stats).toMatchObject({ requests: 4, authorization_headers_seen: 2, query_tokens_seen: 1 })
    expect(stats.byRoute.image_ids).toBe(4)
    expect(JSON.stringify(stats)).not.toContain(TOKEN)
    expect(stats.urls.at(-1)).toContain('access_token=REDACTED')
  })

  it('answers image_ids: empty for unknown sequences, 400 without sequence_id, the 1250-long one whole', async () => {
    expect((await json('/image_ids?sequence_id=nope')).body).toEqual({ data: [] })
    const missing = await json('/image_ids')
    expect(missing.status).toBe(400)
    expect(missing.body.error.code).toBe(100)
    const long = s.sequences.find((q) => q.length === 1250)!
    expect((await json(`/image_ids?sequence_id=${long.id}`)).body.data).toHaveLength(1250)
  })

  it('serves images and map features with only the asked fields', async () => {
    const img = await json(`/${s.sampleImages.ordinary}?fields=width,height,thumb_original_url,geometry,sequence`)
    expect(Object.keys(img.body)).toEqual(['id', 'width', 'height', 'thumb_original_url', 'geometry', 'sequence'])
    expect(img.body.thumb_original_url).toMatch(new RegExp(`^${ORIGIN}/__sandbox/thumbs/${s.sampleImages.ordinary}/original\\.jpg\\?exp=\\d+$`))
    expect(img.body.thumb_original_url).not.toContain('MLY')
    expect(img.body.geometry.type).toBe('Point')
    const thumb = await get(new URL(img.body.thumb_original_url).pathname + new URL(img.body.thumb_original_url).search, {})
    expect(thumb.status).toBe(200)
    expect(thumb.headers.get('content-type')).toBe('image/png')
    const bytes = new Uint8Array(await thumb.arrayBuffer())
    expect([...bytes.subarray(0, 8)]).toEqual([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a])
    const f = await json(`/${s.sampleMapFeatures.seenInSeveralImages}?fields=object_value,images,geometry,first_seen_at`)
    expect(f.body.images.data.length).toBeGreaterThanOrEqual(3)
    expect(f.body.images.data[0]).toEqual({ id: expect.stringMatching(/^\d+$/) })
    const unseen = await json(`/${s.sampleMapFeatures.seenInNoImage}?fields=images`)
    expect(unseen.body.images).toEqual({ data: [] })
    expect((await json(`/${s.sampleImages.ordinary}`)).body).toEqual({ id: s.sampleImages.ordinary })
  })

  it('answers unknown ids and fields like the Graph API', async () => {
    for (const id of ['123456789012345', 'abc']) {
      const r = await json(`/${id}?fields=id`)
      expect(r.status).toBe(400)
      expect(r.body.error).toMatchObject({ type: 'GraphMethodException', code: 100, error_subcode: 33 })
      expect(r.body.error.message).toContain(`Object with ID '${id}' does not exist`)
      expect((await json(`/${id}/detections`)).status).toBe(400)
    }
    const field = await json(`/${s.sampleImages.ordinary}?fields=id,nope`)
    expect(field.status).toBe(400)
    expect(field.body.error.message).toContain('Tried accessing nonexisting field (nope)')
  })

  it('serves detections of images and of map features', async () => {
    const d = await json(`/${s.sampleImages.multipolygonWithHoles}/detections?fields=id,value,geometry,image,created_at`)
    expect(d.body.data).toHaveLength(4)
    expect(d.body.data[0].image).toEqual({ id: s.sampleImages.multipolygonWithHoles })
    expect((await json(`/${s.sampleImages.noDetections}/detections?fields=id`)).body).toEqual({ data: [] })
    const real = await json(`/${s.sampleImages.realDetections}/detections?fields=id,geometry`)
    expect(real.body.data.map((x: any) => x.id)).toEqual(s.sampleImages.realDetectionIds)
    const fd = await json(`/${s.sampleMapFeatures.seenInSeveralImages}/detections?fields=id,value,image`)
    expect(fd.body.data.length).toBe(s.sampleMapFeatures.seenInSeveralImagesCount)
    for (const x of fd.body.data) expect(Object.keys(x)).toEqual(['id', 'value', 'image'])
  })

  it('caps map_features at 2000 with an unordered cut while the truth has them all', async () => {
    const bbox = s.denseTile.bbox.join(',')
    const truth = (await json(`/__sandbox/truth/map_features?bbox=${bbox}`, {})).body
    expect(truth.ids.length).toBe(s.denseTile.featureCount)
    expect(truth.ids.length).toBeGreaterThan(2000)
    const a = (await json(`/map_features?bbox=${bbox}&fields=id,object_value,geometry`)).body.data
    const b = (await json(`/map_features?bbox=${bbox}&fields=id`)).body.data
    expect(a).toHaveLength(2000)
    expect(b).toHaveLength(2000)
    expect(new Set(a.map((x: any) => x.id)).size).toBe(2000)
    expect(a.map((x: any) => x.id)).not.toEqual(b.map((x: any) => x.id))
    // Not the first 2000 by id.
    expect([...a.map((x: any) => x.id)].sort()).not.toEqual(truth.ids.slice(0, 2000))
    const truthSet = new Set(truth.ids)
    for (const x of a) expect(truthSet.has(x.id)).toBe(true)
    expect((await json(`/map_features?bbox=${bbox}&limit=10`)).body.data).toHaveLength(10)
    expect((await json(`/map_features?bbox=${bbox}&limit=5000`)).body.data).toHaveLength(2000)
  })

  it('answers every feature of a small box (edges included), filters by value, handles the antimeridian', async () => {
    const probe = await json(`/map_features?bbox=${s.probe.bbox.join(',')}&fields=geometry`)
    expect(probe.body.data.map((x: any) => x.id).sort()).toEqual([...s.probe.insideIds].sort())
    const tav = s.districts.find((d) => d.name === 'taveuni-antimeridian')!
    const all = await json(`/map_features?bbox=${tav.bbox.join(',')}&fields=geometry`)
    expect(all.body.data).toHaveLength(tav.featureCount)
    const panama = s.districts.find((d) => d.name === 'panama-dense')!.bbox.join(',')
    const filtered = await json(`/map_features?bbox=${s.denseTile.bbox.join(',')}&object_values=object--bench,regulatory--stop--g1&fields=object_value`)
    const truth = (await json(`/__sandbox/truth/map_features?bbox=${s.denseTile.bbox.join(',')}&object_values=object--bench,regulatory--stop--g1`, {})).body
    expect(filtered.body.data.length).toBe(Math.min(2000, truth.ids.length))
    for (const x of filtered.body.data) expect(['object--bench', 'regulatory--stop--g1']).toContain(x.object_value)
    for (const bad of ['1,2,3', 'a,b,c,d', '0,10,1,5', '0,0,200,1']) {
      const r = await json(`/map_features?bbox=${bad}`)
      expect(r.status).toBe(400)
      expect(r.body.error.code).toBe(100)
    }
    expect((await json(`/map_features?bbox=${panama}&limit=0`)).status).toBe(400)
  })
})

describe('sandbox control routes', () => {
  it('injects scripted faults and counts them', async () => {
    const cfg = await (await post('/__sandbox/config', { script: ['429', '500', 'drop'], retryAfterSeconds: 2 })).json()
    expect(cfg).toMatchObject({ retryAfterSeconds: 2, script: ['429', '500', 'drop'] })
    const r1 = await get('/image_ids?sequence_id=x')
    expect(r1.status).toBe(429)
    expect(r1.headers.get('retry-after')).toBe('2')
    expect((await get('/image_ids?sequence_id=x')).status).toBe(500)
    const r3 = await get('/image_ids?sequence_id=x')
    expect(r3.status).toBe(200)
    await expect(r3.text()).rejects.toThrow()
    expect((await get('/image_ids?sequence_id=x')).status).toBe(200)
    const stats = (await json('/__sandbox/stats', {})).body
    expect(stats.faults).toEqual({ '429': 1, '500': 1, drop: 1 })
    expect((await post('/__sandbox/config', { rate429: 3 })).status).toBe(400)
    for (const pile of [{ lon: 0, lat: 0, count: 0 }, { lon: 181, lat: 0, count: 5 }, { lon: 0, lat: 0, count: 5, extra: 1 }, { lon: 0, lat: 0 }]) {
      expect((await post('/__sandbox/config', { pile })).status, JSON.stringify(pile)).toBe(400)
    }
  })

  it('refuses the tokens named by hash in rejectTokens, and only those', async () => {
    const other = 'MLY|5151|fedcba'
    const cfg = await (await post('/__sandbox/config', { rejectTokens: [tokenHash(other)] })).json()
    expect(cfg).toMatchObject({ rejectTokens: [tokenHash(other)] })
    const refused = await json('/image_ids?sequence_id=x', { authorization: `OAuth ${other}` })
    expect(refused.status).toBe(401)
    expect(refused.body.error).toMatchObject({ type: 'OAuthException', code: 190 })
    expect((await get('/image_ids?sequence_id=x')).status).toBe(200)
    expect((await json('/__sandbox/stats', {})).body.tokensSeen).toEqual([tokenHash(other), tokenHash(TOKEN)])
    // Hashes only: a token in clear is refused as a config.
    expect((await post('/__sandbox/config', { rejectTokens: [other] })).status).toBe(400)
    await post('/__sandbox/reset')
    expect((await get('/image_ids?sequence_id=x', { authorization: `OAuth ${other}` })).status).toBe(200)
  })

  it('waits the configured latency', async () => {
    await post('/__sandbox/config', { latencyMs: 60 })
    const t0 = Date.now()
    await get('/image_ids?sequence_id=x')
    expect(Date.now() - t0).toBeGreaterThanOrEqual(55)
  })

  it('publishes the world summary and rejects bad truth boxes', async () => {
    const w = (await json('/__sandbox/truth/world', {})).body
    expect(w.sequences.map((q: any) => q.length)).toEqual(expect.arrayContaining([1, 3, 50, 250, 1250]))
    expect(w.denseTile.tile[2]).toBe(18)
    expect((await get('/__sandbox/truth/map_features?bbox=1,2', {})).status).toBe(400)
  })
})
