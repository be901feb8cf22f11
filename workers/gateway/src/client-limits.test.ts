import { Hono } from 'hono'
import { describe, expect, it } from 'vitest'
import { keyRecordName } from './api-key'
import { answerCost, clientIp, clientLimits } from './client-limits'
import type { GatewayApp } from './env'
import { takePoints, type Take, type WindowState } from './rate-window'

describe('clientIp', () => {
  it('trusts CF-Connecting-IP only', () => {
    expect(clientIp(new Headers({ 'cf-connecting-ip': ' 203.0.113.9 ', 'x-forwarded-for': '1.1.1.1', 'x-real-ip': '2.2.2.2' }))).toBe('203.0.113.9')
  })

  it('puts requests without one in one shared bucket, whatever else they send', () => {
    expect(clientIp(new Headers({ 'x-forwarded-for': '1.1.1.1' }))).toBe('unknown')
    expect(clientIp(new Headers({ 'cf-connecting-ip': '  ' }))).toBe('unknown')
  })
})

describe('answerCost', () => {
  it('charges a miss or a new job the miss cost, anything else 1', () => {
    const res = (headers: Record<string, string>) => new Response('{}', { headers })
    expect(answerCost(res({ 'x-cache': 'miss' }), { missCost: 10 })).toBe(10)
    expect(answerCost(res({ 'x-cache': 'hit' }), { missCost: 10 })).toBe(1)
    expect(answerCost(res({}), { missCost: 10 })).toBe(1)
    expect(answerCost(res({}), { missCost: 7, newJob: true })).toBe(7)
    // A stream costs a miss, even from KV.
    expect(answerCost(res({ 'x-cache': 'hit', 'content-type': 'application/geo+json-seq' }), { missCost: 10 })).toBe(10)
    expect(answerCost(res({ 'x-cache': 'hit', 'content-type': 'application/geo+json; charset=utf-8' }), { missCost: 10 })).toBe(1)
  })
})

