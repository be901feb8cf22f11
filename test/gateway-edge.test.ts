/**
 * The gateway's own answers, end to end: request ids, problems naming them, Server-Timing, the
 * log line, 304s that keep CORS, long URLs, and readiness.
 */
import { beforeAll, describe, expect, it } from 'vitest'
import { SERVER_TOKEN, useSystem, type System } from './support/system'
import { expectProblem } from './support/problem'

const t = useSystem()
const ORIGIN = 'https://maps.example.org'

/** Sets vars on the gateway (startSystem gives vars to the task Workers only) and reloads it. */
async function gatewayVars(sys: System, vars: Record<string, string>): Promise<void> {
  await sys.gateway.update((o) => ({
    ...o,
    workers: o.workers!.map((w) => ('configPath' in w && String(w.configPath) === 'wrangler.toml' ? { ...w, vars: { ...w.vars, ...vars } } : w)),
  }))
}

/** The gateway's JSON log lines since the last clearLogs(). */
function logLines(sys: System): Record<string, unknown>[] {
  return sys.gateway
    .getLogs()
    .map((l) => {
      try {
        return JSON.parse(String(l.message))
      } catch {
        return null
      }
    })
    .filter((l) => l && typeof l === 'object' && 'request_id' in l)
}

describe('request ids', () => {
  it('gives every answer a fresh X-Request-Id, names it in the gateway’s problems and logs it', async () => {
    t.sys.gateway.clearLogs()
    const a = await t.sys.json('/admin')
    const b = await t.sys.json('/v1/decode', { method: 'GET' })
    expectProblem(a, 404, 'route_not_found')
    expectProblem(b, 405, 'method_not_allowed')
    const ids = [a.headers.get('x-request-id'), b.headers.get('x-request-id')]
    for (const id of ids) expect(id).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/)
    expect(ids[0]).not.toBe(ids[1])
    expect([a.body.request_id, b.body.request_id]).toEqual(ids)
    const lines = logLines(t.sys)
    expect(lines.find((l) => l.request_id === ids[0])).toMatchObject({ method: 'GET', route: 'unmatched', status: 404, problem: 'route_not_found' })
    expect(lines.find((l) => l.request_id === ids[1])).toMatchObject({ method: 'GET', route: '/v1/decode', status: 405, problem: 'method_not_allowed' })
  })

  it('echoes a client’s own short id, passes it to the task Worker, whose problem names it', async () => {
    const res = await t.sys.json('/v1/map-features?bbox=13,55.62,13.01,55.61', { headers: { 'x-request-id': 'client-req.42:a' } })
    expectProblem(res, 400, 'invalid_bbox')
    expect(res.headers.get('x-request-id')).toBe('client-req.42:a')
    expect(res.body.request_id).toBe('client-req.42:a')
  })

  it('replaces an id that is too long or holds other characters', async () => {
    for (const sent of ['x'.repeat(65), 'MLY|1|secret', 'a b', '<script>']) {
      const res = await t.sys.fetch('/healthz', { headers: { 'x-request-id': sent } })
      await res.body?.cancel()
      const id = res.headers.get('x-request-id')
      expect(id, sent).toMatch(/^[0-9a-f-]{36}$/)
    }
  })
})

describe('timing and the log line', () => {
  it('adds gateway;dur to Server-Timing and logs route, status, upstream requests, cache and duration, never the token', async () => {
    const { bbox } = t.world.districts.find((d: any) => d.name.includes('sparse'))
    const path = `/v1/map-features?bbox=${bbox.join(',')}`
    t.sys.gateway.clearLogs()
    const before = (await t.sys.sandboxControl.stats()).requests
    const miss = await t.sys.fetch(path, { headers: { authorization: `OAuth ${SERVER_TOKEN}` } })
    await miss.text()
    const upstream = (await t.sys.sandboxControl.stats()).requests - before
    const hit = await t.sys.fetch(path, { headers: { authorization: `OAuth ${SERVER_TOKEN}` } })
    await hit.text()
    expect([miss.status, hit.status]).toEqual([200, 200])
    expect(miss.headers.get('server-timing')).toMatch(/(^|, ?)gateway;dur=\d+(\.\d)?$/)
    const lines = logLines(t.sys)
    const [first, second] = [miss, hit].map((r) => lines.find((l) => l.request_id === r.headers.get('x-request-id')))
    expect(upstream).toBeGreaterThan(0)
    expect(first).toMatchObject({ method: 'GET', route: '/v1/map-features', status: 200, cache: 'miss', upstream_requests: upstream })
    expect(second).toMatchObject({ route: '/v1/map-features', status: 200, cache: 'hit', upstream_requests: 0 })
    expect(typeof first!.duration_ms).toBe('number')
    const all = JSON.stringify(t.sys.gateway.getLogs())
    expect(all).not.toContain('MLY|')
    expect(all).not.toContain(bbox.join(','))
  })
})

