/**
 * @module
 * Adds `pixel_geometry` to upstream detections. A detection whose geometry cannot be decoded keeps
 * its place with `pixel_geometry: null` and the reason, so one bad tile never hides the others.
 */
import { pixelGeometry, type PixelGeometry } from './pixel-geometry'

export interface WithPixels {
  pixel_geometry: PixelGeometry | null
  pixel_geometry_error?: { reason: string; detail: string }
}

export function withPixels<D extends { geometry?: unknown }>(detection: D, width: number, height: number): D & WithPixels {
  if (typeof detection.geometry !== 'string') {
    return { ...detection, pixel_geometry: null, pixel_geometry_error: { reason: 'missing_geometry', detail: 'The upstream sent no geometry for this detection.' } }
  }
  const decoded = pixelGeometry(detection.geometry, width, height)
  return decoded.ok
    ? { ...detection, pixel_geometry: decoded.geometry }
    : { ...detection, pixel_geometry: null, pixel_geometry_error: decoded.failure }
}
