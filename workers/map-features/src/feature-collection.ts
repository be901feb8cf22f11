/**
 * @module
 * Upstream map features → the public GeoJSON FeatureCollection, as JSON text. Each feature is
 * written once, when its cell completes (while other cells are still in flight); the answer is
 * then only joined, not built and serialised again at the end.
 */
import type { Feature, Point } from 'geojson'

export interface UpstreamMapFeature {
  id: string
  object_value?: string
  geometry: Point
  [field: string]: unknown
}

function toFeature(f: UpstreamMapFeature, extraFields: readonly string[]): Feature<Point> {
  return {
    type: 'Feature',
    id: f.id,
    geometry: { type: 'Point', coordinates: [f.geometry.coordinates[0]!, f.geometry.coordinates[1]!] },
    properties: {
      id: f.id,
      object_value: f.object_value ?? null,
      ...Object.fromEntries(extraFields.map((k) => [k, f[k] ?? null])),
    },
  }
}

/** One feature's GeoJSON text. `JSON.stringify` escapes newlines, so texts can be stored newline-separated. */
export function featureJson(f: UpstreamMapFeature, extraFields: readonly string[]): string {
  return JSON.stringify(toFeature(f, extraFields))
}

/** A FeatureCollection's text from its features' texts, in order. */
export function featureCollectionJson(features: readonly string[]): string {
  return `{"type":"FeatureCollection","features":[${features.join(',')}]}`
}
