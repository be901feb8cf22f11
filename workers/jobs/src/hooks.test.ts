import { describe, expect, it } from 'vitest'
import { ProblemError } from '../../../shared/problem/problem'
import type { Env } from './env'
import { hookTrigger, MAX_HOOK_BODY_BYTES } from './hooks'

/** No SEEN_SIGNATURES: these refusals come before any signature is remembered. */
const env = { WEBHOOK_SECRET: 'whsec' } as unknown as Env

async function refusal(p: Promise<unknown>): Promise<{ status: number; code: string; limit_bytes?: unknown }> {
  const e = await p.then(
    () => undefined,
    (err: unknown) => err,
  )
  expect(e).toBeInstanceOf(ProblemError)
  return (e as ProblemError).problem as never
}

describe('hookTrigger', () => {
  // Hono's bodyLimit trusts a Content-Length: a body past the limit declaring itself small would
  // be read whole. The hook reads its raw body with its own bound.
  it('413s a body past the limit whose Content-Length says it is small, having read about the limit of it', async () => {
    let pulled = 0
    const body = new ReadableStream<Uint8Array>({
      pull(c) {
        if (pulled >= 4 * 1024 * 1024) return c.close()
        pulled += 16 * 1024
        c.enqueue(new Uint8Array(16 * 1024).fill(0x20))
      },
    })
    const req = new Request('https://jobs.internal/v1/hooks/image-detections', { method: 'POST', body, headers: { 'content-length': '100', 'x-signature': `t=${Math.floor(Date.now() / 1000)},v1=${'0'.repeat(64)}` }, duplex: 'half' } as RequestInit)
    const p = await refusal(hookTrigger(req, 'image-detections', env))
    expect(p.status).toBe(413)
    expect(p.code).toBe('payload_too_large')
    expect(p.limit_bytes).toBe(MAX_HOOK_BODY_BYTES)
    expect(pulled).toBeLessThanOrEqual(MAX_HOOK_BODY_BYTES + 3 * 16 * 1024)
  })

  it('refuses everything without WEBHOOK_SECRET, signed or not', async () => {
    const req = new Request('https://jobs.internal/v1/hooks/image-detections', { method: 'POST', body: '{}' })
    const p = await refusal(hookTrigger(req, 'image-detections', {} as Env))
    expect([p.status, p.code]).toEqual([404, 'webhooks_disabled'])
  })
})
