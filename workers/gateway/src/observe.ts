/**
 * @module
 * Every answer of the gateway: an `X-Request-Id` (the client's own when it is a short safe string,
 * else a fresh UUID), `request_id` in every problem, `Server-Timing: gateway;dur=…` (after the task
 * Worker's own, if it sent one), and one JSON log line ({@link logLine}).
 */
import type { Context, MiddlewareHandler } from 'hono'
import { routePath } from 'hono/route'
import { requestIdOf } from '../../../shared/http/on-error'
import { PROBLEM_CONTENT_TYPE } from '../../../shared/problem/problem'
import type { GatewayApp } from './env'
import { logLine } from './request-log'

/**
 * The middleware, first of all so that it sees the final answer whoever wrote it.
 * @example app.use('*', observe)
 */
export const observe: MiddlewareHandler<GatewayApp> = async (c, next) => {
  const started = performance.now()
  const requestId = requestIdOf(c.req.raw.headers) ?? crypto.randomUUID()
  c.set('requestId', requestId)
  await next()
  const code = await stampProblem(c, requestId)
  c.res.headers.set('x-request-id', requestId)
  const ms = performance.now() - started
  c.res.headers.append('server-timing', `gateway;dur=${ms.toFixed(1)}`)
  const line = logLine({ requestId, method: c.req.method, route: routeOf(c), ms, limit: c.get('limitedAs'), problem: code, job: c.get('deadlineJob') }, c.res)
  console.log(JSON.stringify(line))
}

/** The route pattern that answered, or `unmatched` (only middleware ran: 404, 414, preflight). */
function routeOf(c: Context<GatewayApp>): string {
  const path = routePath(c, -1)
  return path === '' || path.endsWith('*') ? 'unmatched' : path
}

/** Adds `request_id` to a problem that lacks one (the gateway's own); returns the problem's code. */
async function stampProblem(c: Context<GatewayApp>, requestId: string): Promise<string | undefined> {
  const res = c.res
  if (!res.headers.get('content-type')?.startsWith(PROBLEM_CONTENT_TYPE)) return undefined
  let body: unknown
  try {
    body = await res.clone().json()
  } catch {
    return undefined
  }
  if (body === null || typeof body !== 'object' || Array.isArray(body)) return undefined
  const p = body as Record<string, unknown>
  const code = typeof p.code === 'string' ? p.code : undefined
  if (p.request_id !== undefined) return code
  const headers = new Headers(res.headers)
  headers.delete('content-length') // the body grows
  await res.body?.cancel()
  c.res = undefined // replace, not merge
  c.res = new Response(JSON.stringify({ ...p, request_id: requestId }), { status: res.status, headers })
  return code
}
