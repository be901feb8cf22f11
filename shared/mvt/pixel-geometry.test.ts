import { describe, expect, it } from 'vitest'
import { PbfReader, PbfWriter } from 'pbf'
import { VectorTile, classifyRings } from '@mapbox/vector-tile'
import type { Position } from 'geojson'
import { pixelGeometry, pixelGeometryFromBytes, type DecodeResult, type PixelGeometry } from './pixel-geometry'
import { encodeTile, orientRings, type TileFeatureInput, type TileLayerInput } from '../../test/stand-in/src/encode-tile'
import { decodeBase64, encodeBase64 } from './base64'
import { expectCoordsClose, expectValidPixelGeometry, polygonsOf } from '../../test/support/pixel-geometry-checks'
import fixtures from '../../test/fixtures/real-detections.json'

type Ring = Array<[number, number]>

const b64 = (layers: TileLayerInput[]): string => encodeBase64(encodeTile(layers))
const oneLayer = (features: TileFeatureInput[], extent?: number): string => b64([{ name: 'mpy-or', extent, features }])
const square = (x: number, y: number, size: number): Ring => [[x, y], [x + size, y], [x + size, y + size], [x, y + size]]
const closed = (ring: Position[]): Position[] => [...ring, ring[0]!]

/** The geometry of a successful decode, after checking the invariants every output must meet. */
function decoded(result: DecodeResult): PixelGeometry {
  if (!result.ok) throw new Error(`expected a geometry, got ${result.failure.reason}: ${result.failure.detail}`)
  expectValidPixelGeometry(result.geometry)
  return result.geometry
}

function failure(result: DecodeResult): { reason: string; detail: string } {
  if (result.ok) throw new Error(`expected a failure, got ${JSON.stringify(result.geometry)}`)
  expect(result.failure.detail.length).toBeGreaterThan(10)
  return result.failure
}

/** Small deterministic PRNG (mulberry32) so random cases are reproducible. */
function rng(seed: number): () => number {
  return () => {
    seed = (seed + 0x6d2b79f5) | 0
    let t = Math.imul(seed ^ (seed >>> 15), 1 | seed)
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296
  }
}

