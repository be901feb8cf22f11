/**
 * An independent oracle for pixel geometry: @mapbox/vector-tile's own decoder, scaled by the
 * spec's formula. The product decodes with its own strict reader; both must agree.
 */
import { PbfReader } from 'pbf'
import { VectorTile, classifyRings } from '@mapbox/vector-tile'

export function referencePolygons(base64: string, width: number, height: number): number[][][][] {
  const bytes = Uint8Array.from(atob(base64), (ch) => ch.charCodeAt(0))
  const tile = new VectorTile(new PbfReader(bytes))
  const polygons: number[][][][] = []
  for (const layer of Object.values(tile.layers)) {
    for (let i = 0; i < layer.length; i++) {
      const feature = layer.feature(i)
      if (feature.type !== 3) continue
      for (const polygon of classifyRings(feature.loadGeometry())) {
        polygons.push(
          polygon.map((ring) => {
            const pts = ring.map((p) => [(p.x / layer.extent) * width, (p.y / layer.extent) * height])
            const [first, last] = [pts[0]!, pts[pts.length - 1]!]
            if (first[0] !== last[0] || first[1] !== last[1]) pts.push([...first])
            return pts
          }),
        )
      }
    }
  }
  return polygons
}

export function polygonsOf(g: { type: string; coordinates: any }): number[][][][] {
  return g.type === 'Polygon' ? [g.coordinates] : g.coordinates
}
