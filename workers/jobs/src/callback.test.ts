import { createHmac } from 'node:crypto'
import { describe, expect, it } from 'vitest'
import { problem } from '../../../shared/problem/problem'
import { attemptDelivery, callbackMessage, MAX_CALLBACK_BODY_BYTES, type CallbackMessage } from './callback'
import type { JobStatus } from './job-view'

const message: CallbackMessage = { event: 'job.done', contentType: 'application/json', body: '{"data":[1,2,3],"é":"ü"}' }
const url = new URL('https://hooks.example.org/mly')

/** A fetcher that records its call and answers `res` (or throws `res` when it is an Error). */
function fetcher(res: Response | Error) {
  const calls: { input: unknown; init: RequestInit }[] = []
  const f = (async (input: unknown, init: RequestInit) => {
    calls.push({ input, init })
    if (res instanceof Error) throw res
    return res
  }) as unknown as typeof fetch
  return { f, calls }
}

const status: JobStatus = {
  id: '0123456789abcdef0123456789abcdef',
  task: 'image-detections',
  state: 'done',
  progress: { done: 1, total: 1 },
  result_url: 'https://api.example/v1/jobs/0123456789abcdef0123456789abcdef/result',
  created_at: '2026-12-01T00:00:00.000Z',
  updated_at: '2026-12-01T00:00:01.000Z',
  expires_at: '2026-12-02T00:00:00.000Z',
}

describe('attemptDelivery', () => {
  it('POSTs the body as it is, signed over those bytes, with the delivery id and event, never following a redirect', async () => {
    const { f, calls } = fetcher(new Response(null, { status: 204 }))
    const out = await attemptDelivery(url, message, 'delivery-1', 'whsec', f)
    expect(out.ok).toBe(true)
    expect(out.attempt.status).toBe(204)
    const init = calls[0]!.init
    expect(init.method).toBe('POST')
    expect(init.redirect).toBe('manual')
    expect(init.body).toBe(message.body)
    const headers = new Headers(init.headers)
    expect(headers.get('content-type')).toBe('application/json')
    expect(headers.get('x-delivery-id')).toBe('delivery-1')
    expect(headers.get('x-event-type')).toBe('job.done')
    const [, t, v1] = /^t=(\d+),v1=([0-9a-f]{64})$/.exec(headers.get('x-signature')!)!
    expect(v1).toBe(createHmac('sha256', 'whsec').update(`${t}.${message.body}`).digest('hex'))
    expect(Math.abs(Number(t) - Date.now() / 1000)).toBeLessThan(5)
  })

  it('counts a 302 as a failed attempt, naming where it pointed', async () => {
    const { f } = fetcher(new Response(null, { status: 302, headers: { location: 'http://169.254.169.254/latest/meta-data/' } }))
    const out = await attemptDelivery(url, message, 'd', 'whsec', f)
    expect(out.ok).toBe(false)
    expect(out.attempt.status).toBe(302)
    expect(out.attempt.error).toBe('redirect to "http://169.254.169.254/latest/meta-data/" not followed')
  })

  it('reports the receiver’s Retry-After on a failure, and a network error without a status', async () => {
    const busy = await attemptDelivery(url, message, 'd', 'whsec', fetcher(new Response('busy', { status: 503, headers: { 'retry-after': '7' } })).f)
    expect(busy).toMatchObject({ ok: false, attempt: { status: 503 }, retryAfterS: 7 })
    const down = await attemptDelivery(url, message, 'd', 'whsec', fetcher(new TypeError('connection refused')).f)
    expect(down.ok).toBe(false)
    expect(down.attempt.status).toBeUndefined()
    expect(down.attempt.error).toBe('not reached: connection refused')
  })

  it('reads no more than a few KiB of a receiver’s endless answer', async () => {
    let pulled = 0
    const endless = new ReadableStream<Uint8Array>({
      pull(c) {
        pulled += 65_536
        c.enqueue(new Uint8Array(65_536))
      },
    })
    const out = await attemptDelivery(url, message, 'd', 'whsec', fetcher(new Response(endless, { status: 500 })).f)
    expect(out.attempt.status).toBe(500)
    expect(pulled).toBeLessThanOrEqual(4 * 65_536)
  })
})

describe('callbackMessage', () => {
  it('sends a done job’s result as it is', () => {
    expect(callbackMessage(status, { contentType: 'application/geo+json', bytes: 11, text: () => '{"a":"éü"}' }, 'https://s')).toEqual({ event: 'job.done', contentType: 'application/geo+json', body: '{"a":"éü"}' })
  })

  it('announces a result above 1 MiB by URL, without reading it', () => {
    const m = callbackMessage(status, { contentType: 'application/json', bytes: MAX_CALLBACK_BODY_BYTES + 1, text: () => { throw new Error('read') } }, 'https://s')
    expect(m.event).toBe('job.done')
    expect(JSON.parse(m.body)).toEqual({ job: status, result_url: status.result_url })
  })

  it('sends a failed job’s problem with the job', () => {
    const p = problem('not_found', 'No image 1.')
    const m = callbackMessage({ ...status, state: 'failed', problem: p }, null, 'https://api.example/v1/jobs/x')
    expect(m.event).toBe('job.failed')
    expect(m.contentType).toBe('application/problem+json')
    expect(JSON.parse(m.body)).toEqual({ ...p, job: status.id, status_url: 'https://api.example/v1/jobs/x' })
  })
})
