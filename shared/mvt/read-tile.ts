/**
 * @module
 * A strict Mapbox Vector Tile reader for detection geometries. `pbf` happily reads random bytes, so
 * every message is bounds-checked, wire types must match the MVT schema and geometry commands must
 * follow the spec; anything else throws `CorruptTileError` with a human-readable reason.
 */
import { PbfReader } from 'pbf'

/** Polygon rings in tile units, as the command stream drew them (no closing point). */
export type TileRing = Array<[number, number]>

export interface TileFeature {
  /** 0 unknown, 1 point, 2 line, 3 polygon. */
  type: 0 | 1 | 2 | 3
  /** Decoded for polygons only; empty for other types. */
  rings: TileRing[]
}

export interface TileLayer {
  name: string
  version: number
  extent: number
  features: TileFeature[]
}

export class CorruptTileError extends Error {
  override name = 'CorruptTileError'
}

/** The tile draws more points than `ReadTileOptions.maxPoints`; thrown before the rest is decoded. */
export class TooManyPointsError extends Error {
  override name = 'TooManyPointsError'
  constructor(readonly limit: number) {
    super(`more than ${limit} points`)
  }
}

export interface ReadTileOptions {
  /**
   * Most points the polygons may hold, counted as an answer holds them: every drawn point plus each
   * ring's closing point. Past it `readTile` throws `TooManyPointsError` without reading further
   * (a 1 MiB tile can draw about 300,000 points). Default: no cap.
   */
  maxPoints?: number
}

/** Points counted so far across every layer and feature of one tile. */
interface PointBudget {
  used: number
  readonly limit: number
}

const VARINT = 0
const FIXED64 = 1
const BYTES = 2
const FIXED32 = 5

// Real detections stay inside [0, extent]; encoders may buffer a little. Far outside is garbage.
const MIN_COORD_FACTOR = -4
const MAX_COORD_FACTOR = 5

function corrupt(detail: string): never {
  throw new CorruptTileError(detail)
}

/**
 * Reads every layer of `bytes`; throws `CorruptTileError` when they are not a vector tile, and
 * `TooManyPointsError` as soon as the polygons pass `options.maxPoints`.
 *
 * @example
 * const [layer] = readTile(bytes, { maxPoints: 100_000 })
 * layer?.features.filter((f) => f.type === 3).flatMap((f) => f.rings) // [[[x, y], …], …] in tile units
 */
export function readTile(bytes: Uint8Array, options: ReadTileOptions = {}): TileLayer[] {
  const budget: PointBudget = { used: 0, limit: options.maxPoints ?? Infinity }
  const pbf = new PbfReader(bytes)
  const layers: TileLayer[] = []
  const end = bytes.length
  while (pbf.pos < end) {
    const { field, wire } = readTag(pbf, end, 'tile')
    if (field === 3) {
      expectWire(wire, BYTES, 'tile field 3 (layers)')
      const layerEnd = readLength(pbf, end, `layer ${layers.length}`)
      layers.push(readLayer(pbf, layerEnd, layers.length, budget))
    } else {
      skipField(pbf, wire, end, `tile field ${field}`)
    }
  }
  return layers
}

