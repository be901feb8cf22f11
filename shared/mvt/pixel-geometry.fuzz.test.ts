/**
 * Property-based fuzzing of the detection decoder (`pixelGeometry`, `readTile`): random bytes,
 * generated valid tiles, valid and real tiles mutated (bits flipped, truncated, huge varints
 * spliced in, bytes dropped), raw command streams with long runs, deeply nested unknown fields,
 * zero and huge extents, empty layers. Whatever comes in, the decoder answers a tagged failure or a
 * valid geometry, never throws. `FUZZ_RUNS` / `FUZZ_SEED`: see test/support/fuzz.ts.
 */
import { describe, expect, it } from 'vitest'
import fc from 'fast-check'
import { PbfWriter } from 'pbf'
import { pixelGeometry, pixelGeometryFromBytes, type DecodeResult } from './pixel-geometry'
import { decodeBase64, encodeBase64 } from './base64'
import { encodeTile, type TileLayerInput } from '../../test/stand-in/src/encode-tile'
import { expectValidPixelGeometry, polygonsOf } from '../../test/support/pixel-geometry-checks'
import { fuzzParameters, fuzzTimeout } from '../../test/support/fuzz'
import fixtures from '../../test/fixtures/real-detections.json'

const REASONS = ['invalid_base64', 'corrupt_tile', 'empty_tile', 'too_many_points']
/** A failure's detail ends up in a 422 problem: short, whatever the tile holds. */
const MAX_DETAIL = 400

/** Checks what every answer must be: a valid geometry or a tagged failure with a short detail. */
function expectWellFormed(result: DecodeResult, opts: { width: number; height: number; maxPoints?: number }): void {
  if (result.ok) {
    expectValidPixelGeometry(result.geometry)
    const points = polygonsOf(result.geometry).flat(2)
    if (opts.maxPoints !== undefined) expect(points.length).toBeLessThanOrEqual(opts.maxPoints)
    // The reader refuses points further than 4 extents before or 5 past the tile (to rounding).
    const slack = 1 + 1e-12
    for (const [x, y] of points) {
      expect(x!).toBeGreaterThanOrEqual(-4 * opts.width * slack)
      expect(x!).toBeLessThanOrEqual(5 * opts.width * slack)
      expect(y!).toBeGreaterThanOrEqual(-4 * opts.height * slack)
      expect(y!).toBeLessThanOrEqual(5 * opts.height * slack)
    }
  } else {
    expect(REASONS).toContain(result.failure.reason)
    expect(typeof result.failure.detail).toBe('string')
    expect(result.failure.detail.length).toBeGreaterThan(10)
    expect(result.failure.detail.length).toBeLessThanOrEqual(MAX_DETAIL)
  }
}

const dimension = fc.integer({ min: 1, max: 100_000 })
const maxPoints = fc.option(fc.integer({ min: 0, max: 200 }), { nil: undefined })

// --- generated valid tiles -------------------------------------------------------------------

// Up to 2^20: every area is then exact in doubles, so "has an area" means the same to the oracle
// and to the decoder; larger extents are fuzzed with raw layers below.
const EXTENTS = [1, 2, 7, 256, 512, 4096, 8192, 65_536, 2 ** 20]

/** A valid tile as layers: rings in [0, extent] (the stand-in's encoder takes 32-bit deltas). */
const tileLayers: fc.Arbitrary<TileLayerInput[]> = fc.array(
  fc.constantFrom(...EXTENTS).chain((extent) =>
    fc.record({
      name: fc.string({ unit: 'grapheme', minLength: 1, maxLength: 12 }),
      extent: fc.constant(extent),
      features: fc.array(
        fc.record({
          type: fc.constantFrom(1 as const, 2 as const, 3 as const, 3 as const),
          rings: fc.array(fc.array(fc.tuple(fc.integer({ min: 0, max: extent }), fc.integer({ min: 0, max: extent })), { minLength: 1, maxLength: 12 }), { minLength: 1, maxLength: 4 }),
        }),
        { maxLength: 4 },
      ),
    }),
  ),
  { maxLength: 3 },
)

const realTiles = fixtures.detections.map((d) => decodeBase64(d.geometry)!)

