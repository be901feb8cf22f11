/**
 * @module
 * Hono `onError` / `notFound` handlers: every failure leaves as application/problem+json.
 */

import type { ErrorHandler, NotFoundHandler } from 'hono'
import { HTTPException } from 'hono/http-exception'
import { UpstreamError } from '../upstream/errors'
import { upstreamProblem } from '../upstream/to-problem'
import { problem, ProblemError, problemResponse, type ProblemCode } from '../problem/problem'

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
