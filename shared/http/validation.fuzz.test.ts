/**
 * Property-based fuzzing of the public parameter schemas (validation.ts): for random and hostile
 * text (number spellings, unicode digits, whitespace, commas, markup, tokens, very long input) each
 * schema answers through `safeParse` (never throws) and what it accepts meets the contract of
 * docs/api-v1.md. `FUZZ_RUNS` / `FUZZ_SEED`: see test/support/fuzz.ts.
 */
import { describe, expect, it } from 'vitest'
import fc from 'fast-check'
import { z } from 'zod'
import { bboxParam, booleanParam, decodeBody, fieldsParam, imageId, mapFeatureId, MAX_GEOMETRY_CHARS, MAX_OBJECT_VALUES, objectValuesParam, sequenceId, validationProblem } from './validation'
import { decimalText, fuzzParameters, fuzzTimeout, hostilePiece, hostileText, padded } from '../../test/support/fuzz'

/** The contract's latitude bound (docs/api-v1.md: "latitude within ±85.0511"). */
const MAX_LAT = 85.0511

/** Text or anything else a query or JSON member might hold. */
const anyInput: fc.Arbitrary<unknown> = fc.oneof(
  { weight: 6, arbitrary: hostileText },
  { weight: 1, arbitrary: fc.constant(undefined) },
  { weight: 1, arbitrary: fc.array(hostileText, { minLength: 2, maxLength: 3 }) },
  { weight: 1, arbitrary: fc.anything() },
)

/** `safeParse` that must not throw: the documented failure is `{ success: false }`. */
function parse<T extends z.ZodType>(schema: T, input: unknown): z.ZodSafeParseResult<z.output<T>> {
  let result: z.ZodSafeParseResult<z.output<T>> | undefined
  expect(() => {
    result = schema.safeParse(input)
  }).not.toThrow()
  if (!result!.success) {
    expect(result!.error.issues.length).toBeGreaterThan(0)
    for (const issue of result!.error.issues) expect(typeof issue.message).toBe('string')
  }
  return result!
}

