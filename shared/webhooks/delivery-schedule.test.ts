import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import { DEFAULT_DELIVERY_ATTEMPTS, deliveryDelayMs, readCapped, retryAfterSeconds } from './delivery-schedule'

const MINUTE = 60_000
const waits = (random: () => number) => Array.from({ length: DEFAULT_DELIVERY_ATTEMPTS - 1 }, (_, i) => deliveryDelayMs(i + 1, { random }))
const sum = (xs: number[]) => xs.reduce((a, b) => a + b, 0)

describe('deliveryDelayMs', () => {
  it('spreads the default 6 attempts over about an hour, whatever the jitter draws', () => {
    expect(DEFAULT_DELIVERY_ATTEMPTS).toBe(6)
    for (const r of [0, 0.5, 0.999999]) {
      const total = sum(waits(() => r))
      expect(total).toBeGreaterThanOrEqual(40 * MINUTE)
      expect(total).toBeLessThanOrEqual(80 * MINUTE)
    }
    fc.assert(fc.property(fc.array(fc.double({ min: 0, max: 1, maxExcluded: true, noNaN: true }), { minLength: 5, maxLength: 5 }), (draws) => {
      let i = 0
      const total = sum(waits(() => draws[i++]!))
      return total >= 40 * MINUTE && total <= 80 * MINUTE
    }))
  })

  it('grows: each nominal wait (no jitter) is longer than the one before', () => {
    const nominal = waits(() => 0.5)
    expect(nominal).toEqual([30_000, 90_000, 270_000, 810_000, 2_430_000])
  })

  it('keeps jitter within ±20 % of the nominal wait, and uses the whole range', () => {
    for (let attempt = 1; attempt <= 5; attempt++) {
      const nominal = deliveryDelayMs(attempt, { random: () => 0.5 })
      expect(deliveryDelayMs(attempt, { random: () => 0 })).toBe(Math.round(nominal * 0.8))
      expect(deliveryDelayMs(attempt, { random: () => 0.999999 })).toBeCloseTo(nominal * 1.2, -1)
      for (let k = 0; k < 50; k++) {
        const d = deliveryDelayMs(attempt) // Math.random
        expect(d).toBeGreaterThanOrEqual(Math.round(nominal * 0.8))
        expect(d).toBeLessThanOrEqual(Math.round(nominal * 1.2))
      }
    }
  })

  it('honours a Retry-After longer than the backoff, ignores a shorter one', () => {
    expect(deliveryDelayMs(1, { random: () => 0.5, retryAfterSeconds: 120 })).toBe(120_000)
    expect(deliveryDelayMs(3, { random: () => 0.5, retryAfterSeconds: 5 })).toBe(270_000)
    expect(deliveryDelayMs(1, { random: () => 0.5, retryAfterSeconds: 0 })).toBe(30_000)
    expect(deliveryDelayMs(1, { random: () => 0.5, retryAfterSeconds: Number.NaN })).toBe(30_000)
  })

  it('caps every wait, a huge Retry-After and a huge attempt number included', () => {
    expect(deliveryDelayMs(1, { random: () => 0.5, retryAfterSeconds: 86_400 })).toBe(60 * MINUTE)
    expect(deliveryDelayMs(1, { random: () => 0.5, retryAfterSeconds: 86_400, maxMs: 5 * MINUTE })).toBe(5 * MINUTE)
    expect(deliveryDelayMs(1000, { random: () => 0.5 })).toBe(60 * MINUTE)
  })

  it('takes another base (tests use a short one)', () => {
    expect(deliveryDelayMs(1, { baseMs: 100, random: () => 0.5 })).toBe(100)
    expect(deliveryDelayMs(3, { baseMs: 100, random: () => 0.5 })).toBe(900)
  })

  it('treats a nonsense attempt number as the first', () => {
    for (const attempt of [0, -3, Number.NaN]) expect(deliveryDelayMs(attempt, { random: () => 0.5 })).toBe(30_000)
  })
})

describe('retryAfterSeconds', () => {
  const now = Date.parse('2026-12-01T18:00:00Z')
  it('reads delta-seconds and HTTP dates', () => {
    expect(retryAfterSeconds('120', now)).toBe(120)
    expect(retryAfterSeconds(' 0 ', now)).toBe(0)
    expect(retryAfterSeconds('Tue, 01 Dec 2026 18:01:30 GMT', now)).toBe(90)
    expect(retryAfterSeconds('Tue, 01 Dec 2026 17:00:00 GMT', now)).toBe(0)
  })
  it('says undefined for nothing or nonsense', () => {
    for (const v of [null, undefined, '', 'soon', '-5', '1.5']) expect(retryAfterSeconds(v, now)).toBeUndefined()
  })
})

function endless(onCancel?: () => void): ReadableStream<Uint8Array> {
  const chunk = new TextEncoder().encode('x'.repeat(1000))
  return new ReadableStream({ pull: (c) => c.enqueue(chunk), cancel: onCancel })
}

describe('readCapped', () => {
  it('reads a small body whole', async () => {
    expect(await readCapped(new Response('{"ok":true}'), 4096)).toBe('{"ok":true}')
    expect(await readCapped(new Response(null, { status: 204 }), 4096)).toBe('')
  })

  it('reads exactly maxBytes of a larger body', async () => {
    const text = await readCapped(new Response('a'.repeat(10_000)), 4096)
    expect(text).toBe('a'.repeat(4096))
  })

  it('returns from a never-ending stream, having pulled little past the cap, and cancels it', async () => {
    let pulls = 0
    let cancelled = false
    const chunk = new TextEncoder().encode('y'.repeat(1000))
    const body = new ReadableStream<Uint8Array>({ pull: (c) => { pulls++; c.enqueue(chunk) }, cancel: () => { cancelled = true } }, { highWaterMark: 0 })
    const text = await readCapped(new Response(body), 4096)
    expect(text).toBe('y'.repeat(4096))
    expect(pulls).toBeLessThanOrEqual(6)
    await new Promise((r) => setTimeout(r, 0))
    expect(cancelled).toBe(true)
    expect(await readCapped(new Response(endless()), 10)).toBe('x'.repeat(10))
  })

  it('ends a body that stalls after timeoutMs with what came so far', async () => {
    const body = new ReadableStream<Uint8Array>({ start: (c) => c.enqueue(new TextEncoder().encode('partial')) }) // never closes
    expect(await readCapped(new Response(body), 4096, { timeoutMs: 50 })).toBe('partial')
  })

  it('cuts on bytes, not characters: a character split at the cap becomes U+FFFD', async () => {
    expect(await readCapped(new Response('ééé'), 3)).toBe('é\uFFFD')
  })
})
