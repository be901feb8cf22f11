/**
 * Found by a hostile client (issue 9), end to end through the gateway: what a problem echoes is
 * bounded and never a token; every problem names the request's id; `POST /v1/decode` refuses a
 * body past its limit without a Content-Length, and a geometry past the point cap.
 */
import { describe, expect, it } from 'vitest'
import { encodeTile } from './stand-in/src/encode-tile'
import { useSystem } from './support/system'
import { expectProblem } from './support/problem'

const t = useSystem()
const SECRET = 'MLY|4242424242|s3cr3tvalueofaclient'

describe('what a problem echoes', () => {
  it('is bounded: 1,000 unknown fields give a problem of a few hundred characters per value, not 18 KB', async () => {
    const fields = Array.from({ length: 1000 }, (_, i) => `f${String(i).padStart(4, '0')}`).join(',')
    const res = await t.sys.fetch(`/v1/sequences/abc/detections?fields=${fields}`)
    const text = await res.text()
    expect(res.status).toBe(400)
    expect(text.length).toBeLessThan(2000)
    const body = JSON.parse(text)
    expect(body.code).toBe('invalid_parameter')
    expect(body.detail).toMatch(/^Query parameter 'fields' unknown fields 'f0000', 'f0001'/)
    expect(body.detail.length).toBeLessThanOrEqual(300)
    expect(body.invalid_params[0].reason.length).toBeLessThanOrEqual(300)
  })

  it('never holds a token, wherever the client put it', async () => {
    const paths = [
      `/v1/map-features?bbox=13,55.6,13.01,55.61&object_values=${encodeURIComponent(SECRET)}`,
      `/v1/map-features?bbox=13,55.6,13.01,${encodeURIComponent(SECRET)}`,
      `/v1/sequences/abc/detections?fields=${encodeURIComponent(SECRET)}`,
    ]
    for (const path of paths) {
      const res = await t.sys.json(path)
      expectProblem(res, 400)
      const text = JSON.stringify(res.body)
      expect(text, path).not.toContain('s3cr3t')
      expect(text, path).toContain('MLY|[redacted]')
    }
  })
})

describe('request_id', () => {
  it('is in every problem, the id the gateway answers in X-Request-Id', async () => {
    for (const path of ['/v1/images/abc/detections', '/v1/map-features?bbox=1,2,3', '/v1/images/999999999999999/detections']) {
      const res = await t.sys.fetch(path)
      const body = (await res.json()) as { request_id?: string }
      expect(res.status, path).toBeGreaterThanOrEqual(400)
      expect(body.request_id, path).toMatch(/^[A-Za-z0-9._:-]{1,64}$/)
      expect(body.request_id, path).toBe(res.headers.get('x-request-id'))
    }
  })
})

describe('POST /v1/decode limits', () => {
  const LIMIT = 1024 * 1024 + 4096

  // Just past the limit: a server that stops reading a much larger upload closes a connection the
  // client is still writing to, which Node's fetch reports as a reset, not the 413 (the runtime test
  // sends 50 MB inside workerd and counts how little of it is read).
  it('413s a body past the limit sent in chunks without a Content-Length', async () => {
    const total = LIMIT + 10_000
    const chunk = new TextEncoder().encode(' '.repeat(16 * 1024))
    let sent = 0
    const body = new ReadableStream<Uint8Array>({
      pull(controller) {
        if (sent >= total) return controller.close()
        const piece = chunk.subarray(0, Math.min(chunk.byteLength, total - sent))
        sent += piece.byteLength
        controller.enqueue(piece)
      },
    })
    const res = await t.sys.json('/v1/decode', { method: 'POST', body, headers: { 'content-type': 'application/json' }, duplex: 'half' } as RequestInit)
    expectProblem(res, 413, 'payload_too_large')
    expect(res.body.limit_bytes).toBe(LIMIT)
  })

  it('422s a 300,000-point ring naming the limit, in a short answer', async () => {
    const ring: Array<[number, number]> = Array.from({ length: 300_000 }, (_, i) => [i % 4000, Math.floor(i / 4000) * 50])
    const geometry = Buffer.from(encodeTile([{ name: 'mpy-or', features: [{ type: 3, rings: [ring] }] }])).toString('base64')
    const res = await t.sys.fetch('/v1/decode', { method: 'POST', body: JSON.stringify({ geometry, width: 4032, height: 3024 }), headers: { 'content-type': 'application/json' } })
    const text = await res.text()
    expect(res.status).toBe(422)
    expect(text.length).toBeLessThan(2000)
    expect(JSON.parse(text)).toMatchObject({ code: 'too_many_points', limit: 50_000 })
  })
})
