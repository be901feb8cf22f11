/**
 * @module
 * How long each kind of answer stays in KV, in seconds.
 */

/**
 * TTLs by what the value holds. Ids, detections and geometry barely change upstream; a bbox answer
 * can gain features; anything holding a `thumb_*_url` must be short because those URLs expire
 * upstream. KV refuses an `expirationTtl` under 60 s, so nothing is shorter.
 *
 * @example
 * await cached(kv, key, TTL.withThumbUrls, produce)
 */
export const TTL = {
  /** Detections (ids, values, MVT geometry): stable. */
  detections: 86400,
  /** Map features in a box: new detections add features, so an hour. */
  mapFeaturesBbox: 3600,
  /** An entity's fields without any URL. */
  entityNoUrls: 86400,
  /** Anything with thumbnail URLs: they expire upstream, so minutes, not hours. */
  withThumbUrls: 300,
  /** An image's width and height: they never change, so a month, kept apart from its URL. */
  imageSize: 30 * 86400,
} as const

/**
 * How long an answer without URLs is kept past its TTL, to answer (stale, with `Age`) while the
 * upstream fails. Never for anything holding a URL: it would be expired.
 *
 * @example
 * await cachedText(kv, key, TTL.detections, produce, { staleIfError: { seconds: STALE_IF_ERROR.detections, when: isUpstreamTrouble } })
 */
export const STALE_IF_ERROR = {
  /** A week past the day of detections (the sequence answer, an image's or a feature's list). */
  detections: 7 * 86400,
  /** A day past the hour of a box's features. */
  mapFeaturesBbox: 86400,
} as const
