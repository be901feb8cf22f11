/**
 * @module
 * `GET /embed/map-features?bbox=…[&object_values=…][&tiles=…]`: an HTML page for an `<iframe>`, a
 * box's map features on a Leaflet map: the `<mly-map-features fill>` element, from /embed/mly.js
 * as any static site loads it (so the page and the element are one code). Parameters are checked as the API checks them; a bad
 * one is a 400 page a person can read (problem+json for a client that does not ask for HTML).
 */
import { Hono } from 'hono'
import { z } from 'zod'
import { boundProblem, problem, problemResponse, type Problem } from '../../../shared/problem/problem'
import { bboxParam, objectValuesParam } from '../../../shared/http/validation'
import type { Env } from './env'
import { escapeHtml } from './escape'
import { frameAncestors, pageHeaders } from './headers'

/** A placeholder the template may hold: these three, nothing else (no `{s}` subdomains, no `{r}`). */
const TILE_PLACEHOLDERS = ['{z}', '{x}', '{y}'] as const

/**
 * `tiles=`: a base map's URL template, https with a host, {z}, {x} and {y} each present and no
 * other placeholder, no credentials, no quote, space or angle bracket. Answers the template, or why
 * not. The element checks the same rule in the browser.
 *
 * @example
 * tileTemplateError('https://tile.openstreetmap.org/{z}/{x}/{y}.png') // null
 * tileTemplateError('javascript:alert(1)//{z}/{x}/{y}')             // 'must be an https URL …'
 */
export function tileTemplateError(template: string): string | null {
  const why = 'must be an https URL template with {z}, {x} and {y}, like https://tile.example/{z}/{x}/{y}.png'
  if (template.length > 2048 || /[\s"'<>\\`]/.test(template)) return why
  const placeholders: string[] = template.match(/\{[^}]*\}/g) ?? []
  if (!TILE_PLACEHOLDERS.every((p) => placeholders.includes(p)) || placeholders.some((p) => !(TILE_PLACEHOLDERS as readonly string[]).includes(p))) return why
  let url: URL
  try {
    url = new URL(template.replace(/\{([zxy])\}/g, '0'))
  } catch {
    return why
  }
  return url.protocol === 'https:' && url.hostname !== '' && url.username === '' && url.password === '' ? null : why
}

const mapPageQuery = z.object({
  bbox: bboxParam,
  object_values: objectValuesParam,
  tiles: z.string().optional(),
})

/** The page's query checked, or the problem of its first bad parameter. */
function readQuery(query: Record<string, string>): { ok: true; bbox: string; objectValues?: string; tiles?: string } | { ok: false; problem: Problem } {
  const parsed = mapPageQuery.safeParse(query)
  if (!parsed.success) {
    const issue = parsed.error.issues[0]!
    const name = String(issue.path[0] ?? 'bbox')
    const code = name === 'bbox' ? 'invalid_bbox' : 'invalid_parameter'
    return { ok: false, problem: problem(code, `Query parameter '${name}' ${issue.message}`) }
  }
  const tiles = query.tiles
  if (tiles !== undefined && tiles !== '') {
    const why = tileTemplateError(tiles)
    if (why !== null) return { ok: false, problem: problem('invalid_parameter', `Query parameter 'tiles' ${why}`) }
  }
  return { ok: true, bbox: query.bbox!, objectValues: parsed.data.object_values?.join(','), tiles: tiles || undefined }
}

/** The page: the element, given the checked parameters as attributes (escaped all the same). */
function mapPage(bbox: string, objectValues?: string, tiles?: string): string {
  const attr = (name: string, value: string | undefined) => (value === undefined ? '' : ` ${name}="${escapeHtml(value)}"`)
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>Map features in ${escapeHtml(bbox)}</title>
<link rel="stylesheet" href="/embed/embed.css">
<script type="module" src="/embed/mly.js"></script>
</head>
<body>
<mly-map-features fill${attr('bbox', bbox)}${attr('object-values', objectValues)}${attr('tiles', tiles)}></mly-map-features>
<noscript>This map needs JavaScript. The features are at <a href="/v1/map-features?bbox=${escapeHtml(encodeURIComponent(bbox))}">/v1/map-features</a>.</noscript>
</body>
</html>
`
}

/** A bad parameter as a page a person reads in the frame. */
function errorPage(raw: Problem): string {
  const p = boundProblem(raw)
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<title>${escapeHtml(p.title)}</title>
<link rel="stylesheet" href="/embed/embed.css">
</head>
<body>
<main role="alert" class="problem">
<h1>${escapeHtml(p.title)}</h1>
<p>${escapeHtml(p.detail ?? '')}</p>
</main>
</body>
</html>
`
}

/** The page's CSP, with a base map's origin (already checked https) allowed for its tiles. */
function mapPageHeaders(ancestors: string, tiles?: string): Record<string, string> {
  const headers = pageHeaders(ancestors)
  if (tiles !== undefined) {
    const origin = new URL(tiles.replace(/\{([zxy])\}/g, '0')).origin
    headers['content-security-policy'] = headers['content-security-policy']!.replace(/img-src ([^;]*)/, (_, sources: string) => `img-src ${sources.includes('https:') ? sources : `${sources} ${origin}`}`)
  }
  return headers
}

/**
 * The map page's routes, mounted at `/embed`.
 *
 * @example
 * app.route('/embed', mapPageRoutes)
 * // GET /embed/map-features?bbox=12.985,55.585,13.015,55.615 → 200 text/html
 */
export const mapPageRoutes = new Hono<{ Bindings: Env }>()
  .get('/map-features', (c) => {
    const read = readQuery(c.req.query())
    const ancestors = frameAncestors(c.env.EMBED_ANCESTORS)
    if (!read.ok) {
      const wantsHtml = /text\/html/.test(c.req.header('accept') ?? '')
      if (!wantsHtml) return problemResponse(read.problem)
      return c.body(errorPage(read.problem), read.problem.status as 400, pageHeaders(ancestors))
    }
    return c.body(mapPage(read.bbox, read.objectValues, read.tiles), 200, mapPageHeaders(ancestors, read.tiles))
  })
