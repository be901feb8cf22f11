import { describe, expect, it } from 'vitest'
import { Hono } from 'hono'
import { etag } from 'hono/etag'
import { createHash } from 'node:crypto'
import { bodyEtag, chainedSha1 } from './body-etag'

/** Deterministic bytes (a small LCG), so a failure repeats. */
function bytesOf(n: number, seed = 7): Uint8Array {
  const out = new Uint8Array(n)
  let x = seed
  for (let i = 0; i < n; i++) {
    x = (x * 1103515245 + 12345) >>> 0
    out[i] = x >>> 24
  }
  return out
}

/** A stream of `bytes` in pieces of `piece` bytes, as a body arrives. */
function streamOf(bytes: Uint8Array, piece: number): ReadableStream<Uint8Array> {
  let at = 0
  return new ReadableStream({
    pull(ctl) {
      if (at >= bytes.byteLength) return ctl.close()
      ctl.enqueue(bytes.slice(at, at + piece))
      at += piece
    },
  })
}

/** hono's own tag of a body streamed in pieces (its etag middleware alone). */
async function honoTag(bytes: Uint8Array, piece: number): Promise<string | null> {
  const app = new Hono()
  app.use('*', etag())
  app.get('/', () => new Response(streamOf(bytes, piece)))
  return (await app.request('/')).headers.get('etag')
}

describe('chainedSha1', () => {
  it('is SHA-1 itself for a body of one chunk or less', async () => {
    const b = new TextEncoder().encode('{"type":"FeatureCollection","features":[]}')
    expect(await chainedSha1(b)).toBe(createHash('sha1').update(b).digest('hex'))
  })

  it('chains each 256 KiB chunk after the hash so far', async () => {
    const b = bytesOf(262144 + 5)
    const first = createHash('sha1').update(b.subarray(0, 262144)).digest()
    const expected = createHash('sha1').update(Buffer.concat([first, b.subarray(262144)])).digest('hex')
    expect(await chainedSha1(b)).toBe(expected)
  })

  it('gives no tag for an empty body', async () => {
    expect(await chainedSha1(new Uint8Array(0))).toBeNull()
  })
})

describe('bodyEtag inside hono etag', () => {
  it('gives the tag hono gives, whatever the body size and the pieces it arrives in', async () => {
    for (const n of [1, 1000, 262143, 262144, 262145, 3 * 262144 + 17]) {
      const b = bytesOf(n, n)
      const app = new Hono()
      const tag = etag()
      app.use('*', (c, next) => tag(c, () => bodyEtag(c, next)))
      app.get('/', () => new Response(streamOf(b, 4096)))
      const res = await app.request('/')
      const mine = res.headers.get('etag')
      expect(mine, `${n} bytes`).toBe(await honoTag(b, 65536))
      expect(mine, `${n} bytes`).toBe(await honoTag(b, 16384 + 3))
      // The body still goes out whole.
      expect(new Uint8Array(await res.arrayBuffer())).toEqual(b)
      // And a client holding the tag gets a 304.
      expect((await app.request('/', { headers: { 'if-none-match': mine! } })).status).toBe(304)
    }
  }, 30_000)

  it('leaves a tag already set, an error and an empty body alone', async () => {
    const app = new Hono()
    app.use('*', bodyEtag)
    app.get('/set', () => new Response('x', { headers: { etag: '"kept"' } }))
    app.get('/err', () => new Response('no', { status: 502 }))
    app.get('/empty', () => new Response(''))
    expect((await app.request('/set')).headers.get('etag')).toBe('"kept"')
    expect((await app.request('/err')).headers.get('etag')).toBeNull()
    expect((await app.request('/empty')).headers.get('etag')).toBeNull()
  })
})