describe('clientLimits', () => {
  const KEY = `mlyk_${'k'.repeat(43)}`
  type Call = { subject: string; cost: number; limit: number; force?: boolean; upTo?: boolean }

  /** The middleware in an app whose one route answers with `answer`'s headers. */
  async function run(opts: { headers?: Record<string, string>; answer?: Record<string, string>; limiter?: 'works' | 'throws'; kv?: 'works' | 'throws'; vars?: Record<string, string>; gate?: Promise<void>; requests?: number; path?: string; status?: 200 | 202 }) {
    const calls: Call[] = []
    const windows = new Map<string, WindowState>()
    const env = {
      RATE_LIMIT_EXEMPT_IPS: '',
      RATE_LIMIT_ANONYMOUS: '5',
      RATE_LIMIT_KEY: '100',
      RATE_LIMIT_MISS_COST: '10',
      RATE_LIMIT_WINDOW_SECONDS: '60',
      ...opts.vars,
      API_KEYS: {
        get: async (name: string) => {
          if (opts.kv === 'throws') throw new Error('KV down')
          return name === (await keyRecordName(KEY)) ? { id: 'k1', name: 'unit', limit: 50 } : null
        },
      },
      RATE_LIMITER: {
        getByName: (subject: string) => ({
          // The object's own rule (rate-window.ts), one window.
          take: async (t: Take) => {
            if (opts.limiter === 'throws') throw new Error('object unreachable')
            calls.push({ subject, cost: t.cost, limit: t.limit, ...(t.force ? { force: true } : {}), ...(t.upTo ? { upTo: true } : {}) })
            const { state, verdict } = takePoints(windows.get(subject), t, 1000)
            windows.set(subject, state)
            return verdict
          },
        }),
      },
    }
    const app = new Hono<GatewayApp>()
    app.use('*', clientLimits)
    app.post('/v1/:route{.+}', (c) => c.json({}, opts.status ?? 200, opts.answer ?? {}))
    app.get('/v1/x', async (c) => {
      await opts.gate
      return c.json({}, 200, opts.answer ?? {})
    })
    const ask = () => app.request(opts.path ?? '/v1/x', { method: opts.path ? 'POST' : 'GET', headers: { 'cf-connecting-ip': '192.0.2.1', ...opts.headers } }, env)
    const all = await Promise.all(Array.from({ length: opts.requests ?? 1 }, ask))
    return { res: all[0]!, all, calls }
  }

  it('reserves a miss’s price before the request goes on, and keeps it for a miss', async () => {
    const { res, calls } = await run({ headers: { 'x-api-key': KEY }, answer: { 'x-cache': 'miss' } })
    expect(res.status).toBe(200)
    expect(calls).toEqual([{ subject: 'key:k1', cost: 10, limit: 50, upTo: true }])
    expect([res.headers.get('ratelimit-limit'), res.headers.get('ratelimit-remaining')]).toEqual(['50', '40'])
  })

  it('keeps a new job’s price for a 202 of /v1/jobs or of a webhook trigger, not of a redelivery', async () => {
    const remaining = async (path: string) => (await run({ headers: { 'x-api-key': KEY }, path, status: 202 })).res.headers.get('ratelimit-remaining')
    expect(await remaining('/v1/jobs')).toBe('40')
    expect(await remaining('/v1/hooks/map-features')).toBe('40')
    expect(await remaining('/v1/jobs/0123456789abcdef0123456789abcdef/redeliver')).toBe('49')
  })

  it('gives a hit back all of the reservation but 1 point', async () => {
    const { res, calls } = await run({ headers: { 'x-api-key': KEY }, answer: { 'x-cache': 'hit' } })
    expect(calls).toEqual([
      { subject: 'key:k1', cost: 10, limit: 50, upTo: true },
      { subject: 'key:k1', cost: -9, limit: 50, force: true },
    ])
    expect(res.headers.get('ratelimit-remaining')).toBe('49')
  })

  it('lets no more concurrent requests through than the limit holds misses (found: 1 point charged first let a burst of misses in at the price of hits)', async () => {
    let open!: () => void
    const gate = new Promise<void>((resolve) => (open = resolve))
    const burst = run({ headers: { 'x-api-key': KEY }, answer: { 'x-cache': 'miss' }, gate, requests: 8 })
    await new Promise((r) => setTimeout(r, 20))
    open()
    const { all } = await burst
    // 50 points, 10 a miss: 5 go on, 3 are refused while those are in flight.
    expect(all.map((r) => r.status).sort()).toEqual([200, 200, 200, 200, 200, 429, 429, 429])
  })

  it('lets requests through, without RateLimit headers, when the limiter cannot be reached', async () => {
    const { res } = await run({ limiter: 'throws' })
    expect(res.status).toBe(200)
    expect(res.headers.get('ratelimit-limit')).toBeNull()
  })

  it('answers 503 with Retry-After, never 500 nor a pass, when keys cannot be read', async () => {
    const { res } = await run({ headers: { authorization: `Bearer ${KEY}` }, kv: 'throws' })
    expect(res.status).toBe(503)
    expect(res.headers.get('retry-after')).toBe('5')
    expect((await res.json()) as object).toMatchObject({ code: 'service_unavailable' })
  })

  it('leaves an exempt IP unlimited, but not a key sent from it', async () => {
    const exempt = await run({ vars: { RATE_LIMIT_EXEMPT_IPS: '192.0.2.1' } })
    expect([exempt.res.status, exempt.calls]).toEqual([200, []])
    const keyed = await run({ vars: { RATE_LIMIT_EXEMPT_IPS: '192.0.2.1' }, headers: { 'x-api-key': KEY } })
    // Its reservation, then the hit's give-back.
    expect(keyed.calls.map((c) => c.subject)).toEqual(['key:k1', 'key:k1'])
  })
})