/** Valid tile bytes: generated ones and the real Mapillary tiles. */
const validTile: fc.Arbitrary<Uint8Array> = fc.oneof(
  { weight: 3, arbitrary: tileLayers.map((layers) => encodeTile(layers)) },
  { weight: 1, arbitrary: fc.constantFrom(...realTiles) },
)

// --- mutations ------------------------------------------------------------------------------

/** A varint of up to 11 bytes with every continuation bit set: larger than any field can be. */
const hugeVarint = fc.integer({ min: 5, max: 11 }).map((n) => Uint8Array.from([...Array<number>(n - 1).fill(0xff), 0x01]))

type Mutation = (bytes: Uint8Array) => Uint8Array
const at = (bytes: Uint8Array, fraction: number): number => Math.floor(fraction * bytes.length)
const splice = (bytes: Uint8Array, index: number, drop: number, insert: Uint8Array): Uint8Array =>
  Uint8Array.from([...bytes.subarray(0, index), ...insert, ...bytes.subarray(index + drop)])

const mutation: fc.Arbitrary<Mutation> = fc.oneof(
  fc.tuple(fc.double({ min: 0, max: 1, maxExcluded: true, noNaN: true }), fc.integer({ min: 0, max: 7 })).map(([f, bit]): Mutation => (b) => {
    const out = b.slice()
    if (out.length > 0) out[at(out, f)]! ^= 1 << bit
    return out
  }),
  fc.double({ min: 0, max: 1, maxExcluded: true, noNaN: true }).map((f): Mutation => (b) => b.subarray(0, at(b, f))),
  fc.tuple(fc.double({ min: 0, max: 1, noNaN: true }), hugeVarint).map(([f, v]): Mutation => (b) => splice(b, at(b, f), 0, v)),
  fc.tuple(fc.double({ min: 0, max: 1, noNaN: true }), hugeVarint).map(([f, v]): Mutation => (b) => splice(b, at(b, f), v.length, v)),
  fc.tuple(fc.double({ min: 0, max: 1, noNaN: true }), fc.integer({ min: 1, max: 8 })).map(([f, n]): Mutation => (b) => splice(b, at(b, f), n, new Uint8Array())),
  fc.tuple(fc.double({ min: 0, max: 1, noNaN: true }), fc.uint8Array({ minLength: 1, maxLength: 8 })).map(([f, r]): Mutation => (b) => splice(b, at(b, f), 0, r)),
  fc.tuple(fc.double({ min: 0, max: 1, maxExcluded: true, noNaN: true }), fc.constantFrom(0x00, 0x7f, 0x80, 0xff)).map(([f, v]): Mutation => (b) => {
    const out = b.slice()
    if (out.length > 0) out[at(out, f)] = v
    return out
  }),
)

const mutatedTile = fc.tuple(validTile, fc.array(mutation, { minLength: 1, maxLength: 4 })).map(([bytes, ms]) => ms.reduce((b, m) => m(b), bytes))

// --- hand-written protobuf ------------------------------------------------------------------

const MOVE = 1
const LINE = 2
const CLOSE = 7
const command = (id: number, count: number): number => (id & 7) + count * 8

/** A raw geometry command stream: well-formed rings, random commands, and long LineTo runs. */
const commandStream: fc.Arbitrary<number[]> = fc.array(
  fc.oneof(
    fc.tuple(fc.integer({ min: -600, max: 600 }), fc.integer({ min: -600, max: 600 }), fc.array(fc.tuple(fc.integer({ min: -100, max: 100 }), fc.integer({ min: -100, max: 100 })), { minLength: 2, maxLength: 10 }))
      .map(([x, y, deltas]) => [command(MOVE, 1), zigzag(x), zigzag(y), command(LINE, deltas.length), ...deltas.flatMap(([dx, dy]) => [zigzag(dx), zigzag(dy)]), command(CLOSE, 1)]),
    fc.tuple(fc.integer({ min: 0, max: 7 }), fc.integer({ min: 0, max: 2 ** 29 - 1 })).map(([id, count]) => [command(id, count)]),
    fc.integer({ min: 0, max: 2 ** 32 - 1 }).map((n) => [n]),
    fc.integer({ min: 1, max: 5000 }).map((count) => [command(LINE, count), ...Array<number>(2 * count).fill(2)]),
  ),
  { maxLength: 8 },
).map((parts) => parts.flat())

