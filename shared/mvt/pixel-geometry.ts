/**
 * @module
 * Turns an upstream detection `geometry` (base64 Mapbox Vector Tile) into image pixels, exactly as
 * docs/api-v1.md "Pixel geometry" says: every layer, every polygon feature, rings grouped by the MVT
 * winding rule, each point scaled by its layer's extent, origin top-left, y down (no flip), rings
 * closed; every exterior clockwise on screen and its holes the other way, whatever way the tile drew
 * them. Never throws: bad input comes back as a tagged failure, and so does a tile past an optional
 * cap on points (`too_many_points`).
 */
import type { MultiPolygon, Polygon, Position } from 'geojson'
import { classifyRings } from '@mapbox/vector-tile'
import { decodeBase64 } from './base64'
import { CorruptTileError, readTile, TooManyPointsError, type TileLayer, type TileRing } from './read-tile'

export type PixelGeometry = Polygon | MultiPolygon
export type DecodeFailure = { reason: 'invalid_base64' | 'corrupt_tile' | 'empty_tile' | 'too_many_points'; detail: string }
/**
 * The point cap a detection's pixel geometry gets unless told otherwise: 50,000 points, far more
 * than a detection's outline (Mapillary's real ones hold tens to a few hundred) and about 1.5 MB of
 * JSON at most; a 300,000-point ring gave 11.7 MB before there was a cap.
 */
export const DEFAULT_MAX_POINTS = 50_000

export interface PixelGeometryOptions {
  /**
   * Most points the answer may hold (closing points included). A tile drawing more fails with
   * `too_many_points` as soon as the count passes it, the rest left unread. Default: no cap.
   */
  maxPoints?: number
}
export type DecodeResult = { ok: true; geometry: PixelGeometry } | { ok: false; failure: DecodeFailure }

type ClassifyInput = Parameters<typeof classifyRings>[0]
/** What `classifyRings` reads of a point (it only uses x and y); keeps the ring it came from. */
interface RingPoint { x: number; y: number }

const fail = (reason: DecodeFailure['reason'], detail: string): DecodeResult => ({ ok: false, failure: { reason, detail } })

/**
 * Pixel polygon(s) of a base64 detection tile drawn over a `width` × `height` image.
 *
 * @example
 * const decoded = pixelGeometry('GiB4AgoGbXB5LW9yKIAgEhEYAwgBIgsJ9CuaJRIcAAAMDw==', 4032, 3024, { maxPoints: 100_000 })
 * if (decoded.ok) decoded.geometry // { type: 'Polygon', coordinates: [[[x, y], …, [x, y]]] }
 * else decoded.failure // { reason: 'corrupt_tile' | 'too_many_points' | …, detail: '…' }
 */
export function pixelGeometry(base64: string, width: number, height: number, options: PixelGeometryOptions = {}): DecodeResult {
  const bytes = decodeBase64(base64)
  if (bytes === null) return fail('invalid_base64', 'The geometry is not valid base64 (standard or URL-safe alphabet).')
  return pixelGeometryFromBytes(bytes, width, height, options)
}

/** As `pixelGeometry`, for tile bytes already decoded. */
export function pixelGeometryFromBytes(bytes: Uint8Array, width: number, height: number, options: PixelGeometryOptions = {}): DecodeResult {
  let layers: TileLayer[]
  try {
    layers = readTile(bytes, { maxPoints: options.maxPoints })
  } catch (error) {
    if (error instanceof TooManyPointsError) {
      return fail('too_many_points', `The geometry holds more than ${error.limit} points, the most one decode answers.`)
    }
    const why = error instanceof CorruptTileError ? error.message : String(error)
    return fail('corrupt_tile', `The geometry is not a valid Mapbox Vector Tile: ${why}.`)
  }
  try {
    const polygons: Position[][][] = []
    for (const layer of layers) {
      const sx = width / layer.extent
      const sy = height / layer.extent
      for (const feature of layer.features) {
        if (feature.type !== 3) continue
        for (const polygon of groupRings(feature.rings)) {
          // Same point → pixel formula for every ring; closing point appended after scaling.
          polygons.push(polygon.map((ring) => closeRing(ring.map(([x, y]) => [x * sx, y * sy]))))
        }
      }
    }
    const [only] = polygons
    if (only === undefined) {
      const polygonFeatures = layers.reduce((n, l) => n + l.features.filter((f) => f.type === 3).length, 0)
      return fail('empty_tile', `The tile holds no polygon with an area (${layers.length} layer(s), ${polygonFeatures} polygon feature(s)).`)
    }
    const geometry: PixelGeometry = polygons.length === 1 ? { type: 'Polygon', coordinates: only } : { type: 'MultiPolygon', coordinates: polygons }
    return { ok: true, geometry }
  } catch (error) {
    // Defensive: the reader has validated everything, but this function must never throw.
    return fail('corrupt_tile', `The geometry could not be decoded: ${String(error)}.`)
  }
}