describe('real detections (test/fixtures/real-detections.json)', () => {
  for (const d of fixtures.detections) {
    const rings = d.tile_rings as Ring[]

    it(`${d.id}: at 4096×4096 the pixels are exactly the tile rings, closed`, () => {
      const g = decoded(pixelGeometry(d.geometry, 4096, 4096))
      expect(g).toEqual({ type: 'Polygon', coordinates: rings.map(closed) })
    })

    it(`${d.id}: at 4032×3024 the pixels follow x/4096*width, y/4096*height`, () => {
      const g = decoded(pixelGeometry(d.geometry, 4032, 3024))
      expect(g.type).toBe('Polygon')
      const expected = rings.map((ring) => closed(ring.map(([x, y]) => [(x / 4096) * 4032, (y / 4096) * 3024])))
      expectCoordsClose(g.coordinates, expected)
    })

    it(`${d.id}: the URL-safe, unpadded spelling decodes the same`, () => {
      const urlSafe = d.geometry.replace(/\+/g, '-').replace(/\//g, '_').replace(/=+$/, '')
      expect(pixelGeometry(urlSafe, 4032, 3024)).toEqual(pixelGeometry(d.geometry, 4032, 3024))
    })
  }

  it('131850122441807 lands in the lower right of a 4032×3024 image (no y flip)', () => {
    const g = decoded(pixelGeometry(fixtures.detections[0]!.geometry, 4032, 3024))
    expectCoordsClose(polygonsOf(g)[0]![0]![0], [2766.09375, 1757.84765625])
  })
})

describe('hand-made tiles with known pixels', () => {
  it('a square at known coordinates', () => {
    const g = decoded(pixelGeometry(oneLayer([{ type: 3, rings: [square(1024, 512, 1024)] }]), 4032, 3024))
    expect(g.type).toBe('Polygon')
    expectCoordsClose(g.coordinates, [[[1008, 378], [2016, 378], [2016, 1134], [1008, 1134], [1008, 378]]])
  })

  it('a square with a hole is one Polygon with 2 rings', () => {
    const rings = orientRings([square(0, 0, 2048), square(512, 512, 1024)])
    const g = decoded(pixelGeometry(oneLayer([{ type: 3, rings }]), 2048, 1024))
    expect(g.type).toBe('Polygon')
    expectCoordsClose(g.coordinates, [
      [[0, 0], [1024, 0], [1024, 512], [0, 512], [0, 0]],
      [[256, 128], [256, 384], [768, 384], [768, 128], [256, 128]],
    ])
  })

  it('two squares in one feature are a MultiPolygon', () => {
    const g = decoded(pixelGeometry(oneLayer([{ type: 3, rings: [square(0, 0, 1024), square(2048, 2048, 1024)] }]), 4096, 4096))
    expect(g).toEqual({
      type: 'MultiPolygon',
      coordinates: [
        [[[0, 0], [1024, 0], [1024, 1024], [0, 1024], [0, 0]]],
        [[[2048, 2048], [3072, 2048], [3072, 3072], [2048, 3072], [2048, 2048]]],
      ],
    })
  })

  it('two features in one layer are a MultiPolygon', () => {
    const g = decoded(pixelGeometry(oneLayer([{ type: 3, rings: [square(0, 0, 1024)] }, { type: 3, rings: [square(2048, 0, 1024)] }]), 4096, 4096))
    expect(g.type).toBe('MultiPolygon')
    expect(polygonsOf(g).map((p) => p[0]![0])).toEqual([[0, 0], [2048, 0]])
  })

  it('two layers each with a feature give a MultiPolygon of both, in layer order', () => {
    const g = decoded(pixelGeometry(b64([
      { name: 'a', features: [{ type: 3, rings: [square(0, 0, 1024)] }] },
      { name: 'b', features: [{ type: 3, rings: [square(2048, 2048, 2048)] }] },
    ]), 4096, 2048))
    expect(g).toEqual({
      type: 'MultiPolygon',
      coordinates: [
        [[[0, 0], [1024, 0], [1024, 512], [0, 512], [0, 0]]],
        [[[2048, 1024], [4096, 1024], [4096, 2048], [2048, 2048], [2048, 1024]]],
      ],
    })
  })

  it('two layers sharing a name both count', () => {
    const g = decoded(pixelGeometry(b64([
      { name: 'mpy-or', features: [{ type: 3, rings: [square(0, 0, 10)] }] },
      { name: 'mpy-or', features: [{ type: 3, rings: [square(100, 100, 10)] }] },
    ]), 4096, 4096))
    expect(polygonsOf(g)).toHaveLength(2)
  })

  it('a layer with extent 512 is scaled by its own extent', () => {
    const g = decoded(pixelGeometry(oneLayer([{ type: 3, rings: [square(128, 128, 128)] }], 512), 1000, 800))
    expectCoordsClose(g.coordinates, [[[250, 200], [500, 200], [500, 400], [250, 400], [250, 200]]])
  })

  it('layers with different extents are each scaled by their own', () => {
    const g = decoded(pixelGeometry(b64([
      { name: 'big', extent: 4096, features: [{ type: 3, rings: [square(0, 0, 2048)] }] },
      { name: 'small', extent: 256, features: [{ type: 3, rings: [square(128, 128, 128)] }] },
    ]), 1000, 1000))
    expectCoordsClose(g.coordinates, [
      [[[0, 0], [500, 0], [500, 500], [0, 500], [0, 0]]],
      [[[500, 500], [1000, 500], [1000, 1000], [500, 1000], [500, 500]]],
    ])
  })

  it('one feature holding a polygon with a hole plus a separate polygon', () => {
    const withHole = orientRings([square(0, 0, 400), square(100, 100, 100)])
    const separate = orientRings([square(1000, 1000, 200)])
    const g = decoded(pixelGeometry(oneLayer([{ type: 3, rings: [...withHole, ...separate] }]), 4096, 4096))
    expect(g.type).toBe('MultiPolygon')
    const polygons = polygonsOf(g)
    expect(polygons.map((p) => p.length)).toEqual([2, 1])
    expect(polygons[0]).toEqual(withHole.map(closed))
    expect(polygons[1]).toEqual(separate.map(closed))
  })

  it('regression, FAQ y flip: a shape near the top of the tile stays near the top of the image', () => {
    // Python's mapbox_vector_tile.decode flips y by default; the FAQ snippet drew polygons upside down.
    const g = decoded(pixelGeometry(oneLayer([{ type: 3, rings: [[[1000, 100], [3000, 100], [3000, 300], [1000, 300]]] }]), 4032, 3024))
    const ys = polygonsOf(g)[0]![0]!.map((p) => p[1]!)
    expect(Math.max(...ys)).toBeLessThan(3024 * 0.1)
    expectCoordsClose(Math.min(...ys), (100 / 4096) * 3024)
    expectCoordsClose(Math.max(...ys), (300 / 4096) * 3024)
  })

  it('a shape near the bottom of the tile stays near the bottom of the image', () => {
    const g = decoded(pixelGeometry(oneLayer([{ type: 3, rings: [[[1000, 3900], [3000, 3900], [3000, 4000], [1000, 4000]]] }]), 4032, 3024))
    const ys = polygonsOf(g)[0]![0]!.map((p) => p[1]!)
    expect(Math.min(...ys)).toBeGreaterThan(3024 * 0.9)
  })

  it('point and line features are skipped, polygons kept', () => {
    const g = decoded(pixelGeometry(oneLayer([
      { type: 1, rings: [[[5, 5]]] },
      { type: 3, rings: [square(0, 0, 4096)] },
      { type: 2, rings: [[[0, 0], [100, 100]]] },
    ]), 100, 100))
    expect(g).toEqual({ type: 'Polygon', coordinates: [[[0, 0], [100, 0], [100, 100], [0, 100], [0, 0]]] })
  })

  it('a ring drawn with its first point again before ClosePath is closed once, not twice', () => {
    const g = decoded(pixelGeometry(oneLayer([{ type: 3, rings: [[...square(0, 0, 10), [0, 0]]] }]), 4096, 4096))
    expect(g.coordinates).toEqual([[[0, 0], [10, 0], [10, 10], [0, 10], [0, 0]]])
  })

  it('degenerate rings next to a real one are dropped', () => {
    const g = decoded(pixelGeometry(oneLayer([{ type: 3, rings: [square(0, 0, 10), [[50, 50], [60, 60], [70, 70]], [[5, 5], [6, 6]]] }]), 4096, 4096))
    expect(g.type).toBe('Polygon')
    expect(g.coordinates).toHaveLength(1)
  })

  it('a tile wound the other way throughout is still grouped (classifyRings takes the first ring’s sign as exterior)', () => {
    const exterior: Ring = [[0, 0], [0, 400], [400, 400], [400, 0]]
    const hole: Ring = [[100, 100], [200, 100], [200, 200], [100, 200]]
    const g = decoded(pixelGeometry(oneLayer([{ type: 3, rings: [exterior, hole, [[1000, 1000], [1000, 1100], [1100, 1100], [1100, 1000]]] }]), 4096, 4096))
    expect(polygonsOf(g).map((p) => p.length)).toEqual([2, 1])
  })

  it('outputs plain JS numbers, fractional where the scale demands', () => {
    const g = decoded(pixelGeometry(oneLayer([{ type: 3, rings: [square(1, 1, 1)] }]), 4032, 3024))
    const [x, y] = polygonsOf(g)[0]![0]![0]!
    expect(typeof x).toBe('number')
    expect(x).toBeCloseTo(4032 / 4096, 12)
    expect(y).toBeCloseTo(3024 / 4096, 12)
  })
})

describe('agrees with @mapbox/vector-tile on random valid tiles', () => {
  it('200 random multi-ring features: same rings, same grouping', () => {
    const random = rng(42)
    const int = (n: number): number => Math.floor(random() * n)
    for (let t = 0; t < 200; t++) {
      const rings: Ring[] = []
      for (let p = 0, polygons = 1 + int(3); p < polygons; p++) {
        const x = int(3000)
        const y = int(3000)
        const size = 20 + int(800)
        const polygon = [square(x, y, size)]
        if (random() < 0.5) polygon.push(square(x + 5, y + 5, Math.max(1, int(size - 10))))
        rings.push(...orientRings(polygon))
      }
      const bytes = encodeTile([{ name: 'mpy-or', features: [{ type: 3, rings }] }])
      const ours = decoded(pixelGeometryFromBytes(bytes, 4096, 4096))
      const theirs = classifyRings(new VectorTile(new PbfReader(bytes)).layers['mpy-or']!.feature(0).loadGeometry())
        .map((polygon) => polygon.map((ring) => ring.map((p) => [p.x, p.y])))
      expect(polygonsOf(ours)).toEqual(theirs)
    }
  })
})

describe('failures (never thrown)', () => {
  it.each([
    ['empty string', ''],
    ['"!!!notbase64"', '!!!notbase64'],
    ['whitespace around a real tile', ` ${fixtures.detections[0]!.geometry} `],
  ])('%s → invalid_base64', (_name, input) => {
    expect(failure(pixelGeometry(input, 4032, 3024)).reason).toBe('invalid_base64')
  })

  it('a tile with only a point feature → empty_tile', () => {
    expect(failure(pixelGeometry(oneLayer([{ type: 1, rings: [[[10, 10]]] }]), 4032, 3024)).reason).toBe('empty_tile')
  })

  it('a tile with only lines → empty_tile', () => {
    expect(failure(pixelGeometry(oneLayer([{ type: 2, rings: [[[0, 0], [10, 10], [20, 0]]] }]), 4032, 3024)).reason).toBe('empty_tile')
  })

  it('a tile with zero layers → empty_tile', () => {
    // Zero layers encode to zero bytes (whose base64, "", is invalid_base64), so check the bytes path…
    expect(failure(pixelGeometryFromBytes(encodeTile([]), 4032, 3024)).reason).toBe('empty_tile')
    // …and a non-empty tile that holds only an extension field, no layer.
    expect(failure(pixelGeometry(encodeBase64(Uint8Array.from([0xa0, 0x01, 0x01])), 4032, 3024)).reason).toBe('empty_tile')
  })

  it('a layer with zero features → empty_tile', () => {
    expect(failure(pixelGeometry(oneLayer([]), 4032, 3024)).reason).toBe('empty_tile')
  })

  it.each<[string, Ring[]]>([
    ['two points', [[[0, 0], [10, 10]]]],
    ['three collinear points', [[[0, 0], [10, 10], [20, 20]]]],
    ['one point repeated', [[[5, 5], [5, 5], [5, 5], [5, 5]]]],
    ['a ring of two distinct points drawn as four', [[[0, 0], [10, 0], [0, 0], [10, 0]]]],
  ])('only degenerate rings (%s) → empty_tile', (_name, rings) => {
    expect(failure(pixelGeometry(oneLayer([{ type: 3, rings }]), 4032, 3024)).reason).toBe('empty_tile')
  })

  it('a polygon feature with no geometry → empty_tile', () => {
    const bytes = Uint8Array.from([0x1a, 0x0a, 0x0a, 0x01, 0x6c, 0x12, 0x02, 0x18, 0x03, 0x28, 0x80, 0x20])
    expect(failure(pixelGeometryFromBytes(bytes, 4032, 3024)).reason).toBe('empty_tile')
  })

  it('malformed geometry commands → corrupt_tile with the reason in the detail', () => {
    // Real tile 1 with its ClosePath (0x0f) turned into the unknown command 3 (0x0b).
    const bytes = decodeBase64(fixtures.detections[0]!.geometry)!
    bytes[bytes.length - 1] = 0x0b
    const f = failure(pixelGeometryFromBytes(bytes, 4032, 3024))
    expect(f.reason).toBe('corrupt_tile')
    expect(f.detail).toMatch(/not a valid Mapbox Vector Tile: .*unknown geometry command 3/)
  })

  it.each([
    ['"hello world"', 'aGVsbG8gd29ybGQ='],
    ['a JPEG header', encodeBase64(Uint8Array.from([0xff, 0xd8, 0xff, 0xe0, 0x00, 0x10, 0x4a, 0x46, 0x49, 0x46, 0x00, 0x01, 0x01, 0x00, 0x00, 0x01]))],
    ['a PNG header', encodeBase64(Uint8Array.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a, 0x00, 0x00, 0x00, 0x0d, 0x49, 0x48, 0x44, 0x52]))],
    ['16 zero bytes', encodeBase64(new Uint8Array(16))],
    ['one zero byte', 'AA=='],
    ['0xff bytes', encodeBase64(new Uint8Array(32).fill(0xff))],
    ['JSON text', encodeBase64(new TextEncoder().encode('{"type":"Polygon","coordinates":[]}'))],
    ['a gzip header', encodeBase64(Uint8Array.from([0x1f, 0x8b, 0x08, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x03]))],
  ])('garbage bytes (%s) → corrupt_tile', (_name, input) => {
    expect(failure(pixelGeometry(input, 4032, 3024)).reason).toBe('corrupt_tile')
  })

  it('5000 random byte strings: none throws, each is corrupt_tile or empty_tile', () => {
    const random = rng(7)
    const reasons = new Map<string, number>()
    for (let i = 0; i < 5000; i++) {
      const bytes = Uint8Array.from({ length: 1 + Math.floor(random() * 64) }, () => Math.floor(random() * 256))
      const result = pixelGeometry(encodeBase64(bytes), 4032, 3024)
      const reason = result.ok ? 'ok' : result.failure.reason
      reasons.set(reason, (reasons.get(reason) ?? 0) + 1)
    }
    expect([...reasons.keys()].filter((r) => r !== 'corrupt_tile' && r !== 'empty_tile')).toEqual([])
  })

  it('every strict prefix of the real tiles → corrupt_tile (truncation is detected)', () => {
    for (const d of fixtures.detections) {
      const bytes = decodeBase64(d.geometry)!
      for (let n = 1; n < bytes.length; n++) {
        expect(failure(pixelGeometryFromBytes(bytes.subarray(0, n), 4032, 3024)).reason, `prefix of ${n} bytes`).toBe('corrupt_tile')
      }
    }
  })

  it('every single-byte change of the real tiles: never throws, and any geometry still meets the invariants', () => {
    for (const d of fixtures.detections) {
      const original = decodeBase64(d.geometry)!
      for (let i = 0; i < original.length; i++) {
        for (const value of [0x00, 0x01, 0x7f, 0x80, 0xff, original[i]! ^ 0x04]) {
          const bytes = original.slice()
          bytes[i] = value
          const result = pixelGeometryFromBytes(bytes, 4032, 3024)
          if (result.ok) expectValidPixelGeometry(result.geometry)
          else expect(['corrupt_tile', 'empty_tile']).toContain(result.failure.reason)
        }
      }
    }
  })
})

