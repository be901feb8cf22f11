import { describe, expect, it } from 'vitest'
import { PbfWriter } from 'pbf'
import { CorruptTileError, readTile } from './read-tile'
import { encodeTile } from '../../test/stand-in/src/encode-tile'

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

// Found by mutation testing (`npm run mutate`): each test below pins a value a mutant changed.
/** Bytes from hex, spaces ignored. */
const hex = (s: string): Uint8Array => Uint8Array.from(s.replace(/\s+/g, '').match(/../g)!.map((b) => Number.parseInt(b, 16)))
/** A tile of one layer whose content is `body` (hex), the length prefixed (bodies under 128 bytes). */
const layerTile = (body: string): Uint8Array => {
  const content = hex(body)
  return Uint8Array.from([0x1a, content.length, ...content])
}
const NAME_L = '0a 01 6c' // field 1, "l"

describe('readTile: the reason in full (it ends up in the 422 detail)', () => {
  const feature0 = 'layer 0 ("l") feature 0'
  it.each<[string, Uint8Array, string]>([
    ['unknown command', rawTile({ name: 'l', features: [{ type: 3, geometry: [cmd(3, 1), 0, 0] }] }), `${feature0} has unknown geometry command 3`],
    ['LineTo first', rawTile({ name: 'l', features: [{ type: 3, geometry: [cmd(LINE, 1), 2, 2] }] }), `${feature0}: LineTo without a preceding MoveTo`],
    ['LineTo after ClosePath', rawTile({ name: 'l', features: [{ type: 3, geometry: [...square, cmd(LINE, 1), 2, 2] }] }), `${feature0}: LineTo without a preceding MoveTo`],
    ['MoveTo count 2', rawTile({ name: 'l', features: [{ type: 3, geometry: [cmd(MOVE, 2), 0, 0, 2, 2] }] }), `${feature0}: a polygon MoveTo must have count 1, got 2`],
    ['ClosePath alone', rawTile({ name: 'l', features: [{ type: 3, geometry: [cmd(CLOSE, 1)] }] }), `${feature0}: ClosePath without an open ring`],
    ['ring left open', rawTile({ name: 'l', features: [{ type: 3, geometry: [cmd(MOVE, 1), 0, 0, cmd(LINE, 2), 2, 0, 0, 2, cmd(MOVE, 1), 0, 0] }] }), `${feature0}: ring 0 is not closed by ClosePath`],
    ['far point', rawTile({ name: 'l', features: [{ type: 3, geometry: [cmd(MOVE, 1), zz(4096 * 6), 0] }] }), `${feature0} has a point (24576, 0) far outside the tile extent 4096`],
    ['command past 32 bits', rawTile({ name: 'l', features: [{ type: 3, geometry: [2 ** 32] }] }), `${feature0} has an out-of-range geometry command 4294967296`],
    ['unknown type', rawTile({ name: 'l', features: [{ type: 9, geometry: square }] }), `${feature0} has unknown geometry type 9`],
    ['no name', rawTile({ features: [] }), 'layer 0 has no name (every MVT layer must have one)'],
    ['version 3', rawTile({ name: 'l', version: 3, features: [] }), 'layer 0 ("l") has unsupported version 3'],
    ['extent 0', rawTile({ name: 'l', extent: 0, features: [] }), 'layer 0 ("l") has invalid extent 0'],
    ['extent past 2^31', rawTile({ name: 'l', extent: 2 ** 31 + 1, features: [] }), 'layer 0 ("l") has invalid extent 2147483649'],
    ['layers as a varint', Uint8Array.from([(3 << 3) | 0, 5]), 'tile field 3 (layers) has wire type 0, expected 2'],
    ['field 0', new Uint8Array(8), 'tile has an invalid field number 0'],
    ['field 2^29', hex('80 80 80 80 10 01'), 'tile has an invalid field number 536870912'],
    ['group wire type', Uint8Array.from([(7 << 3) | 3]), 'tile field 7 has unsupported wire type 3'],
    ['layer past the end', Uint8Array.from([0x1a, 0x20, 0x78, 0x02]), 'layer 0 is truncated: needs 32 bytes, 2 left'],
    ['fixed64 past the end', hex('a1 01 01 02 03'), 'tile field 20 is truncated (runs past byte 5)'],
    ['extent varint past its layer', hex(`1a 05 ${NAME_L} 28 80 20`), 'layer 0 extent is truncated (runs past byte 7)'],
    ['name not UTF-8', Uint8Array.from([0x1a, 0x04, 0x0a, 0x02, 0xff, 0xfe]), 'layer 0 name is not valid UTF-8'],
    ['keys as a varint', layerTile(`${NAME_L} 18 01`), 'layer 0 field 3 (keys) has wire type 0, expected 2'],
    ['values as a varint', layerTile(`${NAME_L} 20 01`), 'layer 0 field 4 (values) has wire type 0, expected 2'],
    ['feature id as bytes', layerTile(`${NAME_L} 12 02 0a 00`), `${feature0} field 1 (id) has wire type 2, expected 0`],
    ['feature tags as a varint', layerTile(`${NAME_L} 12 02 10 01`), `${feature0} field 2 (tags) has wire type 0, expected 2`],
  ])('%s', (_name, bytes, message) => {
    let caught: unknown
    try {
      readTile(bytes)
    } catch (e) {
      caught = e
    }
    expect(caught).toBeInstanceOf(CorruptTileError)
    expect((caught as Error).name).toBe('CorruptTileError')
    expect((caught as Error).message).toBe(message)
  })
})

