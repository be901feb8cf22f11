/**
 * @module
 * The API reference as a Hono sub-app: `GET /openapi.json` (OpenAPI 3.1, generated from the
 * schemas the Workers validate with) and `GET /docs` (the same, as a readable page with no script).
 */
import { Hono } from 'hono'
import { openApiDocument } from './served-document'
import { docsContentSecurityPolicy, renderDocsHtml } from './render-html'

/** Both answers change only with a deployment. */
const CACHE_CONTROL = 'public, max-age=300'

// Both texts kept per isolate for the last origin asked (the Host is the client's to choose, so
// nothing grows with it).
let texts: { origin: string; json: string; html?: string } | undefined
let csp: Promise<string> | undefined

function forOrigin(origin: string): { origin: string; json: string; html?: string } {
  if (texts?.origin !== origin) texts = { origin, json: JSON.stringify(openApiDocument(origin)) }
  return texts
}

/**
 * `GET /openapi.json` and `GET /docs`; the gateway mounts it with `app.route('/', docs)`.
 * @example
 * const res = await docs.request('/openapi.json')
 * ;(await res.json()).openapi // '3.1.0'
 */
export const docs = new Hono()

docs.get('/openapi.json', (c) => c.body(forOrigin(new URL(c.req.url).origin).json, 200, { 'content-type': 'application/json; charset=utf-8', 'cache-control': CACHE_CONTROL }))

docs.get('/docs', async (c) => {
  const page = forOrigin(new URL(c.req.url).origin)
  page.html ??= renderDocsHtml(openApiDocument(page.origin))
  csp ??= docsContentSecurityPolicy()
  return c.html(page.html, 200, {
    'cache-control': CACHE_CONTROL,
    'content-security-policy': await csp,
    'x-content-type-options': 'nosniff',
    'referrer-policy': 'no-referrer',
  })
})
