/**
 * The OpenAPI document against the running system: real answers of every public route (the
 * gateway and all Workers on workerd, the stand-in's sample world) have a status, a content type
 * and a body the document describes for that route.
 */
import { Ajv2020 } from 'ajv/dist/2020.js'
import { describe, expect, it } from 'vitest'
import type { OpenApiDocument } from '../workers/gateway/src/docs/document'
import { openApiDocument } from '../workers/gateway/src/docs/served-document'
import { ended, submitted } from './support/jobs'
import { useSystem } from './support/system'

const t = useSystem()

/** Checks answers against `doc`: the route's documented status, content type, body schema and headers. */
function conformance(doc: OpenApiDocument) {
  const ajv = new Ajv2020({ strict: false, allErrors: true })
  const base = 'https://mly-edge.test/openapi.json'
  ajv.addSchema({ $id: base, components: doc.components })
  const absolute = (v: unknown): unknown =>
    Array.isArray(v) ? v.map(absolute) : v && typeof v === 'object' ? Object.fromEntries(Object.entries(v).map(([k, x]) => [k, k === '$ref' && typeof x === 'string' && x.startsWith('#') ? base + x : absolute(x)])) : v
  return async (method: string, template: string, res: Response): Promise<unknown> => {
    const where = `${method} ${template} → ${res.status}`
    const op = doc.paths[template]?.[method.toLowerCase()]
    expect(op, where).toBeDefined()
    const documented = op!.responses[String(res.status)]
    const text = await res.text()
    expect(documented, `${where} is not documented: ${text.slice(0, 300)}`).toBeDefined()
    for (const h of Object.keys(documented!.headers ?? {})) {
      // Headers every such answer carries; the conditional ones (Location of a deadline's job, RateLimit-* once limits run) may be absent.
      if (['ETag', 'Cache-Control', 'X-Cache', 'X-Upstream-Requests', 'Allow', 'Content-Security-Policy'].includes(h)) expect(res.headers.get(h), `${where} header ${h}`).not.toBeNull()
    }
    if (!documented!.content) {
      expect(text, where).toBe('')
      return undefined
    }
    const type = (res.headers.get('content-type') ?? '').split(';')[0]!.trim()
    const media = documented!.content[type]
    expect(media, `${where}: content type ${type} is not documented (${Object.keys(documented!.content).join(', ')})`).toBeDefined()
    if (type === 'text/event-stream' || type === 'text/html') return text
    const body = JSON.parse(text) as unknown
    const check = ajv.compile(absolute(media!.schema) as object)
    expect(check(body), `${where}: ${JSON.stringify(check.errors)}\n${text.slice(0, 500)}`).toBe(true)
    return body
  }
}