function zigzag(n: number): number {
  return n >= 0 ? 2 * n : -2 * n - 1
}

interface RawFeature {
  type: number
  geometry: number[]
}

/** One layer of raw features, with any extent and version, wrapped in `depth` unknown nested fields. */
function rawTile(layer: { name: string; extent?: number; version?: number; features: RawFeature[] }, depth = 0): Uint8Array {
  const pbf = new PbfWriter()
  pbf.writeMessage(3, (_: unknown, l: PbfWriter) => {
    l.writeStringField(1, layer.name)
    if (layer.version !== undefined) l.writeVarintField(15, layer.version)
    if (layer.extent !== undefined) l.writeVarintField(5, layer.extent)
    for (const f of layer.features) {
      l.writeMessage(2, (__: unknown, p: PbfWriter) => {
        p.writeVarintField(3, f.type)
        p.writePackedVarint(4, f.geometry)
        if (depth > 0) p.writeBytesField(99, nested(depth))
      }, null)
    }
    if (depth > 0) l.writeBytesField(98, nested(depth))
  }, null)
  if (depth > 0) pbf.writeBytesField(97, nested(depth))
  return pbf.finish()
}

/** `depth` length-delimited messages inside each other, innermost empty. */
function nested(depth: number): Uint8Array {
  let inner: Uint8Array = new Uint8Array()
  for (let i = 0; i < depth; i++) {
    const pbf = new PbfWriter()
    pbf.writeBytesField(1 + (i % 20), inner)
    inner = pbf.finish()
  }
  return inner
}

const rawFeature: fc.Arbitrary<RawFeature> = fc.record({ type: fc.constantFrom(0, 1, 2, 3, 3, 3, 4, 2 ** 31), geometry: commandStream })
const extent = fc.oneof(fc.constantFrom(0, 1, 2 ** 31, 2 ** 31 + 1, 2 ** 32, 2 ** 53, Number.MAX_SAFE_INTEGER), fc.integer({ min: 1, max: 2 ** 31 }))

