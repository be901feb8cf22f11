/**
 * @module
 * Forwards a public request to its task Worker, less the API key, with the request id, within the
 * request's deadline. Past it: 503 `deadline_exceeded` with Retry-After and, for a fan-out, the job
 * that goes on with the same question (named in the problem and in `Location`).
 */
import type { Context } from 'hono'
import { problem, problemResponse } from '../../../shared/problem/problem'
import { forwardedHeaders } from './api-key'
import { positiveNumber, type GatewayApp } from './env'
import type { PublicRoute } from './routes'

/** The default deadline: under the 30 s or so that proxies and browsers commonly wait. */
export const DEFAULT_DEADLINE_SECONDS = 25
/** How long starting the job may take once the deadline has passed. */
const JOB_START_MS = 5000
/** Asked again in this many seconds: a job's status changes within it; a hung upstream may be back. */
const RETRY_AFTER_SECONDS = 10

/**
 * The task Worker's answer, or the deadline's problem.
 *
 * @example app.get('/v1/map-features', (c) => forward(c, route))
 */
export async function forward(c: Context<GatewayApp>, route: PublicRoute): Promise<Response> {
  const seconds = positiveNumber(c.env.REQUEST_DEADLINE_SECONDS, DEFAULT_DEADLINE_SECONDS)
  const abort = new AbortController()
  const req = new Request(c.req.raw, { headers: forwardedHeaders(c.req.raw.headers, c.get('requestId')), signal: abort.signal })
  let timer: ReturnType<typeof setTimeout> | undefined
  const late = new Promise<'late'>((resolve) => {
    timer = setTimeout(() => resolve('late'), seconds * 1000)
  })
  const answer = c.env[route.binding].fetch(req)
  answer.catch(() => {}) // once the deadline has passed, its abort is no one's error
  try {
    const res = await Promise.race([answer, late])
    // A fetched Response has immutable headers; the CORS and ETag middleware need to set some.
    if (res !== 'late') return new Response(res.body, res)
  } catch {
    return problemResponse(problem('service_unavailable', 'The service behind this route did not answer; try again shortly.'), { 'retry-after': String(RETRY_AFTER_SECONDS) })
  } finally {
    clearTimeout(timer)
  }
  abort.abort()
  const job = route.job ? await startJob(c, route.job) : undefined
  if (!job) {
    return problemResponse(problem('deadline_exceeded', `No answer within ${seconds} s (the upstream is slow or not answering); try again later.`, { deadline_seconds: seconds }), { 'retry-after': String(RETRY_AFTER_SECONDS) })
  }
  c.set('deadlineJob', job.id)
  return problemResponse(
    problem('deadline_exceeded', `No answer within ${seconds} s; the question goes on as job ${job.id}: its progress and then its result are at ${job.status_url}.`, { deadline_seconds: seconds, job: job.id, status_url: job.status_url }),
    { 'retry-after': String(RETRY_AFTER_SECONDS), location: job.status_url },
  )
}

/** `POST /v1/jobs` for the route's question, with the caller's own Mapillary token if it sent one. */
async function startJob(c: Context<GatewayApp>, job: NonNullable<PublicRoute['job']>): Promise<{ id: string; status_url: string } | undefined> {
  const url = new URL(c.req.url)
  const headers = forwardedHeaders(new Headers({ authorization: c.req.header('authorization') ?? '' }), c.get('requestId'))
  headers.set('content-type', 'application/json')
  try {
    const res = await c.env.JOBS.fetch(new URL('/v1/jobs', url), {
      method: 'POST',
      headers,
      body: JSON.stringify({ task: job.task, params: job.params(c.req.param() as Record<string, string>, url.searchParams) }),
      signal: AbortSignal.timeout(JOB_START_MS),
    })
    if (res.status !== 202) {
      await res.body?.cancel()
      return undefined
    }
    const body = (await res.json()) as { id?: unknown; status_url?: unknown }
    return typeof body.id === 'string' && typeof body.status_url === 'string' ? { id: body.id, status_url: body.status_url } : undefined
  } catch {
    return undefined
  }
}
