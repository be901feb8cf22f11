/**
 * The map embed in headless Chromium, against the running system: `/embed/map-features` (the
 * iframe page) and `<mly-map-features>` on a static site of another origin. Features are checked
 * by pixels of screenshots (a marker's colour at its coordinates' projected point), a click lists
 * the API's images of the feature, bad input reads as an error, and hostile values never run.
 */
import { copyFileSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import path from 'node:path'
import { pathToFileURL } from 'node:url'
import type { Page } from 'playwright-core'
import { describe, expect, it } from 'vitest'
import { FAMILY_COLORS, classFamily } from '../../shared/svg/class-colors'
import { pixelAt, screenshot, serveStatic, useBrowser } from '../support/browser'
import { useSystem } from '../support/system'

// Callbacks given to page.evaluate run in the browser; this program has the Workers' types, no DOM
// lib, so they see the page's globals untyped.
declare const document: any
declare const window: any

const t = useSystem()
const b = useBrowser()

/** The README's sparse suburb. */
const SPARSE = '12.985,55.585,13.015,55.615'
/** The README's dense district: thousands of features, so the map clusters them. */
const DENSE = '-79.54,8.94,-79.52,8.96'

interface Feature {
  id: string
  geometry: { coordinates: [number, number] }
  properties: { object_value: string }
}

const hex = (colour: string) => [1, 3, 5].map((i) => parseInt(colour.slice(i, i + 2), 16))
/** Within 3 levels per channel: the circle's centre is flat colour, no anti-aliasing there. */
const near = (rgba: number[], rgb: number[]) => rgb.every((v, i) => Math.abs(v - rgba[i]!) <= 3)

/** Waits until the element has drawn `n` markers (the cluster group loads them in chunks). */
async function drawn(page: Page, n: number) {
  await page.waitForFunction((count) => {
    const el = document.querySelector('mly-map-features') as any
    return el?.cluster?.getLayers().length === count && /map features? in this box/.test(el.shadowRoot.querySelector('.status').textContent)
  }, n, { timeout: 30_000 })
}

/** Where each feature's API coordinates project on the page, and whether its own marker shows there. */
async function projected(page: Page, features: Feature[]) {
  return page.evaluate((list) => {
    const el = document.querySelector('mly-map-features') as any
    const box = el.getBoundingClientRect()
    return list.map(({ id, geometry }) => {
      const [lng, lat] = geometry.coordinates
      const point = el.map.latLngToContainerPoint([lat, lng])
      const marker = el.markers.get(id)
      const x = box.left + point.x
      const y = box.top + point.y
      // Its own circle is what shows there: not in a cluster, not under the status line or a control.
      return { id, x, y, alone: !!marker && el.map.hasLayer(marker) && el.shadowRoot.elementFromPoint(x, y) === marker._path }
    })
  }, features)
}

/** Fails the test if the page ever runs a planted script or opens a dialog. */
function watchForScript(page: Page) {
  const seen: string[] = []
  page.on('dialog', (d) => {
    seen.push(`dialog: ${d.message()}`)
    void d.dismiss()
  })
  return {
    async assertNone() {
      expect(seen).toEqual([])
      expect(await page.evaluate(() => (window as any).__pwned)).toBeUndefined()
    },
  }
}

describe('GET /embed/map-features', () => {
  it('draws every feature of the box at its coordinates, in its class family colour', async () => {
    const api = await t.sys.json<{ features: Feature[] }>(`/v1/map-features?bbox=${SPARSE}`)
    expect(api.status).toBe(200)
    const features = api.body.features
    expect(features.length).toBeGreaterThan(3)
    const page = await b.page({ width: 900, height: 700 })
    const res = await page.goto(new URL(`/embed/map-features?bbox=${SPARSE}`, t.sys.url).href)
    expect(res!.status()).toBe(200)
    expect(res!.headers()['content-security-policy']).toMatch(/script-src 'self'/)
    await drawn(page, features.length)
    const points = await projected(page, features)
    const shot = await screenshot(page, 'embed-map-features-sparse')
    const alone = points.filter((p) => p.alone)
    expect(alone.length).toBeGreaterThan(5)
    for (const p of alone) {
      const feature = features.find((f) => f.id === p.id)!
      const want = hex(FAMILY_COLORS[classFamily(feature.properties.object_value)])
      expect(near(pixelAt(shot, p.x, p.y), want), `${p.id} ${feature.properties.object_value} at ${p.x},${p.y}: ${pixelAt(shot, p.x, p.y)} vs ${want}`).toBe(true)
    }
    // Untouched away from the markers: the map's plain background (no base map by default).
    const far = { x: 5, y: 690 }
    expect(points.every((p) => Math.hypot(p.x - far.x, p.y - far.y) > 40)).toBe(true)
    expect(near(pixelAt(shot, far.x, far.y), hex('#eef1f4'))).toBe(true)
  })

  it('clusters a dense box: fewer marks than features, each cluster counting its own', async () => {
    const api = await t.sys.json<{ features: Feature[] }>(`/v1/map-features?bbox=${DENSE}&object_values=regulatory--stop--g1,object--street-light`)
    const n = api.body.features.length
    expect(n).toBeGreaterThan(100)
    const page = await b.page()
    await page.goto(new URL(`/embed/map-features?bbox=${DENSE}&object_values=regulatory--stop--g1,object--street-light`, t.sys.url).href)
    await drawn(page, n)
    const counts = await page.evaluate(() => {
      const el = document.querySelector('mly-map-features') as any
      return [...el.shadowRoot.querySelectorAll('.marker-cluster span')].map((s: any) => Number(s.textContent))
    })
    expect(counts.length).toBeGreaterThan(0)
    expect(counts.length).toBeLessThan(n)
    const lone = await page.evaluate(() => (document.querySelector('mly-map-features') as any).shadowRoot.querySelectorAll('path.leaflet-interactive').length)
    expect(counts.reduce((a, c) => a + c, 0) + lone).toBe(n)
    await screenshot(page, 'embed-map-features-dense')
  })

  it('a click on a feature lists the images that see it, as the API names them, each opening its overlay', async () => {
    const featureId = t.world.sampleMapFeatures.seenInSeveralImages as string
    const api = await t.sys.json(`/v1/map-features/${featureId}/images`)
    expect(api.status).toBe(200)
    const images = api.body.images as { id: string; thumb_original_url: string }[]
    expect(images.length).toBe(t.world.sampleMapFeatures.seenInSeveralImagesCount)
    const [lng, lat] = api.body.map_feature.geometry.coordinates as [number, number]
    const bbox = [lng - 0.002, lat - 0.0012, lng + 0.002, lat + 0.0012].map((v) => v.toFixed(6)).join(',')
    const inBox = (await t.sys.json<{ features: Feature[] }>(`/v1/map-features?bbox=${bbox}`)).body.features
    const page = await b.page({ width: 900, height: 700 })
    await page.goto(new URL(`/embed/map-features?bbox=${bbox}`, t.sys.url).href)
    await drawn(page, inBox.length)
    // The listener is in place before the click; the click is made where the marker is then (a map
    // still settling under load moved it once, and an unawaited listener left the test hanging).
    await page.evaluate(() => {
      document.querySelector('mly-map-features')!.addEventListener('mly-select', (e: any) => ((window as any).__selected = e.detail.feature.id), { once: true })
    })
    let selected: unknown
    for (let tries = 0; tries < 3 && selected === undefined; tries++) {
      const [point] = await projected(page, inBox.filter((f) => f.id === featureId))
      expect(point!.alone).toBe(true)
      await page.mouse.click(point!.x, point!.y)
      selected = await page.waitForFunction(() => (window as any).__selected, null, { timeout: 5_000 }).then((h) => h.jsonValue(), () => undefined)
    }
    expect(selected).toBe(featureId)
    const thumbs = page.locator('mly-map-features .thumbs img')
    await expect.poll(() => thumbs.count()).toBe(images.length)
    expect(await thumbs.evaluateAll((els) => els.map((e) => (e as any).src))).toEqual(images.map((i) => i.thumb_original_url))
    const links = await page.locator('mly-map-features .thumbs a').evaluateAll((els) => els.map((e) => (e as any).href))
    expect(links).toEqual(images.map((i) => new URL(`/embed/images/${i.id}`, t.sys.url).href))
    // The pictures really load (the stand-in serves real ones), not broken icons.
    await expect.poll(() => thumbs.evaluateAll((els) => els.every((e) => (e as any).complete && (e as any).naturalWidth > 0))).toBe(true)
    const shot = await screenshot(page, 'embed-map-features-selected')
    // The README's picture, refreshed only when asked: a test run leaves the tree as it was.
    if (process.env.UPDATE_DOCS_IMAGES === '1') copyFileSync(shot.file, 'docs/images/embed-map-features.png')
  })

  it('a box across the antimeridian shows both sides in one view, east of 180° drawn to the right', async () => {
    const box = '179.97,-16.83,-179.97,-16.77'
    const features = (await t.sys.json<{ features: Feature[] }>(`/v1/map-features?bbox=${box}&object_values=object--street-light`)).body.features
    const west = features.filter((f) => f.geometry.coordinates[0] > 0)
    const east = features.filter((f) => f.geometry.coordinates[0] < 0)
    expect([west.length > 0, east.length > 0]).toEqual([true, true])
    const page = await b.page()
    await page.goto(new URL(`/embed/map-features?bbox=${box}&object_values=object--street-light`, t.sys.url).href)
    await drawn(page, features.length)
    // West > east: the part past 180° sits one world to the right (longitude + 360).
    const shifted = features.map((f) => ({ ...f, geometry: { coordinates: [f.geometry.coordinates[0] < 0 ? f.geometry.coordinates[0] + 360 : f.geometry.coordinates[0], f.geometry.coordinates[1]] as [number, number] } }))
    const points = await projected(page, shifted)
    const inView = points.filter((p) => p.x >= 0 && p.x <= 800 && p.y >= 0 && p.y <= 600)
    expect(inView.length).toBe(features.length)
    const shot = await screenshot(page, 'embed-map-features-antimeridian')
    const alone = points.filter((p) => p.alone)
    expect(alone.some((p) => east.some((f) => f.id === p.id))).toBe(true)
    for (const p of alone) expect(near(pixelAt(shot, p.x, p.y), hex(FAMILY_COLORS.object))).toBe(true)
  })

  it('a bad box is a 400 page saying what is wrong; problem+json for a client not asking for HTML', async () => {
    const bad = '13,55.62,13.01,55.61' // south above north
    const page = await b.page()
    const res = await page.goto(new URL(`/embed/map-features?bbox=${bad}`, t.sys.url).href)
    expect(res!.status()).toBe(400)
    const alert = page.getByRole('alert')
    await expect.poll(() => alert.textContent()).toMatch(/Invalid bounding box[\s\S]*bbox[\s\S]*south/i)
    await screenshot(page, 'embed-map-features-bad-bbox')
    const plain = await t.sys.json(`/embed/map-features?bbox=${bad}`)
    expect(plain.status).toBe(400)
    expect(plain.headers.get('content-type')).toBe('application/problem+json')
    expect(plain.body.code).toBe('invalid_bbox')
    const missing = await t.sys.json('/embed/map-features')
    expect([missing.status, missing.body.code]).toEqual([400, 'invalid_bbox'])
  })

  it('an empty box says so', async () => {
    const empty = '-40.01,-40.01,-40,-40' // the South Atlantic
    expect((await t.sys.json(`/v1/map-features?bbox=${empty}`)).body.features).toEqual([])
    const page = await b.page()
    await page.goto(new URL(`/embed/map-features?bbox=${empty}`, t.sys.url).href)
    await expect.poll(() => page.locator('mly-map-features .status').textContent()).toBe('No map features in this box.')
  })

  it('a bbox, object_values or tiles carrying markup or javascript: never runs, and a good tiles draws a base map from its origin only', async () => {
    const hostile = [
      `bbox=${encodeURIComponent('"><script>window.__pwned=1</script>')}`,
      `bbox=${SPARSE}&object_values=${encodeURIComponent('"><img src=x onerror="window.__pwned=1">')}`,
      `bbox=${SPARSE}&tiles=${encodeURIComponent('javascript:window.__pwned=1//{z}/{x}/{y}')}`,
      `bbox=${SPARSE}&tiles=${encodeURIComponent('https://t.example/{z}/{x}/{y}.png" onerror="window.__pwned=1')}`,
      `bbox=${SPARSE}&tiles=${encodeURIComponent('https://t.example/{z}/{x}/{y}/{s}.png')}`,
    ]
    for (const query of hostile) {
      const page = await b.page()
      const watch = watchForScript(page)
      const res = await page.goto(new URL(`/embed/map-features?${query}`, t.sys.url).href)
      expect([query, res!.status()]).toEqual([query, 400])
      expect(await page.getByRole('alert').textContent()).toMatch(/Invalid/)
      expect(await page.locator('script, img').count()).toBe(0)
      await watch.assertNone()
      await page.context().close()
    }
    const tiles = 'https://tiles.example.org/{z}/{x}/{y}.png'
    const page = await b.page()
    const requested: string[] = []
    await page.route('https://tiles.example.org/**', (route) => {
      requested.push(route.request().url())
      return route.fulfill({ status: 404, body: '' })
    })
    const res = await page.goto(new URL(`/embed/map-features?bbox=${SPARSE}&tiles=${encodeURIComponent(tiles)}`, t.sys.url).href)
    expect(res!.status()).toBe(200)
    expect(await page.locator('mly-map-features').getAttribute('tiles')).toBe(tiles)
    await expect.poll(() => requested.length).toBeGreaterThan(0)
    expect(requested.every((u) => /^https:\/\/tiles\.example\.org\/\d+\/\d+\/\d+\.png$/.test(u))).toBe(true)
  })
})

describe('<mly-map-features> on a static site of another origin', () => {
  const site = (api: string, body: string) => `<!doctype html><html><head><meta charset="utf-8"><title>static</title>
<script type="module" src="${api}/embed/mly.js"></script></head><body>${body}</body></html>`

  it('imports mly.js across origins and draws the box in the element, reflecting its attributes', async () => {
    const api = await t.sys.json<{ features: Feature[] }>(`/v1/map-features?bbox=${SPARSE}`)
    const origin = t.sys.url.origin
    const server = await serveStatic({ '/index.html': site(origin, `<mly-map-features bbox="${SPARSE}" style="width:640px;height:480px"></mly-map-features>`) })
    try {
      const page = await b.page()
      await page.goto(new URL('/index.html', server.url).href)
      await drawn(page, api.body.features.length)
      const points = (await projected(page, api.body.features)).filter((p) => p.alone)
      const shot = await screenshot(page, 'embed-map-features-element')
      expect(points.length).toBeGreaterThan(0)
      for (const p of points) {
        const f = api.body.features.find((x) => x.id === p.id)!
        expect(near(pixelAt(shot, p.x, p.y), hex(FAMILY_COLORS[classFamily(f.properties.object_value)]))).toBe(true)
      }
      // Attributes and properties reflect each other; api defaults to where mly.js came from.
      const reflected = await page.evaluate(() => {
        const el = document.querySelector('mly-map-features') as any
        el.objectValues = 'regulatory--stop--g1'
        return { api: el.api, bbox: el.bbox, attr: el.getAttribute('object-values') }
      })
      expect(reflected).toEqual({ api: origin, bbox: SPARSE, attr: 'regulatory--stop--g1' })
      const stops = api.body.features.filter((f) => f.properties.object_value === 'regulatory--stop--g1').length
      await drawn(page, stops)
    } finally {
      await server.close()
    }
  })

  it("shows the API's own problem for a box it refuses, and markup in bbox stays text", async () => {
    const bad = '13,55.62,13.01,55.61'
    const problem = await t.sys.json(`/v1/map-features?bbox=${bad}`)
    expect(problem.status).toBe(400)
    const server = await serveStatic({ '/index.html': site(t.sys.url.origin, `<mly-map-features bbox="${bad}"></mly-map-features>`) })
    try {
      const page = await b.page()
      const watch = watchForScript(page)
      await page.goto(new URL('/index.html', server.url).href)
      const alert = page.locator('mly-map-features [role=alert]')
      await expect.poll(() => alert.textContent()).toBe(`${problem.body.title}: ${problem.body.detail}`)
      const markup = '"><img src=x onerror="window.__pwned=1">'
      await page.evaluate((v) => document.querySelector('mly-map-features')!.setAttribute('bbox', v), markup)
      await expect.poll(() => alert.textContent()).toMatch(/Invalid bounding box/)
      expect(await page.evaluate(() => document.querySelector('mly-map-features')!.shadowRoot!.querySelectorAll('img').length)).toBe(0)
      await watch.assertNone()
      await screenshot(page, 'embed-map-features-element-error')
    } finally {
      await server.close()
    }
  })
})

describe('examples/static-site/index.html', () => {
  /** The demo page, pointed at this run's gateway instead of npm start's port 8787. */
  const demo = () => {
    const html = readFileSync('examples/static-site/index.html', 'utf8')
    expect(html).toContain('src="http://localhost:8787/embed/mly.js"')
    return html.replaceAll('http://localhost:8787', t.sys.url.origin)
  }
  const bbox = () => /<mly-map-features bbox="([^"]+)"/.exec(demo())![1]!

  it.each(['http', 'file'] as const)('opened over %s, shows the box on a map and names a clicked feature', async (scheme) => {
    const api = await t.sys.json<{ features: Feature[] }>(`/v1/map-features?bbox=${bbox()}`)
    expect(api.body.features.length).toBeGreaterThan(3)
    let url: string
    let close = async () => {}
    if (scheme === 'http') {
      const server = await serveStatic({ '/index.html': demo() })
      url = new URL('/index.html', server.url).href
      close = server.close
    } else {
      const file = path.join(mkdtempSync(path.join(tmpdir(), 'mly-static-')), 'index.html')
      writeFileSync(file, demo())
      url = pathToFileURL(file).href
    }
    try {
      const page = await b.page({ width: 1000, height: 1600 })
      await page.goto(url)
      await drawn(page, api.body.features.length)
      await page.locator('mly-map-features').scrollIntoViewIfNeeded()
      const points = (await projected(page, api.body.features)).filter((p) => p.alone)
      const shot = await screenshot(page, `embed-static-site-${scheme}`)
      expect(points.length).toBeGreaterThan(5)
      for (const p of points) {
        const f = api.body.features.find((x) => x.id === p.id)!
        expect(near(pixelAt(shot, p.x, p.y), hex(FAMILY_COLORS[classFamily(f.properties.object_value)]))).toBe(true)
      }
      const [first] = points
      await page.mouse.click(first!.x, first!.y)
      const picked = api.body.features.find((x) => x.id === first!.id)!
      await expect.poll(() => page.locator('#picked').textContent()).toBe(`Selected ${picked.properties.object_value} (${picked.id})`)
    } finally {
      await close()
    }
  })
})

