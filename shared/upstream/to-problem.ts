/**
 * @module
 * UpstreamError → the public problem (status, code, Retry-After).
 */

import { problem, type Problem } from '../problem/problem'
import type { UpstreamError } from './errors'

/** Retry-After we suggest when the upstream throttled us without saying for how long. */
export const DEFAULT_RETRY_AFTER_SECONDS = 30

/**
 * Maps an upstream failure to what our caller sees. Bad input never gets here: a `bad_request` is
 * our request being wrong, hence 502.
 *
 * @example
 * const { problem, headers } = upstreamProblem(err, 'client')
 * return problemResponse(problem, headers) // e.g. 401 invalid_token, or 503 with Retry-After
 */
export function upstreamProblem(e: UpstreamError, tokenSource: 'server' | 'client'): { problem: Problem; headers: Record<string, string> } {
  const ra = e.retryAfterSeconds
  const retryAfter = (seconds: number | undefined): Record<string, string> => (seconds !== undefined ? { 'retry-after': String(seconds) } : {})
  const extra = e.status !== undefined ? { upstream_status: e.status } : {}
  switch (e.reason) {
    case 'not_found':
      return { problem: problem('not_found', 'The upstream has no object with this id.'), headers: {} }
    case 'bad_request':
      return { problem: problem('upstream_error', 'The upstream refused a request this service made; this is our fault, not yours.', extra), headers: {} }
    case 'unauthorized':
      return tokenSource === 'client'
        ? { problem: problem('invalid_token', 'The upstream rejected the access token in your Authorization header.'), headers: {} }
        : { problem: problem('upstream_auth', 'The upstream rejected this service’s credentials.', extra), headers: {} }
    case 'rate_limited': {
      const seconds = ra ?? DEFAULT_RETRY_AFTER_SECONDS
      const detail = e.paced
        ? `This service is pacing its upstream requests to stay within the upstream's rate limit, shared by every caller; retry in ${seconds} s.`
        : `The upstream rate limit was reached; retry in ${seconds} s.`
      return { problem: problem('upstream_rate_limited', detail, { retry_after: seconds }), headers: retryAfter(seconds) }
    }
    case 'unavailable':
    case 'timeout':
    case 'dropped': {
      // Transient by nature (503/504, timeouts, drops, or a stated Retry-After) → 503; any other
      // upstream 5xx after every retry → 502.
      const transient = e.reason !== 'unavailable' || ra !== undefined || e.status === 503 || e.status === 504
      if (transient) {
        const detail = e.reason === 'timeout' ? 'The upstream did not answer in time, even after retries.' : e.reason === 'dropped' ? 'The upstream connection kept dropping, even after retries.' : 'The upstream is unavailable, even after retries.'
        return { problem: problem('upstream_unavailable', detail, { ...extra, ...(ra !== undefined ? { retry_after: ra } : {}) }), headers: retryAfter(ra) }
      }
      return { problem: problem('upstream_error', 'The upstream failed, even after retries.', extra), headers: {} }
    }
    case 'budget_exhausted':
      return { problem: problem('subrequest_budget_exceeded', 'This request needs more upstream calls than one invocation may make; ask for less at once.'), headers: {} }
    case 'bad_response':
      return { problem: problem('upstream_error', 'The upstream answered something that is not valid JSON, even after retries.', extra), headers: {} }
    default: {
      const unreachable: never = e.reason
      return unreachable
    }
  }
}