describe('pixelGeometry never throws, and answers a valid geometry or a tagged failure', () => {
  it('random bytes', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 600 }), dimension, dimension, maxPoints, (bytes, width, height, cap) => {
        expectWellFormed(pixelGeometryFromBytes(bytes, width, height, { maxPoints: cap }), { width, height, maxPoints: cap })
      }),
      fuzzParameters(2000),
    )
  }, fuzzTimeout())

  it('random text as base64: invalid_base64 exactly when it is not base64', () => {
    const text = fc.oneof(fc.string({ unit: fc.constantFrom(...'AZaz09+/-_=GiB4 \n.'.split('')), maxLength: 80 }), fc.string({ maxLength: 40 }), fc.string({ unit: 'binary', maxLength: 40 }))
    fc.assert(
      fc.property(text, dimension, dimension, (s, width, height) => {
        const result = pixelGeometry(s, width, height)
        expectWellFormed(result, { width, height })
        expect(!result.ok && result.failure.reason === 'invalid_base64').toBe(decodeBase64(s) === null)
      }),
      fuzzParameters(2000),
    )
  }, fuzzTimeout())

  it('generated valid tiles: a geometry whenever a polygon ring has an area, each point a drawn point scaled', () => {
    fc.assert(
      fc.property(tileLayers, dimension, dimension, (layers, width, height) => {
        const result = pixelGeometryFromBytes(encodeTile(layers), width, height)
        expectWellFormed(result, { width, height })
        // docs/api-v1.md: x_px = x / extent * width, y_px = y / extent * height (to rounding).
        const drawn = layers.flatMap((l) => l.features.filter((f) => f.type === 3).flatMap((f) => f.rings.flat().map(([x, y]) => [(x / l.extent!) * width, (y / l.extent!) * height] as const)))
        const close = (a: number, b: number): boolean => Math.abs(a - b) <= 1e-9 * Math.max(1, Math.abs(b))
        const hasArea = layers.some((l) => l.features.some((f) => f.type === 3 && f.rings.some((r) => shoelace(r) !== 0)))
        expect(result.ok ? 'geometry' : result.failure.reason).toBe(hasArea ? 'geometry' : 'empty_tile')
        if (result.ok) for (const [x, y] of polygonsOf(result.geometry).flat(2)) expect(drawn.some(([dx, dy]) => close(x!, dx) && close(y!, dy)), `${x},${y} is a drawn point`).toBe(true)
      }),
      fuzzParameters(1000),
    )
  }, fuzzTimeout())

  it('valid and real tiles mutated: bits flipped, truncated, huge varints spliced in, bytes dropped or inserted', () => {
    fc.assert(
      fc.property(mutatedTile, dimension, dimension, maxPoints, (bytes, width, height, cap) => {
        expectWellFormed(pixelGeometryFromBytes(bytes, width, height, { maxPoints: cap }), { width, height, maxPoints: cap })
        expectWellFormed(pixelGeometry(encodeBase64(bytes), width, height), { width, height })
      }),
      fuzzParameters(2000),
    )
  }, fuzzTimeout())

  it('raw command streams: unknown commands, huge counts, long LineTo runs, any geometry type', () => {
    fc.assert(
      fc.property(fc.array(rawFeature, { maxLength: 4 }), dimension, dimension, maxPoints, (features, width, height, cap) => {
        expectWellFormed(pixelGeometryFromBytes(rawTile({ name: 'mpy-or', features }), width, height, { maxPoints: cap }), { width, height, maxPoints: cap })
      }),
      fuzzParameters(1000),
    )
  }, fuzzTimeout())

  it('zero, huge and odd extents and versions, empty layers', () => {
    fc.assert(
      fc.property(extent, fc.option(fc.integer({ min: 0, max: 2 ** 32 }), { nil: undefined }), fc.array(rawFeature, { maxLength: 2 }), dimension, dimension, (ext, version, features, width, height) => {
        const result = pixelGeometryFromBytes(rawTile({ name: 'x', extent: ext, version, features }), width, height)
        expectWellFormed(result, { width, height })
        if (ext === 0 || ext > 2 ** 31 || (version !== undefined && version !== 1 && version !== 2)) expect(result.ok).toBe(false)
      }),
      fuzzParameters(1000),
    )
  }, fuzzTimeout())

  it('unknown fields nested thousands deep around a valid ring still decode (no recursion)', () => {
    const square = [command(MOVE, 1), 20, 20, command(LINE, 3), 20, 0, 0, 20, 19, 0, command(CLOSE, 1)]
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 3000 }), (depth) => {
        const result = pixelGeometryFromBytes(rawTile({ name: 'x', extent: 100, features: [{ type: 3, geometry: square }] }, depth), 100, 100)
        expect(result).toEqual({ ok: true, geometry: { type: 'Polygon', coordinates: [[[10, 10], [20, 10], [20, 20], [10, 20], [10, 10]]] } })
      }),
      fuzzParameters(30),
    )
  }, fuzzTimeout())

  it('a long layer name is not echoed whole in the failure detail', () => {
    fc.assert(
      fc.property(fc.string({ unit: 'grapheme', minLength: 300, maxLength: 3000 }), fc.constantFrom<number[]>([command(LINE, 1), 2, 2], [command(MOVE, 1), 2 ** 31, 2, command(CLOSE, 1)], [command(5, 1)]), (name, geometry) => {
        const result = pixelGeometryFromBytes(rawTile({ name, features: [{ type: 3, geometry }] }), 4032, 3024)
        expect(result.ok ? 'geometry' : result.failure.reason).toBe('corrupt_tile')
        expectWellFormed(result, { width: 4032, height: 3024 })
      }),
      fuzzParameters(50),
    )
  }, fuzzTimeout())
})

function shoelace(ring: Array<[number, number]>): number {
  let sum = 0
  for (let i = 0; i < ring.length; i++) {
    const [x1, y1] = ring[i]!
    const [x2, y2] = ring[(i + 1) % ring.length]!
    sum += x1 * y2 - x2 * y1
  }
  return sum
}
