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

/**
 * Why a box cannot be swept, or `null` when it can: finite numbers, lon in [-180, 180],
 * lat in ±MAX_LAT (tiles end there), south ≤ north. `west > east` is valid (antimeridian).
 * @example bboxError([0, 10, 1, 5]) // 'south is greater than north'
 */
export function bboxError(b: readonly number[]): string | null {
  if (b.length !== 4) return 'bbox needs 4 numbers: west,south,east,north'
  if (!b.every(Number.isFinite)) return 'bbox values must be finite numbers'
  const [w, s, e, n] = b as Bbox
  if (w < -180 || w > 180 || e < -180 || e > 180) return 'longitude must be within [-180, 180]'
  if (s < -MAX_LAT || n > MAX_LAT) return `latitude must be within ±${MAX_LAT.toFixed(4)}`
  if (s > n) return 'south is greater than north'
  return null
}

/** Exact equality of two boxes (same upstream request). */
export function sameBbox(a: Bbox, b: Bbox): boolean {
  return a[0] === b[0] && a[1] === b[1] && a[2] === b[2] && a[3] === b[3]
}
