/**
 * Property-based fuzzing of the strict base64 reader (`decodeBase64`): any text gives bytes or
 * `null`, never throws; bytes come back only for one alphabet (standard or URL-safe), correctly
 * padded or unpadded; every byte string survives a round trip in both spellings.
 * `FUZZ_RUNS` / `FUZZ_SEED`: see test/support/fuzz.ts.
 */
import { describe, expect, it } from 'vitest'
import fc from 'fast-check'
import { decodeBase64, encodeBase64 } from './base64'
import { fuzzParameters, fuzzTimeout, hostileText } from '../../test/support/fuzz'

const urlSafe = (s: string): string => s.replace(/\+/g, '-').replace(/\//g, '_')

describe('decodeBase64', () => {
  it('any bytes survive a round trip: standard padded, URL-safe, unpadded', () => {
    fc.assert(
      fc.property(fc.uint8Array({ minLength: 1, maxLength: 300 }), (bytes) => {
        const standard = encodeBase64(bytes)
        for (const spelling of [standard, urlSafe(standard), standard.replace(/=+$/, ''), urlSafe(standard).replace(/=+$/, '')]) {
          expect(decodeBase64(spelling), spelling).toEqual(bytes)
        }
      }),
      fuzzParameters(2000),
    )
  }, fuzzTimeout())

  it('any text: never throws; bytes only for one alphabet, a length not 1 mod 4, padding that completes the last quantum', () => {
    const alphabetText = fc.string({ unit: fc.constantFrom(...'AQgw+/-_='.split('')), maxLength: 24 })
    fc.assert(
      fc.property(fc.oneof(alphabetText, hostileText, fc.string({ unit: 'binary', maxLength: 40 })), (s) => {
        let bytes: Uint8Array | null = null
        expect(() => {
          bytes = decodeBase64(s)
        }).not.toThrow()
        if (bytes === null) return
        const body = s.replace(/=+$/, '')
        const padding = s.length - body.length
        expect(body.length).toBeGreaterThan(0)
        expect(/^[A-Za-z0-9+/]*$/.test(body) || /^[A-Za-z0-9_-]*$/.test(body), `'${s}' uses one alphabet`).toBe(true)
        expect(body.length % 4).not.toBe(1)
        if (padding > 0) expect((body.length + padding) % 4).toBe(0)
        expect((bytes as Uint8Array).length).toBe(Math.floor((body.length * 6) / 8))
      }),
      fuzzParameters(3000),
    )
  }, fuzzTimeout())
})
