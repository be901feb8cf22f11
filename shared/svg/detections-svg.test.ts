// Parsed by a real XML parser: Chromium's DOMParser (image/svg+xml is strict XML; any error gives a
// <parsererror>), the parser that renders these documents. Chromium is Debian's, found and launched
// by test/support/browser.ts: without it this file fails loudly, it never skips.
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import type { Page } from 'playwright-core'
import { decodePng, pixelAt, screenshot, useBrowser } from '../../test/support/browser'
import { thumbnailPng } from '../../test/stand-in/src/thumbnail'
import { FAMILY_COLORS } from './class-colors'
import type { PixelGeometry } from '../mvt/pixel-geometry'
import { detectionsSvg, type SvgDetection, type SvgImage } from './detections-svg'

const chromium = useBrowser()
let page: Page

beforeAll(async () => {
  page = await chromium.page()
}, 60_000)

afterAll(async () => {
  await page?.context().close()
})

interface Parsed {
  error: string | null
  root: Record<string, string>
  rootTitle: string | null
  image: Record<string, string> | null
  groups: Array<{ attrs: Record<string, string>; title: string | null; paths: Array<Record<string, string>> }>
  legend: Array<{ text: string; swatch: string | null }>
  scripts: number
  eventAttributes: string[]
  hrefs: string[]
  elementNames: string[]
}

/** The document as Chromium's XML parser reads it. */
async function parse(svg: string): Promise<Parsed> {
  // Runs in the page; typed loosely because this program's types have no DOM lib.
  return page.evaluate((text) => {
    const g = globalThis as any
    const doc = new g.DOMParser().parseFromString(text, 'image/svg+xml')
    const err = doc.getElementsByTagName('parsererror')[0]
    const attrs = (el: any): Record<string, string> => Object.fromEntries([...el.attributes].map((a: any) => [a.name, a.value]))
    const all: any[] = [...doc.getElementsByTagName('*')]
    const root = doc.documentElement
    const titleOf = (el: any): string | null => [...el.children].find((c: any) => c.localName === 'title')?.textContent ?? null
    return {
      error: err ? (err.textContent as string) : null,
      root: attrs(root),
      rootTitle: titleOf(root),
      image: root.querySelector('image') ? attrs(root.querySelector('image')) : null,
      groups: [...root.querySelectorAll('g.detection')].map((g: any) => ({ attrs: attrs(g), title: titleOf(g), paths: [...g.querySelectorAll('path')].map(attrs) })),
      legend: [...root.querySelectorAll('g.legend-entry')].map((g: any) => ({ text: g.querySelector('text').textContent as string, swatch: (g.querySelector('rect')?.getAttribute('fill') as string | undefined) ?? null })),
      scripts: all.filter((e) => e.localName === 'script' || e.localName === 'foreignObject').length,
      eventAttributes: all.flatMap((e) => [...e.attributes].map((a: any) => a.name as string).filter((n) => /^on/i.test(n))),
      hrefs: all.flatMap((e) => [...e.attributes].filter((a: any) => a.localName === 'href').map((a: any) => a.value as string)),
      elementNames: [...new Set(all.map((e) => e.localName as string))].sort(),
    }
  }, svg)
}

/** `d` back into rings of [x, y] (M…L…Z per ring), read by the test, not by the renderer. */
function ringsOf(d: string): number[][][] {
  return d
    .split('Z')
    .filter((s) => s.trim() !== '')
    .map((sub) => [...sub.matchAll(/[ML]\s*(-?[\d.]+)[\s,]+(-?[\d.]+)/g)].map((m) => [Number(m[1]), Number(m[2])]))
}

/** A ring as drawn: the closing point (equal to the first) dropped. */
const open = (ring: number[][]) => ring.slice(0, -1)
const expectRings = (d: string, rings: number[][][]) => {
  const got = ringsOf(d)
  expect(got.length).toBe(rings.length)
  got.forEach((ring, i) => {
    expect(ring.length).toBe(open(rings[i]!).length)
    ring.forEach((p, j) => {
      // Drawn to a hundredth of an image pixel.
      expect(Math.abs(p[0]! - open(rings[i]!)[j]![0]!)).toBeLessThanOrEqual(0.005 + 1e-9)
      expect(Math.abs(p[1]! - open(rings[i]!)[j]![1]!)).toBeLessThanOrEqual(0.005 + 1e-9)
    })
  })
}

