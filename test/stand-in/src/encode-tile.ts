/**
 * @module
 * A minimal Mapbox Vector Tile 2.1 encoder. The stand-in uses it to serve realistic detection
 * geometries and tests use it to hand-make tiles; product code only ever decodes (shared/mvt).
 */
import { PbfWriter } from 'pbf'

type XY = [number, number]

export interface TileFeatureInput {
  id?: number
  /** 1 point, 2 line, 3 polygon. */
  type: 1 | 2 | 3
  /** Integer tile coordinates. Polygon rings WITHOUT the closing point; winding is the caller's (see `orientRings`). */
  rings: Array<Array<[number, number]>>
  properties?: Record<string, string | number | boolean>
}

export interface TileLayerInput {
  name: string
  /** Default 4096. */
  extent?: number
  features: TileFeatureInput[]
}

const MOVE_TO = 1
const LINE_TO = 2
const CLOSE_PATH = 7

const command = (id: number, count: number): number => (id & 0x7) | (count << 3)
const zigzag = (n: number): number => (n << 1) ^ (n >> 31)

/** Encodes `layers` as one tile (each layer version 2, in the given order). */
export function encodeTile(layers: TileLayerInput[]): Uint8Array {
  const pbf = new PbfWriter()
  for (const layer of layers) pbf.writeMessage(3, writeLayer, layer)
  return pbf.finish()
}

function writeLayer(layer: TileLayerInput, pbf: PbfWriter): void {
  // Keys and values are shared tables; features point into them by index.
  const keys: string[] = []
  const keyIndex = new Map<string, number>()
  const values: Array<string | number | boolean> = []
  const valueIndex = new Map<string, number>()
  const tagsOf = (feature: TileFeatureInput): number[] => {
    const tags: number[] = []
    for (const [key, value] of Object.entries(feature.properties ?? {})) {
      let k = keyIndex.get(key)
      if (k === undefined) {
        k = keys.push(key) - 1
        keyIndex.set(key, k)
      }
      const vKey = `${typeof value}:${String(value)}`
      let v = valueIndex.get(vKey)
      if (v === undefined) {
        v = values.push(value) - 1
        valueIndex.set(vKey, v)
      }
      tags.push(k, v)
    }
    return tags
  }

  // Field order as in Mapillary's own tiles, so the real samples re-encode byte for byte.
  pbf.writeVarintField(15, 2)
  pbf.writeStringField(1, layer.name)
  pbf.writeVarintField(5, layer.extent ?? 4096)
  for (const feature of layer.features) {
    pbf.writeMessage(2, writeFeature, { feature, tags: tagsOf(feature) })
  }
  for (const key of keys) pbf.writeStringField(3, key)
  for (const value of values) pbf.writeMessage(4, writeValue, value)
}

function writeFeature({ feature, tags }: { feature: TileFeatureInput; tags: number[] }, pbf: PbfWriter): void {
  pbf.writeVarintField(3, feature.type)
  if (feature.id !== undefined) pbf.writeVarintField(1, feature.id)
  if (tags.length > 0) pbf.writePackedVarint(2, tags)
  pbf.writePackedVarint(4, geometryCommands(feature))
}

function writeValue(value: string | number | boolean, pbf: PbfWriter): void {
  if (typeof value === 'string') pbf.writeStringField(1, value)
  else if (typeof value === 'boolean') pbf.writeBooleanField(7, value)
  else if (!Number.isInteger(value)) pbf.writeDoubleField(3, value)
  else if (value >= 0) pbf.writeVarintField(5, value)
  else pbf.writeSVarintField(6, value)
}

/** The geometry command stream: MoveTo/LineTo/ClosePath with zigzag deltas from the cursor. */
function geometryCommands(feature: TileFeatureInput): number[] {
  const out: number[] = []
  let cx = 0
  let cy = 0
  const emit = (points: XY[]): void => {
    for (const [x, y] of points) {
      if (!Number.isInteger(x) || !Number.isInteger(y)) throw new RangeError(`tile coordinates must be integers, got ${x},${y}`)
      out.push(zigzag(x - cx), zigzag(y - cy))
      cx = x
      cy = y
    }
  }
  if (feature.type === 1) {
    // All points of a (multi)point go in one MoveTo.
    const points = feature.rings.flat()
    if (points.length === 0) return out
    out.push(command(MOVE_TO, points.length))
    emit(points)
    return out
  }
  for (const ring of feature.rings) {
    const [first, ...rest] = ring
    if (first === undefined) continue
    out.push(command(MOVE_TO, 1))
    emit([first])
    if (rest.length > 0) {
      out.push(command(LINE_TO, rest.length))
      emit(rest)
    }
    if (feature.type === 3) out.push(command(CLOSE_PATH, 1))
  }
  return out
}

/** Signed area by the MVT spec's formula: positive for an exterior ring (clockwise on screen, y down). */
export function ringArea(ring: ReadonlyArray<readonly [number, number]>): number {
  let sum = 0
  for (let i = 0; i < ring.length; i++) {
    const [x1, y1] = ring[i]!
    const [x2, y2] = ring[(i + 1) % ring.length]!
    sum += x1 * y2 - x2 * y1
  }
  return sum / 2
}

/**
 * Makes one polygon's winding MVT-correct whatever it was: the first ring becomes the exterior
 * (positive area), every later ring a hole (negative). Reversal keeps each ring's first point.
 */
export function orientRings(polygon: Array<Array<[number, number]>>): Array<Array<[number, number]>> {
  return polygon.map((ring, i) => {
    const area = ringArea(ring)
    const wantPositive = i === 0
    if (area === 0 || area > 0 === wantPositive) return ring.map((p) => [p[0], p[1]])
    const [first, ...rest] = ring
    return first === undefined ? [] : [[first[0], first[1]], ...rest.reverse().map((p): [number, number] => [p[0], p[1]])]
  })
}
