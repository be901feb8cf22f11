import { describe, expect, it } from 'vitest'
import { PbfReader } from 'pbf'
import { VectorTile } from '@mapbox/vector-tile'
import { encodeTile, orientRings, ringArea, type TileLayerInput } from './encode-tile'
import { decodeBase64, encodeBase64 } from '../../../shared/mvt/base64'
import fixtures from '../../fixtures/real-detections.json'

const decode = (bytes: Uint8Array): VectorTile => new VectorTile(new PbfReader(bytes))
const xy = (rings: Array<Array<{ x: number; y: number }>>): number[][][] => rings.map((r) => r.map((p) => [p.x, p.y]))

describe('encodeTile round-trips through @mapbox/vector-tile', () => {
  it('a polygon: MoveTo, LineTo…, ClosePath (the decoder repeats the first point on ClosePath)', () => {
    const tile = decode(encodeTile([{ name: 'mpy-or', features: [{ id: 7, type: 3, rings: [[[10, 10], [20, 10], [20, 20], [10, 20]]] }] }]))
    const layer = tile.layers['mpy-or']!
    expect(layer.version).toBe(2)
    expect(layer.extent).toBe(4096)
    expect(layer.length).toBe(1)
    const feature = layer.feature(0)
    expect(feature.type).toBe(3)
    expect(feature.id).toBe(7)
    expect(xy(feature.loadGeometry())).toEqual([[[10, 10], [20, 10], [20, 20], [10, 20], [10, 10]]])
  })

  it('polygon rings with negative deltas and a hole, custom extent', () => {
    const rings = orientRings([
      [[100, 100], [400, 100], [400, 400], [100, 400]],
      [[200, 200], [300, 200], [300, 300], [200, 300]],
    ])
    const layer = decode(encodeTile([{ name: 'l', extent: 512, features: [{ type: 3, rings }] }])).layers['l']!
    expect(layer.extent).toBe(512)
    expect(xy(layer.feature(0).loadGeometry())).toEqual(rings.map((r) => [...r, r[0]]))
  })

  it('points and lines', () => {
    const layer = decode(encodeTile([{
      name: 'mixed',
      features: [
        { type: 1, rings: [[[5, 6]], [[-3, 9]]] },
        { type: 2, rings: [[[0, 0], [10, 5], [20, 0]], [[1, 1], [2, 2]]] },
      ],
    }])).layers['mixed']!
    expect(layer.feature(0).type).toBe(1)
    expect(xy(layer.feature(0).loadGeometry())).toEqual([[[5, 6]], [[-3, 9]]])
    expect(layer.feature(1).type).toBe(2)
    expect(xy(layer.feature(1).loadGeometry())).toEqual([[[0, 0], [10, 5], [20, 0]], [[1, 1], [2, 2]]])
  })

  it('properties of every value kind, keys and values shared between features', () => {
    const props = { value: 'object--sign', score: 0.75, count: 3, delta: -2, ok: true }
    const layer = decode(encodeTile([{
      name: 'p',
      features: [
        { type: 1, rings: [[[1, 1]]], properties: props },
        { type: 1, rings: [[[2, 2]]], properties: { value: 'object--sign', ok: false } },
      ],
    }])).layers['p']!
    expect({ ...layer.feature(0).properties }).toEqual(props)
    expect({ ...layer.feature(1).properties }).toEqual({ value: 'object--sign', ok: false })
  })

  it('several layers keep their names and extents', () => {
    const layers: TileLayerInput[] = [
      { name: 'a', features: [{ type: 3, rings: [[[0, 0], [1, 0], [1, 1]]] }] },
      { name: 'b', extent: 256, features: [{ type: 3, rings: [[[0, 0], [1, 0], [1, 1]]] }] },
    ]
    const tile = decode(encodeTile(layers))
    expect(Object.keys(tile.layers).sort()).toEqual(['a', 'b'])
    expect(tile.layers['b']!.extent).toBe(256)
  })

  it('re-encodes the real detections byte for byte', () => {
    for (const d of fixtures.detections) {
      const bytes = encodeTile([{ name: 'mpy-or', features: [{ id: 1, type: 3, rings: d.tile_rings as Array<Array<[number, number]>> }] }])
      expect(encodeBase64(bytes)).toBe(d.geometry)
      expect(decodeBase64(d.geometry)).toEqual(bytes)
    }
  })

  it('an empty layer list is an empty tile', () => {
    expect(encodeTile([])).toHaveLength(0)
  })

  it('rejects non-integer coordinates (tile coordinates are integers)', () => {
    expect(() => encodeTile([{ name: 'l', features: [{ type: 3, rings: [[[0.5, 0], [1, 0], [1, 1]]] }] }])).toThrow(RangeError)
  })
})

