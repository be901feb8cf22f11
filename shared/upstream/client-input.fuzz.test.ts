/**
 * Property-based fuzzing of what shared/upstream reads from outside: a client's `Authorization`
 * header (`tokenFrom`) and the upstream's `Retry-After` (`parseRetryAfter`).
 * `FUZZ_RUNS` / `FUZZ_SEED`: see test/support/fuzz.ts.
 */
import { describe, expect, it } from 'vitest'
import fc from 'fast-check'
import { tokenFrom } from './token'
import { parseRetryAfter } from './backoff'
import { FUZZ_TOKEN, fuzzParameters, fuzzTimeout, hostileText } from '../../test/support/fuzz'

const SERVER = 'MLY|9|server'

describe('tokenFrom', () => {
  it("the client's token only from `OAuth|Bearer MLY|…` (printable ASCII, no spaces), else the server's", () => {
    const scheme = fc.constantFrom('OAuth', 'oauth', 'Bearer', 'BEARER', 'Basic', 'OAuth2', '')
    const token = fc.oneof(fc.constant(FUZZ_TOKEN), hostileText.map((t) => `MLY|${t}`), hostileText)
    const header = fc.oneof(
      fc.tuple(fc.constantFrom('', ' ', '\t'), scheme, fc.constantFrom(' ', '  ', '\t', ''), token, fc.constantFrom('', ' ', '\n')).map((p) => p.join('')),
      hostileText,
      fc.constant(undefined),
      fc.constant(null),
    )
    fc.assert(
      fc.property(header, fc.constantFrom(SERVER, ` ${SERVER} `, '', undefined), (h, server) => {
        const answer = tokenFrom(h, server)
        if (answer?.source === 'client') {
          expect(answer.token.startsWith('MLY|')).toBe(true)
          expect(answer.token).toMatch(/^[\x21-\x7e]+$/)
          // What the header carried after its scheme, white space aside: nothing added, nothing lost.
          expect(h!.trim().split(/\s+/).slice(1).join(' ')).toBe(answer.token)
          expect(h!.trim().split(/\s+/)[0]!.toLowerCase()).toMatch(/^(oauth|bearer)$/)
        } else if (server?.trim()) {
          expect(answer).toEqual({ token: SERVER, source: 'server' })
        } else {
          expect(answer).toBe(null)
        }
      }),
      fuzzParameters(3000),
    )
  }, fuzzTimeout())
})

describe('parseRetryAfter', () => {
  const value = fc.oneof(
    fc.nat().map(String),
    fc.integer({ min: 1, max: 400 }).map((n) => '9'.repeat(n)),
    fc.date({ noInvalidDate: true }).map((d) => d.toUTCString()),
    fc.constantFrom('-1', '1.5', '1e3', ' 7 ', '', 'Infinity', 'NaN', '0x10'),
    hostileText,
  )

  it('delta seconds or an HTTP date: a whole number of seconds ≥ 0, or undefined; never throws', () => {
    const now = Date.UTC(2026, 11, 1, 17, 40)
    fc.assert(
      fc.property(value, (v) => {
        const s = parseRetryAfter(v, now)
        if (s === undefined) return
        // Whole where finite: finiteness is the known finding below.
        expect(s >= 0 && (Number.isInteger(s) || s === Infinity)).toBe(true)
      }),
      fuzzParameters(3000),
    )
  }, fuzzTimeout())

  // Found by fuzzing: 309 digits or more gave Infinity, which `Retry-After`, `retry_after` and the
  // governor's pause (permits.report) then carried. Now capped at a day.
  it('…and a finite one, at most a day, however many digits the upstream sends', () => {
    fc.assert(
      fc.property(value, (v) => {
        const s = parseRetryAfter(v)
        if (s !== undefined) expect(Number.isSafeInteger(s) && s >= 0 && s <= 86_400).toBe(true)
      }),
      { ...fuzzParameters(500), examples: [['9'.repeat(400)]] },
    )
  }, fuzzTimeout())
})
