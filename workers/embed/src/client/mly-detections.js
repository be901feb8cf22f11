// @module <mly-detections image="…">: one image with its detections drawn over it (served in
// /embed/mly.js). Framework-free, shadow DOM. It reads GET /v1/images/{id}/detections from the
// `api` attribute's origin, else from the origin this module was loaded from, and draws each
// detection's pixel geometry as SVG paths (holes with fill-rule evenodd) built with DOM calls only:
// nothing the API or an attribute says is ever parsed as markup.
//
// Attributes (each also a property): image (numeric id), api (an http(s) origin), opacity (fill,
// 0–1, default 0.35), values (comma-separated classes to show), labels ("false" hides legend and
// hover labels). Events: mly-load {image, detections}, mly-error {status, code, message},
// mly-select {detection: {id, value, family}} on a click on a detection.
//
// Example: <script type="module" src="https://api.example/embed/mly.js"></script>
//          <mly-detections image="361705751724011"></mly-detections>

const SVG_NS = 'http://www.w3.org/2000/svg'

// The palette of shared/svg/class-colors.ts: /embed/mly.js begins by defining MLY_FAMILY_COLORS from it.
const FAMILY_COLORS = MLY_FAMILY_COLORS
const classFamily = (value) => {
  const first = String(value).split('--')[0]
  return Object.hasOwn(FAMILY_COLORS, first) ? first : 'other'
}

const NUMERIC_ID = /^[0-9]{1,20}$/
const DEFAULT_OPACITY = 0.35

// This module's own origin: where the API is unless `api` says otherwise.
const MODULE_ORIGIN = (() => {
  try {
    return new URL(import.meta.url).origin
  } catch {
    return location.origin
  }
})()

const STYLE = `
:host { display: block; position: relative; font: 14px/1.4 system-ui, sans-serif; color: #222; }
.status { padding: 12px; }
.status[data-kind="error"] { color: #8b0000; background: #fff4f4; border: 1px solid #e0b4b4; border-radius: 4px; }
.frame { position: relative; line-height: 0; }
.frame img, .frame .blank { display: block; width: 100%; height: auto; }
.frame .blank { background: #d0d0d0; }
.frame svg { position: absolute; inset: 0; width: 100%; height: 100%; }
.frame path { cursor: pointer; }
.frame path:hover { stroke-width: 3px; }
.tip { position: absolute; pointer-events: none; background: rgba(0,0,0,.75); color: #fff; padding: 2px 6px; border-radius: 3px; font-size: 12px; line-height: 1.4; white-space: nowrap; transform: translate(8px, 8px); }
.legend { list-style: none; margin: 6px 0 0; padding: 0; display: flex; flex-wrap: wrap; gap: 4px 12px; font-size: 13px; }
.legend li { display: flex; align-items: center; gap: 4px; }
.swatch { display: inline-block; width: 12px; height: 12px; border-radius: 2px; }
[hidden] { display: none !important; }
`

/** A stylesheet for the shadow root that needs no inline <style> (pages serve a strict CSP). */
function shadowStyles(root) {
  try {
    const sheet = new CSSStyleSheet()
    sheet.replaceSync(STYLE)
    root.adoptedStyleSheets = [sheet]
  } catch {
    const style = document.createElement('style')
    style.textContent = STYLE
    root.append(style)
  }
}

/** The polygons of a GeoJSON-like Polygon or MultiPolygon, as lists of rings of [x, y]. */
function polygonsOf(geometry) {
  if (!geometry || !Array.isArray(geometry.coordinates)) return []
  if (geometry.type === 'Polygon') return [geometry.coordinates]
  if (geometry.type === 'MultiPolygon') return geometry.coordinates
  return []
}

/** An SVG path's `d` for one polygon: every ring closed, holes in the same path (evenodd). */
function pathData(polygon) {
  return polygon
    .map((ring) => ring.filter((p) => Array.isArray(p) && Number.isFinite(p[0]) && Number.isFinite(p[1])).map((p, i) => `${i ? 'L' : 'M'}${+p[0]} ${+p[1]}`).join('') + 'Z')
    .join('')
}

