import { describe, expect, it } from 'vitest'
import { PbfWriter } from 'pbf'
import { CorruptTileError, readTile } from './read-tile'
import { encodeTile } from './encode-tile'

const MOVE = 1
const LINE = 2
const CLOSE = 7
const cmd = (id: number, count: number): number => (id & 7) | (count << 3)
const zz = (n: number): number => (n << 1) ^ (n >> 31)
const square = [cmd(MOVE, 1), zz(10), zz(10), cmd(LINE, 3), zz(10), 0, 0, zz(10), zz(-10), 0, cmd(CLOSE, 1)]

interface RawLayer {
  name?: string
  version?: number
  extent?: number
  /** Write the extent after the features (legal protobuf, unusual order). */
  extentLast?: boolean
  features: Array<{ type?: number; geometry?: number[] }>
}

/** Hand-rolled tile bytes, for shapes `encodeTile` refuses to produce. */
function rawTile(...layers: RawLayer[]): Uint8Array {
  const pbf = new PbfWriter()
  for (const layer of layers) {
    pbf.writeMessage(3, (l: RawLayer, p: PbfWriter) => {
      if (l.version !== undefined) p.writeVarintField(15, l.version)
      if (l.name !== undefined) p.writeStringField(1, l.name)
      if (l.extent !== undefined && !l.extentLast) p.writeVarintField(5, l.extent)
      for (const f of l.features) {
        p.writeMessage(2, (ff: { type?: number; geometry?: number[] }, q: PbfWriter) => {
          if (ff.type !== undefined) q.writeVarintField(3, ff.type)
          if (ff.geometry) q.writePackedVarint(4, ff.geometry)
        }, f)
      }
      if (l.extent !== undefined && l.extentLast) p.writeVarintField(5, l.extent)
    }, layer)
  }
  return pbf.finish()
}

const corruptMessage = (bytes: Uint8Array): string => {
  try {
    readTile(bytes)
  } catch (error) {
    expect(error).toBeInstanceOf(CorruptTileError)
    return (error as Error).message
  }
  throw new Error('expected readTile to reject these bytes')
}

describe('readTile: valid tiles', () => {
  it('reads a polygon ring without the closing point', () => {
    const [layer] = readTile(rawTile({ name: 'mpy-or', version: 2, extent: 4096, features: [{ type: 3, geometry: square }] }))
    expect(layer).toEqual({ name: 'mpy-or', version: 2, extent: 4096, features: [{ type: 3, rings: [[[10, 10], [20, 10], [20, 20], [10, 20]]] }] })
  })

  it('defaults extent to 4096 and version to 1 when absent', () => {
    const [layer] = readTile(rawTile({ name: 'l', features: [] }))
    expect(layer?.extent).toBe(4096)
    expect(layer?.version).toBe(1)
  })

  it('honours an extent written after the features', () => {
    const [layer] = readTile(rawTile({ name: 'l', extent: 30, extentLast: true, features: [{ type: 3, geometry: square }] }))
    expect(layer?.extent).toBe(30)
    expect(layer?.features[0]?.rings[0]).toHaveLength(4)
  })

  it('keeps every layer, even two sharing a name (vector-tile-js would keep only one)', () => {
    const layers = readTile(rawTile({ name: 'same', features: [{ type: 3, geometry: square }] }, { name: 'same', features: [{ type: 3, geometry: square }] }))
    expect(layers).toHaveLength(2)
  })

  it('skips unknown fields with valid wire types', () => {
    const known = encodeTile([{ name: 'l', features: [{ type: 3, rings: [[[0, 0], [5, 0], [5, 5]]] }] }])
    // Tile field 20 (in the MVT extension range), varint 1, before the layer; tag 160 is varint a0 01.
    const bytes = Uint8Array.from([0xa0, 0x01, 1, ...known])
    expect(readTile(bytes)).toHaveLength(1)
  })

  it('does not decode point and line geometry (only polygons are needed)', () => {
    const [layer] = readTile(encodeTile([{ name: 'l', features: [{ type: 1, rings: [[[1, 1]]] }, { type: 2, rings: [[[0, 0], [3, 3]]] }] }]))
    expect(layer?.features).toEqual([{ type: 1, rings: [] }, { type: 2, rings: [] }])
  })

  it('zero bytes are a tile with zero layers', () => {
    expect(readTile(new Uint8Array(0))).toEqual([])
  })
})

