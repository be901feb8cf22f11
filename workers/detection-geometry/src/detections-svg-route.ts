/**
 * @module
 * `GET /v1/images/{id}/detections.svg`: what `GET /v1/images/{id}/detections` answers (asked of
 * this same app, so the same KV pieces, stale copies and problems), drawn by shared/svg over the
 * thumbnail of the asked `size`. A problem of the JSON route is answered as it is; when only the
 * sized thumbnail's URL cannot be had (upstream trouble), the original's is drawn instead.
 */
import type { Hono } from 'hono'
import { z } from 'zod'
import { cacheKey, cached, TTL } from '../../../shared/cache/kv-cache'
import { imageId, validate } from '../../../shared/http/validation'
import { isUpstreamTrouble } from '../../../shared/http/upstream-trouble'
import { detectionsSvg, type SvgDetection } from '../../../shared/svg/detections-svg'
import { identityPart, requestIdentity } from '../../../shared/upstream/identity'
import { clientForRequest } from '../../../shared/upstream/request-client'
import type { GraphClient } from '../../../shared/upstream/client'
import { detectionsSvgQuery, SVG_MAX_AGE, type ThumbSize } from './detections-svg-query'
import type { ImageMetaOrSize } from './image-meta'
import type { DecodeSettings } from './decode-limits'
import type { Env } from './env'

/**
 * Opened directly (not in an `<img>`), the SVG may load its picture and use its attributes' styles,
 * and nothing else: no script, no fetch, no frames, whatever a value holds.
 */
export const SVG_CSP = "default-src 'none'; img-src https: http: data:; style-src 'unsafe-inline'"

interface DetectionsAnswer {
  image: ImageMetaOrSize
  detections: SvgDetection[]
}

/**
 * Registers the route on `app` (which must also serve `GET /v1/images/:imageId/detections`).
 *
 * @example
 * detectionsSvgRoute(app) // GET /v1/images/315219450124680/detections.svg?size=256&width=640
 */
export function detectionsSvgRoute(app: Hono<{ Bindings: Env & DecodeSettings }>): void {
  app.get('/v1/images/:imageId/detections.svg', validate('param', z.object({ imageId })), validate('query', detectionsSvgQuery), async (c) => {
    const { imageId: id } = c.req.valid('param')
    const query = c.req.valid('query')
    const json = await app.fetch(new Request(new URL(`/v1/images/${id}/detections`, c.req.url), { headers: c.req.raw.headers }), c.env, c.executionCtx)
    if (!json.ok) return json
    const { image, detections } = (await json.json()) as DetectionsAnswer
    let upstreamRequests = Number(json.headers.get('x-upstream-requests') ?? 0)
    // The kept size answers while the upstream is down, with no URL: then no other URL either.
    let thumbUrl = image.thumb_original_url
    if (thumbUrl !== null && query.size !== 'original') {
      const client = clientForRequest(c.env, c.req.header('authorization'))
      try {
        thumbUrl = await thumbUrlOf(c.env, client, c.req.header('authorization'), id, query.size, (p) => c.executionCtx.waitUntil(p))
      } catch (error) {
        // The original's URL is as fresh as the answer: a bigger picture beats a 503.
        if (!isUpstreamTrouble(error)) throw error
      }
      upstreamRequests += client.stats.requests
    }
    const svg = detectionsSvg({ id, width: image.width, height: image.height, thumbUrl }, detections, query)
    const stale = json.headers.get('x-cache') === 'stale'
    const headers: Record<string, string> = {
      'content-type': 'image/svg+xml; charset=utf-8',
      'content-security-policy': SVG_CSP,
      'x-content-type-options': 'nosniff',
      'cache-control': stale ? 'no-cache' : `public, max-age=${SVG_MAX_AGE}`,
      'x-cache': stale ? 'stale' : upstreamRequests === 0 ? 'hit' : 'miss',
      'x-upstream-requests': String(upstreamRequests),
    }
    const age = json.headers.get('age')
    if (stale && age !== null) headers.age = age
    return new Response(svg, { status: 200, headers })
  })
}

/** `thumb_{size}_url` of image `id` as the request's token sees it (asked with `client`), kept in KV as long as such URLs may be. */
async function thumbUrlOf(env: Env, client: GraphClient, authorization: string | undefined, id: string, size: Exclude<ThumbSize, 'original'>, defer: (p: Promise<unknown>) => void): Promise<string | null> {
  const identity = await requestIdentity(authorization, env)
  const field = `thumb_${size}_url`
  const key = await cacheKey('entity', { id, fields: field, identity: identityPart(identity) })
  // The upstream entity `{id, thumb_…_url}` (KEYS.md `entity`, fields the one URL field).
  const { value } = await cached(env.CACHE, key, TTL.withThumbUrls, async () => {
    const entity = await client.get<Record<string, unknown>>(`/${id}`, { fields: field })
    return { id, [field]: entity[field] ?? null }
  }, { defer })
  const url = value[field]
  return typeof url === 'string' ? url : null
}
