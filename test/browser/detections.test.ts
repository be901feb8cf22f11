/**
 * <mly-detections> and the /embed/images page in headless Chromium against the running system:
 * a static page on another origin loads /embed/mly.js; the overlay is checked by the pixels of
 * screenshots against the pixel geometry decoded by the reference decoder from the stand-in's
 * truth (never from the product's answer): inside a detection its family's colour, inside a hole
 * and outside the picture untouched. Screenshots are kept under test-artifacts/.
 */
import { copyFileSync } from 'node:fs'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import type { Page } from 'playwright-core'
import { getWorld } from '../stand-in/src/world'
import { pixelAt, screenshot, serveStatic, useBrowser, type Pixels } from '../support/browser'
import { referencePolygons } from '../support/reference-decode'
import { imageDetectionsTruth, imageSize } from '../support/truth'
import { useSystem } from '../support/system'

// In-page code (page.evaluate, waitForFunction) runs in the browser; the project's types have no DOM lib.
declare const document: any
declare const window: any

const t = useSystem()
const b = useBrowser()

// The contract's colours per class family (the value's first segment), as the SVG route draws them.
const FAMILY_RGB: Record<string, [number, number, number]> = {
  regulatory: [0xe6, 0x19, 0x4b],
  warning: [0xf5, 0x82, 0x31],
  information: [0x43, 0x63, 0xd8],
  complementary: [0x42, 0xd4, 0xf4],
  object: [0x91, 0x1e, 0xb4],
  marking: [0xff, 0xe1, 0x19],
  construction: [0x9a, 0x63, 0x24],
  nature: [0x3c, 0xb4, 0x4b],
  void: [0x80, 0x80, 0x80],
  human: [0xf0, 0x32, 0xe6],
  animal: [0xbf, 0xef, 0x45],
}
const familyRgb = (value: string) => FAMILY_RGB[value.split('--')[0]!] ?? [0x00, 0x00, 0x75]

type Ring = number[][]
interface TruthDetection {
  id: string
  value: string
  polygons: Ring[][]
}

/** Even-odd point in polygon (a polygon's rings together: a point in a hole is outside). */
function inPolygon(x: number, y: number, polygon: Ring[]): boolean {
  let inside = false
  for (const ring of polygon) {
    for (let i = 0, j = ring.length - 1; i < ring.length; j = i++) {
      const [xi, yi] = ring[i]!
      const [xj, yj] = ring[j]!
      if (yi! > y !== yj! > y && x < ((xj! - xi!) * (y - yi!)) / (yj! - yi!) + xi!) inside = !inside
    }
  }
  return inside
}

/** Distance from (x, y) to the nearest edge of any ring. */
function edgeDistance(x: number, y: number, polygons: Ring[][]): number {
  let best = Infinity
  for (const polygon of polygons) {
    for (const ring of polygon) {
      for (let i = 1; i < ring.length; i++) {
        const [ax, ay] = ring[i - 1]!
        const [bx, by] = ring[i]!
        const dx = bx! - ax!
        const dy = by! - ay!
        const len = dx * dx + dy * dy
        const u = len === 0 ? 0 : Math.max(0, Math.min(1, ((x - ax!) * dx + (y - ay!) * dy) / len))
        best = Math.min(best, Math.hypot(x - (ax! + u * dx), y - (ay! + u * dy)))
      }
    }
  }
  return best
}

/** Of the first images of the world with a holed detection, the one whose hole is largest, and its detections from the truth. */
function imageWithHole(): { id: string; width: number; height: number; detections: TruthDetection[] } {
  let best: { id: string; width: number; height: number; detections: TruthDetection[] } | undefined
  let bestSide = 0
  let seen = 0
  for (const image of getWorld().imageById.values()) {
    if (image.special) continue
    const { width, height } = imageSize(image.id)
    const detections = imageDetectionsTruth(image.id, ['value', 'geometry']).map((d) => ({
      id: String(d.id),
      value: String(d.value),
      polygons: referencePolygons(String(d.geometry), width, height),
    }))
    const holes = detections.flatMap((d) => d.polygons.flatMap((p) => p.slice(1)))
    if (detections.length < 2 || holes.length === 0) continue
    // A hole's smaller side, as a share of the picture's width (the element's scale).
    const side = Math.max(...holes.map((r) => Math.min(Math.max(...r.map((q) => q[0]!)) - Math.min(...r.map((q) => q[0]!)), Math.max(...r.map((q) => q[1]!)) - Math.min(...r.map((q) => q[1]!))) / width))
    if (side > bestSide) [best, bestSide] = [{ id: image.id, width, height, detections }, side]
    if (++seen >= 200) break
  }
  if (!best) throw new Error('no image with a holed detection in the world')
  return best
}

