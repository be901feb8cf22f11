/**
 * Property-based fuzzing of what a problem may echo (`boundText`, `boundValue`): whatever a
 * hostile client sends, an echoed string holds no `MLY|` token and at most 300 characters, a list
 * at most 20 items. `FUZZ_RUNS` / `FUZZ_SEED`: see test/support/fuzz.ts.
 */
import { describe, expect, it } from 'vitest'
import fc from 'fast-check'
import { boundText, boundValue, MAX_ECHO_CHARS, MAX_ECHO_ITEMS } from './echo-bounds'
import { FUZZ_TOKEN, fuzzParameters, fuzzTimeout, hostileText } from '../../test/support/fuzz'

/** Text with a token somewhere: as sent, URL-encoded, lower-cased. */
const withToken = fc.tuple(hostileText, fc.constantFrom(FUZZ_TOKEN, encodeURIComponent(FUZZ_TOKEN), FUZZ_TOKEN.toLowerCase(), 'MLY|x'), hostileText).map(([a, t, b]) => `${a}${t}${b}`)

/** Whether the secret part of the test token is still there. */
const leaks = (s: string): boolean => s.includes('0123456789abcdef0123456789abcdef') && /mly(\||%7c)4242/i.test(s)

describe('boundText', () => {
  it('at most 300 characters, and no token left in it', () => {
    fc.assert(
      fc.property(fc.oneof(withToken, hostileText), (s) => {
        const out = boundText(s)
        expect(out.length).toBeLessThanOrEqual(MAX_ECHO_CHARS)
        expect(leaks(out), out).toBe(false)
        if (s.length <= MAX_ECHO_CHARS && !/mly(\||%7c)/i.test(s)) expect(out).toBe(s)
      }),
      fuzzParameters(1500),
    )
  }, fuzzTimeout())
})

describe('boundValue', () => {
  it('every string bounded and redacted, every list at most 20 items, member names too', () => {
    // Short strings here: the structure is what this property is about (long text is fuzzed above).
    const short = hostileText.map((t) => t.slice(0, 400))
    const shortToken = fc.tuple(short, fc.constantFrom(FUZZ_TOKEN, encodeURIComponent(FUZZ_TOKEN)), short).map((p) => p.join(''))
    const leaf = fc.oneof(shortToken, short, fc.double(), fc.boolean(), fc.constant(null))
    const json = fc.letrec((tie) => ({
      value: fc.oneof({ depthSize: 'small' }, leaf, fc.array(tie('value'), { maxLength: 25 }), fc.dictionary(fc.oneof(shortToken, short), tie('value'), { maxKeys: 25 })),
    })).value
    fc.assert(
      fc.property(json, (v) => {
        const walk = (x: unknown): void => {
          if (typeof x === 'string') {
            expect(x.length).toBeLessThanOrEqual(MAX_ECHO_CHARS)
            expect(leaks(x), x).toBe(false)
          } else if (Array.isArray(x)) {
            expect(x.length).toBeLessThanOrEqual(MAX_ECHO_ITEMS)
            x.forEach(walk)
          } else if (x && typeof x === 'object') {
            expect(Object.keys(x).length).toBeLessThanOrEqual(MAX_ECHO_ITEMS)
            for (const [k, m] of Object.entries(x)) {
              walk(k)
              walk(m)
            }
          }
        }
        walk(boundValue(v).value)
      }),
      fuzzParameters(300),
    )
  }, fuzzTimeout())
})
