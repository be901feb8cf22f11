/**
 * `POST /v1/decode` within its limits (found by a hostile client, issue 9): a body over
 * MAX_DECODE_BODY_BYTES is 413 whether its Content-Length is honest, missing or lying, and is not
 * read to its end; a geometry drawing more than MAX_DECODE_POINTS points is 422 naming the limit.
 * Inside workerd, through the Worker's own fetch.
 */
import { exports } from 'cloudflare:workers'
import { describe, expect, it } from 'vitest'
import { encodeTile } from '../../../test/stand-in/src/encode-tile'
import { DEFAULT_MAX_DECODE_BODY_BYTES, DEFAULT_MAX_DECODE_POINTS } from '../src/decode-limits'

const URL_ = 'https://dg.test/v1/decode'
const LIMIT = DEFAULT_MAX_DECODE_BODY_BYTES
// The README's one-square tile (4 points and the closing one).
const SQUARE = 'GiB4AgoGbXB5LW9yKIAgEhEYAwgBIgsJ9CuaJRIcAAAMDw=='

function toBase64(bytes: Uint8Array): string {
  let s = ''
  for (let i = 0; i < bytes.length; i += 0x8000) s += String.fromCharCode(...bytes.subarray(i, i + 0x8000))
  return btoa(s)
}

/** A stream of `total` bytes of JSON-ish text in 64 KiB chunks that counts what was pulled from it. */
function countingStream(total: number) {
  const chunk = new TextEncoder().encode(' '.repeat(64 * 1024))
  const seen = { pulled: 0 }
  const stream = new ReadableStream<Uint8Array>({
    pull(controller) {
      if (seen.pulled >= total) return controller.close()
      seen.pulled += chunk.byteLength
      controller.enqueue(chunk)
    },
  })
  return { stream, seen }
}

const post = (body: BodyInit, headers: Record<string, string> = {}) =>
  exports.default.fetch(new Request(URL_, { method: 'POST', body, headers: { 'content-type': 'application/json', ...headers } }))

async function expect413(res: Response) {
  const text = await res.text()
  expect(res.status, text.slice(0, 300)).toBe(413)
  expect(res.headers.get('content-type')).toBe('application/problem+json')
  expect(JSON.parse(text)).toMatchObject({ status: 413, code: 'payload_too_large', limit_bytes: LIMIT })
}

describe('POST /v1/decode body limit', () => {
  it(`is ${LIMIT} bytes by default: the largest valid geometry (1 MiB of base64) and 4 KiB of JSON around it`, () => {
    expect(LIMIT).toBe(1024 * 1024 + 4096)
  })

  it('answers a body of exactly the limit, and 413s one byte more (Content-Length honest)', async () => {
    const json = JSON.stringify({ geometry: SQUARE, width: 4032, height: 3024 })
    const exact = json + ' '.repeat(LIMIT - json.length)
    const ok = await post(exact)
    expect(ok.status).toBe(200)
    expect(((await ok.json()) as { pixel_geometry: { type: string } }).pixel_geometry.type).toBe('Polygon')
    await expect413(await post(`${exact} `))
  })

  it('413s a 50 MB body sent without a Content-Length, having read about the limit of it', async () => {
    const { stream, seen } = countingStream(50 * 1024 * 1024)
    await expect413(await post(stream))
    // Streams read ahead a little: at most the limit and two chunks, never the 50 MB.
    expect(seen.pulled).toBeLessThanOrEqual(LIMIT + 2 * 64 * 1024)
  })

  // Hono's bodyLimit trusts a Content-Length: it would hand this 4 MB on as a 100-byte body.
  it('413s a body past the limit whose Content-Length says it is small, having read about the limit of it', async () => {
    const { stream, seen } = countingStream(4 * 1024 * 1024)
    await expect413(await post(stream, { 'content-length': '100' }))
    expect(seen.pulled).toBeLessThanOrEqual(LIMIT + 2 * 64 * 1024)
  })

  it('413s a declared Content-Length over the limit before reading', async () => {
    const { stream, seen } = countingStream(LIMIT + 1024)
    await expect413(await post(stream, { 'content-length': String(LIMIT + 1024) }))
    expect(seen.pulled).toBeLessThanOrEqual(2 * 64 * 1024)
  })
})

describe('POST /v1/decode point cap', () => {
  // One ring of 300,000 points (the hostile client's 11.7 MB answer), rows of a comb inside the extent.
  const ring: Array<[number, number]> = Array.from({ length: 300_000 }, (_, i) => [i % 4000, Math.floor(i / 4000) * 50])
  const geometry = toBase64(encodeTile([{ name: 'mpy-or', features: [{ type: 3, rings: [ring] }] }]))

  it(`is ${DEFAULT_MAX_DECODE_POINTS} points by default: past it, 422 too_many_points naming the limit`, async () => {
    expect(geometry.length).toBeLessThan(1024 * 1024)
    const res = await post(JSON.stringify({ geometry, width: 4032, height: 3024 }))
    const text = await res.text()
    expect(text.length).toBeLessThan(2000)
    expect(res.status, text.slice(0, 300)).toBe(422)
    expect(JSON.parse(text)).toMatchObject({ status: 422, code: 'too_many_points', limit: DEFAULT_MAX_DECODE_POINTS })
  })

  it('answers a ring of exactly the cap (closing point counted)', async () => {
    const small = ring.slice(0, DEFAULT_MAX_DECODE_POINTS - 1)
    const g = toBase64(encodeTile([{ name: 'mpy-or', features: [{ type: 3, rings: [small] }] }]))
    const res = await post(JSON.stringify({ geometry: g, width: 4032, height: 3024 }))
    expect(res.status).toBe(200)
    const body = (await res.json()) as { pixel_geometry: { type: string; coordinates: number[][][] } }
    expect(body.pixel_geometry.coordinates[0]).toHaveLength(DEFAULT_MAX_DECODE_POINTS)
  })
})
