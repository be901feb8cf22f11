/**
 * @module
 * Who may call `/v1`, and how much: the API key check (when `REQUIRE_API_KEY` is "true", or
 * whenever a key is sent) and the points each client spends per window (README, "API keys and
 * rate limits"). A refused request is a 401 or 429 problem; every answer carries `RateLimit-*`.
 */
import type { Context, MiddlewareHandler } from 'hono'
import { problem, problemResponse, type ProblemCode } from '../../../shared/problem/problem'
import { findKey, sentKey } from './api-key'
import { positiveNumber, type GatewayApp } from './env'
import { rateLimitHeaders, type Take, type Verdict } from './rate-window'
import { isStreamed } from './routes'

/**
 * Who a request is limited as: its key (`key:<id>`), else its client IP. Only `CF-Connecting-IP`
 * counts, which Cloudflare sets itself; `X-Forwarded-For` and the like are the client's to forge.
 * Requests with no IP at all share one bucket (`ip:unknown`).
 *
 * @example clientIp(new Headers({ 'cf-connecting-ip': '203.0.113.9', 'x-forwarded-for': '1.1.1.1' })) // '203.0.113.9'
 */
export function clientIp(headers: Headers): string {
  return headers.get('cf-connecting-ip')?.trim() || 'unknown'
}

/**
 * The price of an answer in points: a miss (`X-Cache: miss`, the work of a fan-out), a stream
 * (`application/geo+json-seq`: whatever it was read from, it holds its request open as long as a
 * sweep), a new job, or a job started past the deadline costs `missCost`; anything else (a cache
 * hit, a job's status, a refusal) costs 1.
 *
 * @example answerCost(new Response('{}', { headers: { 'x-cache': 'hit' } }), { missCost: 10 }) // 1
 */
export function answerCost(res: Response, opts: { missCost: number; newJob?: boolean }): number {
  return res.headers.get('x-cache') === 'miss' || isStreamed(res) || opts.newJob ? opts.missCost : 1
}

/**
 * The middleware: checks the key (if any), reserves a miss's price (or what is left of it, at
 * least 1 point) before the request goes on, then settles it once the answer says what it was: a
 * hit gives back all but 1.
 *
 * @example app.use('/v1/*', clientLimits)
 */
export const clientLimits: MiddlewareHandler<GatewayApp> = async (c, next) => {
  const env = c.env
  const windowSeconds = positiveNumber(env.RATE_LIMIT_WINDOW_SECONDS, 60)
  const ip = clientIp(c.req.raw.headers)
  const exempt = list(env.RATE_LIMIT_EXEMPT_IPS).includes(ip)
  const ipTake = { limit: positiveNumber(env.RATE_LIMIT_ANONYMOUS, 600), windowSeconds }

  const sent = sentKey(c.req.raw.headers)
  let subject: string
  let take: Omit<Take, 'cost'>
  if (sent === undefined) {
    if (env.REQUIRE_API_KEY === 'true') {
      return refuse(c, exempt ? undefined : ipTake, 'api_key_required', 'This API needs a key: send it as Authorization: Bearer <key> or X-API-Key: <key>.')
    }
    if (exempt) {
      c.set('limitedAs', 'exempt')
      return next()
    }
    subject = `ip:${ip}`
    take = ipTake
    c.set('limitedAs', 'ip')
  } else {
    let record: Awaited<ReturnType<typeof findKey>>
    try {
      record = sent === 'malformed' ? null : await findKey(env.API_KEYS, sent)
    } catch {
      // No key can be checked: refuse for now (never let an unchecked key through).
      return problemResponse(problem('service_unavailable', 'API keys cannot be checked just now; try again shortly.'), { 'retry-after': '5' })
    }
    // Guessing keys costs the guesser's IP a point each, so a flood of made-up keys is limited too.
    if (!record) return refuse(c, exempt ? undefined : ipTake, 'invalid_api_key', 'The API key is not known (never made, or revoked).')
    subject = `key:${record.id}`
    take = { limit: record.limit ?? positiveNumber(env.RATE_LIMIT_KEY, 6000), windowSeconds }
    c.set('limitedAs', subject)
  }

  // A miss's price is reserved before the request goes on (as much of it as is left) and settled
  // after its answer: charging 1 first let a burst of concurrent misses through at the price of hits.
  const missCost = Math.max(1, Math.round(positiveNumber(env.RATE_LIMIT_MISS_COST, 10)))
  const limiter = env.RATE_LIMITER.getByName(subject)
  const first = await tryTake(() => limiter.take({ cost: missCost, upTo: true, ...take }))
  // A limiter that cannot be reached limits no one rather than failing everyone (logged as such).
  if (!first) c.set('limitedAs', `${c.get('limitedAs')}:unchecked`)
  else if (!first.allowed) return limited(first)
  await next()
  if (!first) return

  const newJob = c.get('deadlineJob') !== undefined || (c.req.method === 'POST' && startsJob(c.req.path) && c.res.status === 202)
  const rest = answerCost(c.res, { missCost, newJob }) - first.charged
  const verdict = rest !== 0 ? ((await tryTake(() => limiter.take({ cost: rest, force: true, ...take }))) ?? first) : first
  for (const [name, value] of Object.entries(rateLimitHeaders(verdict))) c.res.headers.set(name, value)
}

/** The routes whose 202 is a new job: a submission and a webhook trigger (a redelivery is not). */
function startsJob(path: string): boolean {
  return path === '/v1/jobs' || path.startsWith('/v1/hooks/')
}

async function tryTake(take: () => Promise<Verdict>): Promise<Verdict | undefined> {
  try {
    return await take()
  } catch {
    return undefined
  }
}

function list(value: string | undefined): string[] {
  return (value ?? '').split(',').map((s) => s.trim()).filter(Boolean)
}

function limited(v: Verdict): Response {
  return problemResponse(problem('rate_limited', `Too many requests: ${v.limit} points per window are spent; try again in ${v.resetSeconds} s.`, { limit: v.limit, retry_after: v.resetSeconds }), rateLimitHeaders(v))
}

/** A 401 (key missing or unknown), charged to the client's IP: a 429 once that is spent. */
async function refuse(c: Context<GatewayApp>, ipTake: Omit<Take, 'cost'> | undefined, code: ProblemCode, detail: string): Promise<Response> {
  c.set('limitedAs', ipTake ? 'ip' : 'exempt')
  const verdict = ipTake ? await tryTake(() => c.env.RATE_LIMITER.getByName(`ip:${clientIp(c.req.raw.headers)}`).take({ cost: 1, ...ipTake })) : undefined
  if (verdict && !verdict.allowed) return limited(verdict)
  return problemResponse(problem(code, detail), { 'www-authenticate': 'Bearer realm="mly-edge"', ...(verdict ? rateLimitHeaders(verdict) : {}) })
}