function readLayer(pbf: PbfReader, end: number, index: number, budget: PointBudget): TileLayer {
  const where = `layer ${index}`
  let name: string | undefined
  let version = 1
  let extent = 4096
  // Fields may come in any order: features are decoded once the layer's extent is known.
  const featureRanges: Array<[number, number]> = []
  while (pbf.pos < end) {
    const { field, wire } = readTag(pbf, end, where)
    if (field === 1) {
      expectWire(wire, BYTES, `${where} field 1 (name)`)
      const nameEnd = readLength(pbf, end, `${where} name`)
      name = readUtf8(pbf.buf.subarray(pbf.pos, nameEnd), `${where} name`)
      pbf.pos = nameEnd
    } else if (field === 2) {
      expectWire(wire, BYTES, `${where} field 2 (features)`)
      const featureEnd = readLength(pbf, end, `${where} feature ${featureRanges.length}`)
      featureRanges.push([pbf.pos, featureEnd])
      pbf.pos = featureEnd
    } else if (field === 5) {
      expectWire(wire, VARINT, `${where} field 5 (extent)`)
      extent = readVarint(pbf, end, `${where} extent`)
    } else if (field === 15) {
      expectWire(wire, VARINT, `${where} field 15 (version)`)
      version = readVarint(pbf, end, `${where} version`)
    } else if (field === 3 || field === 4) {
      // keys / values: not needed for geometry, but must be length-delimited.
      expectWire(wire, BYTES, `${where} field ${field} (${field === 3 ? 'keys' : 'values'})`)
      skipField(pbf, wire, end, `${where} field ${field}`)
    } else {
      skipField(pbf, wire, end, `${where} field ${field}`)
    }
  }
  if (!name) corrupt(`${where} has no name (every MVT layer must have one)`)
  const named = `${where} (${quoted(name)})`
  if (version !== 1 && version !== 2) corrupt(`${named} has unsupported version ${version}`)
  if (!Number.isSafeInteger(extent) || extent <= 0 || extent > 2 ** 31) corrupt(`${named} has invalid extent ${extent}`)
  const features = featureRanges.map(([start, featureEnd], i) => {
    pbf.pos = start
    return readFeature(pbf, featureEnd, extent, `${named} feature ${i}`, budget)
  })
  pbf.pos = end
  return { name, version, extent, features }
}

/** Most characters of a layer name a reason quotes: it ends up in a 422 detail (found by fuzzing). */
const MAX_QUOTED_NAME = 40

/** A layer name as a reason quotes it: cut to {@link MAX_QUOTED_NAME} characters. */
function quoted(name: string): string {
  if (name.length <= MAX_QUOTED_NAME) return `"${name}"`
  let cut = ''
  let count = 0
  for (const char of name) {
    if (count++ === MAX_QUOTED_NAME) return `"${cut}…"`
    cut += char
  }
  return `"${name}"`
}

function readFeature(pbf: PbfReader, end: number, extent: number, where: string, budget: PointBudget): TileFeature {
  let type = 0
  let geometry: [number, number] | undefined
  while (pbf.pos < end) {
    const { field, wire } = readTag(pbf, end, where)
    if (field === 1) {
      expectWire(wire, VARINT, `${where} field 1 (id)`)
      readVarint(pbf, end, `${where} id`)
    } else if (field === 2) {
      expectWire(wire, BYTES, `${where} field 2 (tags)`)
      skipField(pbf, wire, end, `${where} tags`)
    } else if (field === 3) {
      expectWire(wire, VARINT, `${where} field 3 (type)`)
      type = readVarint(pbf, end, `${where} type`)
    } else if (field === 4) {
      expectWire(wire, BYTES, `${where} field 4 (geometry)`)
      const geometryEnd = readLength(pbf, end, `${where} geometry`)
      geometry = [pbf.pos, geometryEnd]
      pbf.pos = geometryEnd
    } else {
      skipField(pbf, wire, end, `${where} field ${field}`)
    }
  }
  if (type !== 0 && type !== 1 && type !== 2 && type !== 3) corrupt(`${where} has unknown geometry type ${type}`)
  if (type !== 3 || geometry === undefined) return { type, rings: [] }
  pbf.pos = geometry[0]
  const rings = readPolygonRings(pbf, geometry[1], extent, where, budget)
  pbf.pos = end
  return { type, rings }
}