describe('orientRings', () => {
  const square: Array<[number, number]> = [[0, 0], [10, 0], [10, 10], [0, 10]] // clockwise on screen: positive
  const reversed: Array<[number, number]> = [[0, 0], [0, 10], [10, 10], [10, 0]]

  it('keeps an already MVT-correct polygon as is', () => {
    const hole: Array<[number, number]> = [[2, 2], [2, 8], [8, 8], [8, 2]]
    expect(ringArea(hole)).toBeLessThan(0)
    expect(orientRings([square, hole])).toEqual([square, hole])
  })

  it('reverses a counter-clockwise exterior and a clockwise hole, keeping each first point', () => {
    const out = orientRings([reversed, [[2, 2], [8, 2], [8, 8], [2, 8]]])
    expect(ringArea(out[0]!)).toBeGreaterThan(0)
    expect(ringArea(out[1]!)).toBeLessThan(0)
    expect(out[0]![0]).toEqual([0, 0])
    expect(out[1]![0]).toEqual([2, 2])
    expect(out[0]).toEqual([[0, 0], [10, 0], [10, 10], [0, 10]])
  })

  it('does not mutate its input', () => {
    const input = [reversed.map((p): [number, number] => [p[0], p[1]])]
    orientRings(input)
    expect(input[0]).toEqual(reversed)
  })

  it('the real detections are already MVT exteriors', () => {
    for (const d of fixtures.detections) {
      const rings = d.tile_rings as Array<Array<[number, number]>>
      expect(ringArea(rings[0]!)).toBeGreaterThan(0)
      expect(orientRings(rings)).toEqual(rings)
    }
  })
})

// Found by mutation testing (`npm run mutate`): each test below pins a value a mutant changed.
describe('encodeTile, byte for byte', () => {
  const hex = (bytes: Uint8Array): string => [...bytes].map((b) => b.toString(16).padStart(2, '0')).join(' ')

  it('shares keys and values, writes no id or tags it was not given, one MoveTo for a multipoint, uint/sint by sign', () => {
    const bytes = encodeTile([{
      name: 'l',
      features: [
        { type: 1, rings: [[[1, 1]]], properties: { k: 'v', n: 0 } },
        { type: 1, rings: [[[2, 2]]], properties: { k: 'v', n: 3 } },
        { type: 1, rings: [[[3, 3]], [[4, 5]]] },
        { type: 1, rings: [[[4, 4]]], properties: { n: -2 } },
      ],
    }])
    // Written out by hand from the MVT 2.1 spec (see the comments); 0x55 = 85 bytes of layer.
    expect(hex(bytes)).toBe([
      '1a 55', // tile field 3: the layer
      '78 02', '0a 01 6c', '28 80 20', // version 2, name "l", extent 4096
      '12 0d 18 01 12 04 00 00 01 01 22 03 09 02 02', // point (1,1), tags k=v n=0
      '12 0d 18 01 12 04 00 00 01 02 22 03 09 04 04', // point (2,2), tags k=v n=3
      '12 09 18 01 22 05 11 06 06 02 04', // MoveTo(2): (3,3), then +(1,2)
      '12 0b 18 01 12 02 01 03 22 03 09 08 08', // point (4,4), tag n=-2
      '1a 01 6b', '1a 01 6e', // keys "k", "n"
      '22 03 0a 01 76', '22 02 28 00', '22 02 28 03', '22 02 30 03', // values "v", uint 0, uint 3, sint -2
    ].join(' '))
  })

  it('skips an empty ring', () => {
    const layer = decode(encodeTile([{ name: 'l', features: [{ type: 3, rings: [[], [[0, 0], [5, 0], [5, 5]]] }] }])).layers['l']!
    expect(xy(layer.feature(0).loadGeometry())).toEqual([[[0, 0], [5, 0], [5, 5], [0, 0]]])
  })
})

describe('ringArea and orientRings, pinned', () => {
  it('ringArea is the signed area itself', () => {
    expect(ringArea([[0, 0], [4, 0], [4, 3], [0, 3]])).toBe(12)
    expect(ringArea([[0, 0], [0, 3], [4, 3], [4, 0]])).toBe(-12)
  })

  it('leaves a ring without area, and an empty ring, as they are', () => {
    expect(orientRings([[[0, 0], [1, 1], [2, 2]], [[0, 0], [2, 2], [1, 1]]])).toEqual([[[0, 0], [1, 1], [2, 2]], [[0, 0], [2, 2], [1, 1]]])
    expect(orientRings([[]])).toEqual([[]])
    expect(orientRings([[[0, 0], [10, 0], [10, 10], [0, 10]], []])).toEqual([[[0, 0], [10, 0], [10, 10], [0, 10]], []])
  })
})