describe('GET /embed/vendor/:file', () => {
  it('serves the bundled Leaflet and markercluster as node_modules has them, long-cached with an ETag; any other name is 404', async () => {
    const files = {
      'leaflet.js': ['node_modules/leaflet/dist/leaflet.js', 'text/javascript; charset=utf-8'],
      'leaflet.css': ['node_modules/leaflet/dist/leaflet.css', 'text/css; charset=utf-8'],
      'leaflet.markercluster.js': ['node_modules/leaflet.markercluster/dist/leaflet.markercluster.js', 'text/javascript; charset=utf-8'],
    } as const
    for (const [name, [file, type]] of Object.entries(files)) {
      const res = await t.sys.fetch(`/embed/vendor/${name}`)
      expect([name, res.status, res.headers.get('content-type'), res.headers.get('x-content-type-options')]).toEqual([name, 200, type, 'nosniff'])
      expect(res.headers.get('cache-control')).toMatch(/max-age=604800/)
      expect(await res.text()).toBe(readFileSync(file, 'utf8'))
      const again = await t.sys.fetch(`/embed/vendor/${name}`, { headers: { 'if-none-match': res.headers.get('etag')! } })
      expect(again.status).toBe(304)
    }
    const css = await (await t.sys.fetch('/embed/vendor/markercluster.css')).text()
    expect(css).toBe(`${readFileSync('node_modules/leaflet.markercluster/dist/MarkerCluster.css', 'utf8')}\n${readFileSync('node_modules/leaflet.markercluster/dist/MarkerCluster.Default.css', 'utf8')}`)
    for (const name of ['marker-icon.png', '..%2F..%2Fpackage.json', 'constructor', '__proto__']) {
      const res = await t.sys.json(`/embed/vendor/${name}`)
      expect([name, res.status, res.body.code]).toEqual([name, 404, expect.stringMatching(/not_found/)])
    }
  })
})
