import { Hono } from 'hono'
import { HTTPException } from 'hono/http-exception'
import { describe, expect, it } from 'vitest'
import { UpstreamError } from '../upstream/errors'
import { notFound, onError } from './on-error'
import { fail, PROBLEM_CONTENT_TYPE } from '../problem/problem'

function appThrowing(make: () => unknown, tokenSource?: 'client') {
  const app = new Hono<{ Variables: { tokenSource?: 'client' } }>()
  app.use('*', async (c, next) => {
    if (tokenSource) c.set('tokenSource', tokenSource)
    await next()
  })
  app.get('/boom', () => {
    throw make()
  })
  app.onError(onError)
  app.notFound(notFound)
  return app
}

async function problemOf(res: Response) {
  expect(res.headers.get('content-type')).toBe(PROBLEM_CONTENT_TYPE)
  const text = await res.text()
  const body = JSON.parse(text) as Record<string, unknown>
  expect(body.status).toBe(res.status)
  expect(text).not.toMatch(/\bat .*\(|stack/i)
  return body
}

describe('onError', () => {
  it('answers a ProblemError as is, with its headers', async () => {
    const res = await appThrowing(() => {
      try {
        fail('method_not_allowed', 'use GET', {}, { allow: 'GET' })
      } catch (e) {
        return e
      }
    }).request('/boom')
    expect(res.status).toBe(405)
    expect(res.headers.get('allow')).toBe('GET')
    expect(await problemOf(res)).toMatchObject({ code: 'method_not_allowed', detail: 'use GET' })
  })

  it('maps an UpstreamError, with Retry-After', async () => {
    const res = await appThrowing(() => new UpstreamError('rate_limited', 'x', { status: 429, retryAfterSeconds: 9 })).request('/boom')
    expect(res.status).toBe(503)
    expect(res.headers.get('retry-after')).toBe('9')
    expect(await problemOf(res)).toMatchObject({ code: 'upstream_rate_limited' })
  })

  it('maps unauthorized by the error’s token source, else the context’s, else server', async () => {
    const mk = (src?: 'client') => () => new UpstreamError('unauthorized', 'x', { status: 401, tokenSource: src })
    expect((await appThrowing(mk()).request('/boom')).status).toBe(502)
    expect((await appThrowing(mk('client')).request('/boom')).status).toBe(401)
    expect((await appThrowing(mk(), 'client').request('/boom')).status).toBe(401)
  })

  it.each([
    [400, 'invalid_parameter'],
    [413, 'payload_too_large'],
    [405, 'method_not_allowed'],
    [418, 'invalid_parameter'],
    [503, 'internal_error'],
  ] as const)('maps HTTPException %i to %s', async (status, code) => {
    const res = await appThrowing(() => new HTTPException(status, { message: 'Malformed JSON in request body' })).request('/boom')
    const body = await problemOf(res)
    expect(body.code).toBe(code)
    if (code === 'internal_error') expect(body.detail).not.toContain('Malformed')
  })

  it('hides anything else behind a generic 500', async () => {
    const res = await appThrowing(() => new Error('db password=MLY|1|s3cr3t at /srv/x.ts:1')).request('/boom')
    expect(res.status).toBe(500)
    const text = JSON.stringify(await problemOf(res))
    expect(text).toContain('internal_error')
    expect(text).not.toContain('s3cr3t')
    expect(text).not.toContain('x.ts')
  })
})

describe('notFound', () => {
  it('answers 404 route_not_found naming the path but not the query', async () => {
    const res = await appThrowing(() => null).request('/v1/nope?access_token=MLY|1|s3cr3t')
    expect(res.status).toBe(404)
    const body = await problemOf(res)
    expect(body).toMatchObject({ code: 'route_not_found' })
    expect(body.detail).toContain('GET /v1/nope')
    expect(JSON.stringify(body)).not.toContain('s3cr3t')
  })
})

// Found by mutation testing (`npm run mutate`): each test below pins a value a mutant changed.
describe('onError, pinned', () => {
  it('shows a 4xx HTTPException’s message as the detail, cut at 300 characters', async () => {
    const res = await appThrowing(() => new HTTPException(400, { message: 'Malformed JSON in request body' })).request('/boom')
    expect((await problemOf(res)).detail).toBe('Malformed JSON in request body')
    const long = await appThrowing(() => new HTTPException(400, { message: 'x'.repeat(400) })).request('/boom')
    expect((await problemOf(long)).detail).toBe('x'.repeat(300))
  })

  it('hides the message of a 500 HTTPException like any internal failure', async () => {
    const res = await appThrowing(() => new HTTPException(500, { message: 'pool exhausted at db.ts:12' })).request('/boom')
    expect(res.status).toBe(500)
    expect(await problemOf(res)).toMatchObject({ code: 'internal_error', detail: 'An unexpected error occurred on our side.' })
  })

  it('gives each status its code and a default detail when the HTTPException has no message', async () => {
    const cases = [
      [400, 'invalid_parameter', 'The request is not valid.'],
      [401, 'invalid_token', 'The request is not authorized.'],
      [404, 'not_found', 'Not found.'],
      [405, 'method_not_allowed', 'This method is not allowed here.'],
      [413, 'payload_too_large', 'The request body is too large.'],
      [418, 'invalid_parameter', 'The request is not valid.'],
      [502, 'internal_error', 'An unexpected error occurred on our side.'],
    ] as const
    for (const [status, code, detail] of cases) {
      const body = await problemOf(await appThrowing(() => new HTTPException(status)).request('/boom'))
      expect([body.code, body.detail]).toEqual([code, detail])
    }
  })

  it('treats an Error that merely carries a status as internal, revealing nothing', async () => {
    const res = await appThrowing(() => Object.assign(new Error('token MLY|1|s3cr3t refused'), { status: 400 })).request('/boom')
    expect(res.status).toBe(500)
    expect(await problemOf(res)).toMatchObject({ code: 'internal_error', detail: 'An unexpected error occurred on our side.' })
  })
})

describe('notFound, pinned', () => {
  it('replaces a token in the path, up to the next slash, with an ellipsis', async () => {
    const res = await appThrowing(() => null).request('/v1/MLY|1|s3cr3t/x')
    expect((await problemOf(res)).detail).toBe('No route matches GET /v1/…/x.')
  })

  it('names at most 200 characters of the path', async () => {
    const res = await appThrowing(() => null).request(`/${'a'.repeat(299)}`)
    expect((await problemOf(res)).detail).toBe(`No route matches GET /${'a'.repeat(199)}.`)
  })
})
