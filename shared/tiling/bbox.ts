/**
 * @module
 * Bounding-box predicates: antimeridian split, edge-inclusive membership, area, validity.
 */
import { MAX_LAT } from './tile-math'
import type { Bbox } from './types'

/**
 * A box crossing the antimeridian (`west > east`) as its two non-crossing halves; else `[b]`.
 * @example splitAtAntimeridian([179.5, -17, -179.5, -16]) // [[179.5,-17,180,-16],[-180,-17,-179.5,-16]]
 */
export function splitAtAntimeridian(b: Bbox): Bbox[] {
  const [w, s, e, n] = b
  if (w > e) return [[w, s, 180, n], [-180, s, e, n]]
  return [[w, s, e, n]]
}

/**
 * Whether a `[lon, lat]` point lies in the box, all four edges included; a crossing box
 * (`west > east`) holds both sides of the antimeridian. Non-finite coordinates are outside.
 * @example inBbox([10, 20], [10, 20, 11, 21]) // true (corner)
 */
export function inBbox(lonLat: readonly [number, number] | readonly number[], b: Bbox): boolean {
  const lon = lonLat[0]
  const lat = lonLat[1]
  if (typeof lon !== 'number' || typeof lat !== 'number') return false
  if (!Number.isFinite(lon) || !Number.isFinite(lat)) return false
  const [w, s, e, n] = b
  if (lat < s || lat > n) return false
  return w <= e ? lon >= w && lon <= e : lon >= w || lon <= e
}

/** Longitude span in degrees, antimeridian-aware. */
export function bboxWidth(b: Bbox): number {
  const [w, , e] = b
  return w <= e ? e - w : 180 - w + (e + 180)
}

/**
 * Area in square degrees (lon span × lat span), antimeridian-aware: what a "box too large"
 * limit is checked against.
 * @example bboxArea([179.5, -17, -179.5, -16]) // 1
 */
export function bboxArea(b: Bbox): number {
  return bboxWidth(b) * (b[3] - b[1])
}

/** The four numbers of a box, in order, as messages name them. */
export const BBOX_EDGES = ['west', 'south', 'east', 'north'] as const

/**
 * Latitude bound of a box: web-mercator tiles end at ±{@link MAX_LAT} (85.05112877…); the public
 * contract (docs/api-v1.md) states it to 4 decimals, rounded inwards: 85.0511.
 */
export const BBOX_MAX_LAT = Math.floor(MAX_LAT * 1e4) / 1e4

/**
 * The one rule for a box (the public `bbox` parameter and the planner both apply it): why it
 * cannot be swept, or `null` when it can. Finite numbers, longitudes in [-180, 180], latitudes
 * within ±{@link BBOX_MAX_LAT}, south ≤ north; `west > east` is valid (antimeridian).
 * @example bboxError([0, 10, 1, 5]) // 'south 10 is greater than north 5'
 */
export function bboxError(b: readonly number[]): string | null {
  if (b.length !== 4) return `needs 4 numbers west,south,east,north; got ${b.length}`
  const bad = b.findIndex((v) => !Number.isFinite(v))
  if (bad >= 0) return `${BBOX_EDGES[bad]} ${b[bad]} is not a finite number`
  const [w, s, e, n] = b as Bbox
  for (const [edge, v] of [['west', w], ['east', e]] as const) {
    if (v < -180 || v > 180) return `${edge} ${v} is outside [-180, 180]`
  }
  for (const [edge, v] of [['south', s], ['north', n]] as const) {
    if (v < -BBOX_MAX_LAT || v > BBOX_MAX_LAT) return `${edge} ${v} is outside [-${BBOX_MAX_LAT}, ${BBOX_MAX_LAT}]`
  }
  if (s > n) return `south ${s} is greater than north ${n}`
  return null
}

/** Exact equality of two boxes (same upstream request). */
export function sameBbox(a: Bbox, b: Bbox): boolean {
  return a[0] === b[0] && a[1] === b[1] && a[2] === b[2] && a[3] === b[3]
}