/** Only http(s) URLs are ever used as a picture's source. */
function httpUrl(url) {
  try {
    const u = new URL(String(url))
    return u.protocol === 'https:' || u.protocol === 'http:' ? u.href : null
  } catch {
    return null
  }
}

export class MlyDetections extends HTMLElement {
  static observedAttributes = ['image', 'api', 'opacity', 'values', 'labels']

  #root
  #abort = null
  #pending = false

  constructor() {
    super()
    this.#root = this.attachShadow({ mode: 'open' })
    shadowStyles(this.#root)
  }

  get image() { return this.getAttribute('image') ?? '' }
  set image(v) { this.setAttribute('image', String(v)) }
  get api() { return this.getAttribute('api') ?? '' }
  set api(v) { this.setAttribute('api', String(v)) }
  get opacity() {
    const n = Number(this.getAttribute('opacity'))
    return this.hasAttribute('opacity') && Number.isFinite(n) ? Math.min(1, Math.max(0, n)) : DEFAULT_OPACITY
  }
  set opacity(v) { this.setAttribute('opacity', String(v)) }
  get values() { return this.getAttribute('values') ?? '' }
  set values(v) { this.setAttribute('values', String(v)) }
  get labels() { return this.getAttribute('labels') !== 'false' }
  set labels(v) { this.setAttribute('labels', v ? 'true' : 'false') }

  connectedCallback() { this.#schedule() }
  disconnectedCallback() { this.#abort?.abort() }
  attributeChangedCallback(_name, before, after) {
    if (before !== after && this.isConnected) this.#schedule()
  }

  /** One render per task, however many attributes changed at once. */
  #schedule() {
    if (this.#pending) return
    this.#pending = true
    queueMicrotask(() => {
      this.#pending = false
      this.#render()
    })
  }

  /** The API's origin: the `api` attribute when it is an http(s) URL, else this module's origin. */
  #apiOrigin() {
    const given = this.api.trim()
    if (!given) return MODULE_ORIGIN
    const url = httpUrl(given)
    return url ? new URL(url).origin : null
  }

  #status(kind, text) {
    const p = document.createElement('p')
    p.className = 'status'
    p.dataset.kind = kind
    p.setAttribute('role', kind === 'error' ? 'alert' : 'status')
    p.textContent = text
    this.#root.replaceChildren(p)
    this.setAttribute('aria-busy', kind === 'loading' ? 'true' : 'false')
  }

  #fail(status, code, message) {
    this.#status('error', message)
    this.dispatchEvent(new CustomEvent('mly-error', { detail: { status, code, message }, bubbles: true, composed: true }))
  }

  async #render() {
    this.#abort?.abort()
    const abort = (this.#abort = new AbortController())
    const id = this.image.trim()
    if (!NUMERIC_ID.test(id)) {
      return this.#fail(0, 'invalid_image', id ? `"${id}" is not an image id: an image id is 1 to 20 digits.` : 'No image given: set the image attribute to an image id.')
    }
    const origin = this.#apiOrigin()
    if (!origin) return this.#fail(0, 'invalid_api', 'The api attribute is not an http(s) URL.')
    this.#status('loading', `Loading the detections of image ${id}…`)
    let res
    let body
    try {
      res = await fetch(`${origin}/v1/images/${encodeURIComponent(id)}/detections`, { signal: abort.signal, headers: { accept: 'application/json' } })
      body = await res.json().catch(() => null)
    } catch (err) {
      if (abort.signal.aborted) return
      return this.#fail(0, 'network_error', `Could not reach the API at ${origin}: check the connection and try again.`)
    }
    if (abort.signal.aborted) return
    if (!res.ok) {
      const code = body && typeof body.code === 'string' ? body.code : 'http_error'
      const message =
        res.status === 404
          ? `Image ${id} was not found.`
          : `The detections of image ${id} could not be loaded (${res.status}${body && typeof body.title === 'string' ? `: ${body.title}` : ''}).${res.headers.get('retry-after') ? ` Try again in ${res.headers.get('retry-after')} s.` : ''}`
      return this.#fail(res.status, code, message)
    }
    if (!body || !body.image || !Array.isArray(body.detections)) return this.#fail(res.status, 'bad_answer', 'The API answered something other than detections.')
    this.#draw(body)
  }

