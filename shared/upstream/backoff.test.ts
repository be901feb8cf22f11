import { describe, expect, it } from 'vitest'
import { backoffDelay, parseRetryAfter } from './backoff'

describe('parseRetryAfter', () => {
  const now = Date.UTC(2026, 0, 1)

  it('reads delta seconds, spaces around them included', () => {
    expect(parseRetryAfter('7', now)).toBe(7)
    expect(parseRetryAfter(' 7 ', now)).toBe(7)
  })

  it('reads an HTTP date as whole seconds from now, never below 0', () => {
    expect(parseRetryAfter(new Date(now + 4500).toUTCString(), now)).toBe(4)
    expect(parseRetryAfter(new Date(now - 60_000).toUTCString(), now)).toBe(0)
  })

  it('caps a wait at a day, in seconds or as a date', () => {
    expect(parseRetryAfter('86400', now)).toBe(86_400)
    expect(parseRetryAfter('86401', now)).toBe(86_400)
    expect(parseRetryAfter('9'.repeat(400), now)).toBe(86_400)
    expect(parseRetryAfter(new Date(now + 2 * 86_400_000).toUTCString(), now)).toBe(86_400)
  })

  it('is undefined for absent, empty or unreadable values', () => {
    for (const v of [undefined, null, '', '   ', 'soon', '1a2']) expect(parseRetryAfter(v, now)).toBeUndefined()
  })
})

describe('backoffDelay', () => {
  it('is a uniform share of min(cap, base · 2^(retry-1))', () => {
    expect([1, 2, 3, 4, 5].map((retry) => backoffDelay(retry, 200, 1000, () => 0.5))).toEqual([100, 200, 400, 500, 500])
  })
})
