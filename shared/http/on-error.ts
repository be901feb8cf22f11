/**
 * @module
 * Hono `onError` / `notFound` handlers: every failure leaves as application/problem+json.
 */

import type { ErrorHandler, MiddlewareHandler, NotFoundHandler } from 'hono'
import { HTTPException } from 'hono/http-exception'
import { UpstreamError } from '../upstream/errors'
import { upstreamProblem } from '../upstream/to-problem'
import { problem, PROBLEM_CONTENT_TYPE, ProblemError, problemResponse, type ProblemCode } from '../problem/problem'

// Statuses a Hono HTTPException may carry that have a problem code of their own.
const HTTP_CODES: Partial<Record<number, ProblemCode>> = {
  400: 'invalid_parameter',
  401: 'invalid_token',
  404: 'not_found',
  405: 'method_not_allowed',
  413: 'payload_too_large',
}

const MAX_DETAIL = 300

/**
 * Turns any thrown error into a problem response: `ProblemError` as is, `UpstreamError` through
 * {@link upstreamProblem} (401 mapping by the error's token source, else `c.var.tokenSource`, else
 * server), Hono's `HTTPException` by status, anything else a generic 500 that reveals nothing.
 *
 * @example
 * const app = new Hono()
 * app.onError(onError)
 * app.notFound(notFound)
 */
export const onError: ErrorHandler = (err, c) => {
  if (err instanceof ProblemError) return problemResponse(err.problem, err.headers)
  if (err instanceof UpstreamError) {
    const fromContext = (c.var as Record<string, unknown> | undefined)?.tokenSource
    const source = err.tokenSource ?? (fromContext === 'client' ? 'client' : 'server')
    const { problem: p, headers } = upstreamProblem(err, source)
    return problemResponse(p, headers)
  }
  if (err instanceof HTTPException) {
    const code = HTTP_CODES[err.status] ?? (err.status < 500 ? 'invalid_parameter' : 'internal_error')
    // HTTPException messages are written for the client (Hono's own are fixed strings); 5xx ones
    // are not shown, like any other internal failure.
    const detail = code !== 'internal_error' && err.message ? err.message.slice(0, MAX_DETAIL) : defaultDetail(code)
    return problemResponse(problem(code, detail))
  }
  return problemResponse(problem('internal_error', defaultDetail('internal_error')))
}

/**
 * 404 `route_not_found` naming the method and path (never the query, which could hold anything).
 *
 * @example
 * app.notFound(notFound) // GET /nope → 404 {"code": "route_not_found", ...}
 */
export const notFound: NotFoundHandler = (c) => {
  const path = c.req.path.replace(/MLY\|[^/]*/gi, '…').slice(0, 200)
  return problemResponse(problem('route_not_found', `No route matches ${c.req.method} ${path}.`))
}

function defaultDetail(code: ProblemCode): string {
  switch (code) {
    case 'invalid_parameter':
      return 'The request is not valid.'
    case 'invalid_token':
      return 'The request is not authorized.'
    case 'not_found':
      return 'Not found.'
    case 'method_not_allowed':
      return 'This method is not allowed here.'
    case 'payload_too_large':
      return 'The request body is too large.'
    default:
      return 'An unexpected error occurred on our side.'
  }
}

/** A request id we repeat: 1 to 64 letters, digits, `.`, `_`, `:` or `-` (a UUID, a hex id, a Cloudflare ray). */
export const REQUEST_ID = /^[A-Za-z0-9._:-]{1,64}$/

/**
 * The request's `x-request-id` (set by the gateway) when it is a short safe string, else undefined.
 *
 * @example
 * requestIdOf(new Headers({ 'x-request-id': '7f9c2ba4e88f827d' })) // '7f9c2ba4e88f827d'
 * requestIdOf(new Headers({ 'x-request-id': 'MLY|1|x' }))          // undefined
 */
export function requestIdOf(headers: Headers): string | undefined {
  const id = headers.get('x-request-id')?.trim()
  return id && REQUEST_ID.test(id) ? id : undefined
}

/**
 * Middleware (first in every task app): a problem+json response, whoever wrote it (a thrown error
 * through {@link onError}, a failed validation, {@link notFound}), gets `request_id` from the
 * request's `x-request-id` ({@link requestIdOf}), status and headers kept. Problems are small
 * (bounded by `problemResponse`), so reading one again costs little.
 *
 * @example
 * app.use('*', problemRequestId)
 * // GET /nope with x-request-id: r1 → 404 {"code": "route_not_found", …, "request_id": "r1"}
 */
export const problemRequestId: MiddlewareHandler = async (c, next) => {
  await next()
  const id = requestIdOf(c.req.raw.headers)
  const res = c.res
  if (!id || !res.headers.get('content-type')?.startsWith(PROBLEM_CONTENT_TYPE)) return
  let body: unknown
  try {
    body = await res.clone().json()
  } catch {
    return // not JSON after all: leave it as it is
  }
  if (body === null || typeof body !== 'object' || Array.isArray(body)) return
  const headers = new Headers(res.headers)
  headers.delete('content-length') // the body grows
  c.res = undefined // replace, not merge
  c.res = new Response(JSON.stringify({ ...body, request_id: id }), { status: res.status, headers })
}