describe('readTile: corrupt tiles throw CorruptTileError with a reason', () => {
  it.each<[string, number[], RegExp]>([
    ['unknown geometry command 3', [cmd(3, 1), 0, 0], /unknown geometry command 3/],
    ['LineTo before any MoveTo', [cmd(LINE, 1), 2, 2], /LineTo without a preceding MoveTo/],
    ['polygon MoveTo with count 2', [cmd(MOVE, 2), 0, 0, 2, 2], /MoveTo must have count 1/],
    ['LineTo with count 0', [cmd(MOVE, 1), 0, 0, cmd(LINE, 0), cmd(CLOSE, 1)], /LineTo with count 0/],
    ['ClosePath with count 2', [cmd(MOVE, 1), 0, 0, cmd(LINE, 2), 2, 0, 0, 2, cmd(CLOSE, 2)], /ClosePath must have count 1/],
    ['ClosePath without a ring', [cmd(CLOSE, 1)], /ClosePath without an open ring/],
    ['last ring not closed', [cmd(MOVE, 1), 0, 0, cmd(LINE, 2), 2, 0, 0, 2], /last ring is not closed/],
    ['new ring before ClosePath', [cmd(MOVE, 1), 0, 0, cmd(LINE, 2), 2, 0, 0, 2, cmd(MOVE, 1), 0, 0], /ring 0 is not closed/],
    ['LineTo count larger than its parameters', [cmd(MOVE, 1), 0, 0, cmd(LINE, 1000)], /truncated|malformed/],
    ['a coordinate absurdly far outside the extent', [cmd(MOVE, 1), zz(4096 * 6), 0, cmd(LINE, 2), 2, 0, 0, 2, cmd(CLOSE, 1)], /far outside the tile extent/],
  ])('%s', (_name, geometry, message) => {
    expect(corruptMessage(rawTile({ name: 'l', features: [{ type: 3, geometry }] }))).toMatch(message)
  })

  it('a layer without a name', () => {
    expect(corruptMessage(rawTile({ features: [] }))).toMatch(/has no name/)
  })

  it('an unsupported layer version', () => {
    expect(corruptMessage(rawTile({ name: 'l', version: 3, features: [] }))).toMatch(/unsupported version 3/)
  })

  it('extent 0 (would divide by zero)', () => {
    expect(corruptMessage(rawTile({ name: 'l', extent: 0, features: [] }))).toMatch(/invalid extent 0/)
  })

  it('an unknown geometry type', () => {
    expect(corruptMessage(rawTile({ name: 'l', features: [{ type: 9, geometry: square }] }))).toMatch(/unknown geometry type 9/)
  })

  it('a field with the wrong wire type (layers as a varint)', () => {
    expect(corruptMessage(Uint8Array.from([(3 << 3) | 0, 5]))).toMatch(/wire type 0, expected 2/)
  })

  it('a field numbered 0', () => {
    expect(corruptMessage(new Uint8Array(8))).toMatch(/invalid field number 0/)
  })

  it('group wire types (3, 4) are not supported', () => {
    expect(corruptMessage(Uint8Array.from([(7 << 3) | 3]))).toMatch(/unsupported wire type 3/)
  })

  it('a layer length running past the end of the bytes', () => {
    expect(corruptMessage(Uint8Array.from([0x1a, 0x20, 0x78, 0x02]))).toMatch(/truncated/)
  })

  it('a varint cut off by the end of the bytes', () => {
    expect(corruptMessage(Uint8Array.from([0x1a, 0x80]))).toMatch(/malformed varint|truncated/)
  })

  it('a layer name that is not UTF-8', () => {
    const bytes = Uint8Array.from([0x1a, 0x04, 0x0a, 0x02, 0xff, 0xfe])
    expect(corruptMessage(bytes)).toMatch(/not valid UTF-8/)
  })
})
