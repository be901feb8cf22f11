/**
 * @module
 * Adds `pixel_geometry` to upstream detections. A detection whose geometry cannot be decoded keeps
 * its place with `pixel_geometry: null` and the reason, so one bad tile never hides the others.
 */
import { DEFAULT_MAX_POINTS, pixelGeometry, type PixelGeometry, type PixelGeometryOptions } from './pixel-geometry'

export interface WithPixels {
  pixel_geometry: PixelGeometry | null
  pixel_geometry_error?: { reason: string; detail: string }
}

/**
 * `detection` with its `pixel_geometry` (or `null` and the reason); `options` as `pixelGeometry`'s
 * (a point cap makes a too-large tile `too_many_points`, its neighbours untouched).
 *
 * @example
 * withPixels({ id: '1', geometry: 'GiB4…' }, 4032, 3024, { maxPoints: 50_000 }) // { id: '1', geometry: 'GiB4…', pixel_geometry: { type: 'Polygon', … } }
 */
export function withPixels<D extends { geometry?: unknown }>(detection: D, width: number, height: number, options: PixelGeometryOptions = { maxPoints: DEFAULT_MAX_POINTS }): D & WithPixels {
  if (typeof detection.geometry !== 'string') {
    return { ...detection, pixel_geometry: null, pixel_geometry_error: { reason: 'missing_geometry', detail: 'The upstream sent no geometry for this detection.' } }
  }
  const decoded = pixelGeometry(detection.geometry, width, height, options)
  return decoded.ok
    ? { ...detection, pixel_geometry: decoded.geometry }
    : { ...detection, pixel_geometry: null, pixel_geometry_error: decoded.failure }
}
