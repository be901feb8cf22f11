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
}

export function answer(body: unknown, opts: AnswerOptions): Response {
  return answerJson(JSON.stringify(body), opts)
}

/** {@link answer} for a body that is already JSON text (sent as is). */
export function answerJson(json: string, opts: AnswerOptions): Response {
  return new Response(json, {
    status: 200,
    headers: {
      'content-type': `${opts.contentType ?? 'application/json'}; charset=utf-8`,
      'cache-control': `public, max-age=${opts.maxAge}`,
      'x-cache': opts.hit ? 'hit' : 'miss',
      'x-upstream-requests': String(opts.hit ? 0 : (opts.upstreamRequests ?? 0)),
    },
  })
}
