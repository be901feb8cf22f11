import { describe, expect, it } from 'vitest'
import { callObject } from './call-object'

const retryableError = () => Object.assign(new Error('Durable Object reset'), { retryable: true })

describe('callObject', () => {
  it('calls again on a fresh stub while the failure is retryable', async () => {
    let stubs = 0
    const seen: number[] = []
    const out = await callObject(
      () => ++stubs,
      async (stub) => {
        seen.push(stub)
        if (stub < 3) throw retryableError()
        return 'ok'
      },
    )
    expect(out).toBe('ok')
    expect(seen).toEqual([1, 2, 3])
  })

  it('throws a failure that is not retryable at once, and a retryable one after the last attempt', async () => {
    let calls = 0
    await expect(callObject(() => null, async () => { calls++; throw new Error('bug') })).rejects.toThrow('bug')
    expect(calls).toBe(1)
    calls = 0
    await expect(callObject(() => null, async () => { calls++; throw retryableError() }, 2)).rejects.toThrow('reset')
    expect(calls).toBe(2)
  })

  it('throws back what is not an Error (null, undefined, a string) as it is, after one call', async () => {
    for (const thrown of [null, undefined, 'reset']) {
      let calls = 0
      const out = callObject(() => null, async () => { calls++; throw thrown })
      await expect(out).rejects.toBe(thrown)
      expect(calls).toBe(1)
    }
  })
})
