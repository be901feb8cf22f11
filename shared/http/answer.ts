/**
 * @module
 * Writes a cacheable JSON answer: the body once serialised, `Cache-Control` fitting how long the
 * data stays true, and headers saying whether KV answered and how many upstream requests it cost.
 */

export interface AnswerOptions {
  /** Seconds a client or CDN may reuse the answer. */
  maxAge: number
  /** Served from the KV cache. */
  hit: boolean
  /** Upstream requests this answer cost (0 on a hit). */
  upstreamRequests?: number
  contentType?: 'application/json' | 'application/geo+json'
  /**
   * Answered from a copy kept past its TTL because the upstream failed (stale-if-error): the
   * answer says `X-Cache: stale` and `Age` (seconds since it was made), and no one should keep it.
   */
  stale?: { ageSeconds: number }
  /**
   * The answer's entity tag, quoted (`"…"`): sent as `ETag`, so the gateway need not read the whole
   * body to make one.
   */
  etag?: string
}

export function answer(body: unknown, opts: AnswerOptions): Response {
  return answerJson(JSON.stringify(body), opts)
}

/**
 * {@link answer} for a body that is already JSON text (sent as is).
 *
 * @example
 * answerJson(text, { maxAge: 300, hit: true, stale: { ageSeconds: 4000 } }) // X-Cache: stale, Age: 4000
 */
export function answerJson(json: string, opts: AnswerOptions): Response {
  return new Response(json, { status: 200, headers: answerHeaders(opts) })
}

/**
 * {@link answerJson} for a body that streams (a many-megabyte answer sent on as it flows).
 *
 * @example
 * answerBody(out.body, { maxAge: 300, hit: false, upstreamRequests: 131, etag: out.etag, contentType: 'application/geo+json' })
 */
export function answerBody(body: ReadableStream<Uint8Array>, opts: AnswerOptions): Response {
  return new Response(body, { status: 200, headers: answerHeaders(opts) })
}

function answerHeaders(opts: AnswerOptions): Record<string, string> {
  const headers: Record<string, string> = {
    'content-type': `${opts.contentType ?? 'application/json'}; charset=utf-8`,
    'cache-control': `public, max-age=${opts.maxAge}`,
    'x-cache': opts.hit ? 'hit' : 'miss',
    // The upstream attempts a stale answer cost (they failed) are counted too.
    'x-upstream-requests': String(opts.hit && !opts.stale ? 0 : (opts.upstreamRequests ?? 0)),
  }
  if (opts.etag !== undefined) headers.etag = opts.etag
  if (opts.stale) {
    headers['x-cache'] = 'stale'
    headers.age = String(opts.stale.ageSeconds)
    // Good for now, while the upstream is down: not for a cache to hand out later.
    headers['cache-control'] = 'no-cache'
  }
  return headers
}
