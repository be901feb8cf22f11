import { describe, expect, it } from 'vitest'
import { configPatchSchema, droppedResponse, FaultInjector } from './faults'

describe('faults', () => {
  it('is off by default and plays a script first', () => {
    const f = new FaultInjector()
    expect(Array.from({ length: 50 }, () => f.decide('entity')).every((x) => x === 'ok')).toBe(true)
    f.configure({ script: ['429', 'drop', '500'] })
    expect([f.decide('entity'), f.decide('map_features'), f.decide('detections'), f.decide('entity')]).toEqual(['429', 'drop', '500', 'ok'])
  })

  it('draws faults at the configured rates, reproducibly per seed, only on chosen routes', () => {
    const run = () => {
      const f = new FaultInjector()
      f.configure({ rate429: 0.2, rate500: 0.1, rateDrop: 0.1, seed: 5 })
      return Array.from({ length: 2000 }, () => f.decide('entity'))
    }
    const a = run()
    expect(run()).toEqual(a)
    const share = (k: string) => a.filter((x) => x === k).length / a.length
    expect(share('429')).toBeGreaterThan(0.15)
    expect(share('429')).toBeLessThan(0.25)
    expect(share('500')).toBeGreaterThan(0.06)
    expect(share('drop')).toBeGreaterThan(0.06)
    const f = new FaultInjector()
    f.configure({ rate500: 1, routes: ['detections'] })
    expect(f.decide('entity')).toBe('ok')
    expect(f.decide('detections')).toBe('500')
    f.configure({ routes: null })
    expect(f.decide('entity')).toBe('500')
    f.reset()
    expect(f.decide('entity')).toBe('ok')
  })

  it('uses the vars for latency unless configured, null restoring them', () => {
    const f = new FaultInjector()
    expect(f.delayMs({})).toBe(0)
    expect(f.delayMs({ SANDBOX_LATENCY_MS: '40' })).toBe(40)
    f.configure({ latencyMs: 10, jitterMs: 5 })
    for (let i = 0; i < 20; i++) {
      const d = f.delayMs({ SANDBOX_LATENCY_MS: '40' })
      expect(d >= 5 && d <= 15).toBe(true)
    }
    f.configure({ latencyMs: null, jitterMs: null })
    expect(f.delayMs({ SANDBOX_LATENCY_MS: '40' })).toBe(40)
  })

  it('answers 429 with Retry-After and Graph bodies', async () => {
    const f = new FaultInjector()
    f.configure({ retryAfterSeconds: 7 })
    const r = f.respond('429')
    expect(r.status).toBe(429)
    expect(r.headers.get('retry-after')).toBe('7')
    expect(((await r.json()) as any).error).toMatchObject({ code: 4, type: 'OAuthException', message: 'Application request limit reached' })
    const e = f.respond('500')
    expect(e.status).toBe(500)
    expect(((await e.json()) as any).error.fbtrace_id).toMatch(/^A[A-Za-z0-9]{22}$/)
    expect(f.respond('503').status).toBe(503)
  })

  it('drops: 200 and JSON headers, then a failing body read', async () => {
    const r = droppedResponse()
    expect(r.status).toBe(200)
    expect(r.headers.get('content-type')).toBe('application/json')
    await expect(r.text()).rejects.toThrow(/dropped/)
  })

  it('validates config patches strictly', () => {
    expect(configPatchSchema.safeParse({ rate429: 0.5, latencyMs: null }).success).toBe(true)
    expect(configPatchSchema.safeParse({ rate429: 2 }).success).toBe(false)
    expect(configPatchSchema.safeParse({ nope: 1 }).success).toBe(false)
    expect(configPatchSchema.safeParse({ script: ['boom'] }).success).toBe(false)
  })
})

describe('code-4 storm', () => {
  it('answers the app limit (403, code 4, Retry-After the seconds left) for its seconds, then nothing', async () => {
    const f = new FaultInjector()
    const t0 = Date.now()
    f.configure({ code4Storm: { seconds: 10 } })
    const res = f.storm(t0 + 2500)!
    expect(res.status).toBe(403)
    expect(res.headers.get('retry-after')).toBe('8')
    expect(((await res.json()) as { error: unknown }).error).toMatchObject({ code: 4, is_transient: true, message: 'Application request limit reached', type: 'MLYApiException' })
    expect(f.storm(t0 + 10_001)).toBeUndefined()
    f.configure({ code4Storm: null })
    expect(f.storm(t0 + 1)).toBeUndefined()
  })

  it('can storm without Retry-After', () => {
    const f = new FaultInjector()
    f.configure({ code4Storm: { seconds: 5, retryAfter: false } })
    const res = f.storm()!
    expect(res.status).toBe(403)
    expect(res.headers.has('retry-after')).toBe(false)
  })
})
