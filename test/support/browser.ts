/**
 * @module
 * Headless Chromium for the browser tests (test/browser): Debian's `chromium` driven by
 * playwright-core (no browser download), screenshots kept under `test-artifacts/`, pixels read
 * from them, and a tiny static server for a test's own HTML page (a "static site").
 */
import { existsSync, mkdirSync, writeFileSync } from 'node:fs'
import { createServer, type Server } from 'node:http'
import path from 'node:path'
import { inflateSync } from 'node:zlib'
import { chromium, type Browser, type Page } from 'playwright-core'
import { afterAll, beforeAll } from 'vitest'

/** Where a browser is looked for: CHROMIUM_PATH, else Debian's package. */
export const CHROMIUM_CANDIDATES = [process.env.CHROMIUM_PATH, '/usr/bin/chromium', '/usr/bin/chromium-browser'].filter((p): p is string => !!p)

/** Screenshots of the browser tests, kept as artifacts (gitignored). */
export const ARTIFACTS_DIR = path.resolve('test-artifacts')

/**
 * The Chromium to launch. Throws (never skips) when there is none, saying how to get one.
 * @example chromiumPath() // '/usr/bin/chromium'
 */
export function chromiumPath(): string {
  const found = CHROMIUM_CANDIDATES.find((p) => existsSync(p))
  if (found) return found
  throw new Error(
    `No Chromium for the browser tests (looked at ${CHROMIUM_CANDIDATES.join(', ')}). ` +
      'Install it (Debian/Ubuntu: `sudo apt-get install -y chromium`) or set CHROMIUM_PATH to a Chromium or Chrome binary. ' +
      'The browser tests never skip: embedding is verified in a real browser.',
  )
}

/**
 * One headless Chromium for a test file: launched before its tests, closed after them.
 * @example
 * const b = useBrowser()
 * it('…', async () => { const page = await b.page(); await page.goto(url) })
 */
export function useBrowser(): { browser: Browser; page(viewport?: { width: number; height: number }): Promise<Page> } {
  const ctx = {
    browser: undefined as unknown as Browser,
    async page(viewport = { width: 800, height: 600 }) {
      const context = await ctx.browser.newContext({ viewport, deviceScaleFactor: 1 })
      return context.newPage()
    },
  }
  beforeAll(async () => {
    ctx.browser = await chromium.launch({ executablePath: chromiumPath(), headless: true, args: ['--no-sandbox', '--disable-gpu', '--disable-dev-shm-usage'] })
  })
  afterAll(() => ctx.browser?.close())
  return ctx
}

/** A decoded screenshot: RGBA, 4 bytes per pixel, rows top to bottom. */
export interface Pixels {
  width: number
  height: number
  rgba: Uint8Array
}

/**
 * A screenshot of the page (or of one element), kept as `test-artifacts/<name>.png`, decoded.
 * @example const shot = await screenshot(page, 'detections-overlay', page.locator('mly-detections'))
 */
export async function screenshot(page: Page, name: string, target?: { screenshot(o: { type: 'png' }): Promise<Buffer> }): Promise<Pixels & { png: Buffer; file: string }> {
  const png = target ? await target.screenshot({ type: 'png' }) : await page.screenshot({ type: 'png' })
  mkdirSync(ARTIFACTS_DIR, { recursive: true })
  const file = path.join(ARTIFACTS_DIR, `${name.replace(/[^A-Za-z0-9._-]+/g, '-')}.png`)
  writeFileSync(file, png)
  return { ...decodePng(png), png, file }
}

/**
 * The RGBA of one pixel (whole coordinates, clamped to the picture).
 * @example pixelAt(shot, 10, 20) // [255, 255, 255, 255]
 */
export function pixelAt(p: Pixels, x: number, y: number): [number, number, number, number] {
  const cx = Math.min(p.width - 1, Math.max(0, Math.floor(x)))
  const cy = Math.min(p.height - 1, Math.max(0, Math.floor(y)))
  const i = (cy * p.width + cx) * 4
  return [p.rgba[i]!, p.rgba[i + 1]!, p.rgba[i + 2]!, p.rgba[i + 3]!]
}