/** A decimal literal as a person writes one (no hex, no `Infinity`, no `_`), checked apart from the code. */
const isDecimal = (s: string): boolean => /^[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?$/.test(s)

describe('bbox', () => {
  it('never throws; an accepted box is four finite numbers in range, south ≤ north, each the number its item spells', () => {
    const text = fc.oneof(
      hostileText,
      fc.array(padded(fc.oneof(decimalText(-200, 200), hostilePiece)), { minLength: 3, maxLength: 5 }).map((p) => p.join(',')),
    )
    fc.assert(
      fc.property(text, (s) => {
        const r = parse(bboxParam, s)
        if (!r.success) return
        const items = s.split(',').map((x) => x.trim())
        expect(items).toHaveLength(4)
        const [w, south, e, n] = r.data
        for (const [i, v] of r.data.entries()) {
          expect(Number.isFinite(v)).toBe(true)
          expect(isDecimal(items[i]!), `'${items[i]}' is a decimal`).toBe(true)
          expect(Object.is(v, Number(items[i])) || v === Number(items[i])).toBe(true)
        }
        for (const lon of [w, e]) expect(Math.abs(lon)).toBeLessThanOrEqual(180)
        for (const lat of [south, n]) expect(Math.abs(lat)).toBeLessThanOrEqual(MAX_LAT)
        expect(south).toBeLessThanOrEqual(n)
      }),
      fuzzParameters(3000),
    )
  }, fuzzTimeout())

  it('accepts every in-range box however its numbers are spelled (exponents, padding, crossing the antimeridian)', () => {
    const lon = decimalText(-180, 180)
    const lat = decimalText(-MAX_LAT, MAX_LAT)
    fc.assert(
      fc.property(padded(lon), padded(lat), padded(lon), padded(lat), (w, s, e, n) => {
        const values = [w, s, e, n].map(Number)
        const inRange = Math.abs(values[0]!) <= 180 && Math.abs(values[2]!) <= 180 && Math.abs(values[1]!) <= MAX_LAT && Math.abs(values[3]!) <= MAX_LAT
        const r = parse(bboxParam, [w, s, e, n].join(','))
        expect(r.success).toBe(inRange && values[1]! <= values[3]!)
        if (r.success) expect(r.data).toEqual(values)
      }),
      fuzzParameters(3000),
    )
  }, fuzzTimeout())

  it('refuses items that are not decimals: hex, binary, Infinity, NaN, unicode digits, empty', () => {
    const notDecimal = fc.constantFrom('0x10', '0b1', '0o7', 'Infinity', '-Infinity', 'NaN', '١', '１', '1_0', '', ' ', '1e', 'e1', '--1', '1..0', '½', '1e400', '-1e400')
    fc.assert(
      fc.property(fc.integer({ min: 0, max: 3 }), notDecimal, (at, bad) => {
        const items = ['1', '2', '3', '4']
        items[at] = bad
        expect(parse(bboxParam, items.join(',')).success).toBe(false)
      }),
      fuzzParameters(500),
    )
  }, fuzzTimeout())
})

describe('ids', () => {
  it('numeric ids: accepted exactly when 1–20 ASCII digits, and kept as given', () => {
    const text = fc.oneof(hostileText, fc.string({ unit: fc.constantFrom(...'0123456789'), minLength: 1, maxLength: 25 }), fc.constantFrom('١٢٣', '１２３', '12 ', ' 12', '+1', '-1', '1.0', '1e3'))
    fc.assert(
      fc.property(fc.oneof(text, anyInput), (s) => {
        for (const schema of [imageId, mapFeatureId]) {
          const r = parse(schema, s)
          const digits = typeof s === 'string' && s.length >= 1 && s.length <= 20 && [...s].every((c) => c >= '0' && c <= '9')
          expect(r.success).toBe(digits)
          if (r.success) expect(r.data).toBe(s)
        }
      }),
      fuzzParameters(3000),
    )
  }, fuzzTimeout())

  it('sequence ids: accepted exactly when 1–64 of A-Z a-z 0-9 _ -, and kept as given', () => {
    const alphabet = 'abcxyzABCXYZ0189_-'.split('')
    const text = fc.oneof(hostileText, fc.string({ unit: fc.constantFrom(...alphabet), minLength: 1, maxLength: 70 }))
    fc.assert(
      fc.property(fc.oneof(text, anyInput), (s) => {
        const r = parse(sequenceId, s)
        const ok = typeof s === 'string' && s.length >= 1 && s.length <= 64 && [...s].every((c) => /[A-Za-z0-9_-]/.test(c) && c.length === 1 && c.charCodeAt(0) < 128)
        expect(r.success).toBe(ok)
        if (r.success) expect(r.data).toBe(s)
      }),
      fuzzParameters(3000),
    )
  }, fuzzTimeout())
})

describe('lists and flags', () => {
  const ALLOWED = ['id', 'value', 'geometry', 'created_at', 'image'] as const
  const DEFAULTS = ['id', 'value', 'geometry'] as const
  const fields = fieldsParam(ALLOWED, DEFAULTS)

  it('fields: accepted exactly when every non-empty item is allowed; the answer is those items once each, in order, or the defaults', () => {
    const item = fc.oneof(fc.constantFrom(...ALLOWED, '', ' ', 'ID', 'values'), hostilePiece)
    const text = fc.oneof(fc.array(padded(item), { maxLength: 8 }).map((p) => p.join(',')), hostileText)
    fc.assert(
      fc.property(fc.oneof(text, anyInput), (s) => {
        const r = parse(fields, s)
        if (typeof s !== 'string' && s !== undefined) {
          expect(r.success).toBe(false)
          return
        }
        const items = (s ?? '').split(',').map((x) => x.trim()).filter(Boolean)
        expect(r.success).toBe(items.every((i) => (ALLOWED as readonly string[]).includes(i)))
        if (r.success) expect(r.data).toEqual(items.length === 0 ? [...DEFAULTS] : items.filter((x, i) => items.indexOf(x) === i))
      }),
      fuzzParameters(3000),
    )
  }, fuzzTimeout())

  it('object_values: an accepted list is 1–50 distinct value names (lowercase, digits, _, single or double dashes), none over 128 characters', () => {
    const name = fc.oneof(fc.constantFrom('regulatory--stop--g1', 'object--street-light', 'a', 'a-b', 'a---b', 'A', 'a--', 'x'.repeat(129)), hostilePiece)
    const text = fc.oneof(fc.array(padded(name), { maxLength: 60 }).map((p) => p.join(',')), hostileText, fc.integer({ min: 45, max: 60 }).map((n) => Array.from({ length: n }, (_, i) => `v${i}`).join(',')))
    fc.assert(
      fc.property(fc.oneof(text, anyInput), (s) => {
        const r = parse(objectValuesParam, s)
        if (!r.success || r.data === undefined) return
        expect(r.data.length).toBeGreaterThanOrEqual(1)
        expect(r.data.length).toBeLessThanOrEqual(MAX_OBJECT_VALUES)
        expect(new Set(r.data).size).toBe(r.data.length)
        for (const v of r.data) {
          expect(v.length).toBeLessThanOrEqual(128)
          expect(v).toMatch(/^[a-z0-9_]+(-{1,2}[a-z0-9_]+)*$/)
        }
        const items = (s as string).split(',').map((x) => x.trim()).filter(Boolean)
        expect(r.data).toEqual([...new Set(items)])
      }),
      fuzzParameters(3000),
    )
  }, fuzzTimeout())

  it('booleans: true for true/1, false for false/0 or absent, refused otherwise', () => {
    fc.assert(
      fc.property(fc.oneof(fc.constantFrom('true', 'false', '1', '0', 'TRUE', 'yes', ' true', 'true ', '01', ''), anyInput), (s) => {
        const r = parse(booleanParam, s)
        const expected = s === 'true' || s === '1' ? true : s === 'false' || s === '0' || s === undefined ? false : 'refused'
        expect(r.success ? r.data : 'refused').toBe(expected)
      }),
      fuzzParameters(2000),
    )
  }, fuzzTimeout())
})

describe('POST /v1/decode body', () => {
  it('an accepted body has a 1 MiB-bounded geometry string and integer width and height in 1..100000', () => {
    const dimension = fc.oneof(fc.integer({ min: -5, max: 100_005 }), fc.double(), fc.constantFrom(-0, 1e308, 2 ** 53, Infinity, NaN), hostileText, fc.constant(null))
    const body = fc.oneof(
      fc.record({ geometry: fc.oneof(hostileText, fc.constant(''), fc.integer()), width: dimension, height: dimension }, { requiredKeys: [] }),
      fc.anything(),
    )
    fc.assert(
      fc.property(body, (b) => {
        const r = parse(decodeBody, b)
        if (!r.success) return
        expect(typeof r.data.geometry).toBe('string')
        expect(r.data.geometry.length).toBeGreaterThanOrEqual(1)
        expect(r.data.geometry.length).toBeLessThanOrEqual(MAX_GEOMETRY_CHARS)
        for (const d of [r.data.width, r.data.height]) {
          expect(Number.isInteger(d)).toBe(true)
          expect(d).toBeGreaterThanOrEqual(1)
          expect(d).toBeLessThanOrEqual(100_000)
        }
      }),
      fuzzParameters(3000),
    )
  }, fuzzTimeout())
})

describe('validationProblem', () => {
  it('turns any failed parse of a query into a 400 problem naming a parameter, never throws', () => {
    const schema = z.object({ bbox: bboxParam, fields: fieldsParam(['a', 'b'], []), object_values: objectValuesParam, pixels: booleanParam })
    const query = fc.record({ bbox: anyInput, fields: anyInput, object_values: anyInput, pixels: anyInput }, { requiredKeys: [] })
    fc.assert(
      fc.property(query, (q) => {
        const r = parse(schema, q)
        if (r.success) return
        const p = validationProblem(schema, r.error.issues, { noun: 'Query parameter', code: 'invalid_parameter' })
        expect(p.status).toBe(400)
        expect(['invalid_parameter', 'invalid_bbox']).toContain(p.code)
        expect(p.detail).toMatch(/^Query parameter '(bbox|fields|object_values|pixels)' /)
      }),
      fuzzParameters(1000),
    )
  }, fuzzTimeout())
})