// Found by mutation testing (`npm run mutate`).
describe('empty_tile, pinned', () => {
  it('counts the layers and the polygon features in its detail', () => {
    const bytes = encodeTile([
      { name: 'a', features: [{ type: 1, rings: [[[1, 1]]] }, { type: 3, rings: [[[0, 0], [5, 5], [10, 10]]] }, { type: 2, rings: [[[0, 0], [3, 3]]] }] },
      { name: 'b', features: [{ type: 3, rings: [[[0, 0], [5, 0], [0, 0]]] }] },
      { name: 'c', features: [{ type: 1, rings: [[[2, 2]]] }] },
      { name: 'd', features: [] },
    ])
    expect(pixelGeometryFromBytes(bytes, 100, 100)).toEqual({
      ok: false,
      failure: { reason: 'empty_tile', detail: 'The tile holds no polygon with an area (4 layer(s), 2 polygon feature(s)).' },
    })
  })
})

describe('maxPoints: a cap on the points an answer holds', () => {
  const positions = (g: PixelGeometry): number => polygonsOf(g).flat(2).length
  /** A square with a square hole: 8 drawn points, 10 positions once both rings are closed. */
  const withHole = oneLayer([{ type: 3, rings: [square(0, 0, 100), square(20, 20, 10).reverse()] }])

  it('counts closing points: 10 positions fit a cap of 10, not of 9', () => {
    const g = decoded(pixelGeometry(withHole, 4096, 4096, { maxPoints: 10 }))
    expect(positions(g)).toBe(10)
    expect(pixelGeometry(withHole, 4096, 4096, { maxPoints: 9 })).toEqual({
      ok: false,
      failure: { reason: 'too_many_points', detail: 'The geometry holds more than 9 points, the most one decode answers.' },
    })
  })

  it('no cap by default, and the real tiles fit a cap of their own size', () => {
    for (const d of fixtures.detections) {
      const g = decoded(pixelGeometry(d.geometry, 4032, 3024))
      expect(decoded(pixelGeometry(d.geometry, 4032, 3024, { maxPoints: positions(g) }))).toEqual(g)
      expect(failure(pixelGeometry(d.geometry, 4032, 3024, { maxPoints: positions(g) - 1 })).reason).toBe('too_many_points')
    }
  })

  it('counts across layers and features', () => {
    const twoLayers = b64([
      { name: 'a', features: [{ type: 3, rings: [square(0, 0, 10)] }] },
      { name: 'b', features: [{ type: 3, rings: [square(50, 50, 10)] }] },
    ])
    expect(positions(decoded(pixelGeometry(twoLayers, 100, 100, { maxPoints: 10 })))).toBe(10)
    expect(failure(pixelGeometry(twoLayers, 100, 100, { maxPoints: 9 })).reason).toBe('too_many_points')
  })

  it('stops at the cap without reading the rest: a LineTo claiming 2^28 points in a few bytes', () => {
    // MoveTo(1) 0,0 then LineTo(count 2^28 - 1) with 2 points drawn: uncapped it is truncated (corrupt),
    // capped it fails as soon as the count passes the cap, before the missing bytes are reached.
    const pbf = new PbfWriter()
    pbf.writeMessage(3, (_: unknown, layer: PbfWriter) => {
      layer.writeStringField(1, 'x')
      layer.writeMessage(2, (__: unknown, feature: PbfWriter) => {
        feature.writeVarintField(3, 3)
        feature.writePackedVarint(4, [9, 0, 0, 2 + 8 * (2 ** 28 - 1), 2, 2, 2, 0])
      }, null)
    }, null)
    const bytes = pbf.finish()
    expect(failure(pixelGeometryFromBytes(bytes, 100, 100)).reason).toBe('corrupt_tile')
    expect(failure(pixelGeometryFromBytes(bytes, 100, 100, { maxPoints: 3 })).reason).toBe('too_many_points')
  })

  it('a tile corrupt after the cap is too_many_points: what lies past the cap is never read', () => {
    const ring = Array.from({ length: 50 }, (_, i): [number, number] => [Math.round(100 + 90 * Math.cos(i / 8)), Math.round(100 + 90 * Math.sin(i / 8))])
    const bytes = encodeTile([{ name: 'x', features: [{ type: 3, rings: [ring] }] }])
    // The ring's ClosePath (0x0f, the last geometry byte) becomes the unknown command 3 (0x0b).
    const closeAt = bytes.lastIndexOf(0x0f)
    expect(closeAt).toBeGreaterThan(bytes.length - 30)
    bytes[closeAt] = 0x0b
    expect(failure(pixelGeometryFromBytes(bytes, 100, 100)).reason).toBe('corrupt_tile')
    expect(failure(pixelGeometryFromBytes(bytes, 100, 100, { maxPoints: 20 })).reason).toBe('too_many_points')
  })
})

