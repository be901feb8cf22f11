import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { startSystem, type System } from './support/system'
import { expectProblem } from './support/problem'

let sys: System
beforeAll(async () => {
  sys = await startSystem()
})
afterAll(() => sys?.close())

describe('gateway', () => {
  it('answers /healthz 200 once every worker is up', async () => {
    const res = await sys.json('/healthz')
    expect(res.status).toBe(200)
    expect(res.body.status).toBe('ok')
    expect(Object.values(res.body.workers)).toEqual(['up', 'up', 'up', 'up'])
  })

  it('lets browsers on any origin call GET and POST /v1/decode', async () => {
    const pre = await sys.fetch('/v1/decode', {
      method: 'OPTIONS',
      headers: { origin: 'https://example.org', 'access-control-request-method': 'POST', 'access-control-request-headers': 'content-type' },
    })
    expect(pre.status).toBe(204)
    expect(pre.headers.get('access-control-allow-origin')).toBe('*')
    expect(pre.headers.get('access-control-allow-methods')).toMatch(/POST/)
    const get = await sys.fetch('/v1/map-features?bbox=bad', { headers: { origin: 'https://example.org' } })
    expect(get.headers.get('access-control-allow-origin')).toBe('*')
  })

  it('answers unknown routes with a 404 problem', async () => {
    expectProblem(await sys.json('/admin'), 404, 'route_not_found')
  })
})
