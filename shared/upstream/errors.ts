/**
 * @module
 * UpstreamError: the tagged reason a Graph API call failed, free of any credential.
 */

/** Why an upstream call failed; {@link upstreamProblem} maps each to one public problem. */
export type UpstreamReason =
  | 'not_found'
  | 'bad_request'
  | 'unauthorized'
  | 'rate_limited'
  | 'unavailable'
  | 'timeout'
  | 'dropped'
  | 'budget_exhausted'
  | 'bad_response'

export interface UpstreamErrorInit {
  status?: number
  retryAfterSeconds?: number
  graphCode?: number
  tokenSource?: 'server' | 'client'
  attempts?: number
  /** Not sent: the upstream quota governor refused a permit (its wait is `retryAfterSeconds`). */
  paced?: boolean
}

/**
 * Thrown by `GraphClient.get`. Carries only safe facts (reason, HTTP status, Graph error code,
 * Retry-After): never the token, the request headers or the upstream body.
 *
 * @example
 * try { await client.get('/123') } catch (e) {
 *   if (e instanceof UpstreamError && e.reason === 'not_found') return null
 *   throw e
 * }
 */
export class UpstreamError extends Error {
  readonly reason: UpstreamReason
  readonly status?: number
  readonly retryAfterSeconds?: number
  readonly graphCode?: number
  /** Who supplied the token of the failing call (decides the 401 mapping). */
  readonly tokenSource?: 'server' | 'client'
  /** Attempts made before giving up. */
  readonly attempts?: number
  /** True when nothing was sent: the upstream quota governor asked to wait (rate_limited). */
  readonly paced?: boolean

  constructor(reason: UpstreamReason, message: string, init: UpstreamErrorInit = {}) {
    super(message)
    this.name = 'UpstreamError'
    this.reason = reason
    // Only define the fields we know, so JSON.stringify(error) stays small and honest.
    if (init.status !== undefined) this.status = init.status
    if (init.retryAfterSeconds !== undefined) this.retryAfterSeconds = init.retryAfterSeconds
    if (init.graphCode !== undefined) this.graphCode = init.graphCode
    if (init.tokenSource !== undefined) this.tokenSource = init.tokenSource
    if (init.attempts !== undefined) this.attempts = init.attempts
    if (init.paced) this.paced = true
  }
}
