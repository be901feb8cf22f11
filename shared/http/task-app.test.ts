import { describe, expect, it } from 'vitest'
import { createTaskApp } from './task-app'

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
