/**
 * @module
 * `<mly-map-features bbox="w,s,e,n">`: the map features of a box on a Leaflet map, in a shadow
 * root. Framework-free; served inside /embed/mly.js (and /embed/map-page.js), so everything here
 * sits in one block: the files are concatenated into one module and must not share top-level names.
 *
 * Attributes (each reflected by a property of the same name, camelCased):
 * - `bbox`          west,south,east,north (west > east crosses the antimeridian), required;
 * - `object-values` comma list of classes, e.g. `regulatory--stop--g1,object--street-light`;
 * - `tiles`         a base map: an https URL template with {z}, {x} and {y} (none by default);
 * - `api`           the API's origin; default: the origin this script was loaded from;
 * - `fill`          (boolean) fill the viewport: the map page (/embed/map-features) sets it.
 * Events: `mly-load` (detail: { features }), `mly-select` (detail: { feature }), `mly-error`
 * (detail: { message }). Properties for tests and integrators: `map` (the Leaflet map), `markers`
 * (a Map from feature id to its circle marker), `cluster` (the marker cluster group).
 *
 * @example
 * <script type="module" src="https://mly.example/embed/mly.js"></script>
 * <mly-map-features bbox="12.985,55.585,13.015,55.615" style="height: 400px"></mly-map-features>
 */
{
  /** Where this script came from: the default API origin (a static site may load it from anywhere). */
  const SCRIPT_ORIGIN = new URL(import.meta.url).origin

  /**
   * A colour per class family, the first segment of a value (`regulatory--stop--g1`): the palette
   * of the detection overlays (shared/svg/class-colors.ts, which /embed/mly.js defines first as
   * MLY_FAMILY_COLORS), so a sign has one colour on the map and in the picture.
   */
  const FAMILY_COLOURS = MLY_FAMILY_COLORS

  /** The family's colour of a class value (`other` for a family not in the palette). */
  const colourOf = (value) => {
    const family = String(value).split('--')[0]
    return Object.hasOwn(FAMILY_COLOURS, family) ? FAMILY_COLOURS[family] : FAMILY_COLOURS.other
  }

  /** Ids as the API takes them (shared/http/validation.ts): digits only, so safe in a URL path. */
  const NUMERIC_ID = /^[0-9]{1,20}$/

  /**
   * A base map's URL template, or an error message: https, a host, and no placeholder but {z},
   * {x} and {y} (each present); the same rule as the map page's server-side check.
   */
  function checkTiles(template) {
    const message = 'tiles must be an https URL template with {z}, {x} and {y}, like https://tile.example/{z}/{x}/{y}.png'
    if (typeof template !== 'string' || template.length > 2048) return { error: message }
    const placeholders = template.match(/\{[^}]*\}/g) ?? []
    if (!['{z}', '{x}', '{y}'].every((p) => placeholders.includes(p)) || placeholders.some((p) => !['{z}', '{x}', '{y}'].includes(p))) return { error: message }
    let url
    try {
      url = new URL(template.replace(/\{([zxy])\}/g, '0'))
    } catch {
      return { error: message }
    }
    if (url.protocol !== 'https:' || url.username || url.password || /[\s"'<>\\`]/.test(template)) return { error: message }
    return { template }
  }

  /** `w,s,e,n` as four finite numbers, or undefined; the API says what is wrong with a bad one. */
  function parseBbox(text) {
    const parts = String(text ?? '').split(',').map((s) => s.trim())
    if (parts.length !== 4 || parts.some((s) => !/^[+-]?(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][+-]?\d+)?$/.test(s))) return undefined
    const [west, south, east, north] = parts.map(Number)
    return { west, south, east, north }
  }

  /** The problem's words (title and detail) from a non-2xx answer, or its status line. */
  async function problemText(res) {
    try {
      const p = await res.json()
      if (p && typeof p === 'object' && (p.title || p.detail)) return [p.title, p.detail].filter(Boolean).join(': ')
    } catch {}
    return `the API answered ${res.status} ${res.statusText}`.trim()
  }

  /** Classic scripts loaded once per document, by URL (Leaflet and its cluster plugin set `L`). */
  const scripts = new Map()
  function loadScript(src) {
    let loading = scripts.get(src)
    if (loading === undefined) {
      loading = new Promise((resolve, reject) => {
        const script = document.createElement('script')
        script.src = src
        script.async = false
        script.onload = () => resolve()
        script.onerror = () => reject(new Error(`could not load ${src}`))
        document.head.append(script)
      })
      scripts.set(src, loading)
    }
    return loading
  }

  /** Leaflet with markercluster, from the API origin's /embed/vendor/ (reusing a page's own L). */
  async function leaflet(api) {
    if (!globalThis.L) await loadScript(`${api}/embed/vendor/leaflet.js`)
    if (!globalThis.L?.markerClusterGroup) await loadScript(`${api}/embed/vendor/leaflet.markercluster.js`)
    return globalThis.L
  }

  /** A stylesheet link in the shadow root; resolves when loaded or failed (the map still works). */
  function linkStyle(root, href) {
    return new Promise((resolve) => {
      const link = document.createElement('link')
      link.rel = 'stylesheet'
      link.href = href
      link.onload = link.onerror = () => resolve()
      root.append(link)
    })
  }

  /** The element's own look: constructed, so it needs no inline <style> (strict CSP pages). */
  const OWN_CSS = `
    :host { display: block; position: relative; height: 400px; font: 14px/1.4 system-ui, sans-serif; color: #222; }
    :host([hidden]) { display: none; }
    :host([fill]) { position: fixed; inset: 0; height: auto; }
    .map { position: absolute; inset: 0; background: #eef1f4; }
    .status { position: absolute; z-index: 1000; left: 52px; top: 10px; max-width: calc(100% - 62px); box-sizing: border-box;
      padding: 6px 10px; border-radius: 4px; background: rgba(255,255,255,.92); box-shadow: 0 1px 3px rgba(0,0,0,.3); }
    .status:empty { display: none; }
    .status.error { background: #fff1f0; color: #a8071a; border: 1px solid #ffa39e; }
    .panel { position: absolute; z-index: 1001; right: 0; top: 0; bottom: 0; width: min(280px, 70%); overflow: auto;
      box-sizing: border-box; padding: 8px; background: #fff; box-shadow: -2px 0 6px rgba(0,0,0,.25); }
    .panel[hidden] { display: none; }
    .panel header { display: flex; gap: 8px; align-items: start; justify-content: space-between; margin-bottom: 6px; }
    .panel h2 { font-size: 14px; margin: 0; word-break: break-all; }
    .panel button { border: 0; background: #eee; border-radius: 4px; cursor: pointer; font: inherit; padding: 0 8px; }
    .thumbs { display: grid; grid-template-columns: repeat(auto-fill, minmax(110px, 1fr)); gap: 6px; }
    .thumbs a { display: block; aspect-ratio: 4 / 3; background: #ddd; }
    .thumbs img { width: 100%; height: 100%; object-fit: cover; display: block; }
    .leaflet-interactive:focus:not(:focus-visible) { outline: none; }
    .swatch { display: inline-block; width: 10px; height: 10px; border-radius: 50%; margin-right: 6px; vertical-align: baseline; }
  `
  let ownSheet
  const ownStyles = () => {
    if (ownSheet === undefined) {
      ownSheet = new CSSStyleSheet()
      ownSheet.replaceSync(OWN_CSS)
    }
    return ownSheet
  }

  const ATTRIBUTES = ['bbox', 'object-values', 'tiles', 'api']

  class MlyMapFeatures extends HTMLElement {
    static observedAttributes = ATTRIBUTES

    constructor() {
      super()
      const root = this.attachShadow({ mode: 'open' })
      root.adoptedStyleSheets = [ownStyles()]
      this.mapNode = Object.assign(document.createElement('div'), { className: 'map', part: 'map' })
      this.statusNode = Object.assign(document.createElement('div'), { className: 'status', part: 'status' })
      this.statusNode.setAttribute('role', 'status')
      this.panelNode = Object.assign(document.createElement('aside'), { className: 'panel', part: 'panel', hidden: true })
      root.append(this.mapNode, this.statusNode, this.panelNode)
      /** @type {Map<string, any>} feature id → its circle marker */
      this.markers = new Map()
      this.map = undefined
      this.cluster = undefined
      this.tileLayer = undefined
      this.loading = undefined
      this.scheduled = false
    }

    get bbox() { return this.getAttribute('bbox') }
    set bbox(v) { this.setAttribute('bbox', v) }
    get objectValues() { return this.getAttribute('object-values') }
    set objectValues(v) { v == null ? this.removeAttribute('object-values') : this.setAttribute('object-values', v) }
    get tiles() { return this.getAttribute('tiles') }
    set tiles(v) { v == null ? this.removeAttribute('tiles') : this.setAttribute('tiles', v) }
    /** The API origin in use: the `api` attribute, else where this script came from. */
    get api() { return (this.getAttribute('api') || SCRIPT_ORIGIN).replace(/\/+$/, '') }
    set api(v) { v == null ? this.removeAttribute('api') : this.setAttribute('api', v) }

    connectedCallback() { this.schedule() }
    attributeChangedCallback() { this.schedule() }
    disconnectedCallback() { this.loading?.abort() }

    /** One render per burst of attribute changes. */
    schedule() {
      if (this.scheduled || !this.isConnected) return
      this.scheduled = true
      queueMicrotask(() => {
        this.scheduled = false
        this.render().catch((err) => this.fail(err instanceof Error ? err.message : String(err)))
      })
    }

    say(text) {
      this.statusNode.classList.remove('error')
      this.statusNode.setAttribute('role', 'status')
      this.statusNode.textContent = text
    }

    fail(message) {
      this.statusNode.classList.add('error')
      this.statusNode.setAttribute('role', 'alert')
      this.statusNode.textContent = message
      this.dispatchEvent(new CustomEvent('mly-error', { detail: { message }, bubbles: true, composed: true }))
    }

    /** The map, made once (after Leaflet and its CSS are in). */
    async ensureMap() {
      if (this.map) return this.map
      const api = this.api
      await Promise.all([
        linkStyle(this.shadowRoot, `${api}/embed/vendor/leaflet.css`),
        linkStyle(this.shadowRoot, `${api}/embed/vendor/markercluster.css`),
      ])
      const L = await leaflet(api)
      if (this.map) return this.map
      this.L = L
      // markercluster needs a maxZoom; 19 is street level, where clustering stops.
      this.map = L.map(this.mapNode, { maxZoom: 19, zoomSnap: 0.25 })
      this.map.attributionControl.addAttribution('map features © Mapillary')
      // Dense boxes cluster; from street level on every feature stands alone.
      this.cluster = L.markerClusterGroup({ chunkedLoading: true, showCoverageOnHover: false, disableClusteringAtZoom: 19, maxClusterRadius: 50 })
      this.map.addLayer(this.cluster)
      new ResizeObserver(() => this.map.invalidateSize()).observe(this)
      return this.map
    }

    async render() {
      this.loading?.abort()
      const aborter = (this.loading = new AbortController())
      this.panelNode.hidden = true
      const box = parseBbox(this.bbox)
      if (this.bbox === null) return this.fail('Set bbox="west,south,east,north" to show the map features of a box.')
      this.say('Loading the map…')
      const map = await this.ensureMap()
      const L = this.L
      if (aborter.signal.aborted) return

      this.tileLayer?.remove()
      this.tileLayer = undefined
      let warning = ''
      if (this.tiles !== null) {
        const tiles = checkTiles(this.tiles)
        if (tiles.error) warning = tiles.error
        else this.tileLayer = L.tileLayer(tiles.template, { maxZoom: 19 }).addTo(map)
      }

      // West > east crosses the antimeridian: draw the east part one world to the right.
      const crosses = box !== undefined && box.west > box.east
      const lng = (x) => (crosses && x < box.west ? x + 360 : x)
      if (box !== undefined) {
        const bounds = L.latLngBounds([box.south, box.west], [box.north, lng(box.east)])
        map.fitBounds(bounds, { animate: false, padding: [16, 16] })
        this.outline?.remove()
        this.outline = L.rectangle(bounds, { color: '#333', weight: 1, dashArray: '4 4', fill: false, interactive: false }).addTo(map)
      } else if (!map._loaded) map.setView([0, 0], 1)

      this.say('Loading map features…')
      const query = new URLSearchParams({ bbox: this.bbox })
      if (this.objectValues) query.set('object_values', this.objectValues)
      let res
      try {
        res = await fetch(`${this.api}/v1/map-features?${query}`, { signal: aborter.signal, headers: { accept: 'application/geo+json, application/problem+json' } })
      } catch (err) {
        if (aborter.signal.aborted) return
        return this.fail(`Could not reach the API at ${this.api}: ${err.message}`)
      }
      if (!res.ok) return this.fail(await problemText(res))
      const collection = await res.json()
      if (aborter.signal.aborted) return

      this.cluster.clearLayers()
      this.markers.clear()
      const features = Array.isArray(collection.features) ? collection.features : []
      const layers = []
      for (const feature of features) {
        const [x, y] = feature.geometry?.coordinates ?? []
        if (!Number.isFinite(x) || !Number.isFinite(y)) continue
        const value = feature.properties?.object_value ?? ''
        const marker = L.circleMarker([y, lng(x)], { radius: 7, weight: 2, color: '#ffffff', fillColor: colourOf(value), fillOpacity: 1 })
        marker.feature = feature
        // Hover names the class; set as text, never as markup.
        marker.bindTooltip(() => document.createTextNode(String(value)), { direction: 'top' })
        marker.on('click', () => this.select(feature))
        this.markers.set(String(feature.id ?? feature.properties?.id), marker)
        layers.push(marker)
      }
      this.cluster.addLayers(layers)
      const n = features.length
      this.say(`${n === 0 ? 'No' : n} map feature${n === 1 ? '' : 's'} in this box${n > 0 ? ': click one for the images that see it' : ''}.${warning ? ` ${warning}` : ''}`)
      if (warning) this.fail(warning)
      this.dispatchEvent(new CustomEvent('mly-load', { detail: { features }, bubbles: true, composed: true }))
    }

    /** A feature clicked: tell the page, and list the images that see it. */
    async select(feature) {
      const id = String(feature.id ?? feature.properties?.id ?? '')
      const value = String(feature.properties?.object_value ?? '')
      this.dispatchEvent(new CustomEvent('mly-select', { detail: { feature }, bubbles: true, composed: true }))
      const panel = this.panelNode
      panel.replaceChildren()
      panel.hidden = false
      const header = document.createElement('header')
      const title = document.createElement('h2')
      const swatch = Object.assign(document.createElement('span'), { className: 'swatch' })
      swatch.style.background = colourOf(value)
      title.append(swatch, value || 'map feature')
      const close = Object.assign(document.createElement('button'), { type: 'button', textContent: '×', title: 'Close' })
      close.setAttribute('aria-label', 'Close')
      close.onclick = () => { panel.hidden = true }
      header.append(title, close)
      const note = Object.assign(document.createElement('p'), { className: 'note', textContent: 'Loading the images that see it…' })
      const thumbs = Object.assign(document.createElement('div'), { className: 'thumbs' })
      panel.append(header, note, thumbs)
      if (!NUMERIC_ID.test(id)) return void (note.textContent = 'This feature has no valid id.')
      let res
      try {
        res = await fetch(`${this.api}/v1/map-features/${id}/images`, { headers: { accept: 'application/json, application/problem+json' } })
      } catch (err) {
        return void (note.textContent = `Could not reach the API at ${this.api}: ${err.message}`)
      }
      if (!res.ok) return void (note.textContent = await problemText(res))
      const body = await res.json()
      const images = Array.isArray(body.images) ? body.images : []
      note.textContent = images.length === 0 ? 'Seen in no image.' : `Seen in ${images.length} image${images.length === 1 ? '' : 's'}: open one for its detections.`
      for (const image of images) {
        const imageId = String(image.id ?? '')
        if (!NUMERIC_ID.test(imageId)) continue
        const link = Object.assign(document.createElement('a'), { href: `${this.api}/embed/images/${imageId}`, target: '_blank', rel: 'noopener' })
        link.dataset.imageId = imageId
        const img = Object.assign(document.createElement('img'), { alt: `image ${imageId}`, loading: 'lazy' })
        // Only http(s) pictures: a `javascript:` or `data:` URL from anywhere is never set.
        if (/^https?:\/\//i.test(String(image.thumb_original_url ?? ''))) img.src = image.thumb_original_url
        link.append(img)
        thumbs.append(link)
      }
    }
  }

  if (!customElements.get('mly-map-features')) customElements.define('mly-map-features', MlyMapFeatures)
}
