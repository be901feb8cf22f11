/**
 * API keys and rate limits, end to end, and what a hostile caller tries against them: forged
 * X-Forwarded-For, made-up keys, many keys. Each test is its own client IP: Cloudflare sets
 * CF-Connecting-IP itself (a client's is overwritten); locally the harness passes the header on.
 */
import { beforeAll, describe, expect, it } from 'vitest'
import { tokenHash } from './stand-in/src/stats'
import { expectProblem } from './support/problem'
import { SERVER_TOKEN, useSystem, type System } from './support/system'
import { keyRecordName, type ApiKeyRecord } from '../workers/gateway/src/api-key'

const t = useSystem()
const ANONYMOUS = 25
const MISS_COST = 10
const KEY_LIMIT = 40
// Windows are aligned on multiples of their length: one this long never ends during a test run.
const WINDOW = '1000000'
const KEYS = {
  small: { key: `mlyk_${'A'.repeat(43)}`, record: { id: 'aaaaaaaaaaaa', name: 'small', limit: 12 } },
  other: { key: `mlyk_${'B'.repeat(43)}`, record: { id: 'bbbbbbbbbbbb', name: 'other' } },
} satisfies Record<string, { key: string; record: ApiKeyRecord }>

async function gatewayVars(sys: System, vars: Record<string, string>): Promise<void> {
  await sys.gateway.update((o) => ({
    ...o,
    workers: o.workers!.map((w) => ('configPath' in w && String(w.configPath) === 'wrangler.toml' ? { ...w, vars: { ...w.vars, ...vars } } : w)),
  }))
}

beforeAll(async () => {
  await gatewayVars(t.sys, {
    RATE_LIMIT_EXEMPT_IPS: '',
    RATE_LIMIT_ANONYMOUS: String(ANONYMOUS),
    RATE_LIMIT_MISS_COST: String(MISS_COST),
    RATE_LIMIT_KEY: String(KEY_LIMIT),
    RATE_LIMIT_WINDOW_SECONDS: WINDOW,
  })
  const env = await t.sys.gateway.getWorker<{ API_KEYS: KVNamespace }>('mly-gateway').getEnv()
  for (const { key, record } of Object.values(KEYS)) await env.API_KEYS.put(await keyRecordName(key), JSON.stringify(record))
})

const sparse = () => t.world.districts.find((d: any) => d.name.includes('sparse')).bbox.join(',')
const from = (ip: string, headers: Record<string, string> = {}) => ({ headers: { 'cf-connecting-ip': ip, ...headers } })
const remaining = (res: { headers: Headers }) => Number(res.headers.get('ratelimit-remaining'))

describe('rate limits per client IP', () => {
  it('charges a miss MISS_COST points and a cached answer 1, then answers 429 with Retry-After and RateLimit-*', async () => {
    const ip = '198.51.100.1'
    const miss = await t.sys.json(`/v1/map-features?bbox=${sparse()}`, from(ip))
    expect(miss.headers.get('x-cache')).toBe('miss')
    expect([miss.status, miss.headers.get('ratelimit-limit'), remaining(miss)]).toEqual([200, String(ANONYMOUS), ANONYMOUS - MISS_COST])
    const left: number[] = []
    for (let i = 0; i < ANONYMOUS - MISS_COST; i++) {
      const hit = await t.sys.json(`/v1/map-features?bbox=${sparse()}`, from(ip))
      expect(hit.headers.get('x-cache')).toBe('hit')
      left.push(remaining(hit))
    }
    expect(left).toEqual([...Array(ANONYMOUS - MISS_COST).keys()].map((i) => ANONYMOUS - MISS_COST - 1 - i))
    const refused = await t.sys.json(`/v1/map-features?bbox=${sparse()}`, from(ip, { origin: 'https://maps.example.org' }))
    expectProblem(refused, 429, 'rate_limited')
    const reset = Number(refused.headers.get('ratelimit-reset'))
    expect(reset).toBeGreaterThan(0)
    expect(reset).toBeLessThanOrEqual(Number(WINDOW))
    expect(refused.headers.get('retry-after')).toBe(String(reset))
    expect([refused.headers.get('ratelimit-limit'), refused.headers.get('ratelimit-remaining')]).toEqual([String(ANONYMOUS), '0'])
    expect(refused.headers.get('access-control-allow-origin')).toBe('*')
    expect(refused.body).toMatchObject({ limit: ANONYMOUS, retry_after: reset })
    expect(refused.body.request_id).toBe(refused.headers.get('x-request-id'))
  })

  it('ignores X-Forwarded-For and the like: forging them gives no new allowance', async () => {
    const ip = '198.51.100.2'
    for (let i = 0; i < ANONYMOUS; i++) {
      const res = await t.sys.json('/v1/map-features?bbox=1,2,3', from(ip, { 'x-forwarded-for': `203.0.113.${i}`, 'x-real-ip': `203.0.113.${i}`, forwarded: `for=203.0.113.${i}` }))
      expect(res.status).toBe(400)
      expect(remaining(res)).toBe(ANONYMOUS - 1 - i)
    }
    const forged = await t.sys.json('/v1/map-features?bbox=1,2,3', from(ip, { 'x-forwarded-for': '192.0.2.77' }))
    expectProblem(forged, 429, 'rate_limited')
    // Another client is not touched by it.
    const other = await t.sys.json('/v1/map-features?bbox=1,2,3', from('198.51.100.3'))
    expect([other.status, remaining(other)]).toEqual([400, ANONYMOUS - 1])
  })

  it('charges a new job MISS_COST points, and a look at its status 1', async () => {
    const ip = '198.51.100.4'
    const seq = t.world.sequences.find((s: any) => s.length === 3)
    const job = await t.sys.json('/v1/jobs', { method: 'POST', headers: { 'cf-connecting-ip': ip, 'content-type': 'application/json' }, body: JSON.stringify({ task: 'sequence-detections', params: { sequence_id: seq.id } }) })
    expect([job.status, remaining(job)]).toEqual([202, ANONYMOUS - MISS_COST])
    const status = await t.sys.json(`/v1/jobs/${job.body.id}`, from(ip))
    expect([status.status, remaining(status)]).toEqual([200, ANONYMOUS - MISS_COST - 1])
  })
})

