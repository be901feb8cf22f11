/**
 * @module
 * Which failures a kept (stale) answer may stand in for: the upstream's trouble, never the caller's.
 */
import { ProblemError } from '../problem/problem'
import { UpstreamError } from '../upstream/errors'
import { upstreamProblem } from '../upstream/to-problem'

/**
 * True when `error` is the upstream failing (unavailable, timing out, throttling us, answering
 * garbage, or its answer unreachable past a deadline or budget): a problem of status 502 or 503,
 * thrown as such or as the `UpstreamError` that maps to one. A 404, a bad request or a client's
 * rejected token (401) is an answer about the question itself, which a stale copy must not hide.
 *
 * @example
 * await cachedText(kv, key, TTL.detections, produce, { staleIfError: { seconds: STALE_IF_ERROR.detections, when: isUpstreamTrouble } })
 */
export function isUpstreamTrouble(error: unknown): boolean {
  if (error instanceof ProblemError) return error.problem.status === 502 || error.problem.status === 503
  if (error instanceof UpstreamError) {
    const status = upstreamProblem(error, error.tokenSource ?? 'server').problem.status
    return status === 502 || status === 503
  }
  return false
}
