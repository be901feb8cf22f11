/**
 * @module
 * Shared settings and arbitraries for the property-based fuzz tests (`*.fuzz.test.ts`,
 * test/fuzz-endpoints.test.ts). `FUZZ_RUNS=10 npm test` runs ten times as many cases;
 * `FUZZ_SEED=<seed printed by a failure>` replays one run (fast-check prints the seed and the
 * counterexample's path when a property fails).
 */
import fc from 'fast-check'

/** `FUZZ_RUNS`: how many times the default case counts to run (a positive number, default 1). */
export function fuzzMultiplier(env: Record<string, string | undefined> = process.env): number {
  const n = Number(env.FUZZ_RUNS)
  return Number.isFinite(n) && n > 0 ? n : 1
}

/**
 * fast-check parameters for a property worth `base` cases in a plain `npm test`, scaled by
 * `FUZZ_RUNS`, with `FUZZ_SEED` (and `FUZZ_PATH`) replaying a reported failure.
 *
 * @example
 * fc.assert(fc.property(fc.string(), (s) => parse(s) !== undefined), fuzzParameters(2000))
 */
export function fuzzParameters<T>(base: number, env: Record<string, string | undefined> = process.env): fc.Parameters<T> {
  const seed = env.FUZZ_SEED === undefined || env.FUZZ_SEED.trim() === '' ? NaN : Number(env.FUZZ_SEED)
  const replay = Number.isInteger(seed)
  return {
    numRuns: Math.max(1, Math.round(base * fuzzMultiplier(env))),
    ...(replay ? { seed } : {}),
    // A path means nothing without its seed.
    ...(replay && env.FUZZ_PATH ? { path: env.FUZZ_PATH } : {}),
  }
}

/** A token-shaped secret: it must never come back in an answer. */
export const FUZZ_TOKEN = 'MLY|4242424242|0123456789abcdef0123456789abcdef'

/** Pieces a hostile client puts in a parameter: number spellings, separators, unicode, markup, tokens. */
const HOSTILE_PIECES = [
  'NaN', 'Infinity', '-Infinity', '+Infinity', '-0', '+0', '0', '-', '+', '.', '..', 'e', 'E5', '1e308', '1e309', '-1e400',
  '1e-400', '5e-324', '0x10', '0b101', '0o17', '1_000', '1,5', '1.', '.5', '00012', '9007199254740993', '18446744073709551616',
  '١٢٣', '１２３', '½', '²', '٫', ' ', '\t', '\n', '\r\n', '\u00a0', '\u2028', '\ufeff', '\u200b', '\u0000', ',', ',,', ', ',
  ';', '&', '=', '?', '#', '/', '\\', '%', '%2C', '%00', '%ZZ', '"', "'", '`', '<script>alert(1)</script>', '</>', '${x}',
  '{{7*7}}', 'é', 'e\u0301', '😀', '\ud800', 'İ', 'ß', 'true', 'false', 'TRUE', 'null', 'undefined', '[]', '{}',
  'id', 'value', 'geometry', 'object_type', 'regulatory--stop--g1', 'object--vehicle--car', 'a--', '--a', 'a---b',
  '-79.54', '8.94', '-79.52', '8.96', '180', '-180', '180.0000001', '85.0511', '85.0512', '-85.0511', '90',
  FUZZ_TOKEN, 'MLY|', 'OAuth ', 'Bearer x',
]

/** One hostile piece, or random text (full unicode, or raw UTF-16 code units). */
export const hostilePiece: fc.Arbitrary<string> = fc.oneof(
  { weight: 4, arbitrary: fc.constantFrom(...HOSTILE_PIECES) },
  { weight: 1, arbitrary: fc.string({ unit: 'grapheme', maxLength: 8 }) },
  { weight: 1, arbitrary: fc.string({ unit: 'binary', maxLength: 8 }) },
  { weight: 2, arbitrary: fc.double().map(String) },
  { weight: 1, arbitrary: fc.bigInt().map(String) },
  { weight: 1, arbitrary: fc.integer({ min: 1, max: 5000 }).map((n) => '9'.repeat(n)) },
)

/**
 * Adversarial text for a parameter: pieces glued together, sometimes comma lists, sometimes
 * very long (up to a few thousand pieces).
 */
export const hostileText: fc.Arbitrary<string> = fc.oneof(
  { weight: 5, arbitrary: fc.array(hostilePiece, { maxLength: 8 }).map((p) => p.join('')) },
  { weight: 3, arbitrary: fc.array(fc.array(hostilePiece, { maxLength: 3 }).map((p) => p.join('')), { maxLength: 8 }).map((p) => p.join(',')) },
  { weight: 1, arbitrary: fc.tuple(hostilePiece, fc.integer({ min: 100, max: 3000 })).map(([p, n]) => Array(n).fill(p).join(',')) },
  { weight: 1, arbitrary: fc.string({ unit: 'grapheme', maxLength: 200 }) },
)

/** A decimal spelling of a number as a client might write it: exponents, signs, padding, long fractions. */
export const decimalText = (min: number, max: number): fc.Arbitrary<string> =>
  fc.oneof(
    fc.double({ min, max, noNaN: true }).map(String),
    fc.tuple(fc.double({ min, max, noNaN: true }), fc.integer({ min: 0, max: 20 })).map(([v, d]) => v.toExponential(d)),
    fc.tuple(fc.double({ min, max, noNaN: true }), fc.integer({ min: 0, max: 20 })).map(([v, d]) => v.toFixed(d)),
    fc.integer({ min: Math.ceil(min), max: Math.floor(max) }).map(String),
  )

/** Pads `s` with the whitespace a comma list tolerates around an item. */
export const padded = (s: fc.Arbitrary<string>): fc.Arbitrary<string> =>
  fc.tuple(fc.constantFrom('', ' ', '  ', '\t'), s, fc.constantFrom('', ' ', '\t')).map(([a, v, b]) => a + v + b)

/**
 * A test timeout for a fuzz test: generous (the machine may be shared), scaled by `FUZZ_RUNS`. A
 * hang still fails, it just takes this long to show.
 *
 * @example
 * it('never throws', () => { fc.assert(…, fuzzParameters(2000)) }, fuzzTimeout())
 */
export function fuzzTimeout(ms = 60_000, env: Record<string, string | undefined> = process.env): number {
  return Math.round(ms * Math.max(1, fuzzMultiplier(env)))
}
