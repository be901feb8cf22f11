import { describe, expect, it } from 'vitest'
import { logLine } from './request-log'

describe('logLine', () => {
  it('takes the upstream count and cache state from the answer’s headers', () => {
    const res = new Response('{}', { status: 200, headers: { 'x-cache': 'miss', 'x-upstream-requests': '17' } })
    expect(logLine({ requestId: 'r1', method: 'GET', route: '/v1/map-features', ms: 812.6, limit: 'ip' }, res)).toEqual({
      request_id: 'r1',
      method: 'GET',
      route: '/v1/map-features',
      status: 200,
      duration_ms: 813,
      upstream_requests: 17,
      cache: 'miss',
      limit: 'ip',
    })
  })

  it('says stream for a streamed answer (its status and duration are its headers’)', () => {
    const res = new Response('', { status: 200, headers: { 'content-type': 'application/geo+json-seq', 'x-cache': 'miss' } })
    expect(logLine({ requestId: 'r4', method: 'GET', route: '/v1/map-features', ms: 40 }, res)).toEqual({ request_id: 'r4', method: 'GET', route: '/v1/map-features', status: 200, duration_ms: 40, cache: 'miss', stream: true })
    expect(logLine({ requestId: 'r5', method: 'GET', route: '/v1/map-features', ms: 40 }, new Response('{}', { headers: { 'content-type': 'application/geo+json; charset=utf-8' } })).stream).toBeUndefined()
  })

  it('logs a stale answer (a kept copy while the upstream fails) as such', () => {
    const res = new Response('{}', { status: 200, headers: { 'x-cache': 'stale' } })
    expect(logLine({ requestId: 'r3', method: 'GET', route: '/v1/map-features', ms: 3 }, res)).toMatchObject({ status: 200, cache: 'stale' })
  })

  it('leaves out what the answer did not say, and keeps a problem’s code and a deadline’s job', () => {
    const res = new Response('{}', { status: 503, headers: { 'x-cache': 'perhaps', 'x-upstream-requests': 'many' } })
    expect(logLine({ requestId: 'r2', method: 'GET', route: '/v1/sequences/:sequenceId/detections', ms: 25_000, problem: 'deadline_exceeded', job: 'ab'.repeat(16) }, res)).toEqual({
      request_id: 'r2',
      method: 'GET',
      route: '/v1/sequences/:sequenceId/detections',
      status: 503,
      duration_ms: 25_000,
      problem: 'deadline_exceeded',
      job: 'ab'.repeat(16),
    })
  })
})