const IMAGE: SvgImage = { id: '315219450124680', width: 4032, height: 3024, thumbUrl: 'https://scontent.example/t/315219450124680.jpg?exp=1&sig=a%2Fb' }
const square = (x: number, y: number, s: number) => [[x, y], [x + s, y], [x + s, y + s], [x, y + s], [x, y]]
const STOP: PixelGeometry = { type: 'Polygon', coordinates: [square(100, 200, 400)] }
// A frame: exterior and one hole, hole counter-clockwise.
const FRAME: PixelGeometry = { type: 'Polygon', coordinates: [square(1000, 1000, 1000), [[1250, 1250], [1250, 1750], [1750, 1750], [1750, 1250], [1250, 1250]]] }
const TWO: PixelGeometry = { type: 'MultiPolygon', coordinates: [[square(3000, 100, 200.125)], [square(3500, 2500, 300.5)]] }
const DETECTIONS: SvgDetection[] = [
  { id: '1', value: 'regulatory--stop--g1', pixel_geometry: STOP },
  { id: '2', value: 'object--vehicle--car', pixel_geometry: FRAME },
  { id: '3', value: 'marking--discrete--arrow--left', pixel_geometry: TWO },
  { id: '4', value: 'object--street-light', pixel_geometry: null },
  { id: '5', value: 'regulatory--no-entry--g1', pixel_geometry: { type: 'Polygon', coordinates: [square(10, 10, 5)] } },
]

