/**
 * @module
 * What one map-features sweep answers, normalised, and the name of its Durable Object: the same
 * question (whatever the order of its lists, `8.940` or `8.94`) always meets in one object.
 */
import type { UpstreamIdentity } from '../../../shared/upstream/identity'
import type { Bbox } from '../../../shared/tiling'

export interface SweepParams {
  bbox: Bbox
  /** Sorted, deduplicated; absent = no filter. */
  objectValues?: string[]
  /** Extra upstream fields for `properties`, sorted. */
  fields: string[]
}

/** Canonical text of a parameter set (`-0` is `0`). */
export function canonicalParams(p: SweepParams): string {
  return JSON.stringify({ bbox: p.bbox.map((n) => (Object.is(n, -0) ? 0 : n)), objectValues: p.objectValues ?? null, fields: p.fields })
}

/**
 * The object name for a request: exact bbox numbers (JS's shortest round-trip text), sorted object
 * values, sorted fields, and the caller's upstream identity when it is a client's (callers share a
 * run only with the same identity). Never a token.
 * @example sweepName({ bbox: [-79.54, 8.94, -79.52, 8.96], fields: [] }) // 'mf-sweep:v1:{"bbox":[-79.54,8.94,-79.52,8.96],…}'
 * @example sweepName(p, 'client:9f2c…') // 'mf-sweep:v1:{…}|client:9f2c…'
 */
export function sweepName(p: SweepParams, identity: UpstreamIdentity = 'server'): string {
  return `mf-sweep:v1:${canonicalParams(p)}${identity === 'server' ? '' : `|${identity}`}`
}
