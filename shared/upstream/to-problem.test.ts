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
