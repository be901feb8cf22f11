/**
 * @module
 * The one structured log line per request (Workers Logs indexes its JSON fields). Built only from
 * what is safe to keep: the route pattern (never the raw path or query), a key's public id, and
 * numbers; never a token, a key, an Authorization header or a client's IP.
 */
import { isStreamed } from './routes'

export interface RequestLogLine {
  request_id: string
  method: string
  /** The matched route pattern, e.g. `/v1/map-features/:mapFeatureId/images`, or `unmatched`. */
  route: string
  status: number
  duration_ms: number
  /** Upstream requests the answer cost (the task Worker's `X-Upstream-Requests`), when it said. */
  upstream_requests?: number
  /** The task Worker's `X-Cache`: `hit`, `miss` or `stale` (a kept copy while the upstream fails), when it said. */
  cache?: string
  /** Who was limited: `key:<id>`, `ip`, `exempt`, or none (open routes). */
  limit?: string
  /** A problem's code, when the answer is one. */
  problem?: string
  /** A job started after the deadline passed. */
  job?: string
  /** The answer is a stream (`application/geo+json-seq`): `status` and `duration_ms` are its headers'. */
  stream?: true
}

/**
 * The log line for an answer: the response's own headers give the upstream count and cache state.
 *
 * @example
 * logLine({ requestId: 'r1', method: 'GET', route: '/v1/map-features', ms: 12.3 }, new Response('{}', { headers: { 'x-cache': 'hit', 'x-upstream-requests': '0' } }))
 * // { request_id: 'r1', method: 'GET', route: '/v1/map-features', status: 200, duration_ms: 12, upstream_requests: 0, cache: 'hit' }
 */
export function logLine(
  req: { requestId: string; method: string; route: string; ms: number; limit?: string; problem?: string; job?: string },
  res: Response,
): RequestLogLine {
  const upstream = Number.parseInt(res.headers.get('x-upstream-requests') ?? '', 10)
  const cache = res.headers.get('x-cache')
  return {
    request_id: req.requestId,
    method: req.method,
    route: req.route,
    status: res.status,
    duration_ms: Math.round(req.ms),
    ...(Number.isFinite(upstream) ? { upstream_requests: upstream } : {}),
    ...(cache === 'hit' || cache === 'miss' || cache === 'stale' ? { cache } : {}),
    ...(req.limit ? { limit: req.limit } : {}),
    ...(req.problem ? { problem: req.problem } : {}),
    ...(req.job ? { job: req.job } : {}),
    ...(isStreamed(res) ? { stream: true as const } : {}),
  }
}
