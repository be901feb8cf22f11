/**
 * @module
 * The ETag of a whole answer, computed from its bytes read at once: the very value hono's etag
 * middleware gives (SHA-1 chained over 256 KiB chunks: each chunk hashed after the hash so far),
 * without its read of the body chunk by chunk in JavaScript, which took the gateway some 0.5 s of
 * CPU on a city's 11 MB box answer (bench, CPU profile of the gateway's isolate). It runs inside
 * hono's etag, which then finds the tag set and only compares it with If-None-Match.
 */
import type { Context, Next } from 'hono'

/** hono's chunk: the digest is chained over the body in pieces of this many bytes. */
const CHUNK_BYTES = 262144

/**
 * hono's etag digest of `bytes` (lowercase hex), or null for an empty body (hono sets no tag then).
 * @example await chainedSha1(new TextEncoder().encode('{"a":1}')) // the SHA-1 of those 7 bytes, in hex
 */
export async function chainedSha1(bytes: Uint8Array): Promise<string | null> {
  if (bytes.byteLength === 0) return null
  let hash: Uint8Array | undefined
  // One buffer for every "hash so far + chunk" (each digest is awaited before the next fill): a
  // new one per chunk was 11 MB of short-lived buffers for a city's answer, and as much GC.
  let joined: Uint8Array | undefined
  for (let at = 0; at < bytes.byteLength; at += CHUNK_BYTES) {
    const chunk = bytes.subarray(at, at + CHUNK_BYTES)
    let input = chunk
    if (hash) {
      joined ??= new Uint8Array(hash.byteLength + CHUNK_BYTES)
      joined.set(hash, 0)
      joined.set(chunk, hash.byteLength)
      input = joined.subarray(0, hash.byteLength + chunk.byteLength)
    }
    hash = new Uint8Array(await crypto.subtle.digest({ name: 'SHA-1' }, input))
  }
  return Array.from(hash!, (x) => x.toString(16).padStart(2, '0')).join('')
}

/**
 * Sets the ETag of a successful GET or HEAD answer that has none, from its whole body read once.
 * @example app.use('/v1/*', (c, next) => tag(c, () => bodyEtag(c, next)))
 */
export async function bodyEtag(c: Context, next: Next): Promise<void> {
  await next()
  if (!(c.req.method === 'GET' || c.req.method === 'HEAD') || !c.res.ok || !c.res.body || c.res.headers.has('etag')) return
  // Read once and answered from those bytes: a clone would tee the body, and the branch sent on
  // would be held and streamed again chunk by chunk.
  const res = c.res
  const bytes = new Uint8Array(await res.arrayBuffer())
  const hash = await chainedSha1(bytes)
  const headers = new Headers(res.headers)
  if (hash !== null) headers.set('ETag', `"${hash}"`)
  c.res = undefined // replace, not merge
  c.res = new Response(bytes, { status: res.status, statusText: res.statusText, headers })
}
