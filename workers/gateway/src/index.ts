/**
 * @module
 * The gateway Worker: public routes, CORS, ETag, API keys and rate limits, request ids, logs and
 * the request deadline, `/healthz` and `/readyz`. Every answer comes from a task Worker over a
 * service binding, forwarded unchanged (path, query, a client's Mapillary token) but for the API key.
 */
import { Hono } from 'hono'
import { cors } from 'hono/cors'
import { etag, RETAINED_304_HEADERS } from 'hono/etag'
import { notFound, onError } from '../../../shared/http/on-error'
import { readBodyWithin } from '../../../shared/http/body-limit'
import { fail } from '../../../shared/problem/problem'
import { clientLimits } from './client-limits'
import { docs } from './docs'
import { allowedOrigin } from './cors-origin'
import { positiveNumber, TASK_BINDINGS, type GatewayApp } from './env'
import { forward } from './forward'
import { observe } from './observe'
import { ReadinessCache, type ProbeOutcome } from './readiness'
import { asksForStream, etagged, PUBLIC_ROUTES } from './routes'
import { bodyEtag } from './body-etag'

export { RateLimiter } from './rate-limiter'

/** 1 MiB of base64 geometry and room for the JSON around it: what POST /v1/decode takes. */
const DEFAULT_MAX_REQUEST_BODY_BYTES = 1024 * 1024 + 4096
/** A body over the limit is still read (and dropped) up to this size, so its sender gets the 413. */
const DRAIN_REQUEST_BODY_BYTES = 32 * 1024 * 1024

const app = new Hono<GatewayApp>()

app.use('*', observe)
app.use(
  '*',
  cors({
    origin: (origin, c) => allowedOrigin(origin, c.env.CORS_ORIGINS),
    allowMethods: ['GET', 'HEAD', 'POST', 'OPTIONS'],
    allowHeaders: ['Content-Type', 'Authorization', 'X-API-Key', 'X-Request-Id', 'If-None-Match', 'Last-Event-ID'],
    exposeHeaders: ['ETag', 'Retry-After', 'X-Upstream-Requests', 'X-Cache', 'Location', 'X-Request-Id', 'RateLimit-Limit', 'RateLimit-Remaining', 'RateLimit-Reset'],
    maxAge: 86400,
  }),
)
// Refused here rather than by the runtime, which answers about 64 KB and more as text/plain.
app.use('*', async (c, next) => {
  const max = positiveNumber(c.env.MAX_URL_BYTES, 8192)
  if (c.req.url.length > max) fail('uri_too_long', `The URL is ${c.req.url.length} bytes long; at most ${max} are accepted.`, { limit_bytes: max })
  await next()
})
app.use('/v1/*', clientLimits)
// A 304 keeps the CORS headers the CORS step set before it, or a browser cannot read it.
const tag = etag({ retainedHeaders: [...RETAINED_304_HEADERS, 'access-control-allow-origin', 'access-control-expose-headers', 'access-control-allow-credentials'] })
// A stream (map features as geojsonseq) passes through as it flows: no ETag, which reads a body whole.
// The tag is the task Worker's when it sends one (a box answer's: versionTag, its body streams on
// unread), else bodyEtag's from the body read at once (hono reads it chunk by chunk in JavaScript,
// some 0.5 s for an 11 MB answer); hono's etag then only compares it.
app.use('/v1/*', (c, next) => (etagged(c.req.path) && !asksForStream(c.req.path, new URL(c.req.url).searchParams, c.req.header('accept')) ? tag(c, () => bodyEtag(c, next)) : next()))

app.get('/healthz', async (c) => {
  const checks = await Promise.all(
    TASK_BINDINGS.map(async (name) => {
      try {
        const res = await c.env[name].fetch('https://internal/healthz')
        await res.body?.cancel()
        return [name, res.ok] as const
      } catch {
        return [name, false] as const
      }
    }),
  )
  const workers = Object.fromEntries(checks.map(([name, ok]) => [name, ok ? 'up' : 'down']))
  const up = checks.every(([, ok]) => ok)
  return c.json({ status: up ? 'ok' : 'degraded', workers }, up ? 200 : 503, { 'cache-control': 'no-store' })
})

// Per isolate: a probe of the upstream at most every READY_CHECK_SECONDS, whatever asks /readyz.
const readiness = new ReadinessCache()

app.get('/readyz', async (c) => {
  const period = positiveNumber(c.env.READY_CHECK_SECONDS, 30)
  const r = await readiness.read(() => probeUpstream(c.env.FEATURE_IMAGES), period * 1000)
  return c.json({ status: r.ready ? 'ready' : 'not_ready', ...r }, r.ready ? 200 : 503, {
    'cache-control': 'no-store',
    ...(r.ready ? {} : { 'retry-after': String(Math.ceil(period)) }),
  })
})

/** The upstream probe, made by mly-feature-images (which holds the server's token). */
async function probeUpstream(worker: Fetcher): Promise<ProbeOutcome> {
  const res = await worker.fetch('https://internal/internal/readyz', { signal: AbortSignal.timeout(10_000) })
  if (!res.headers.get('content-type')?.startsWith('application/json')) {
    await res.body?.cancel()
    return { ready: false, reason: `the readiness probe answered ${res.status}` }
  }
  return (await res.json()) as ProbeOutcome
}

// The API reference: /openapi.json and /docs, outside /v1 so no key or limit applies.
app.route('/', docs)

for (const route of PUBLIC_ROUTES) {
  app.all(route.path, async (c) => {
    const method = c.req.method === 'HEAD' ? 'GET' : c.req.method
    if (!(route.methods as readonly string[]).includes(method)) {
      fail('method_not_allowed', `${c.req.method} is not allowed on ${c.req.path}; use ${route.methods.join(', ')}.`, {}, { allow: route.methods.join(', ') })
    }
    if (method === 'POST') {
      // Read here, within the limit, then forwarded whole: a task Worker refusing a body still
      // streaming in left the client with a 500 or a reset instead of its 413.
      const limit = positiveNumber(c.env.MAX_REQUEST_BODY_BYTES, DEFAULT_MAX_REQUEST_BODY_BYTES)
      const bytes = await readBodyWithin(c.req.raw, limit, { drainUpTo: DRAIN_REQUEST_BODY_BYTES })
      if (bytes === null) fail('payload_too_large', `The request body may be at most ${limit} bytes.`, { limit_bytes: limit })
      c.req.raw = new Request(c.req.raw, { body: bytes })
    }
    return forward(c, route)
  })
}

app.notFound(notFound)
app.onError(onError)

export default app
