import { describe, expect, it } from 'vitest'
import { problem, ProblemError } from '../problem/problem'
import { UpstreamError } from '../upstream/errors'
import { isUpstreamTrouble } from './upstream-trouble'

describe('isUpstreamTrouble', () => {
  it.each([
    ['upstream_unavailable (503)', new ProblemError(problem('upstream_unavailable', 'x')), true],
    ['upstream_error (502)', new ProblemError(problem('upstream_error', 'x')), true],
    ['upstream_rate_limited (503)', new ProblemError(problem('upstream_rate_limited', 'x')), true],
    ['incomplete_result (502)', new ProblemError(problem('incomplete_result', 'x')), true],
    ['not_found (404)', new ProblemError(problem('not_found', 'x')), false],
    ['invalid_token (401)', new ProblemError(problem('invalid_token', 'x')), false],
    ['box_too_costly (422)', new ProblemError(problem('box_too_costly', 'x')), false],
    ['internal_error (500)', new ProblemError(problem('internal_error', 'x')), false],
  ])('a ProblemError %s → %s', (_what, error, want) => {
    expect(isUpstreamTrouble(error)).toBe(want)
  })

  it.each([
    ['unavailable 503', new UpstreamError('unavailable', 'x', { status: 503 }), true],
    ['unavailable 500 (502 after retries)', new UpstreamError('unavailable', 'x', { status: 500 }), true],
    ['timeout', new UpstreamError('timeout', 'x'), true],
    ['dropped', new UpstreamError('dropped', 'x'), true],
    ['rate_limited', new UpstreamError('rate_limited', 'x', { status: 429 }), true],
    ['bad_response', new UpstreamError('bad_response', 'x'), true],
    ['not_found', new UpstreamError('not_found', 'x', { status: 400 }), false],
    ['a client token refused', new UpstreamError('unauthorized', 'x', { status: 401, tokenSource: 'client' }), false],
  ])('an UpstreamError %s → %s', (_what, error, want) => {
    expect(isUpstreamTrouble(error)).toBe(want)
  })

  it('is false for anything else', () => {
    expect(isUpstreamTrouble(new Error('boom'))).toBe(false)
    expect(isUpstreamTrouble(undefined)).toBe(false)
  })
})
