/**
 * @module
 * Maps one upstream HTTP answer to success or a tagged, retry-aware failure.
 */

import type { UpstreamReason } from './errors'

export interface Failure {
  reason: UpstreamReason
  retryable: boolean
  status?: number
  graphCode?: number
  retryAfterSeconds?: number
}

interface GraphErrorBody {
  message?: unknown
  type?: unknown
  code?: unknown
}

// Graph "throttling" codes (4 app limit, 17 user limit, 32 page limit, 613 custom): the real API
// may send them with 400/403 instead of 429, so they win over the status.
const THROTTLE_CODES = new Set([4, 17, 32, 613])
// Graph auth codes: 190 invalid/expired token, 2500 no active token; may arrive as 400.
const AUTH_CODES = new Set([190, 2500])
const RETRY_STATUSES = new Set([429, 500, 502, 503, 504])

/** Reads the Graph `{"error": {...}}` envelope out of a body text, tolerating anything. */
export function graphError(text: string): GraphErrorBody | undefined {
  try {
    const body: unknown = JSON.parse(text)
    if (body && typeof body === 'object' && 'error' in body) {
      const err = (body as { error: unknown }).error
      if (err && typeof err === 'object') return err as GraphErrorBody
    }
  } catch {
    // not JSON: no Graph error to read
  }
  return undefined
}

/**
 * Classifies a non-2xx answer. `retryAfterSeconds` is the parsed header, if any.
 *
 * @example
 * classifyStatus(400, '{"error":{"code":100,"message":"Object with ID \'1\' does not exist"}}')
 * // → { reason: 'not_found', retryable: false, status: 400, graphCode: 100 }
 */
export function classifyStatus(status: number, text: string, retryAfterSeconds?: number): Failure {
  const err = graphError(text)
  const code = typeof err?.code === 'number' ? err.code : undefined
  const message = typeof err?.message === 'string' ? err.message : ''
  const base = {
    status,
    ...(code !== undefined ? { graphCode: code } : {}),
    ...(retryAfterSeconds !== undefined ? { retryAfterSeconds } : {}),
  }

  if (status === 429 || (code !== undefined && THROTTLE_CODES.has(code) && status >= 400 && status < 500)) {
    return { reason: 'rate_limited', retryable: true, ...base }
  }
  if (status >= 500) {
    return { reason: 'unavailable', retryable: RETRY_STATUSES.has(status), ...base }
  }
  if (status >= 400) {
    if (code === 100 && /does not exist/i.test(message)) return { reason: 'not_found', retryable: false, ...base }
    // We only ask for fields the intended kind of object has, so "nonexisting field" means the id
    // names another kind (an image id where a map feature was expected): no such object for us.
    if (code === 100 && /nonexisting field/i.test(message)) return { reason: 'not_found', retryable: false, ...base }
    if (status === 401 || status === 403 || (code !== undefined && AUTH_CODES.has(code))) {
      return { reason: 'unauthorized', retryable: false, ...base }
    }
    return { reason: 'bad_request', retryable: false, ...base }
  }
  // 1xx/3xx reaching us (fetch follows redirects): not something we can read.
  return { reason: 'bad_response', retryable: false, ...base }
}
