/**
 * @module
 * RFC 9457 problem details: the one error shape every Worker answers with.
 */

import { boundValue } from './echo-bounds'

export const PROBLEM_CONTENT_TYPE = 'application/problem+json'

/** Machine-readable reasons; each maps to one HTTP status in {@link problemStatus}. */
export type ProblemCode =
  | 'invalid_parameter'
  | 'invalid_bbox'
  | 'bbox_too_large'
  | 'box_too_costly'
  | 'invalid_body'
  | 'invalid_base64'
  | 'corrupt_tile'
  | 'empty_tile'
  | 'not_found'
  | 'route_not_found'
  | 'method_not_allowed'
  | 'payload_too_large'
  | 'too_many_points'
  | 'job_not_ready'
  | 'job_interrupted'
  | 'invalid_token'
  | 'upstream_rate_limited'
  | 'upstream_unavailable'
  | 'upstream_error'
  | 'upstream_auth'
  | 'incomplete_result'
  | 'subrequest_budget_exceeded'
  | 'internal_error'
  | 'api_key_required'
  | 'invalid_api_key'
  | 'rate_limited'
  | 'uri_too_long'
  | 'deadline_exceeded'
  | 'service_unavailable'
  | 'signature_missing'
  | 'signature_malformed'
  | 'signature_mismatch'
  | 'signature_expired'
  | 'signature_replayed'
  | 'webhooks_disabled'
  | 'invalid_callback_url'
  | 'no_callback_url'

const STATUS: Record<ProblemCode, number> = {
  invalid_parameter: 400,
  invalid_bbox: 400,
  bbox_too_large: 422,
  box_too_costly: 422,
  invalid_body: 400,
  invalid_base64: 422,
  corrupt_tile: 422,
  empty_tile: 422,
  not_found: 404,
  route_not_found: 404,
  method_not_allowed: 405,
  payload_too_large: 413,
  // A geometry drawing more points than one decode answers (MAX_DECODE_POINTS).
  too_many_points: 422,
  job_not_ready: 409,
  // The job lost the caller's token (kept in memory only) and must be submitted again.
  job_interrupted: 503,
  invalid_token: 401,
  upstream_rate_limited: 503,
  upstream_unavailable: 503,
  upstream_error: 502,
  upstream_auth: 502,
  incomplete_result: 502,
  subrequest_budget_exceeded: 503,
  internal_error: 500,
  // The gateway's own (workers/gateway): keys, limits, request size and time.
  api_key_required: 401,
  invalid_api_key: 401,
  rate_limited: 429,
  uri_too_long: 414,
  // No answer within REQUEST_DEADLINE_SECONDS; a fan-out goes on as a job the problem names.
  deadline_exceeded: 503,
  // A task Worker behind the gateway did not answer at all.
  service_unavailable: 503,
  // Webhooks (workers/jobs): a trigger's X-Signature, its replay, a job's callback_url.
  signature_missing: 401,
  signature_malformed: 401,
  signature_mismatch: 401,
  signature_expired: 401,
  signature_replayed: 409,
  // No WEBHOOK_SECRET configured: the hooks do not exist on this server.
  webhooks_disabled: 404,
  invalid_callback_url: 400,
  // Redeliver asked of a job that has no callback_url.
  no_callback_url: 409,
}

const TITLE: Record<ProblemCode, string> = {
  invalid_parameter: 'Invalid parameter',
  invalid_bbox: 'Invalid bounding box',
  bbox_too_large: 'Bounding box too large',
  box_too_costly: 'Bounding box too costly to sweep',
  invalid_body: 'Invalid request body',
  invalid_base64: 'Geometry is not valid base64',
  corrupt_tile: 'Geometry is not a vector tile',
  empty_tile: 'Geometry holds no polygon',
  not_found: 'Not found',
  route_not_found: 'No such route',
  method_not_allowed: 'Method not allowed',
  payload_too_large: 'Payload too large',
  too_many_points: 'Geometry has too many points',
  job_not_ready: 'The job has no result yet',
  job_interrupted: 'The job was interrupted',
  invalid_token: 'The upstream rejected the access token',
  upstream_rate_limited: 'Upstream rate limit reached',
  upstream_unavailable: 'Upstream unavailable',
  upstream_error: 'Upstream error',
  upstream_auth: 'Upstream rejected the server credentials',
  incomplete_result: 'The answer could not be made complete',
  subrequest_budget_exceeded: 'Subrequest budget exceeded',
  internal_error: 'Internal error',
  api_key_required: 'An API key is required',
  invalid_api_key: 'Unknown API key',
  rate_limited: 'Too many requests',
  uri_too_long: 'URI too long',
  deadline_exceeded: 'No answer in time',
  service_unavailable: 'Service unavailable',
  signature_missing: 'The webhook signature is missing',
  signature_malformed: 'The webhook signature is malformed',
  signature_mismatch: 'The webhook signature does not match',
  signature_expired: 'The webhook signature is out of its time window',
  signature_replayed: 'The webhook signature was already used',
  webhooks_disabled: 'Webhooks are not configured on this server',
  invalid_callback_url: 'The callback URL is refused',
  no_callback_url: 'The job has no callback URL',
}

export interface Problem {
  type: string
  title: string
  status: number
  detail: string
  code: ProblemCode
  [extension: string]: unknown
}

export function problemStatus(code: ProblemCode): number {
  return STATUS[code]
}

/** Builds a problem for `code`; `extra` adds extension members (never secrets). */
export function problem(code: ProblemCode, detail: string, extra: Record<string, unknown> = {}): Problem {
  return {
    type: `https://mly-edge.dev/problems/${code.replaceAll('_', '-')}`,
    title: TITLE[code],
    status: STATUS[code],
    detail,
    code,
    ...extra,
  }
}

/** Thrown anywhere in a Worker; the app's `onError` turns it into the response. */
export class ProblemError extends Error {
  readonly problem: Problem
  readonly headers: Record<string, string>
  constructor(problem: Problem, headers: Record<string, string> = {}) {
    super(problem.detail)
    this.name = 'ProblemError'
    this.problem = problem
    this.headers = headers
  }
}

export function fail(code: ProblemCode, detail: string, extra?: Record<string, unknown>, headers?: Record<string, string>): never {
  throw new ProblemError(problem(code, detail, extra), headers)
}

/**
 * The response for `p`: what it echoes bounded first ({@link boundProblem}), whoever built it.
 *
 * @example
 * problemResponse(problem('not_found', 'No image 1.')) // 404 application/problem+json, no-store
 */
export function problemResponse(p: Problem, headers: Record<string, string> = {}): Response {
  return new Response(JSON.stringify(boundProblem(p)), {
    status: p.status,
    headers: { 'content-type': PROBLEM_CONTENT_TYPE, 'cache-control': 'no-store', ...headers },
  })
}

/**
 * `p` as it may be sent: every string redacted of tokens and cut, every list cut
 * (`shared/problem/echo-bounds.ts`); `echo_truncated: true` when something was cut. The members
 * we write ourselves (status, code, type, title) are short and pass unchanged.
 *
 * @example
 * boundProblem(problem('invalid_parameter', "'MLY|1|x' is not an object value")).detail // "'MLY|[redacted]' is not an object value"
 */
export function boundProblem(p: Problem): Problem {
  const { value, cut } = boundValue(p)
  const bounded = value as Problem
  return cut ? { ...bounded, echo_truncated: true } : bounded
}