/**
 * One feature's rings → polygons (exterior first, then its holes) via vector-tile-js's
 * `classifyRings`. Degenerate rings (fewer than 3 distinct points, or zero area) are dropped first:
 * they have no winding, and `classifyRings` would keep a lone one as a polygon.
 */
function groupRings(rings: TileRing[]): TileRing[][] {
  const usable = rings.map(withoutRepeatedStart).filter((ring) => hasThreeDistinctPoints(ring) && signedArea(ring) !== 0)
  if (usable.length === 0) return []
  const byPoint = new Map<RingPoint[], TileRing>()
  const input = usable.map((ring) => {
    const points = ring.map(([x, y]) => ({ x, y }))
    byPoint.set(points, ring)
    return points
  })
  const grouped = classifyRings(input as unknown as ClassifyInput) as unknown as RingPoint[][][]
  return grouped.map((polygon) => clockwise(polygon.map((points) => byPoint.get(points) ?? points.map((p): [number, number] => [p.x, p.y]))))
}

/**
 * One winding for every answer: the exterior clockwise on screen (the MVT rule, positive area),
 * holes the other way. `classifyRings` takes each feature's first ring as the exterior whatever
 * its sign, so a feature drawn the other way round would otherwise sit in a MultiPolygon wound
 * unlike its neighbours (found by fuzzing). Holes are always wound opposite to their exterior.
 */
function clockwise(polygon: TileRing[]): TileRing[] {
  const [exterior] = polygon
  if (exterior === undefined || signedArea(exterior) > 0) return polygon
  return polygon.map(reversed)
}

/** The same ring drawn the other way, from the same first point. */
function reversed(ring: TileRing): TileRing {
  return ring.length === 0 ? ring : [ring[0]!, ...ring.slice(1).reverse()]
}

/** Some encoders also draw the first point again before ClosePath; drop it so closing doesn't double it. */
function withoutRepeatedStart(ring: TileRing): TileRing {
  const out = ring.slice()
  const first = out[0]
  while (out.length > 1 && first !== undefined && out[out.length - 1]![0] === first[0] && out[out.length - 1]![1] === first[1]) out.pop()
  return out
}

/** Stops at the third distinct point: no set of every point (a 1 MiB ring has 390,000 of them). */
function hasThreeDistinctPoints(ring: TileRing): boolean {
  const [first] = ring
  if (first === undefined) return false
  let second: [number, number] | undefined
  for (const point of ring) {
    if (point[0] === first[0] && point[1] === first[1]) continue
    if (second === undefined) second = point
    else if (point[0] !== second[0] || point[1] !== second[1]) return true
  }
  return false
}

function signedArea(ring: TileRing): number {
  let sum = 0
  for (let i = 0; i < ring.length; i++) {
    const [x1, y1] = ring[i]!
    const [x2, y2] = ring[(i + 1) % ring.length]!
    sum += x1 * y2 - x2 * y1
  }
  return sum
}

function closeRing(ring: Position[]): Position[] {
  const first = ring[0]
  return first === undefined ? ring : [...ring, [first[0]!, first[1]!]]
}