describe('hostile client: conditional cross-origin requests', () => {
  it('keeps Access-Control-Allow-Origin (and the exposed headers) on a 304', async () => {
    const { bbox } = t.world.districts.find((d: any) => d.name.includes('sparse'))
    const path = `/v1/map-features?bbox=${bbox.join(',')}&fields=object_type`
    const first = await t.sys.fetch(path, { headers: { origin: ORIGIN } })
    await first.text()
    const tag = first.headers.get('etag')
    expect(first.status).toBe(200)
    expect(tag).toMatch(/^"[0-9a-f]+"$/)
    const again = await t.sys.fetch(path, { headers: { origin: ORIGIN, 'if-none-match': tag! } })
    expect(again.status).toBe(304)
    expect(again.headers.get('etag')).toBe(tag)
    expect(again.headers.get('access-control-allow-origin')).toBe('*')
    expect(again.headers.get('access-control-expose-headers')).toMatch(/ETag/)
    expect(again.headers.get('x-request-id')).toMatch(/^[0-9a-f-]{36}$/)
  })
})

describe('hostile client: long URLs', () => {
  it('answers a URL over MAX_URL_BYTES (8192) with a 414 problem, not the runtime’s text', async () => {
    const path = `/v1/map-features?bbox=13,55.6,13.01,55.61&object_values=${'object--street-light,'.repeat(500)}`
    const res = await t.sys.json(path, { headers: { origin: ORIGIN } })
    expectProblem(res, 414, 'uri_too_long')
    expect(res.body.limit_bytes).toBe(8192)
    expect(res.headers.get('access-control-allow-origin')).toBe('*')
    expect(res.body.request_id).toBe(res.headers.get('x-request-id'))
  })

  it('still answers a URL just under the limit', async () => {
    const base = '/v1/map-features?bbox=13,55.62,13.01,55.61&x='
    const url = new URL(base, t.sys.url).href
    const res = await t.sys.json(base + 'a'.repeat(8192 - url.length))
    expect(res.status).toBe(400) // the task Worker's own answer about the bbox
    expect(res.body.code).toBe('invalid_bbox')
  })
})

describe('readiness', () => {
  beforeAll(() => gatewayVars(t.sys, { READY_CHECK_SECONDS: '2' }))

  it('keeps /healthz cheap and says in /readyz whether the upstream answers, asking it at most once per period', async () => {
    await t.sys.sandboxControl.reset()
    const ready = await t.sys.json('/readyz')
    expect(ready.status).toBe(200)
    expect(ready.body).toMatchObject({ status: 'ready', ready: true, upstream_status: 200 })
    const checkedAt = Date.parse(ready.body.checked_at)
    expect(Math.abs(Date.now() - checkedAt)).toBeLessThan(30_000)
    for (let i = 0; i < 5; i++) expect((await t.sys.json('/readyz')).body.checked_at).toBe(ready.body.checked_at)
    await t.sys.json('/healthz')
    const stats = await t.sys.sandboxControl.stats()
    expect(stats.byRoute.map_features).toBe(1)
    expect(stats.requests).toBe(1)
    expect(stats.urls.join(' ')).not.toContain('access_token')

    // The upstream now fails every request: /healthz still says ok, /readyz says why not once the period is over.
    await t.sys.sandboxControl.config({ rate500: 1 })
    await new Promise((r) => setTimeout(r, 2100))
    const health = await t.sys.json('/healthz')
    expect(health.status).toBe(200)
    const down = await t.sys.json('/readyz')
    expect(down.status).toBe(503)
    expect(down.headers.get('retry-after')).toBe('2')
    expect(down.body).toMatchObject({ status: 'not_ready', ready: false, reason: 'upstream answers with an error', upstream_status: 500 })
    expect(Date.parse(down.body.checked_at)).toBeGreaterThan(checkedAt)
    await t.sys.sandboxControl.reset()
  })
})