// Found by fuzzing (pixel-geometry.fuzz.test.ts).
describe('regressions found by fuzzing', () => {
  it('regression, mixed winding: a feature drawn the other way round is wound like its neighbours (exteriors clockwise, holes not)', () => {
    const ccw: Ring = [[2048, 0], [2048, 1024], [3072, 1024], [3072, 0]]
    const cwHole: Ring = [[2304, 256], [2560, 256], [2560, 512], [2304, 512]]
    const g = decoded(pixelGeometry(oneLayer([{ type: 3, rings: [square(0, 0, 1024)] }, { type: 3, rings: [ccw, cwHole] }]), 4096, 4096))
    expect(g).toEqual({
      type: 'MultiPolygon',
      coordinates: [
        [[[0, 0], [1024, 0], [1024, 1024], [0, 1024], [0, 0]]],
        [
          [[2048, 0], [3072, 0], [3072, 1024], [2048, 1024], [2048, 0]],
          [[2304, 256], [2304, 512], [2560, 512], [2560, 256], [2304, 256]],
        ],
      ],
    })
  })

  it('regression, unbounded echo: a 3,000-character layer name is quoted cut to 40 characters in the detail', () => {
    const name = `MLY|${'n'.repeat(2996)}`
    const bytes = encodeTile([{ name, features: [{ type: 3, rings: [[[1, 1], [4096 * 6, 1], [1, 9]]] }] }])
    const f = failure(pixelGeometryFromBytes(bytes, 4032, 3024))
    expect(f).toEqual({
      reason: 'corrupt_tile',
      detail: `The geometry is not a valid Mapbox Vector Tile: layer 0 ("MLY|${'n'.repeat(36)}…") feature 0 has a point (24576, 1) far outside the tile extent 4096.`,
    })
  })
})
