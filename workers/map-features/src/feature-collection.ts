/**
 * @module
 * Upstream map features → the public GeoJSON FeatureCollection.
 */
import type { Feature, FeatureCollection, Point } from 'geojson'

export interface UpstreamMapFeature {
  id: string
  object_value?: string
  geometry: Point
  [field: string]: unknown
}

export function toFeatureCollection(features: readonly UpstreamMapFeature[], extraFields: readonly string[]): FeatureCollection<Point> {
  return {
    type: 'FeatureCollection',
    features: features.map(
      (f): Feature<Point> => ({
        type: 'Feature',
        id: f.id,
        geometry: { type: 'Point', coordinates: [f.geometry.coordinates[0]!, f.geometry.coordinates[1]!] },
        properties: {
          id: f.id,
          object_value: f.object_value ?? null,
          ...Object.fromEntries(extraFields.map((k) => [k, f[k] ?? null])),
        },
      }),
    ),
  }
}