/** Decodes a polygon command stream: per ring MoveTo(1), LineTo(n), ClosePath(1), zigzag deltas. */
function readPolygonRings(pbf: PbfReader, end: number, extent: number, where: string, budget: PointBudget): TileRing[] {
  const rings: TileRing[] = []
  let ring: TileRing | undefined
  let open = false
  let x = 0
  let y = 0
  const min = extent * MIN_COORD_FACTOR
  const max = extent * MAX_COORD_FACTOR
  // Counted before the point is read: a long command run stops at the cap, not at its end.
  const spend = (points: number): void => {
    budget.used += points
    if (budget.used > budget.limit) throw new TooManyPointsError(budget.limit)
  }
  const readPoint = (): [number, number] => {
    x += readSVarint(pbf, end, `${where} geometry`)
    y += readSVarint(pbf, end, `${where} geometry`)
    if (x < min || x > max || y < min || y > max) {
      corrupt(`${where} has a point (${x}, ${y}) far outside the tile extent ${extent}`)
    }
    return [x, y]
  }
  while (pbf.pos < end) {
    const commandInt = readVarint(pbf, end, `${where} geometry`)
    if (commandInt > 0xffffffff) corrupt(`${where} has an out-of-range geometry command ${commandInt}`)
    const id = commandInt & 0x7
    const count = Math.floor(commandInt / 8)
    if (id === 1) {
      if (count !== 1) corrupt(`${where}: a polygon MoveTo must have count 1, got ${count}`)
      if (open) corrupt(`${where}: ring ${rings.length - 1} is not closed by ClosePath`)
      spend(2) // the start, and the copy of it that closes the ring in an answer
      ring = [readPoint()]
      rings.push(ring)
      open = true
    } else if (id === 2) {
      if (!open || !ring) corrupt(`${where}: LineTo without a preceding MoveTo`)
      if (count === 0) corrupt(`${where}: LineTo with count 0`)
      for (let i = 0; i < count; i++) {
        spend(1)
        ring.push(readPoint())
      }
    } else if (id === 7) {
      if (count !== 1) corrupt(`${where}: ClosePath must have count 1, got ${count}`)
      if (!open) corrupt(`${where}: ClosePath without an open ring`)
      open = false
    } else {
      corrupt(`${where} has unknown geometry command ${id}`)
    }
  }
  if (open) corrupt(`${where}: last ring is not closed by ClosePath`)
  return rings
}

function readTag(pbf: PbfReader, end: number, where: string): { field: number; wire: number } {
  const tag = readVarint(pbf, end, `${where} field tag`)
  const field = Math.floor(tag / 8)
  // Protobuf field numbers are 1 … 2^29-1; 0 or larger is not protobuf at all.
  if (field === 0 || field > 0x1fffffff) corrupt(`${where} has an invalid field number ${field}`)
  return { field, wire: tag & 0x7 }
}

function expectWire(wire: number, expected: number, what: string): void {
  if (wire !== expected) corrupt(`${what} has wire type ${wire}, expected ${expected}`)
}

function skipField(pbf: PbfReader, wire: number, end: number, where: string): void {
  if (wire === VARINT) readVarint(pbf, end, where)
  else if (wire === FIXED64) pbf.pos += 8
  else if (wire === BYTES) pbf.pos = readLength(pbf, end, where)
  else if (wire === FIXED32) pbf.pos += 4
  else corrupt(`${where} has unsupported wire type ${wire}`)
  checkPos(pbf, end, where)
}

/** Reads a length prefix and returns where the value ends, checked against the enclosing `end`. */
function readLength(pbf: PbfReader, end: number, where: string): number {
  const length = readVarint(pbf, end, `${where} length`)
  const valueEnd = pbf.pos + length
  if (valueEnd > end) corrupt(`${where} is truncated: needs ${length} bytes, ${end - pbf.pos} left`)
  return valueEnd
}

function readVarint(pbf: PbfReader, end: number, where: string): number {
  const start = pbf.pos
  let value: number
  try {
    value = pbf.readVarint()
  } catch {
    corrupt(`${where}: malformed varint at byte ${start}`)
  }
  checkPos(pbf, end, where)
  if (!Number.isFinite(value) || value < 0) corrupt(`${where}: malformed varint at byte ${start}`)
  return value
}

function readSVarint(pbf: PbfReader, end: number, where: string): number {
  const n = readVarint(pbf, end, where)
  return n % 2 === 1 ? (n + 1) / -2 : n / 2
}

function checkPos(pbf: PbfReader, end: number, where: string): void {
  if (pbf.pos > end) corrupt(`${where} is truncated (runs past byte ${end})`)
}

const utf8 = new TextDecoder('utf-8', { fatal: true, ignoreBOM: false })

// Strict UTF-8: random bytes rarely form valid text, a cheap signal that this is not a tile.
function readUtf8(bytes: Uint8Array, where: string): string {
  try {
    return utf8.decode(bytes)
  } catch {
    corrupt(`${where} is not valid UTF-8`)
  }
}