describe('detectionsSvg', () => {
  it('is well-formed SVG in image pixels, shown at width= with the height scaled, the thumbnail behind', async () => {
    const doc = await parse(detectionsSvg(IMAGE, DETECTIONS, { width: 640 }))
    expect(doc.error).toBeNull()
    expect(doc.root).toMatchObject({ xmlns: 'http://www.w3.org/2000/svg', viewBox: '0 0 4032 3024', width: '640', height: '480' })
    expect(doc.image).toMatchObject({ href: IMAGE.thumbUrl!, x: '0', y: '0', width: '4032', height: '3024', preserveAspectRatio: 'none' })
    expect(doc.rootTitle).toBe('Detections of image 315219450124680')
    const intrinsic = await parse(detectionsSvg(IMAGE, DETECTIONS))
    expect(intrinsic.root).toMatchObject({ width: '4032', height: '3024' })
  })

  it('draws one path per polygon with exactly the pixel geometry, holes in the same evenodd path', async () => {
    const doc = await parse(detectionsSvg(IMAGE, DETECTIONS))
    expect(doc.groups.map((g) => g.attrs['data-id'])).toEqual(['1', '2', '3', '5']) // 4 has no geometry
    const [stop, frame, two] = doc.groups
    expect(stop!.paths).toHaveLength(1)
    expectRings(stop!.paths[0]!.d!, STOP.coordinates as number[][][])
    expect(frame!.paths).toHaveLength(1)
    expect(frame!.paths[0]!['fill-rule']).toBe('evenodd')
    expectRings(frame!.paths[0]!.d!, FRAME.coordinates as number[][][])
    expect(two!.paths).toHaveLength(2)
    expectRings(two!.paths[0]!.d!, (TWO.coordinates as number[][][][])[0]!)
    expectRings(two!.paths[1]!.d!, (TWO.coordinates as number[][][][])[1]!)
    for (const g of doc.groups) for (const p of g.paths) expect(p['fill-rule']).toBe('evenodd')
  })

  it('colours by class family, the same colour for one family, and lists drawn families with counts in the legend', async () => {
    const doc = await parse(detectionsSvg(IMAGE, DETECTIONS))
    const fills = doc.groups.map((g) => g.paths[0]!.fill)
    expect(fills[0]).toBe(fills[3]) // regulatory, twice
    expect(new Set([fills[0], fills[1], fills[2]]).size).toBe(3)
    for (const f of fills) expect(f).toMatch(/^#[0-9a-f]{6}$/)
    expect(doc.legend).toEqual([
      { text: 'regulatory (2)', swatch: fills[0] },
      { text: 'object (1)', swatch: fills[1] },
      { text: 'marking (1)', swatch: fills[2] },
    ])
    const odd = await parse(detectionsSvg(IMAGE, [{ id: '7', value: 'spaceship--x', pixel_geometry: STOP }, { id: '8', value: 'nature--vegetation', pixel_geometry: STOP }]))
    expect(odd.legend.map((l) => l.text)).toEqual(['nature (1)', 'other (1)'])
    expect(odd.groups.map((g) => g.attrs['data-family'])).toEqual(['other', 'nature'])
  })

  it('filters by exact values, and says so when nothing is left', async () => {
    const doc = await parse(detectionsSvg(IMAGE, DETECTIONS, { values: ['object--vehicle--car', 'regulatory--stop'] }))
    expect(doc.groups.map((g) => g.attrs['data-value'])).toEqual(['object--vehicle--car'])
    const none = await parse(detectionsSvg(IMAGE, DETECTIONS, { values: ['animal--bird'] }))
    expect(none.groups).toEqual([])
    expect(none.legend).toEqual([{ text: 'no detections', swatch: null }])
  })

  it('labels each detection with its value unless labels=false; opacity and stroke as given', async () => {
    const doc = await parse(detectionsSvg(IMAGE, DETECTIONS, { opacity: 0.8, stroke: 3.5 }))
    expect(doc.groups.map((g) => g.title)).toEqual(['regulatory--stop--g1', 'object--vehicle--car', 'marking--discrete--arrow--left', 'regulatory--no-entry--g1'])
    expect(doc.groups[0]!.paths[0]).toMatchObject({ 'fill-opacity': '0.8', 'stroke-width': '3.5', stroke: doc.groups[0]!.paths[0]!.fill })
    const bare = await parse(detectionsSvg(IMAGE, DETECTIONS, { labels: false, opacity: 0, stroke: 0 }))
    expect(bare.groups.map((g) => g.title)).toEqual([null, null, null, null])
    expect(bare.rootTitle).toBeNull()
    expect(bare.groups[0]!.paths[0]).toMatchObject({ 'fill-opacity': '0', stroke: 'none' })
  })

  it('draws a grey background, no image, when the thumbnail URL is missing or not http(s)', async () => {
    for (const thumbUrl of [null, 'javascript:alert(1)', 'data:image/svg+xml,<svg onload=alert(1)>', '//evil.example/x.jpg', 'JaVaScRiPt:alert(1)']) {
      const doc = await parse(detectionsSvg({ ...IMAGE, thumbUrl }, DETECTIONS))
      expect(doc.error).toBeNull()
      expect(doc.image).toBeNull()
      expect(doc.hrefs).toEqual([])
    }
  })
})

describe('detectionsSvg with hostile strings', () => {
  const HOSTILE = [
    '"><script>alert(1)</script>',
    "'><svg onload=alert(1)>",
    ']]><script>alert(1)</script><![CDATA[',
    '</title><script>alert(1)</script>',
    '&amp;&lt;&#x3C;',
    'regulatory--stop--g1\u0000\u0007\u001f',
    'object--\uD800lone',
    'nature--🌳--حديقة--\u202e',
  ]

  it('never breaks out: values and ids come back verbatim as text, no script, no handler, no foreign href', async () => {
    const detections = HOSTILE.map((value, i) => ({ id: value, value, pixel_geometry: { type: 'Polygon' as const, coordinates: [square(10 * i, 10, 5)] } }))
    const doc = await parse(detectionsSvg({ ...IMAGE, id: '"><script>alert(1)</script>', thumbUrl: 'https://x.example/"onload="alert(1)&<>' }, detections))
    expect(doc.error).toBeNull()
    expect(doc.scripts).toBe(0)
    expect(doc.eventAttributes).toEqual([])
    expect(doc.elementNames).toEqual(['g', 'image', 'path', 'rect', 'svg', 'text', 'title'])
    expect(doc.hrefs).toEqual(['https://x.example/%22onload=%22alert(1)&%3C%3E'])
    const survive = (s: string) => s.replace(/[\u0000-\u0008\u000B\u000C\u000E-\u001F]|\uD800/g, '\uFFFD')
    expect(doc.groups.map((g) => g.attrs['data-value'])).toEqual(HOSTILE.map(survive))
    expect(doc.groups.map((g) => g.attrs['data-id'])).toEqual(HOSTILE.map(survive))
    expect(doc.groups.map((g) => g.title)).toEqual(HOSTILE.map(survive))
    expect(doc.root['aria-label']).toBe('Detections of image "><script>alert(1)</script>')
  })

  it('runs nothing when opened directly as a document', async () => {
    const detections = HOSTILE.map((value, i) => ({ id: String(i), value, pixel_geometry: { type: 'Polygon' as const, coordinates: [square(10 * i, 10, 5)] } }))
    const svg = detectionsSvg({ ...IMAGE, thumbUrl: 'javascript:alert(1)' }, detections)
    const dialogs: string[] = []
    const tab = await chromium.page()
    tab.on('dialog', (d) => {
      dialogs.push(d.message())
      void d.dismiss()
    })
    await tab.route('http://svg.test/**', (route) => route.fulfill({ status: 200, contentType: 'image/svg+xml', body: svg }))
    await tab.goto('http://svg.test/detections.svg')
    const seen = await tab.evaluate(() => {
      const doc = (globalThis as any).document
      return { root: doc.documentElement.localName as string, paths: doc.querySelectorAll('path').length as number }
    })
    expect(seen).toEqual({ root: 'svg', paths: HOSTILE.length })
    await tab.mouse.move(5, 5)
    expect(dialogs).toEqual([])
    await tab.context().close()
  })
})

describe('detectionsSvg drawn by Chromium', () => {
  // A 400×300 image shown at its own size: one screen pixel per image pixel.
  const W = 400
  const H = 300
  const frame: SvgDetection = { id: '1', value: 'regulatory--stop--g1', pixel_geometry: { type: 'Polygon', coordinates: [[[80, 40], [320, 40], [320, 200], [80, 200], [80, 40]], [[160, 80], [160, 160], [240, 160], [240, 80], [160, 80]]] } }
  const svg = detectionsSvg({ id: '1', width: W, height: H, thumbUrl: 'http://pics.test/t.png' }, [frame], { opacity: 1, stroke: 0 })
  const rgb = (hex: string) => [1, 3, 5].map((i) => parseInt(hex.slice(i, i + 2), 16))
  const near = (got: number[], want: number[], what: string) => want.forEach((v, k) => expect(Math.abs(got[k]! - v), `${what}: ${got.slice(0, 3)} vs ${want}`).toBeLessThanOrEqual(3))

  async function shown(how: 'document' | 'object') {
    const picture = Buffer.from(await thumbnailPng(W, H))
    const tab = await chromium.page({ width: W, height: H })
    await tab.route('http://pics.test/**', (route) => route.fulfill({ status: 200, contentType: 'image/png', body: picture, headers: { 'access-control-allow-origin': '*' } }))
    await tab.route('http://svg.test/**', (route) =>
      route.fulfill({ status: 200, contentType: 'image/svg+xml', body: svg, headers: { 'content-security-policy': "default-src 'none'; img-src https: http: data:; style-src 'unsafe-inline'" } }),
    )
    await tab.route('http://page.test/**', (route) => route.fulfill({ status: 200, contentType: 'text/html', body: `<!doctype html><body style="margin:0"><object type="image/svg+xml" data="http://svg.test/d.svg" width="${W}" height="${H}" style="display:block"></object>` }))
    await tab.goto(how === 'document' ? 'http://svg.test/d.svg' : 'http://page.test/', { waitUntil: 'load' })
    const shot = await screenshot(tab, `svg-${how}`)
    await tab.context().close()
    return { shot, picture: decodePng(picture) }
  }

  for (const how of ['document', 'object'] as const) {
    it(`fills the polygon in its family colour, leaves the hole and the outside showing the thumbnail (${how})`, async () => {
      const { shot, picture } = await shown(how)
      const fill = rgb(FAMILY_COLORS.regulatory)
      for (const [x, y] of [[100, 60], [300, 180], [200, 60], [120, 150]] as const) near(pixelAt(shot, x, y), fill, `filled at ${x},${y}`)
      // Inside the hole and outside: the picture itself, grid lines and all.
      for (const [x, y] of [[200, 120], [175, 95], [230, 150], [360, 20], [360, 250], [20, 20], [200, 240]] as const) near(pixelAt(shot, x, y), pixelAt(picture, x, y), `picture at ${x},${y}`)
    })
  }
})
