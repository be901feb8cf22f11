import { crc32, inflateSync } from 'node:zlib'
import { beforeEach, describe, expect, it } from 'vitest'
import app from './index'
import { getWorld, CAMERAS } from './world'

const ORIGIN = 'http://sandbox.test'
const world = getWorld()
const auth = { authorization: 'OAuth MLY|4242|abcdef' }

/** A PNG read by Node's zlib, not by the encoder under test: chunk CRCs checked, rows unfiltered. */
function readPng(bytes: Uint8Array): { width: number; height: number; rgb: (x: number, y: number) => number[] } {
  expect([...bytes.subarray(0, 8)]).toEqual([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a])
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength)
  const chunks: Array<{ type: string; data: Uint8Array }> = []
  for (let at = 8; at < bytes.length; ) {
    const length = view.getUint32(at)
    const type = new TextDecoder().decode(bytes.subarray(at + 4, at + 8))
    const data = bytes.subarray(at + 8, at + 8 + length)
    expect(view.getUint32(at + 8 + length), `CRC of ${type}`).toBe(crc32(bytes.subarray(at + 4, at + 8 + length)))
    chunks.push({ type, data })
    at += 12 + length
  }
  expect(chunks.map((c) => c.type)).toEqual(['IHDR', 'IDAT', 'IEND'])
  const ihdr = new DataView(chunks[0]!.data.buffer, chunks[0]!.data.byteOffset, 13)
  const width = ihdr.getUint32(0)
  const height = ihdr.getUint32(4)
  expect([...chunks[0]!.data.subarray(8)]).toEqual([8, 2, 0, 0, 0]) // 8-bit RGB, no interlace
  const raw = inflateSync(chunks[1]!.data)
  const stride = width * 3 + 1
  expect(raw.length).toBe(stride * height)
  const px = new Uint8Array(width * height * 3)
  for (let y = 0; y < height; y++) {
    const filter = raw[y * stride]!
    for (let i = 0; i < width * 3; i++) {
      const v = raw[y * stride + 1 + i]!
      const left = i >= 3 ? px[y * width * 3 + i - 3]! : 0
      const up = y > 0 ? px[(y - 1) * width * 3 + i]! : 0
      if (filter === 0) px[y * width * 3 + i] = v
      else if (filter === 1) px[y * width * 3 + i] = (v + left) & 0xff
      else if (filter === 2) px[y * width * 3 + i] = (v + up) & 0xff
      else throw new Error(`filter ${filter} not read by this test`)
    }
  }
  return { width, height, rgb: (x, y) => [...px.subarray((y * width + x) * 3, (y * width + x) * 3 + 3)] }
}

const imageOfCamera = (camera: number) => [...world.imageById.values()].find((im) => im.camera === camera)!

async function thumb(id: string, file: string, query = '') {
  return app.request(`${ORIGIN}/__sandbox/thumbs/${id}/${file}${query}`)
}

beforeEach(async () => {
  await app.request(`${ORIGIN}/__sandbox/reset`, { method: 'POST' })
})

describe('stand-in thumbnails', () => {
  it('are visible PNGs of a few KiB in the image aspect ratio, 256 px wide for 256 and at most 640 otherwise', async () => {
    for (const camera of [0, 1, 2]) {
      const image = imageOfCamera(camera)
      const { width: w, height: h } = CAMERAS[camera]!
      for (const [file, expectWidth] of [['256.jpg', 256], ['1024.jpg', 640], ['2048.jpg', 640], ['original.jpg', 640]] as const) {
        const res = await thumb(image.id, file)
        expect(res.status).toBe(200)
        expect(res.headers.get('content-type')).toBe('image/png')
        const bytes = new Uint8Array(await res.arrayBuffer())
        expect(bytes.length).toBeLessThan(12 * 1024)
        const png = readPng(bytes)
        expect(png.width).toBe(expectWidth)
        expect(Math.abs(png.height - (expectWidth * h) / w)).toBeLessThanOrEqual(0.5)
      }
    }
  })

  it('show a light grid at every eighth over a sky-to-ground gradient, so a person sees where things are', async () => {
    const image = imageOfCamera(0) // 4032×3024 → 256×192
    const png = readPng(new Uint8Array(await (await thumb(image.id, '256.jpg')).arrayBuffer()))
    expect([png.width, png.height]).toEqual([256, 192])
    const bright = (p: number[]) => p[0]! + p[1]! + p[2]!
    // Grid lines (light) at x = 31 (the last pixel of the first eighth) and y = 23; cells in between are darker.
    expect(bright(png.rgb(31, 10))).toBeGreaterThan(bright(png.rgb(15, 10)) + 100)
    expect(bright(png.rgb(15, 23))).toBeGreaterThan(bright(png.rgb(15, 12)) + 100)
    // Blue sky at the top, greener and darker towards the bottom.
    const top = png.rgb(15, 5)
    const bottom = png.rgb(15, 185)
    expect(top[2]!).toBeGreaterThan(top[0]!)
    expect(bottom[2]!).toBeLessThan(top[2]! - 80)
    expect(bottom[1]!).toBeGreaterThan(bottom[2]!)
  })

  it('may be drawn into a canvas from any origin, and are refused for unknown ids, files and expired URLs', async () => {
    const image = imageOfCamera(1)
    const ok = await thumb(image.id, '1024.jpg', `?exp=${Math.floor(Date.now() / 1000) + 60}`)
    expect(ok.status).toBe(200)
    expect(ok.headers.get('access-control-allow-origin')).toBe('*')
    expect(ok.headers.get('cross-origin-resource-policy')).toBe('cross-origin')
    expect((await thumb(image.id, '1024.jpg', `?exp=${Math.floor(Date.now() / 1000) - 5}`)).status).toBe(403)
    expect((await thumb(image.id, '512.jpg')).status).toBe(404)
    expect((await thumb('123456789012345', '256.jpg')).status).toBe(404)
  })

  it('are what the image answer links as thumb_256_url, with no token in the URL', async () => {
    const id = world.summary.sampleImages.ordinary
    const img = (await (await app.request(`${ORIGIN}/${id}?fields=thumb_256_url,width,height`, { headers: auth })).json()) as any
    expect(img.thumb_256_url).not.toContain('MLY')
    const url = new URL(img.thumb_256_url)
    const png = readPng(new Uint8Array(await (await app.request(`${ORIGIN}${url.pathname}${url.search}`)).arrayBuffer()))
    expect(png.width).toBe(256)
    expect(Math.abs(png.height - (256 * img.height) / img.width)).toBeLessThanOrEqual(0.5)
  })
})
