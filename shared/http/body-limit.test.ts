import { describe, expect, it } from 'vitest'
import { readBodyWithin } from './body-limit'

/** A request whose body is `chunks` chunks of `size` bytes of `fill`, counting what was pulled and whether it was cancelled. */
function streamed(chunks: number, size: number, headers: Record<string, string> = {}) {
  const seen = { pulled: 0, cancelled: false }
  let sent = 0
  const body = new ReadableStream<Uint8Array>({
    pull(controller) {
      if (sent === chunks) return controller.close()
      sent++
      seen.pulled += size
      controller.enqueue(new Uint8Array(size).fill(sent))
    },
    cancel() {
      seen.cancelled = true
    },
  })
  const request = new Request('https://x.test/', { method: 'POST', body, headers, duplex: 'half' } as RequestInit)
  return { request, seen }
}

describe('readBodyWithin', () => {
  it('answers the bytes of a body at the limit, in order', async () => {
    const { request } = streamed(3, 4)
    expect(await readBodyWithin(request, 12)).toStrictEqual(new Uint8Array([1, 1, 1, 1, 2, 2, 2, 2, 3, 3, 3, 3]))
  })

  it('answers null one chunk past the limit and cancels the rest', async () => {
    const { request, seen } = streamed(100, 4)
    expect(await readBodyWithin(request, 11)).toBeNull()
    expect(seen).toStrictEqual({ pulled: 12, cancelled: true })
  })

  it('reads a body over the limit to its end when drainUpTo allows, so its sender gets the answer', async () => {
    const { request, seen } = streamed(100, 4)
    expect(await readBodyWithin(request, 11, { drainUpTo: 400 })).toBeNull()
    expect(seen).toStrictEqual({ pulled: 400, cancelled: false })
  })

  it('stops draining at drainUpTo', async () => {
    const { request, seen } = streamed(1000, 4)
    expect(await readBodyWithin(request, 11, { drainUpTo: 40 })).toBeNull()
    // One chunk past the room shows the body goes on.
    expect(seen).toStrictEqual({ pulled: 44, cancelled: true })
  })

  it('drains a body declared over the limit within drainUpTo, and cancels one declared past it without reading', async () => {
    const small = streamed(10, 4, { 'content-length': '40' })
    expect(await readBodyWithin(small.request, 11, { drainUpTo: 40 })).toBeNull()
    expect(small.seen).toStrictEqual({ pulled: 40, cancelled: false })
    const big = streamed(10, 4, { 'content-length': '41' })
    expect(await readBodyWithin(big.request, 11, { drainUpTo: 40 })).toBeNull()
    expect(big.seen.cancelled).toBe(true)
    expect(big.seen.pulled).toBeLessThanOrEqual(8)
  })

  it('does not trust a small Content-Length', async () => {
    const { request } = streamed(10, 4, { 'content-length': '4' })
    expect(await readBodyWithin(request, 11)).toBeNull()
  })
})
