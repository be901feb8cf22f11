/**
 * @module
 * Types for `@mapbox/tile-cover` 3.x (CommonJS, no types package): the oracle of the FAQ baseline
 * (faq-baseline.test.ts). The bench (bench/run.mjs) uses it untyped.
 */
declare module '@mapbox/tile-cover' {
  import type { Geometry } from 'geojson'
  export interface Limits {
    min_zoom: number
    max_zoom: number
  }
  /** Tiles `[x, y, z]` covering the geometry. */
  export function tiles(geom: Geometry, limits: Limits): [number, number, number][]
  export function indexes(geom: Geometry, limits: Limits): string[]
}
