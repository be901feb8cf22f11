/**
 * Property-based fuzzing of what the jobs Worker reads from clients and from time: job ids in the
 * path (`isJobId`), `Last-Event-ID` (`lastEventId`), and the progress-poll pace (`pollDelayMs`).
 * `FUZZ_RUNS` / `FUZZ_SEED`: see test/support/fuzz.ts.
 */
import { describe, expect, it } from 'vitest'
import fc from 'fast-check'
import { isJobId, newJobId } from './job-id'
import { lastEventId } from './sse'
import { pollDelayMs, POLL_MAX_MS, POLL_MIN_MS } from './poll'
import { fuzzParameters, fuzzTimeout, hostileText } from '../../../test/support/fuzz'

const hex = fc.string({ unit: fc.constantFrom(...'0123456789abcdefABCDEF'.split('')), minLength: 30, maxLength: 34 })

describe('isJobId', () => {
  it('only 32 lowercase hex digits, nothing around them', () => {
    fc.assert(
      fc.property(fc.oneof(hostileText, hex, hex.map((h) => `${h}\n`), fc.constant(undefined)), (id) => {
        const shaped = typeof id === 'string' && id.length === 32 && [...id].every((c) => '0123456789abcdef'.includes(c))
        expect(isJobId(id)).toBe(shaped)
      }),
      fuzzParameters(3000),
    )
  }, fuzzTimeout())

  it('every new id has that shape, and 1000 of them are distinct', () => {
    const ids = Array.from({ length: 1000 }, newJobId)
    expect(ids.every(isJobId)).toBe(true)
    expect(new Set(ids).size).toBe(ids.length)
  })
})

describe('lastEventId', () => {
  it('a non-negative safe integer: the count a header of 1–15 ASCII digits (spaces around allowed) spells, else 0', () => {
    const digits = fc.string({ unit: fc.constantFrom(...'0123456789'.split('')), minLength: 1, maxLength: 18 })
    const header = fc.oneof(hostileText, digits, digits.map((d) => ` ${d}\t`), fc.constantFrom('-1', '1e3', '0x10', '١٢', '１２', '12.0', '', 'NaN'), fc.constant(null), fc.constant(undefined))
    fc.assert(
      fc.property(header, (h) => {
        const n = lastEventId(h)
        expect(Number.isSafeInteger(n) && n >= 0).toBe(true)
        const t = h?.trim() ?? ''
        const count = t.length >= 1 && t.length <= 15 && [...t].every((c) => c >= '0' && c <= '9')
        expect(n).toBe(count ? Number(t) : 0)
      }),
      fuzzParameters(3000),
    )
  }, fuzzTimeout())
})

describe('pollDelayMs', () => {
  it(`any elapsed time, however odd, gives a delay within [${POLL_MIN_MS}, ${POLL_MAX_MS}] that never shrinks as time goes on`, () => {
    const elapsed = fc.oneof(fc.integer({ min: -1e9, max: 1e12 }), fc.double({ noNaN: true }), fc.constantFrom(-0, Infinity, -Infinity, Number.MAX_VALUE))
    fc.assert(
      fc.property(elapsed, elapsed, (a, b) => {
        for (const t of [a, b]) {
          const d = pollDelayMs(t)
          expect(d).toBeGreaterThanOrEqual(POLL_MIN_MS)
          expect(d).toBeLessThanOrEqual(POLL_MAX_MS)
        }
        if (a <= b) expect(pollDelayMs(a)).toBeLessThanOrEqual(pollDelayMs(b))
      }),
      fuzzParameters(2000),
    )
  }, fuzzTimeout())
})
