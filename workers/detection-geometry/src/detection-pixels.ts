/**
 * @module
 * A detection in its image's pixels, bounded: a geometry drawing more than MAX_DECODE_POINTS
 * points (a hostile or broken upstream tile) keeps its place with `pixel_geometry: null` and the
 * reason `too_many_points`, decoded no further, so one huge tile neither swells the answer nor
 * hides the other detections.
 */
import { pixelGeometry } from '../../../shared/mvt/pixel-geometry'
import { withPixels, type WithPixels } from '../../../shared/mvt/with-pixels'

/**
 * `withPixels` with the point cap. (Once `withPixels` takes pixelGeometry's options, this is
 * `withPixels(detection, width, height, { maxPoints })`.)
 *
 * @example
 * detectionPixels({ id: '1', geometry: hugeTile }, 4032, 3024, 50_000)
 * // { id: '1', geometry: hugeTile, pixel_geometry: null, pixel_geometry_error: { reason: 'too_many_points', detail: '…' } }
 */
export function detectionPixels<D extends { geometry?: unknown }>(detection: D, width: number, height: number, maxPoints: number): D & WithPixels {
  if (typeof detection.geometry !== 'string') return withPixels(detection, width, height)
  const decoded = pixelGeometry(detection.geometry, width, height, { maxPoints })
  return decoded.ok ? { ...detection, pixel_geometry: decoded.geometry } : { ...detection, pixel_geometry: null, pixel_geometry_error: decoded.failure }
}