  #draw({ image, detections }) {
    const width = Number(image.width)
    const height = Number(image.height)
    const wanted = new Set(this.values.split(',').map((v) => v.trim()).filter(Boolean))
    const shown = detections.filter((d) => d && d.pixel_geometry && (wanted.size === 0 || wanted.has(String(d.value))))
    const labels = this.labels

    const frame = document.createElement('div')
    frame.className = 'frame'
    const src = httpUrl(image.thumb_original_url)
    if (src) {
      const img = document.createElement('img')
      img.alt = `Image ${image.id}`
      img.width = width
      img.height = height
      img.src = src
      frame.append(img)
    } else {
      // The picture is unavailable (its URL expired upstream): the overlay on grey, same size.
      const blank = document.createElement('div')
      blank.className = 'blank'
      blank.style.aspectRatio = `${width} / ${height}`
      frame.append(blank)
    }

    const svg = document.createElementNS(SVG_NS, 'svg')
    svg.setAttribute('viewBox', `0 0 ${width} ${height}`)
    svg.setAttribute('preserveAspectRatio', 'none')
    svg.setAttribute('role', 'img')
    svg.setAttribute('aria-label', `${shown.length} detections`)
    const tip = document.createElement('div')
    tip.className = 'tip'
    tip.hidden = true
    const counts = new Map()
    for (const d of shown) {
      const family = classFamily(d.value)
      counts.set(family, (counts.get(family) ?? 0) + 1)
      const colour = FAMILY_COLORS[family]
      for (const polygon of polygonsOf(d.pixel_geometry)) {
        const path = document.createElementNS(SVG_NS, 'path')
        path.setAttribute('d', pathData(polygon))
        path.setAttribute('fill', colour)
        path.setAttribute('fill-opacity', String(this.opacity))
        path.setAttribute('fill-rule', 'evenodd')
        path.setAttribute('stroke', colour)
        path.setAttribute('stroke-width', '2')
        path.setAttribute('vector-effect', 'non-scaling-stroke')
        path.dataset.detection = String(d.id)
        if (labels) {
          const title = document.createElementNS(SVG_NS, 'title')
          title.textContent = String(d.value)
          path.append(title)
          path.addEventListener('pointermove', (e) => {
            const box = frame.getBoundingClientRect()
            tip.textContent = String(d.value)
            tip.style.left = `${e.clientX - box.left}px`
            tip.style.top = `${e.clientY - box.top}px`
            tip.hidden = false
          })
          path.addEventListener('pointerleave', () => (tip.hidden = true))
        }
        path.addEventListener('click', () => {
          this.dispatchEvent(new CustomEvent('mly-select', { detail: { detection: { id: String(d.id), value: String(d.value), family } }, bubbles: true, composed: true }))
        })
        svg.append(path)
      }
    }
    frame.append(svg, tip)

    const parts = [frame]
    if (labels) {
      const legend = document.createElement('ul')
      legend.className = 'legend'
      legend.setAttribute('aria-label', 'Legend')
      if (counts.size === 0) {
        const li = document.createElement('li')
        li.textContent = 'No detections in this image.'
        legend.append(li)
      }
      for (const family of Object.keys(FAMILY_COLORS).filter((f) => counts.has(f))) {
        const li = document.createElement('li')
        const swatch = document.createElement('span')
        swatch.className = 'swatch'
        swatch.style.background = FAMILY_COLORS[family]
        li.append(swatch, `${family} (${counts.get(family)})`)
        legend.append(li)
      }
      parts.push(legend)
    }
    this.#root.replaceChildren(...parts)
    this.setAttribute('aria-busy', 'false')
    this.dispatchEvent(new CustomEvent('mly-load', { detail: { image: { id: String(image.id), width, height }, detections: shown.length }, bubbles: true, composed: true }))
  }
}

if (!customElements.get('mly-detections')) customElements.define('mly-detections', MlyDetections)