const close = (a: readonly number[], e: readonly number[], tolerance: number) => a.slice(0, 3).every((v, i) => Math.abs(v - e[i]!) <= tolerance)

/** Points of a grid over the picture, each with the detections whose filled area holds it (none: outside or in a hole). */
function classify(image: ReturnType<typeof imageWithHole>, scale: number, marginPx: number) {
  const all = image.detections.flatMap((d) => d.polygons)
  const filled: { x: number; y: number; rgb: [number, number, number] }[] = []
  const holes: { x: number; y: number }[] = []
  const outside: { x: number; y: number }[] = []
  const step = Math.max(image.width, image.height) / 320
  for (let y = step / 2; y < image.height; y += step) {
    for (let x = step / 2; x < image.width; x += step) {
      if (edgeDistance(x, y, all) * scale < marginPx) continue
      const covering = image.detections.filter((d) => d.polygons.some((p) => inPolygon(x, y, p)))
      const inHole = image.detections.some((d) => d.polygons.some((p) => p.length >= 2 && inPolygon(x, y, [p[0]!]) && !inPolygon(x, y, p)))
      if (covering.length === 1) filled.push({ x, y, rgb: familyRgb(covering[0]!.value) })
      else if (covering.length === 0 && inHole) holes.push({ x, y })
      else if (covering.length === 0) outside.push({ x, y })
    }
  }
  return { filled, holes, outside }
}

const ELEMENT_WIDTH = 960