describe('readTile: what it accepts, pinned', () => {
  it('keys, values, ids and tags of real layers, and unknown fields of every wire type', () => {
    const withProps = encodeTile([{ name: 'l', features: [{ id: 5, type: 3, rings: [[[0, 0], [5, 0], [5, 5]]], properties: { value: 'object--sign', score: 0.5 } }] }])
    expect(readTile(withProps)).toEqual([{ name: 'l', version: 2, extent: 4096, features: [{ type: 3, rings: [[[0, 0], [5, 0], [5, 5]]] }] }])
    // Tile fields 20 (fixed64, bytes, fixed32) and 0x1fffffff (varint), the largest field number.
    expect(readTile(hex('a1 01 0102030405060708  a2 01 02 aabb  a5 01 01020304  f8 ff ff ff 0f 01'))).toEqual([])
    // A layer field 9 and a feature field 5 (varints) are skipped.
    const feature = `18 03 28 07 22 09 ${[cmd(MOVE, 1), zz(1), zz(1), cmd(LINE, 2), zz(2), 0, 0, zz(2), cmd(CLOSE, 1)].map((b) => b.toString(16).padStart(2, '0')).join(' ')}`
    expect(readTile(layerTile(`${NAME_L} 48 05 12 0f ${feature}`))).toEqual([{ name: 'l', version: 1, extent: 4096, features: [{ type: 3, rings: [[[1, 1], [3, 1], [3, 3]]] }] }])
  })

  it('a feature of type 0 (unknown) or with no type', () => {
    expect(readTile(rawTile({ name: 'l', features: [{ type: 0, geometry: square }, { geometry: square }] }))[0]!.features).toEqual([{ type: 0, rings: [] }, { type: 0, rings: [] }])
  })

  it('extent up to 2^31', () => {
    expect(readTile(rawTile({ name: 'l', extent: 2 ** 31, features: [] }))[0]!.extent).toBe(2 ** 31)
  })

  it('points from -4 to 5 times the extent, and not one unit further', () => {
    // extent 16: coordinates in [-64, 80]
    const ring = [cmd(MOVE, 1), zz(-64), zz(80), cmd(LINE, 2), zz(144), 0, 0, zz(-144), cmd(CLOSE, 1)]
    expect(readTile(rawTile({ name: 'l', extent: 16, features: [{ type: 3, geometry: ring }] }))[0]!.features[0]!.rings).toEqual([[[-64, 80], [80, 80], [80, -64]]])
    for (const [x, y] of [[-65, 0], [81, 0], [0, -65], [0, 81]] as const) {
      expect(corruptMessage(rawTile({ name: 'l', extent: 16, features: [{ type: 3, geometry: [cmd(MOVE, 1), zz(x), zz(y)] }] }))).toBe(
        `layer 0 ("l") feature 0 has a point (${x}, ${y}) far outside the tile extent 16`,
      )
    }
  })
})
