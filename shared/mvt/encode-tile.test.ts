import { describe, expect, it } from 'vitest'
import { PbfReader } from 'pbf'
import { VectorTile } from '@mapbox/vector-tile'
import { encodeTile, orientRings, ringArea, type TileLayerInput } from './encode-tile'
import { decodeBase64, encodeBase64 } from './base64'
import fixtures from '../../test/fixtures/real-detections.json'

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