describe('the OpenAPI document describes the real answers', () => {
  it('of the detection, map feature and decode routes', async () => {
    const conforms = conformance(openApiDocument(t.sys.url.origin))
    const get = (path: string) => t.sys.fetch(path)
    const seq = '3uEM4sYfCH6ZgcEzN0yhbk'
    const seqBody = (await conforms('GET', '/v1/sequences/{sequenceId}/detections', await get(`/v1/sequences/${seq}/detections`))) as { image_ids: string[] }
    expect(seqBody.image_ids.length).toBeGreaterThan(0)
    await conforms('GET', '/v1/sequences/{sequenceId}/detections', await get(`/v1/sequences/${seq}/detections?fields=id,value,created_at,image&pixels=true`))
    const fc = (await conforms('GET', '/v1/map-features', await get('/v1/map-features?bbox=12.985,55.585,13.015,55.615'))) as { features: unknown[] }
    expect(fc.features.length).toBeGreaterThan(0)
    await conforms('GET', '/v1/map-features', await get('/v1/map-features?bbox=12.985,55.585,13.015,55.615&fields=object_type,first_seen_at,last_seen_at,aligned_direction'))
    for (const id of ['361705751724011', '422549646472729']) {
      const body = (await conforms('GET', '/v1/images/{imageId}/detections', await get(`/v1/images/${id}/detections`))) as { detections: unknown[] }
      expect(body.detections.length).toBeGreaterThan(0)
    }
    const mfd = (await conforms('GET', '/v1/map-features/{mapFeatureId}/detections', await get('/v1/map-features/897467189777867/detections'))) as { detections: unknown[] }
    expect(mfd.detections.length).toBeGreaterThan(0)
    const mfi = (await conforms('GET', '/v1/map-features/{mapFeatureId}/images', await get('/v1/map-features/897467189777867/images'))) as { images: unknown[] }
    expect(mfi.images.length).toBeGreaterThan(0)
    expect(await conforms('GET', '/v1/map-features/{mapFeatureId}/images', await get('/v1/map-features/839725469953726/images'))).toMatchObject({ images: [] })
    const decode = (body: unknown) => t.sys.fetch('/v1/decode', { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) })
    expect(await conforms('POST', '/v1/decode', await decode({ geometry: 'GiB4AgoGbXB5LW9yKIAgEhEYAwgBIgsJ9CuaJRIcAAAMDw==', width: 4032, height: 3024 }))).toMatchObject({ pixel_geometry: { type: 'Polygon' } })
  })

  it('of a 304 and of the problems bad input gets', async () => {
    const conforms = conformance(openApiDocument(t.sys.url.origin))
    const path = '/v1/images/361705751724011/detections'
    const etag = (await t.sys.fetch(path)).headers.get('etag')
    expect(etag).toMatch(/^(W\/)?"/)
    await conforms('GET', '/v1/images/{imageId}/detections', await t.sys.fetch(path, { headers: { 'if-none-match': etag! } }))
    const problems: [string, string, Response, string][] = [
      ['GET', '/v1/map-features', await t.sys.fetch('/v1/map-features?bbox=13,55.62,13.01,55.61'), 'invalid_bbox'],
      ['GET', '/v1/map-features', await t.sys.fetch('/v1/map-features?bbox=0,0,10,10'), 'bbox_too_large'],
      ['GET', '/v1/sequences/{sequenceId}/detections', await t.sys.fetch('/v1/sequences/3uEM4sYfCH6ZgcEzN0yhbk/detections?fields=colour'), 'invalid_parameter'],
      ['GET', '/v1/images/{imageId}/detections', await t.sys.fetch('/v1/images/999999999999999/detections'), 'not_found'],
      ['GET', '/v1/images/{imageId}/detections', await t.sys.fetch('/v1/images/12ab/detections'), 'invalid_parameter'],
      ['POST', '/v1/decode', await t.sys.fetch('/v1/decode', { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{"geometry":"!!","width":10,"height":10}' }), 'invalid_base64'],
      ['POST', '/v1/decode', await t.sys.fetch('/v1/decode', { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{"geometry":"GiB4"}' }), 'invalid_body'],
      // GET on a POST route: the 405 is documented under the route's POST.
      ['POST', '/v1/decode', await t.sys.fetch('/v1/decode'), 'method_not_allowed'],
      ['POST', '/v1/jobs', await t.sys.fetch('/v1/jobs', { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{"task":"map-features","params":{"bbox":"1,2,3"}}' }), 'invalid_bbox'],
      ['GET', '/v1/jobs/{jobId}', await t.sys.fetch('/v1/jobs/0123456789abcdef0123456789abcdef'), 'not_found'],
      ['GET', '/v1/jobs/{jobId}/result', await t.sys.fetch('/v1/jobs/0123456789abcdef0123456789abcdef/result'), 'not_found'],
    ]
    for (const [method, template, res, code] of problems) {
      const where = `${method} ${template} ${code}`
      expect(res.headers.get('content-type'), where).toMatch(/^application\/problem\+json/)
      const body = (await conforms(method, template, res)) as { code: string }
      expect(body.code, where).toBe(code)
    }
  })

  it('of a job: 202, its status, its event stream and its result', async () => {
    const conforms = conformance(openApiDocument(t.sys.url.origin))
    const res = await t.sys.fetch('/v1/jobs', { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ task: 'image-detections', params: { image_id: '361705751724011' } }) })
    expect(res.headers.get('location')).toMatch(/\/v1\/jobs\/[0-9a-f]{32}$/)
    const accepted = (await conforms('POST', '/v1/jobs', res)) as { id: string }
    await ended(t.sys, accepted.id)
    await conforms('GET', '/v1/jobs/{jobId}', await t.sys.fetch(`/v1/jobs/${accepted.id}`))
    const events = (await conforms('GET', '/v1/jobs/{jobId}/events', await t.sys.fetch(`/v1/jobs/${accepted.id}/events`))) as string
    expect(events).toMatch(/event: done/)
    await conforms('GET', '/v1/jobs/{jobId}/events', await t.sys.fetch(`/v1/jobs/${accepted.id}/events`, { headers: { 'last-event-id': '1000000' } }))
    expect(await conforms('GET', '/v1/jobs/{jobId}/result', await t.sys.fetch(`/v1/jobs/${accepted.id}/result`))).toMatchObject({ image: { id: '361705751724011' } })
    const boxJob = await submitted(t.sys, 'map-features', { bbox: '12.985,55.585,13.015,55.615' })
    await ended(t.sys, boxJob)
    expect(await conforms('GET', '/v1/jobs/{jobId}/result', await t.sys.fetch(`/v1/jobs/${boxJob}/result`))).toMatchObject({ type: 'FeatureCollection' })
  })

  it('of the gateway’s own routes', async () => {
    const conforms = conformance(openApiDocument(t.sys.url.origin))
    expect(await conforms('GET', '/healthz', await t.sys.fetch('/healthz'))).toMatchObject({ status: 'ok' })
    await conforms('GET', '/readyz', await t.sys.fetch('/readyz'))
  })

  it('is what the gateway serves at /openapi.json, and /docs renders it under a strict CSP', async () => {
    const served = await t.sys.fetch('/openapi.json')
    expect(served.status).toBe(200)
    const doc = (await served.json()) as OpenApiDocument
    expect(doc).toEqual(openApiDocument(t.sys.url.origin))
    expect(doc.servers).toEqual([{ url: t.sys.url.origin }])
    const page = await t.sys.fetch('/docs')
    expect(page.status).toBe(200)
    expect(page.headers.get('content-type')).toMatch(/^text\/html/)
    expect(page.headers.get('content-security-policy')).toMatch(/^default-src 'none'/)
    const html = await page.text()
    expect(html).not.toMatch(/<script/i)
    for (const path of Object.keys(doc.paths)) expect(html).toContain(path)
  })
})
