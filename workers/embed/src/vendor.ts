/**
 * @module
 * The bundled map library, served from the embed Worker itself (`/embed/vendor/…`), so pages and
 * elements need no CDN at run time: Leaflet's JS and CSS, and leaflet.markercluster's. The files
 * are node_modules' own, imported as text (the `[[rules]]` in wrangler.toml). Markers are circle
 * markers and clusters are div icons, so none of Leaflet's marker images is needed.
 */
import { Hono } from 'hono'
import { problem, problemResponse } from '../../../shared/problem/problem'
import leafletCss from 'leaflet/dist/leaflet.css'
import leafletJs from 'leaflet/dist/leaflet.js'
import clusterCss from 'leaflet.markercluster/dist/MarkerCluster.css'
import clusterDefaultCss from 'leaflet.markercluster/dist/MarkerCluster.Default.css'
import clusterJs from 'leaflet.markercluster/dist/leaflet.markercluster.js'

const JS = 'text/javascript; charset=utf-8'
const CSS = 'text/css; charset=utf-8'

/** The vendored files by name; the versions are pinned in package-lock.json. */
export const VENDOR_FILES: Readonly<Record<string, { body: string; type: string }>> = {
  'leaflet.js': { body: leafletJs, type: JS },
  'leaflet.css': { body: leafletCss, type: CSS },
  'leaflet.markercluster.js': { body: clusterJs, type: JS },
  // The cluster's own rules and its default look (coloured bubbles), one file.
  'markercluster.css': { body: `${clusterCss}\n${clusterDefaultCss}`, type: CSS },
}

/**
 * A week: the files change only with a dependency bump, and then the ETag (content hash) changes.
 * Not `immutable`, since the URLs carry no version.
 */
const VENDOR_CACHE = 'public, max-age=604800, stale-while-revalidate=86400'

/** A strong ETag per file, from its bytes (computed once per isolate). */
const etags = new Map<string, Promise<string>>()
function etagOf(name: string, body: string): Promise<string> {
  let tag = etags.get(name)
  if (tag === undefined) {
    tag = crypto.subtle.digest('SHA-256', new TextEncoder().encode(body)).then((d) => `"${[...new Uint8Array(d).slice(0, 12)].map((b) => b.toString(16).padStart(2, '0')).join('')}"`)
    etags.set(name, tag)
  }
  return tag
}

/**
 * `GET /embed/vendor/:file`: one of {@link VENDOR_FILES}, long-cached, CORS-open (an element on
 * another origin may fetch the CSS into its shadow root), `nosniff`; any other name is 404.
 *
 * @example
 * app.route('/embed/vendor', vendor)
 * // GET /embed/vendor/leaflet.js → 200 text/javascript
 */
export const vendor = new Hono().get('/:file', async (c) => {
  const name = c.req.param('file')
  const file = Object.hasOwn(VENDOR_FILES, name) ? VENDOR_FILES[name] : undefined
  if (file === undefined) {
    return problemResponse(problem('not_found', `no vendored file '${name.slice(0, 60)}'; there are ${Object.keys(VENDOR_FILES).join(', ')}`))
  }
  const etag = await etagOf(name, file.body)
  const headers = {
    'content-type': file.type,
    'cache-control': VENDOR_CACHE,
    etag,
    'access-control-allow-origin': '*',
    'x-content-type-options': 'nosniff',
  }
  if (c.req.header('if-none-match') === etag) return c.body(null, 304, headers)
  return c.body(file.body, 200, headers)
})