/**
 * Decodes a PNG as Chromium writes screenshots: 8-bit RGB or RGBA, not interlaced (the five row
 * filters of the PNG spec). Enough for screenshots; throws on anything else.
 * @example decodePng(readFileSync('test-artifacts/x.png')).width
 */
export function decodePng(png: Buffer): Pixels {
  if (png.readUInt32BE(0) !== 0x89504e47) throw new Error('not a PNG')
  let off = 8
  let width = 0
  let height = 0
  let channels = 0
  const idat: Buffer[] = []
  while (off < png.length) {
    const len = png.readUInt32BE(off)
    const type = png.toString('latin1', off + 4, off + 8)
    const data = png.subarray(off + 8, off + 8 + len)
    if (type === 'IHDR') {
      width = data.readUInt32BE(0)
      height = data.readUInt32BE(4)
      const [depth, colour, , , interlace] = [data[8], data[9], data[10], data[11], data[12]]
      if (depth !== 8 || interlace !== 0 || (colour !== 2 && colour !== 6)) throw new Error(`unsupported PNG (depth ${depth}, colour type ${colour}, interlace ${interlace})`)
      channels = colour === 6 ? 4 : 3
    } else if (type === 'IDAT') idat.push(data)
    else if (type === 'IEND') break
    off += 12 + len
  }
  const raw = inflateSync(Buffer.concat(idat))
  const stride = width * channels
  const out = new Uint8Array(width * height * 4)
  let prev = new Uint8Array(stride)
  for (let y = 0; y < height; y++) {
    const filter = raw[y * (stride + 1)]!
    const line = raw.subarray(y * (stride + 1) + 1, (y + 1) * (stride + 1))
    const cur = new Uint8Array(stride)
    for (let i = 0; i < stride; i++) {
      const a = i >= channels ? cur[i - channels]! : 0
      const b = prev[i]!
      const c = i >= channels ? prev[i - channels]! : 0
      const pa = Math.abs(b - c)
      const pb = Math.abs(a - c)
      const pc = Math.abs(a + b - 2 * c)
      const paeth = pa <= pb && pa <= pc ? a : pb <= pc ? b : c
      const predictor = filter === 0 ? 0 : filter === 1 ? a : filter === 2 ? b : filter === 3 ? (a + b) >> 1 : paeth
      cur[i] = (line[i]! + predictor) & 0xff
    }
    for (let x = 0; x < width; x++) {
      for (let k = 0; k < 4; k++) out[(y * width + x) * 4 + k] = k < channels ? cur[x * channels + k]! : 255
    }
    prev = cur
  }
  return { width, height, rgba: out }
}

/**
 * A static site for one test: serves the given files (path → HTML; `files` may be added to later)
 * on loopback, so a page embeds the system from another origin, as a real static site would. Real
 * files, not a browser-side route: Chromium lets only a loopback page call the loopback system
 * (Private Network Access), and a routed page has no address.
 * @example const site = await serveStatic({ '/index.html': '<!doctype html>…' }); await page.goto(new URL('/index.html', site.url).href)
 */
export async function serveStatic(files: Record<string, string>): Promise<{ url: URL; files: Record<string, string>; close(): Promise<void> }> {
  const server: Server = createServer((req, res) => {
    const body = files[new URL(req.url ?? '/', 'http://x').pathname]
    if (body === undefined) {
      res.writeHead(404, { 'content-type': 'text/plain' }).end('not found')
      return
    }
    res.writeHead(200, { 'content-type': 'text/html; charset=utf-8' }).end(body)
  })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  const address = server.address() as { port: number }
  return { url: new URL(`http://127.0.0.1:${address.port}/`), files, close: () => new Promise((resolve) => server.close(() => resolve())) }
}
