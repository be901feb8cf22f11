/**
 * @module
 * The gateway Worker: public routes, CORS, ETag and `/healthz`; every answer comes from a task
 * Worker over a service binding, forwarded unchanged (path, query, Authorization).
 */
import { Hono } from 'hono'
import { cors } from 'hono/cors'
import { etag } from 'hono/etag'
import { notFound, onError } from '../../../shared/http/on-error'
import { fail } from '../../../shared/problem/problem'
import { allowedOrigin } from './cors-origin'
import { TASK_BINDINGS, type Env } from './env'
import { etagged, PUBLIC_ROUTES } from './routes'

const app = new Hono<{ Bindings: Env }>()

app.use(
  '*',
  cors({
    origin: (origin, c) => allowedOrigin(origin, c.env.CORS_ORIGINS),
    allowMethods: ['GET', 'HEAD', 'POST', 'OPTIONS'],
    allowHeaders: ['Content-Type', 'Authorization', 'If-None-Match', 'Last-Event-ID'],
    exposeHeaders: ['ETag', 'Retry-After', 'X-Upstream-Requests', 'X-Cache', 'Location'],
    maxAge: 86400,
  }),
)
const tag = etag()
app.use('/v1/*', (c, next) => (etagged(c.req.path) ? tag(c, next) : next()))

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

for (const route of PUBLIC_ROUTES) {
  app.all(route.path, async (c) => {
    const method = c.req.method === 'HEAD' ? 'GET' : c.req.method
    if (!(route.methods as readonly string[]).includes(method)) {
      fail('method_not_allowed', `${c.req.method} is not allowed on ${c.req.path}; use ${route.methods.join(', ')}.`, {}, { allow: route.methods.join(', ') })
    }
    const res = await c.env[route.binding].fetch(c.req.raw)
    // A fetched Response has immutable headers; the CORS and ETag middleware need to set some.
    return new Response(res.body, res)
  })
}

app.notFound(notFound)
app.onError(onError)

export default app
