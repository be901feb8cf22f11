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
} as const
