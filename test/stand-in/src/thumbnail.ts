/**
 * @module
 * The stand-in's thumbnails: a generated PNG per size and aspect ratio, a sky-to-ground gradient
 * with a grid at every eighth of the width and height, so a person (or a pixel test) sees where an
 * overlay sits. Deflated with the runtime's CompressionStream, PNG filter "Sub" on every row so a
 * gradient compresses to a few KiB. Memoised: the world has three cameras, so a handful of pictures.
 */

/** A thumbnail is at most this wide (`original` too): enough to see, small enough to stay a few KiB. */
export const MAX_THUMB_WIDTH = 640
/** Grid lines at every 1/GRID_DIVISIONS of the width and height. */
export const GRID_DIVISIONS = 8
/** Colour of the grid lines (RGB). */
export const GRID_RGB = [250, 250, 250] as const

export type ThumbSize = 'original' | '256' | '1024' | '2048'

/**
 * Pixel size of the `size` thumbnail of an image of `width`×`height`: `size` wide (original: the
 * image's width), at most {@link MAX_THUMB_WIDTH}, the image's aspect ratio.
 *
 * @example
 * thumbDimensions('256', 4032, 3024) // { width: 256, height: 192 }
 */
export function thumbDimensions(size: ThumbSize, width: number, height: number): { width: number; height: number } {
  const w = Math.max(1, Math.min(size === 'original' ? width : Number(size), MAX_THUMB_WIDTH, width))
  return { width: w, height: Math.max(1, Math.round((w * height) / width)) }
}

const memo = new Map<string, Promise<Uint8Array>>()

/**
 * The PNG of `width`×`height` pixels (see the module comment).
 *
 * @example
 * const png = await thumbnailPng(256, 192) // starts with \x89PNG
 */
export function thumbnailPng(width: number, height: number): Promise<Uint8Array> {
  const key = `${width}x${height}`
  let png = memo.get(key)
  if (!png) {
    png = encodePng(width, height, pixelAt)
    memo.set(key, png)
  }
  return png
}

/** Sky blue at the top to dull green at the bottom, warmer to the right; grid lines light. */
function pixelAt(x: number, y: number, width: number, height: number): readonly [number, number, number] {
  const onLine = (v: number, size: number) => v === size - 1 || Math.floor((v * GRID_DIVISIONS) / size) !== Math.floor(((v + 1) * GRID_DIVISIONS) / size)
  if (onLine(x, width) || onLine(y, height)) return GRID_RGB
  // In 32 bands each way: rows repeat and runs stay flat, so deflate keeps it to a few KiB.
  const t = Math.floor((y * 32) / height) / 31
  const s = Math.floor((x * 32) / width) / 31
  return [Math.round(120 + 40 * s - 20 * t), Math.round(180 - 40 * t), Math.round(225 - 135 * t)]
}

async function encodePng(width: number, height: number, pixel: typeof pixelAt): Promise<Uint8Array> {
  const stride = width * 3 + 1
  const raw = new Uint8Array(stride * height)
  for (let y = 0; y < height; y++) {
    const row = y * stride
    raw[row] = 1 // filter Sub: each byte minus the byte one pixel to the left
    let prev = [0, 0, 0]
    for (let x = 0; x < width; x++) {
      const rgb = pixel(x, y, width, height)
      for (let k = 0; k < 3; k++) raw[row + 1 + x * 3 + k] = (rgb[k]! - prev[k]!) & 0xff
      prev = [rgb[0], rgb[1], rgb[2]]
    }
  }
  const ihdr = new Uint8Array(13)
  const view = new DataView(ihdr.buffer)
  view.setUint32(0, width)
  view.setUint32(4, height)
  ihdr.set([8, 2, 0, 0, 0], 8) // 8 bits, RGB, deflate, adaptive filters, no interlace
  const idat = await deflate(raw)
  return concat([new Uint8Array([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]), chunk('IHDR', ihdr), chunk('IDAT', idat), chunk('IEND', new Uint8Array())])
}

/** zlib-wrapped deflate (what PNG's IDAT holds), by the runtime's CompressionStream. */
async function deflate(bytes: Uint8Array): Promise<Uint8Array> {
  const stream = new Blob([bytes]).stream().pipeThrough(new CompressionStream('deflate'))
  return new Uint8Array(await new Response(stream).arrayBuffer())
}

function chunk(type: string, data: Uint8Array): Uint8Array {
  const out = new Uint8Array(12 + data.length)
  const view = new DataView(out.buffer)
  view.setUint32(0, data.length)
  for (let i = 0; i < 4; i++) out[4 + i] = type.charCodeAt(i)
  out.set(data, 8)
  view.setUint32(8 + data.length, crc32(out.subarray(4, 8 + data.length)))
  return out
}

const CRC_TABLE = Array.from({ length: 256 }, (_, n) => {
  let c = n
  for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1
  return c >>> 0
})

function crc32(bytes: Uint8Array): number {
  let c = 0xffffffff
  for (const b of bytes) c = CRC_TABLE[(c ^ b) & 0xff]! ^ (c >>> 8)
  return (c ^ 0xffffffff) >>> 0
}

function concat(parts: Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0))
  let at = 0
  for (const p of parts) {
    out.set(p, at)
    at += p.length
  }
  return out
}
