/**
 * @module
 * A request body read within a byte limit: 413 `payload_too_large` past it, never more than the
 * limit (plus one chunk) read or held, whatever the `Content-Length` says or whether it is there.
 * Hono's own `bodyLimit` trusts a `Content-Length` it is given; this one counts every body.
 */
import type { MiddlewareHandler } from 'hono'
import { problem, problemResponse } from '../problem/problem'

/** How {@link readBodyWithin} ends a body over its limit. */
export interface BodyLimitOptions {
  /**
   * Read and drop the rest of a body over the limit, up to this many bytes in all, before answering,
   * so a client still sending gets the 413 instead of a reset connection (workerd closes a
   * connection whose request body was left unread). A body declared or found larger is cancelled.
   * Default 0: cancel at once.
   */
  drainUpTo?: number
}

/**
 * The body's bytes when it holds at most `maxBytes`, else null (the stream is cancelled as soon as
 * the count passes the limit, so a 50 MB body costs about `maxBytes` of reading; with `drainUpTo`
 * it is read to its end first, never past `drainUpTo`, and nothing past `maxBytes` is kept). A
 * declared `Content-Length` over the limit is refused before anything is kept; a smaller one is
 * not trusted.
 *
 * @example
 * const bytes = await readBodyWithin(request, 1024 * 1024)
 * if (bytes === null) return problemResponse(problem('payload_too_large', '…'))
 */
export async function readBodyWithin(request: Request, maxBytes: number, opts: BodyLimitOptions = {}): Promise<Uint8Array | null> {
  const drainUpTo = opts.drainUpTo ?? 0
  const declared = Number(request.headers.get('content-length') ?? Number.NaN)
  if (Number.isFinite(declared) && declared > maxBytes) {
    if (declared <= drainUpTo) await drain(request.body, drainUpTo)
    else await request.body?.cancel().catch(() => {})
    return null
  }
  if (!request.body) return new Uint8Array(0)
  const reader = request.body.getReader()
  const chunks: Uint8Array[] = []
  let size = 0
  for (;;) {
    const { done, value } = await reader.read()
    if (done) break
    size += value.byteLength
    if (size > maxBytes) {
      chunks.length = 0
      await drainReader(reader, drainUpTo - size)
      return null
    }
    chunks.push(value)
  }
  const bytes = new Uint8Array(size)
  let at = 0
  for (const chunk of chunks) {
    bytes.set(chunk, at)
    at += chunk.byteLength
  }
  return bytes
}

async function drain(body: ReadableStream<Uint8Array> | null, upTo: number): Promise<void> {
  if (body) await drainReader(body.getReader(), upTo)
}

/** Reads and drops the rest while it stays within `room` more bytes (one chunk past it at most), else cancels it. */
async function drainReader(reader: ReadableStreamDefaultReader<Uint8Array>, room: number): Promise<void> {
  try {
    while (room >= 0) {
      const { done, value } = await reader.read()
      if (done) return
      room -= value.byteLength
    }
    await reader.cancel()
  } catch {
    // The client went away: nothing left to answer.
  }
}

/**
 * Middleware: 413 `payload_too_large` (naming `limit_bytes`) when the body is over the limit
 * `maxBytes(c)` gives (read per request, so it may come from the Worker's env); else the request
 * goes on with its body read ({@link readBodyWithin}) and handed on as bytes.
 *
 * @example
 * app.post('/v1/decode', bodyWithin((c) => decodeLimits(c.env).maxBodyBytes), validate('json', decodeBody), handler)
 */
export function bodyWithin(maxBytes: (c: Parameters<MiddlewareHandler>[0]) => number): MiddlewareHandler {
  return async (c, next) => {
    const limit = maxBytes(c)
    const bytes = await readBodyWithin(c.req.raw, limit)
    if (bytes === null) {
      return problemResponse(problem('payload_too_large', `The request body may be at most ${limit} bytes.`, { limit_bytes: limit }))
    }
    // The stream is spent: hand the bytes on (a request without a body has nothing to hand).
    if (c.req.raw.body) c.req.raw = new Request(c.req.raw, { body: bytes })
    await next()
  }
}