describe('API keys', () => {
  it('limits a key by its own limit, apart from its IP and from other keys', async () => {
    const ip = '198.51.100.5'
    const small = await t.sys.json('/v1/map-features?bbox=1,2,3', from(ip, { authorization: `Bearer ${KEYS.small.key}` }))
    expect([small.status, small.headers.get('ratelimit-limit'), remaining(small)]).toEqual([400, '12', 11])
    const other = await t.sys.json('/v1/map-features?bbox=1,2,3', from(ip, { 'x-api-key': KEYS.other.key }))
    expect([other.headers.get('ratelimit-limit'), remaining(other)]).toEqual([String(KEY_LIMIT), KEY_LIMIT - 1])
    const anonymous = await t.sys.json('/v1/map-features?bbox=1,2,3', from(ip))
    expect([anonymous.headers.get('ratelimit-limit'), remaining(anonymous)]).toEqual([String(ANONYMOUS), ANONYMOUS - 1])
    for (let i = 0; i < 11; i++) await t.sys.json('/v1/map-features?bbox=1,2,3', from(ip, { authorization: `Bearer ${KEYS.small.key}` }))
    expectProblem(await t.sys.json('/v1/map-features?bbox=1,2,3', from(ip, { authorization: `Bearer ${KEYS.small.key}` })), 429, 'rate_limited')
  })

  it('refuses made-up keys with 401, each charged to the guesser’s IP, then 429', async () => {
    const ip = '198.51.100.6'
    const guesses = [`mlyk_${'C'.repeat(43)}`, 'mlyk_short', 'not-a-key']
    for (let i = 0; i < ANONYMOUS; i++) {
      const res = await t.sys.json('/v1/map-features?bbox=1,2,3,4', from(ip, i % 2 ? { 'x-api-key': guesses[i % 3]! } : { authorization: `Bearer ${guesses[i % 3]}` }))
      expectProblem(res, 401, 'invalid_api_key')
      expect(res.headers.get('www-authenticate')).toBe('Bearer realm="mly-edge"')
      expect(remaining(res)).toBe(ANONYMOUS - 1 - i)
    }
    expectProblem(await t.sys.json('/v1/map-features?bbox=1,2,3,4', from(ip, { 'x-api-key': guesses[0]! })), 429, 'rate_limited')
    // A real key from that IP still works: it has its own points.
    expect((await t.sys.json('/v1/map-features?bbox=1,2,3', from(ip, { 'x-api-key': KEYS.other.key }))).body.code).toBe('invalid_bbox')
  })

  it('lets a key (X-API-Key) and a client’s own Mapillary token (Authorization: OAuth) travel together; the key never goes on', async () => {
    const clientToken = 'MLY|777|client-own-token-for-the-gateway-test'
    await t.sys.sandboxControl.reset()
    const seq = t.world.sequences.find((s: any) => s.length === 1)
    const res = await t.sys.json(`/v1/sequences/${seq.id}/detections`, from('198.51.100.7', { 'x-api-key': KEYS.other.key, authorization: `OAuth ${clientToken}` }))
    expect(res.status).toBe(200)
    const viaBearer = await t.sys.json(`/v1/sequences/${seq.id}/detections?fields=id`, from('198.51.100.7', { authorization: `Bearer ${KEYS.other.key}` }))
    expect(viaBearer.status).toBe(200)
    const stats = await t.sys.sandboxControl.stats()
    expect(stats.tokensSeen.sort()).toEqual([tokenHash(clientToken), tokenHash(SERVER_TOKEN)].sort())
    const everything = JSON.stringify([stats, t.sys.gateway.getLogs()])
    expect(everything).not.toContain(KEYS.other.key)
  })
})

describe('REQUIRE_API_KEY=true', () => {
  beforeAll(() => gatewayVars(t.sys, { REQUIRE_API_KEY: 'true' }))

  it('needs a key on /v1, and leaves /healthz, /readyz, /openapi.json, /docs and CORS preflights open', async () => {
    const none = await t.sys.json('/v1/map-features?bbox=1,2,3,4', from('198.51.100.8'))
    expectProblem(none, 401, 'api_key_required')
    expect(none.headers.get('www-authenticate')).toBe('Bearer realm="mly-edge"')
    // A client's Mapillary token is no key.
    expectProblem(await t.sys.json('/v1/map-features?bbox=1,2,3,4', from('198.51.100.8', { authorization: 'OAuth MLY|1|abc' })), 401, 'api_key_required')
    expect((await t.sys.json('/v1/map-features?bbox=1,2,3', from('198.51.100.8', { 'x-api-key': KEYS.other.key }))).body.code).toBe('invalid_bbox')
    for (const path of ['/healthz', '/readyz', '/openapi.json', '/docs']) {
      const res = await t.sys.fetch(path, from('198.51.100.8'))
      await res.body?.cancel()
      expect(res.status, path).not.toBe(401)
    }
    const pre = await t.sys.fetch('/v1/map-features', { method: 'OPTIONS', headers: { origin: 'https://maps.example.org', 'access-control-request-method': 'GET', 'access-control-request-headers': 'x-api-key' } })
    expect(pre.status).toBe(204)
    expect(pre.headers.get('access-control-allow-headers')).toMatch(/X-API-Key/i)
  })
})
