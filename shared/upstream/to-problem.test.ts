import { describe, expect, it } from 'vitest'
import { UpstreamError, type UpstreamReason } from './errors'
import { upstreamProblem } from './to-problem'

const err = (reason: UpstreamReason, init: ConstructorParameters<typeof UpstreamError>[2] = {}) => new UpstreamError(reason, 'x', init)

describe('upstreamProblem', () => {
  it.each<[UpstreamReason, ConstructorParameters<typeof UpstreamError>[2], number, string, string | undefined]>([
    ['not_found', { status: 400, graphCode: 100 }, 404, 'not_found', undefined],
    ['bad_request', { status: 400 }, 502, 'upstream_error', undefined],
    ['rate_limited', { status: 429, retryAfterSeconds: 12 }, 503, 'upstream_rate_limited', '12'],
    ['rate_limited', { status: 429 }, 503, 'upstream_rate_limited', '30'],
    ['unavailable', { status: 503, retryAfterSeconds: 5 }, 503, 'upstream_unavailable', '5'],
    ['unavailable', { status: 503 }, 503, 'upstream_unavailable', undefined],
    ['unavailable', { status: 500 }, 502, 'upstream_error', undefined],
    ['timeout', {}, 503, 'upstream_unavailable', undefined],
    ['dropped', {}, 503, 'upstream_unavailable', undefined],
    ['budget_exhausted', {}, 503, 'subrequest_budget_exceeded', undefined],
    ['bad_response', { status: 200 }, 502, 'upstream_error', undefined],
  ])('%s %o → %i %s', (reason, init, status, code, retryAfter) => {
    const { problem, headers } = upstreamProblem(err(reason, init), 'server')
    expect(problem).toMatchObject({ status, code })
    expect(headers['retry-after']).toBe(retryAfter)
  })

  it('maps unauthorized by token source', () => {
    expect(upstreamProblem(err('unauthorized', { status: 401 }), 'client').problem).toMatchObject({ status: 401, code: 'invalid_token' })
    expect(upstreamProblem(err('unauthorized', { status: 401 }), 'server').problem).toMatchObject({ status: 502, code: 'upstream_auth' })
  })
})

// Found by mutation testing (`npm run mutate`): each case pins the problem a client reads (as JSON).
describe('upstreamProblem, pinned', () => {
  it.each<[string, UpstreamReason, ConstructorParameters<typeof UpstreamError>[2], 'server' | 'client', Record<string, unknown>, Record<string, string>]>([
    ['not_found', 'not_found', { status: 400 }, 'server', { status: 404, code: 'not_found', detail: 'The upstream has no object with this id.' }, {}],
    ['bad_request', 'bad_request', { status: 400 }, 'server', { status: 502, code: 'upstream_error', detail: 'The upstream refused a request this service made; this is our fault, not yours.', upstream_status: 400 }, {}],
    ['unauthorized, client', 'unauthorized', { status: 401 }, 'client', { status: 401, code: 'invalid_token', detail: 'The upstream rejected the access token in your Authorization header.' }, {}],
    ['unauthorized, server', 'unauthorized', { status: 401 }, 'server', { status: 502, code: 'upstream_auth', detail: 'The upstream rejected this service’s credentials.', upstream_status: 401 }, {}],
    ['rate_limited', 'rate_limited', { status: 429, retryAfterSeconds: 12 }, 'server', { status: 503, code: 'upstream_rate_limited', detail: 'The upstream rate limit was reached; retry in 12 s.', retry_after: 12 }, { 'retry-after': '12' }],
    ['unavailable 500 with Retry-After', 'unavailable', { status: 500, retryAfterSeconds: 5 }, 'server', { status: 503, code: 'upstream_unavailable', detail: 'The upstream is unavailable, even after retries.', upstream_status: 500, retry_after: 5 }, { 'retry-after': '5' }],
    ['unavailable 504', 'unavailable', { status: 504 }, 'server', { status: 503, code: 'upstream_unavailable', detail: 'The upstream is unavailable, even after retries.', upstream_status: 504 }, {}],
    ['unavailable 500', 'unavailable', { status: 500 }, 'server', { status: 502, code: 'upstream_error', detail: 'The upstream failed, even after retries.', upstream_status: 500 }, {}],
    ['timeout', 'timeout', {}, 'server', { status: 503, code: 'upstream_unavailable', detail: 'The upstream did not answer in time, even after retries.' }, {}],
    ['dropped', 'dropped', {}, 'server', { status: 503, code: 'upstream_unavailable', detail: 'The upstream connection kept dropping, even after retries.' }, {}],
    ['budget_exhausted', 'budget_exhausted', {}, 'server', { status: 503, code: 'subrequest_budget_exceeded', detail: 'This request needs more upstream calls than one invocation may make; ask for less at once.' }, {}],
    ['bad_response', 'bad_response', { status: 200 }, 'server', { status: 502, code: 'upstream_error', detail: 'The upstream answered something that is not valid JSON, even after retries.', upstream_status: 200 }, {}],
  ])('%s', (_, reason, init, source, expected, headers) => {
    const out = upstreamProblem(err(reason, init), source)
    const { type: _type, title: _title, ...rest } = JSON.parse(JSON.stringify(out.problem)) as Record<string, unknown>
    expect(rest).toEqual(expected)
    expect(out.headers).toEqual(headers)
  })
})
