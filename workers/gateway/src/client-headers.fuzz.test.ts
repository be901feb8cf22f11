/**
 * Property-based fuzzing of the headers the gateway reads from clients: the API key
 * (`sentKey`: `X-API-Key` or `Authorization: Bearer`), the client IP (`clientIp`) and the request id
 * task Workers echo (`requestIdOf`). `FUZZ_RUNS` / `FUZZ_SEED`: see test/support/fuzz.ts.
 */
import { describe, expect, it } from 'vitest'
import fc from 'fast-check'
import { API_KEY_PATTERN, sentKey } from './api-key'
import { clientIp } from './client-limits'
import { requestIdOf } from '../../../shared/http/on-error'
import { FUZZ_TOKEN, fuzzParameters, fuzzTimeout, hostileText } from '../../../test/support/fuzz'

/** Header values as `Headers` takes them: no CR, LF or NUL, no code point past 0xFF. */
const headerValue = (a: fc.Arbitrary<string>) => a.map((s) => s.replace(/[\r\n\0]|[^\x00-\xff]/g, '').slice(0, 4000))
const key = fc.string({ unit: fc.constantFrom(...'abcXYZ019_-'.split('')), minLength: 40, maxLength: 46 }).map((s) => `mlyk_${s}`)

function headers(entries: Array<[string, string | undefined]>): Headers {
  const h = new Headers()
  for (const [name, value] of entries) if (value !== undefined) h.set(name, value)
  return h
}

describe('sentKey', () => {
  it('a key only of the documented shape; a Mapillary token is no key; anything else sent as a key is malformed', () => {
    const value = headerValue(fc.oneof(key, key.map((k) => ` ${k} `), fc.constant(FUZZ_TOKEN), hostileText))
    const auth = fc.oneof(fc.tuple(fc.constantFrom('Bearer ', 'bearer  ', 'OAuth ', 'Basic ', ''), value).map(([s, v]) => s + v), value)
    fc.assert(
      fc.property(fc.option(value, { nil: undefined }), fc.option(auth, { nil: undefined }), (xApiKey, authorization) => {
        const answer = sentKey(headers([['x-api-key', xApiKey], ['authorization', authorization]]))
        if (answer === undefined || answer === 'malformed') {
          if (xApiKey !== undefined) expect(answer).toBe(API_KEY_PATTERN.test(xApiKey.trim()) ? xApiKey.trim() : 'malformed')
          return
        }
        expect(answer).toMatch(/^mlyk_[A-Za-z0-9_-]{43}$/)
        expect(answer.toUpperCase().startsWith('MLY|')).toBe(false)
      }),
      fuzzParameters(3000),
    )
  }, fuzzTimeout())
})

describe('clientIp', () => {
  it("only CF-Connecting-IP counts (trimmed), whatever X-Forwarded-For says; else 'unknown'", () => {
    const value = headerValue(fc.oneof(fc.ipV4(), fc.ipV6(), hostileText))
    fc.assert(
      fc.property(fc.option(value, { nil: undefined }), fc.option(value, { nil: undefined }), (cf, xff) => {
        const h = headers([['cf-connecting-ip', cf], ['x-forwarded-for', xff]])
        const stored = h.get('cf-connecting-ip')?.trim()
        expect(clientIp(h)).toBe(stored ? stored : 'unknown')
      }),
      fuzzParameters(2000),
    )
  }, fuzzTimeout())
})

describe('requestIdOf', () => {
  it('1–64 of A-Z a-z 0-9 . _ : - (trimmed), else none: never a token, never markup', () => {
    const value = headerValue(fc.oneof(fc.uuid(), fc.string({ unit: fc.constantFrom(...'aZ09._:-'.split('')), minLength: 1, maxLength: 70 }), fc.constant(FUZZ_TOKEN), hostileText))
    fc.assert(
      fc.property(fc.option(value, { nil: undefined }), (v) => {
        const h = headers([['x-request-id', v]])
        const id = requestIdOf(h)
        const stored = h.get('x-request-id')?.trim() ?? ''
        const ok = stored.length >= 1 && stored.length <= 64 && [...stored].every((c) => /^[A-Za-z0-9._:-]$/.test(c))
        expect(id).toBe(ok ? stored : undefined)
      }),
      fuzzParameters(2000),
    )
  }, fuzzTimeout())
})
