import { describe, expect, it } from 'vitest'
import { z } from 'zod'
import { fail } from '../problem/problem'
import { UpstreamError } from '../upstream/errors'
import { createTaskApp } from './task-app'
import { bboxParam, validate } from './validation'

describe('createTaskApp', () => {
  const app = createTaskApp('map-features')
  app.get('/boom', () => {
    throw new Error('secret detail')
  })

  it('answers /healthz with the worker name', async () => {
    const res = await app.request('/healthz')
    expect(res.status).toBe(200)
    expect(await res.json()).toEqual({ status: 'ok', worker: 'map-features' })
  })

  it('answers unknown routes and thrown errors as problem+json', async () => {
    const missing = await app.request('/nope')
    expect(missing.status).toBe(404)
    expect(missing.headers.get('content-type')).toBe('application/problem+json')
    expect(await missing.json()).toMatchObject({ code: 'route_not_found', detail: 'No route matches GET /nope.' })
    const boom = await app.request('/boom')
    expect(boom.status).toBe(500)
    expect(await boom.json()).toMatchObject({ code: 'internal_error', detail: 'An unexpected error occurred on our side.' })
  })
})

// Issue 9: the gateway forwards its request id; every problem a task Worker writes names it.
describe('request_id in problems', () => {
  const app = createTaskApp('detection-geometry')
  app.get('/fail', () => fail('not_found', 'No image 1.', {}, { 'retry-after': '3' }))
  app.get('/upstream', () => {
    throw new UpstreamError('unavailable', 'x', { status: 503, retryAfterSeconds: 7 })
  })
  app.get('/ok', (c) => c.json({ fine: true }))
  app.get('/boom', () => {
    throw new Error('x')
  })
  app.get('/v', validate('query', z.object({ bbox: bboxParam })), (c) => c.json(c.req.valid('query')))
  const ID = 'a1B2-c3_d4.e5:f6'
  const withId = (id: string) => ({ headers: { 'x-request-id': id } })

  it.each([
    ['a thrown ProblemError', '/fail', 404],
    ['an UpstreamError', '/upstream', 503],
    ['a failed validation', '/v?bbox=1,2', 400],
    ['an unknown route', '/nope', 404],
    ['an internal error', '/boom', 500],
  ])('names it in %s, keeping status and headers', async (_what, path, status) => {
    const res = await app.request(path, withId(ID))
    expect(res.status).toBe(status)
    expect(res.headers.get('content-type')).toBe('application/problem+json')
    const body = (await res.json()) as Record<string, unknown>
    expect(body.request_id).toBe(ID)
    expect(body.status).toBe(status)
    if (path === '/fail') expect(res.headers.get('retry-after')).toBe('3')
    if (path === '/upstream') expect(res.headers.get('retry-after')).toBe('7')
  })

  it.each([
    ['too long', 'x'.repeat(65)],
    ['a token', 'MLY|1|s3cr3t'],
    ['spaces', 'a b'],
    ['a quote', 'a"b'],
  ])('ignores an id with %s', async (_why, id) => {
    const text = await (await app.request('/fail', withId(id))).text()
    expect(JSON.parse(text).request_id).toBeUndefined()
    expect(text).not.toContain('s3cr3t')
  })

  it('leaves answers that are not problems alone', async () => {
    const res = await app.request('/ok', withId(ID))
    expect(await res.json()).toEqual({ fine: true })
  })

  it('adds nothing without the header', async () => {
    expect(((await (await app.request('/fail')).json()) as Record<string, unknown>).request_id).toBeUndefined()
  })
})