describe('<mly-detections> on a static page of another origin', () => {
  let site: Awaited<ReturnType<typeof serveStatic>>
  const image = imageWithHole()
  const page = (attrs: string) =>
    `<!doctype html><html><head><meta charset="utf-8"><style>body{margin:0}mly-detections{width:${ELEMENT_WIDTH}px}</style>` +
    `<script type="module" src="${t.sys.url.origin}/embed/mly.js"></script></head>` +
    `<body><mly-detections ${attrs}></mly-detections></body></html>`

  beforeAll(async () => {
    site = await serveStatic({})
  })
  afterAll(() => site?.close())

  /** Opens a page with one element and waits until it drew (mly-load and its picture loaded) or failed. */
  async function open(html: string, name: string): Promise<{ p: Page; events: string[]; dialogs: string[] }> {
    const p = await b.page({ width: 1000, height: 900 })
    const dialogs: string[] = []
    p.on('dialog', (d) => {
      dialogs.push(d.message())
      void d.dismiss()
    })
    const events: string[] = []
    await p.exposeFunction('__event', (e: string) => events.push(e))
    site.files[`/${name}.html`] = html
    await p.addInitScript(() => {
      for (const type of ['mly-load', 'mly-error', 'mly-select']) {
        document.addEventListener(type, (e: { detail: unknown }) => window.__event(`${type} ${JSON.stringify(e.detail)}`))
      }
    })
    await p.goto(`${site.url.origin}/${name}.html`)
    await p.waitForFunction(() => {
      const el = document.querySelector('mly-detections')
      const root = el?.shadowRoot
      if (!root || el!.getAttribute('aria-busy') !== 'false') return false
      const img = root.querySelector('img')
      return !img || (img.complete && img.naturalWidth > 0)
    })
    return { p, events, dialogs }
  }

  it('draws each detection in its family colour where the reference decoder puts it, holes and the rest untouched', async () => {
    const overlay = await open(page(`image="${image.id}" opacity="1" labels="false"`), 'overlay')
    const base = await open(page(`image="${image.id}" opacity="1" labels="false" values="no-such-class"`), 'baseline')
    const shot = await screenshot(overlay.p, 'detections-overlay', overlay.p.locator('mly-detections'))
    const plain = await screenshot(base.p, 'detections-baseline', base.p.locator('mly-detections'))
    const scale = ELEMENT_WIDTH / image.width
    expect(shot.width).toBe(ELEMENT_WIDTH)
    expect(shot.height).toBe(Math.round(image.height * scale))
    expect(overlay.events.filter((e) => e.startsWith('mly-load'))).toHaveLength(1)

    const { filled, holes, outside } = classify(image, scale, 4)
    expect(filled.length).toBeGreaterThan(20)
    expect(holes.length).toBeGreaterThan(0)
    expect(outside.length).toBeGreaterThan(20)
    const at = (s: Pixels, q: { x: number; y: number }) => pixelAt(s, q.x * scale, q.y * scale)
    const wrong = (list: { x: number; y: number; rgb?: number[] }[], expected: (q: any) => number[], s: Pixels) =>
      list.filter((q) => !close(at(s, q), expected(q), 6)).map((q) => ({ x: Math.round(q.x), y: Math.round(q.y), got: at(s, q).slice(0, 3), want: expected(q) }))
    expect(wrong(filled, (q) => q.rgb, shot)).toEqual([])
    expect(wrong(holes, (q) => at(plain, q), shot)).toEqual([])
    expect(wrong(outside, (q) => at(plain, q), shot)).toEqual([])
    // The baseline is the picture itself, not the overlay colour: the holes would pass trivially otherwise.
    expect(filled.filter((q) => close(at(plain, q), q.rgb, 6)).length).toBeLessThan(filled.length / 4)
    await overlay.p.context().close()
    await base.p.context().close()
  })

  it('blends at the default opacity, shows a legend, and a click on a detection sends mly-select with it', async () => {
    const o = await open(page(`image="${image.id}"`), 'default')
    const shot = await screenshot(o.p, 'detections-default', o.p.locator('mly-detections'))
    // The README's picture: refreshed on request only, so a test run leaves the tree as it was.
    if (process.env.UPDATE_DOCS_IMAGES === '1') copyFileSync(shot.file, 'docs/images/embed-detections.png')
    const base = await open(page(`image="${image.id}" values="no-such-class" labels="false"`), 'default-baseline')
    const plain = await screenshot(base.p, 'detections-default-baseline', base.p.locator('mly-detections'))
    const scale = ELEMENT_WIDTH / image.width
    const { filled } = classify(image, scale, 4)
    const q = filled[Math.floor(filled.length / 2)]!
    const under = pixelAt(plain, q.x * scale, q.y * scale)
    const expected = q.rgb.map((c, i) => 0.35 * c + 0.65 * under[i]!)
    expect(pixelAt(shot, q.x * scale, q.y * scale).slice(0, 3).every((v, i) => Math.abs(v - expected[i]!) <= 8)).toBe(true)

    const families = [...new Set(image.detections.map((d) => d.value.split('--')[0]!))].map((f) => (FAMILY_RGB[f] ? f : 'other'))
    const legend = await o.p.locator('mly-detections').locator('.legend li').allTextContents()
    expect(legend.map((l) => l.replace(/ \(\d+\)$/, '')).sort()).toEqual([...new Set(families)].sort())

    // A click on the filled point: the detection covering it, by id and value from the truth.
    const d = image.detections.find((x) => x.polygons.some((p) => inPolygon(q.x, q.y, p)))!
    const box = (await o.p.locator('mly-detections').boundingBox())!
    await o.p.mouse.click(box.x + q.x * scale, box.y + q.y * scale)
    await expect.poll(() => o.events.find((e) => e.startsWith('mly-select'))).toBe(`mly-select ${JSON.stringify({ detection: { id: d.id, value: d.value, family: d.value.split('--')[0] } })}`)
    // Hover label: the class, as text.
    await expect.poll(() => o.p.locator('mly-detections').locator('.tip').textContent()).toBe(d.value)
    await o.p.context().close()
    await base.p.context().close()
  })

  it('re-renders when the image attribute changes, and property and attribute agree', async () => {
    const o = await open(page(`image="${image.id}" labels="false"`), 'reflect')
    const other = [...getWorld().imageById.values()].find((i) => !i.special && i.id !== image.id && imageDetectionsTruth(i.id, ['value']).length > 0)!
    await o.p.evaluate((id) => {
      ;(document.querySelector('mly-detections') as any).image = id
    }, other.id)
    expect(await o.p.locator('mly-detections').getAttribute('image')).toBe(other.id)
    await expect.poll(() => o.events.filter((e) => e.startsWith('mly-load')).length).toBe(2)
    expect(o.events[1]).toContain(`"id":"${other.id}"`)
    const paths = await o.p.locator('mly-detections').locator('svg path').count()
    const truthPolygons = imageDetectionsTruth(other.id, ['geometry']).flatMap((d) => referencePolygons(String(d.geometry), imageSize(other.id).width, imageSize(other.id).height))
    expect(paths).toBe(truthPolygons.length)
    await o.p.context().close()
  })

  it('says in words that an unknown image is not found', async () => {
    const unknown = await open(page(`image="999999999999999"`), 'unknown')
    const text = await unknown.p.locator('mly-detections').locator('[role=alert]').textContent()
    expect(text).toBe('Image 999999999999999 was not found.')
    await screenshot(unknown.p, 'detections-unknown', unknown.p.locator('mly-detections'))
    expect(unknown.events.filter((e) => e.startsWith('mly-error'))).toEqual([`mly-error ${JSON.stringify({ status: 404, code: 'not_found', message: text })}`])
    await unknown.p.context().close()
  })

  it('never runs markup or javascript: from an attribute or from the answer', async () => {
    const hostile = ['"><img src=x onerror="window.__xss=1;alert(1)">', 'javascript:alert(1)', '<script>window.__xss=1</script>']
    for (const [i, value] of hostile.entries()) {
      const attr = value.replace(/&/g, '&amp;').replace(/"/g, '&quot;').replace(/</g, '&lt;')
      const o = await open(page(`image="${attr}" api="${attr}"`), `xss-attr-${i}`)
      expect(await o.p.locator('mly-detections').locator('[role=alert]').textContent()).toBe(`"${value}" is not an image id: an image id is 1 to 20 digits.`)
      expect(await o.p.evaluate(() => (window as any).__xss)).toBeUndefined()
      expect(o.dialogs).toEqual([])
      await o.p.context().close()
    }
    // A good id with a hostile api: refused in words, nothing fetched from it.
    const api = await open(page(`image="${image.id}" api="javascript:alert(1)"`), 'xss-api')
    expect(await api.p.locator('mly-detections').locator('[role=alert]').textContent()).toBe('The api attribute is not an http(s) URL.')
    expect(api.dialogs).toEqual([])
    await api.p.context().close()
    // A hostile answer (class values, ids, the picture's URL): drawn as text, nothing runs.
    const p = await b.page()
    const dialogs: string[] = []
    p.on('dialog', (d) => {
      dialogs.push(d.message())
      void d.dismiss()
    })
    const markup = '<img src=x onerror="window.__xss=1;alert(1)"><svg onload="alert(2)">'
    await p.route(`${t.sys.url.origin}/v1/images/*/detections`, (route) =>
      route.fulfill({
        contentType: 'application/json',
        headers: { 'access-control-allow-origin': '*' },
        body: JSON.stringify({
          image: { id: '1', width: 100, height: 100, thumb_original_url: 'javascript:alert(3)' },
          detections: [{ id: '"><script>alert(4)</script>', value: `regulatory--${markup}`, pixel_geometry: { type: 'Polygon', coordinates: [[[10, 10], [90, 10], [90, 90], [10, 90], [10, 10]]] } }],
        }),
      }),
    )
    site.files['/hostile.html'] = page('image="1"')
    await p.goto(`${site.url.origin}/hostile.html`)
    await p.waitForFunction(() => document.querySelector('mly-detections')?.getAttribute('aria-busy') === 'false')
    const el = p.locator('mly-detections')
    expect(await el.locator('svg path title').textContent()).toBe(`regulatory--${markup}`)
    expect(await el.locator('img').count()).toBe(0)
    expect(await el.locator('svg path').getAttribute('data-detection')).toBe('"><script>alert(4)</script>')
    await p.waitForTimeout(300)
    expect(await p.evaluate(() => (window as any).__xss)).toBeUndefined()
    expect(dialogs).toEqual([])
    await p.context().close()
  })
})

describe('the /embed/images page', () => {
  const image = imageWithHole()

  it('is a page for an iframe with a strict CSP whose element draws the image', async () => {
    const res = await t.sys.fetch(`/embed/images/${image.id}`)
    expect(res.status).toBe(200)
    expect(res.headers.get('content-type')).toBe('text/html; charset=utf-8')
    expect(res.headers.get('x-content-type-options')).toBe('nosniff')
    const csp = res.headers.get('content-security-policy')!
    expect(csp.split('; ')).toEqual(expect.arrayContaining(["default-src 'none'", "script-src 'self'", 'frame-ancestors *']))
    const html = await res.text()
    expect(html).not.toMatch(/<script(?![^>]*\bsrc=)[^>]*>/)

    const p = await b.page({ width: 800, height: 800 })
    const violations: string[] = []
    p.on('console', (m) => {
      if (/Content Security Policy/i.test(m.text())) violations.push(m.text())
    })
    await p.goto(new URL(`/embed/images/${image.id}`, t.sys.url).href)
    await p.waitForFunction(() => {
      const el = document.querySelector('mly-detections')
      const img = el?.shadowRoot?.querySelector('img')
      return el?.getAttribute('aria-busy') === 'false' && img?.complete && img.naturalWidth > 0
    })
    const shot = await screenshot(p, 'embed-image-page')
    const scale = 800 / image.width
    const { filled } = classify(image, scale, 4)
    const coloured = filled.filter((q) => {
      const [r, g, bl] = pixelAt(shot, q.x * scale, q.y * scale)
      const [er, eg, eb] = q.rgb
      // Blended over the picture: nearer the family colour than a grey picture would be alone.
      return Math.abs(r - er) + Math.abs(g - eg) + Math.abs(bl - eb) < 3 * 170
    })
    expect(coloured.length).toBe(filled.length)
    expect(violations).toEqual([])
    await p.context().close()
  })

  it('refuses a malformed id with a problem, never echoing it as HTML', async () => {
    const res = await t.sys.fetch(`/embed/images/${encodeURIComponent('<script>alert(1)</script>')}`)
    expect(res.status).toBe(400)
    expect(res.headers.get('content-type')).toContain('application/problem+json')
    expect(((await res.json()) as { code: string }).code).toBe('invalid_parameter')
  })
})
