import { describe, expect, it } from 'vitest'
import { useSystem } from './support/system'
import { expectProblem } from './support/problem'

const t = useSystem()

describe('gateway', () => {
  it('answers /healthz 200 once every worker is up', async () => {
    const res = await t.sys.json('/healthz')
    expect(res.status).toBe(200)
    expect(res.body.status).toBe('ok')
    expect(res.body.workers).toEqual({ SEQUENCE_DETECTIONS: 'up', MAP_FEATURES: 'up', DETECTION_GEOMETRY: 'up', FEATURE_IMAGES: 'up', JOBS: 'up', EMBED: 'up' })
  })

  it('lets browsers on any origin call GET and POST /v1/decode', async () => {
    const pre = await t.sys.fetch('/v1/decode', {
      method: 'OPTIONS',
      headers: { origin: 'https://example.org', 'access-control-request-method': 'POST', 'access-control-request-headers': 'content-type' },
    })
    expect(pre.status).toBe(204)
    expect(pre.headers.get('access-control-allow-origin')).toBe('*')
    expect(pre.headers.get('access-control-allow-methods')).toMatch(/POST/)
    const get = await t.sys.fetch('/v1/map-features?bbox=bad', { headers: { origin: 'https://example.org' } })
    expect(get.headers.get('access-control-allow-origin')).toBe('*')
  })

  it('answers unknown routes with a 404 problem', async () => {
    expectProblem(await t.sys.json('/admin'), 404, 'route_not_found')
  })
})
