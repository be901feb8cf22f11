/**
 * Webhooks end to end (issue 10): signed triggers through the gateway, and signed callbacks to a
 * receiver in this test (a Node server on 127.0.0.1, opened by CALLBACK_ALLOW_HOSTS). Signatures
 * are made and checked with Node's own crypto (test/support/receiver.ts), not the code under test.
 * Delays are shortened (CALLBACK_BASE_DELAY_MS) and a delivery takes CALLBACK_ATTEMPTS = 4 attempts.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { ended } from './support/jobs'
import { expectProblem } from './support/problem'
import { sign, signedBy, startReceiver, type Receiver } from './support/receiver'
import { useSystem } from './support/system'

const SECRET = 'whsec-current-4f1c2b9e'
const PREVIOUS = 'whsec-previous-77d0a3c1'
const ATTEMPTS = 4
const t = useSystem({
  vars: { WEBHOOK_SECRET: `${SECRET},${PREVIOUS}`, CALLBACK_ALLOW_HOSTS: '127.0.0.1:*', CALLBACK_ATTEMPTS: String(ATTEMPTS), CALLBACK_BASE_DELAY_MS: '200' },
})

let receiver: Receiver
beforeAll(async () => {
  receiver = await startReceiver()
})
afterAll(() => receiver?.close())

/**
 * Restarts the runtime (wrangler's harness reloads workerd): every object loses its memory, its
 * storage and alarms stay. Harder than one object's eviction, which the harness refuses while a
 * stub to the object is alive in the jobs Worker's isolate.
 */
async function restart(): Promise<void> {
  await t.sys.gateway.update((options) => options)
}

const now = () => Math.floor(Date.now() / 1000)
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms))

/** POST /v1/hooks/{task} with `body` as its exact bytes and the given X-Signature (none when undefined). */
function trigger(task: string, body: string, signature: string | undefined) {
  return t.sys.json(`/v1/hooks/${task}`, { method: 'POST', body, headers: { 'content-type': 'application/json', ...(signature !== undefined ? { 'x-signature': signature } : {}) } })
}

/** A signed trigger of image-detections for the sample image, calling back at `path`. */
async function signedTrigger(path: string, extra: Record<string, unknown> = {}) {
  const body = JSON.stringify({ image_id: t.world.sampleImages.ordinary, callback_url: receiver.url(path), ...extra })
  const res = await trigger('image-detections', body, sign(SECRET, body, now()))
  expect(res.status, JSON.stringify(res.body)).toBe(202)
  return res.body.id as string
}

/** The job's status once its latest delivery is no longer pending. */
async function settled(id: string, timeoutMs = 60_000): Promise<any> {
  const t0 = Date.now()
  for (;;) {
    const status = await ended(t.sys, id)
    const last = status.deliveries?.at(-1)
    if (last && last.state !== 'pending') return status
    if (Date.now() - t0 > timeoutMs) throw new Error(`job ${id}: delivery still pending: ${JSON.stringify(status.deliveries)}`)
    await sleep(100)
  }
}

describe('a signed trigger', () => {
  it('starts a job whose callback is the synchronous answer, byte for byte, signed with the current secret', async () => {
    const id = await signedTrigger('/done')
    const [got] = await receiver.waitFor('/done', 1)
    const sync = await t.sys.fetch(`/v1/images/${t.world.sampleImages.ordinary}/detections`)
    expect(sync.status).toBe(200)
    const syncBytes = Buffer.from(await sync.arrayBuffer())
    expect(got!.body.equals(syncBytes)).toBe(true)
    expect(got!.headers['content-type']).toBe(sync.headers.get('content-type'))
    expect(got!.headers['x-event-type']).toBe('job.done')
    expect(got!.headers['x-delivery-id']).toMatch(/^[0-9a-f-]{36}$/)
    expect(signedBy(got!.headers['x-signature'], got!.body, SECRET)).toBe(true)
    expect(signedBy(got!.headers['x-signature'], got!.body, PREVIOUS)).toBe(false)
    // Signed now: within the receiver's tolerance.
    const signedAt = Number(/t=(\d+)/.exec(String(got!.headers['x-signature']))![1])
    expect(Math.abs(signedAt - now())).toBeLessThan(30)
    const status = await settled(id)
    expect(status.state).toBe('done')
    expect(status.deliveries).toHaveLength(1)
    expect(status.deliveries[0]).toMatchObject({ id: got!.headers['x-delivery-id'], event: 'job.done', state: 'delivered' })
    expect(status.deliveries[0].attempts).toHaveLength(1)
    expect(status.deliveries[0].attempts[0].status).toBe(204)
    expect(status.deliveries[0].attempts[0].latency_ms).toBeGreaterThanOrEqual(0)
    expect(Date.parse(status.deliveries[0].attempts[0].at)).toBeGreaterThan(Date.now() - 120_000)
  })

  it('is taken when signed with the previous secret (rotation)', async () => {
    const body = JSON.stringify({ image_id: t.world.sampleImages.ordinary, callback_url: receiver.url('/rotated') })
    const res = await trigger('image-detections', body, sign(PREVIOUS, body, now()))
    expect(res.status, JSON.stringify(res.body)).toBe(202)
    expect(res.headers.get('location')).toBe(res.body.status_url)
    const [got] = await receiver.waitFor('/rotated', 1)
    // Callbacks are always signed with the first (current) secret.
    expect(signedBy(got!.headers['x-signature'], got!.body, SECRET)).toBe(true)
  })

  it('is verified over its raw bytes as sent: the gateway forwards them unchanged', async () => {
    // Whitespace, member order and escapes a re-serialised body would lose.
    const body = `{\n  "callback_url" :\t"${receiver.url('/raw').replace('/raw', '/r\\u0061w')}",\r\n "image_id":  ${t.world.sampleImages.ordinary}  }  `
    const res = await trigger('image-detections', body, sign(SECRET, body, now()))
    expect(res.status, JSON.stringify(res.body)).toBe(202)
    await receiver.waitFor('/raw', 1)
  })

  it('above 16 KiB: 413 before anything else', async () => {
    const body = JSON.stringify({ image_id: t.world.sampleImages.ordinary, pad: 'x'.repeat(17 * 1024) })
    expectProblem(await trigger('image-detections', body, sign(SECRET, body, now())), 413, 'payload_too_large')
  })

  it('checks its params as POST /v1/jobs does', async () => {
    const body = JSON.stringify({ image_id: 'not-a-number' })
    const hook = await trigger('image-detections', body, sign(SECRET, body, now()))
    const job = await t.sys.json('/v1/jobs', { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ task: 'image-detections', params: { image_id: 'not-a-number' } }) })
    expectProblem(hook, 400, 'invalid_parameter')
    expectProblem(job, 400, 'invalid_parameter')
    expect(hook.body.invalid_params).toEqual(job.body.invalid_params)
  })
})

describe('a refused trigger', () => {
  const body = () => JSON.stringify({ image_id: t.world.sampleImages.ordinary, n: Math.random() })

  it('without X-Signature: 401 signature_missing', async () => {
    expectProblem(await trigger('image-detections', body(), undefined), 401, 'signature_missing')
  })

  it('with a v1 that is not hex: 401 signature_malformed', async () => {
    expectProblem(await trigger('image-detections', body(), `t=${now()},v1=${'zz'.repeat(32)}`), 401, 'signature_malformed')
  })

  it('signed with a wrong secret, or over another body: 401 signature_mismatch', async () => {
    const b = body()
    expectProblem(await trigger('image-detections', b, sign('not-the-secret', b, now())), 401, 'signature_mismatch')
    expectProblem(await trigger('image-detections', b, sign(SECRET, `${b} `, now())), 401, 'signature_mismatch')
  })

  it('with a timestamp more than 5 minutes old or ahead: 401 signature_expired', async () => {
    const b = body()
    expectProblem(await trigger('image-detections', b, sign(SECRET, b, now() - 330)), 401, 'signature_expired')
    expectProblem(await trigger('image-detections', b, sign(SECRET, b, now() + 330)), 401, 'signature_expired')
  })

  it('replayed: 409 signature_replayed, and no second job', async () => {
    const b = JSON.stringify({ image_id: t.world.sampleImages.ordinary, callback_url: receiver.url('/replay') })
    const signature = sign(SECRET, b, now())
    const first = await trigger('image-detections', b, signature)
    expect(first.status, JSON.stringify(first.body)).toBe(202)
    expectProblem(await trigger('image-detections', b, signature), 409, 'signature_replayed')
    // Several v1 values, the valid one among them: still the same signature.
    expectProblem(await trigger('image-detections', b, `${signature},v1=${'0'.repeat(64)}`), 409, 'signature_replayed')
    await settled(first.body.id)
    await sleep(500)
    expect(receiver.received('/replay')).toHaveLength(1)
  })

  it('sent 6 times at once with one signature: exactly one job', async () => {
    const b = JSON.stringify({ image_id: t.world.sampleImages.ordinary, callback_url: receiver.url('/race') })
    const signature = sign(SECRET, b, now())
    const answers = await Promise.all(Array.from({ length: 6 }, () => trigger('image-detections', b, signature)))
    expect(answers.map((a) => a.status).sort()).toEqual([202, 409, 409, 409, 409, 409])
    const accepted = answers.find((a) => a.status === 202)!
    await settled(accepted.body.id)
    await sleep(500)
    expect(receiver.received('/race')).toHaveLength(1)
  })

  it('for a task that does not exist: 404', async () => {
    const b = body()
    expectProblem(await trigger('no-such-task', b, sign(SECRET, b, now())), 404, 'not_found')
  })
})

describe('callback_url', () => {
  it('to a private or metadata address is a 400 at submission, by POST /v1/jobs and by a hook', async () => {
    for (const url of ['https://169.254.169.254/latest/meta-data/', 'https://10.0.0.1/cb', 'https://localhost/cb', 'http://example.com/cb', 'https://user:pw@hooks.example.com/']) {
      const job = await t.sys.json('/v1/jobs', { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ task: 'image-detections', params: { image_id: t.world.sampleImages.ordinary }, callback_url: url }) })
      expectProblem(job, 400, 'invalid_callback_url')
      expect(typeof job.body.reason).toBe('string')
      const b = JSON.stringify({ image_id: t.world.sampleImages.ordinary, callback_url: url })
      expectProblem(await trigger('image-detections', b, sign(SECRET, b, now())), 400, 'invalid_callback_url')
    }
  })

  it('given to POST /v1/jobs is called back too', async () => {
    const res = await t.sys.json('/v1/jobs', { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ task: 'image-detections', params: { image_id: t.world.sampleImages.ordinary }, callback_url: receiver.url('/from-jobs') }) })
    expect(res.status, JSON.stringify(res.body)).toBe(202)
    const [got] = await receiver.waitFor('/from-jobs', 1)
    expect(signedBy(got!.headers['x-signature'], got!.body, SECRET)).toBe(true)
    const result = await t.sys.fetch(`/v1/jobs/${res.body.id}/result`)
    expect(got!.body.equals(Buffer.from(await result.arrayBuffer()))).toBe(true)
  })
})

describe('delivery', () => {
  it('to a receiver failing 3 times then succeeding: exactly 4 requests, one delivery id, the 4th ends it', async () => {
    receiver.script('/flaky', [{ status: 500 }, { status: 503 }, { status: 429 }, { status: 200, body: 'ok' }])
    const id = await signedTrigger('/flaky')
    const status = await settled(id)
    await sleep(1500) // nothing more comes
    const got = receiver.received('/flaky')
    expect(got).toHaveLength(4)
    expect(new Set(got.map((r) => r.headers['x-delivery-id'])).size).toBe(1)
    for (const r of got) expect(signedBy(r.headers['x-signature'], r.body, SECRET)).toBe(true)
    expect(got.every((r) => r.body.equals(got[0]!.body))).toBe(true)
    expect(status.deliveries).toHaveLength(1)
    expect(status.deliveries[0].state).toBe('delivered')
    expect(status.deliveries[0].attempts.map((a: any) => a.status)).toEqual([500, 503, 429, 200])
    // Backoff: each wait at least the base (200 ms, less 20% jitter), growing.
    const gaps = got.slice(1).map((r, i) => r.at - got[i]!.at)
    for (const gap of gaps) expect(gap).toBeGreaterThanOrEqual(150)
    expect(gaps[2]!).toBeGreaterThan(gaps[0]!)
  })

  it('to a receiver that never succeeds: a failed delivery with every attempt recorded', async () => {
    receiver.script('/down', [{ status: 500, body: 'x'.repeat(100_000) }])
    const id = await signedTrigger('/down')
    const status = await settled(id)
    expect(status.state).toBe('done')
    expect(status.deliveries[0].state).toBe('failed')
    expect(status.deliveries[0].attempts.map((a: any) => a.status)).toEqual(Array(ATTEMPTS).fill(500))
    expect(status.deliveries[0].next_attempt_at).toBeUndefined()
    await sleep(1500)
    expect(receiver.received('/down')).toHaveLength(ATTEMPTS)
  })

  // Under wrangler's local runtime a Worker's fetch goes out through Node (miniflare's outbound
  // proxy), which answers a 3xx under redirect: 'manual', and a refused connection, with its own
  // 500 "fetch failed"; src/callback.test.ts holds the 302 itself (a real Response) to its record.
  it('never follows a redirect (here to an address it could reach)', async () => {
    receiver.script('/redirect', [{ status: 302, headers: { location: receiver.url('/private') } }])
    const id = await signedTrigger('/redirect')
    const status = await settled(id)
    expect(receiver.received('/redirect')).toHaveLength(ATTEMPTS)
    expect(receiver.received('/private')).toHaveLength(0)
    expect(status.deliveries[0].state).toBe('failed')
    expect(status.deliveries[0].attempts).toHaveLength(ATTEMPTS)
    for (const a of status.deliveries[0].attempts) expect(a.status === 302 || a.status === 500, JSON.stringify(a)).toBe(true)
  })

  it('to a receiver that cannot be reached: a failed delivery, every attempt recorded', async () => {
    const closed = await startReceiver()
    const url = closed.url('/gone')
    await closed.close()
    const body = JSON.stringify({ image_id: t.world.sampleImages.ordinary, callback_url: url })
    const res = await trigger('image-detections', body, sign(SECRET, body, now()))
    expect(res.status).toBe(202)
    const status = await settled(res.body.id)
    expect(status.deliveries[0].state).toBe('failed')
    expect(status.deliveries[0].attempts).toHaveLength(ATTEMPTS)
    for (const a of status.deliveries[0].attempts) expect(a.status === 500 || /^not reached/.test(a.error), JSON.stringify(a)).toBe(true)
  })

  it('honours Retry-After and resumes after a restart mid-backoff (the object evicted)', async () => {
    receiver.script('/evicted', [{ status: 503, headers: { 'retry-after': '20' } }, { status: 204 }])
    const id = await signedTrigger('/evicted')
    const [first] = await receiver.waitFor('/evicted', 1)
    await restart()
    const restartedAt = Date.now()
    expect(restartedAt - first!.at, 'the restart took longer than the backoff').toBeLessThan(19_000)
    const got = await receiver.waitFor('/evicted', 2, 60_000)
    expect(got[1]!.at).toBeGreaterThan(restartedAt)
    expect(got[1]!.at - first!.at).toBeGreaterThanOrEqual(19_900)
    expect(got[1]!.headers['x-delivery-id']).toBe(first!.headers['x-delivery-id'])
    expect(signedBy(got[1]!.headers['x-signature'], got[1]!.body, SECRET)).toBe(true)
    const status = await settled(id)
    expect(status.deliveries[0].state).toBe('delivered')
    expect(status.deliveries[0].attempts.map((a: any) => a.status)).toEqual([503, 204])
  })
})

describe('redeliver', () => {
  it('starts a new delivery with a new id, the same body', async () => {
    const id = await signedTrigger('/again')
    await settled(id)
    const res = await t.sys.json(`/v1/jobs/${id}/redeliver`, { method: 'POST' })
    expect(res.status, JSON.stringify(res.body)).toBe(202)
    expect(res.body.state).toBe('pending')
    const got = await receiver.waitFor('/again', 2)
    expect(got[1]!.headers['x-delivery-id']).toBe(res.body.id)
    expect(got[1]!.headers['x-delivery-id']).not.toBe(got[0]!.headers['x-delivery-id'])
    expect(got[1]!.body.equals(got[0]!.body)).toBe(true)
    const status = await settled(id)
    expect(status.deliveries.map((d: any) => [d.id, d.state])).toEqual([
      [got[0]!.headers['x-delivery-id'], 'delivered'],
      [res.body.id, 'delivered'],
    ])
  })

  it('called again and again keeps the status bounded: the latest 20 deliveries', async () => {
    const id = await signedTrigger('/many')
    await settled(id)
    const ids: string[] = []
    for (let i = 0; i < 24; i++) {
      const res = await t.sys.json(`/v1/jobs/${id}/redeliver`, { method: 'POST' })
      expect(res.status).toBe(202)
      ids.push(res.body.id)
    }
    const status = await settled(id)
    expect(status.deliveries.map((d: any) => d.id)).toEqual(ids.slice(-20))
    // Each superseded while pending, or delivered; the last one delivered.
    expect(status.deliveries.at(-1).state).toBe('delivered')
  })

  it('is 409 for a job without callback_url, 404 for an unknown job', async () => {
    const res = await t.sys.json('/v1/jobs', { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ task: 'image-detections', params: { image_id: t.world.sampleImages.ordinary } }) })
    await ended(t.sys, res.body.id)
    expectProblem(await t.sys.json(`/v1/jobs/${res.body.id}/redeliver`, { method: 'POST' }), 409, 'no_callback_url')
    expectProblem(await t.sys.json(`/v1/jobs/${'0'.repeat(32)}/redeliver`, { method: 'POST' }), 404, 'not_found')
  })
})

// Last: it restarts the runtime without a secret.
describe('with no WEBHOOK_SECRET', () => {
  it('has no hooks (404 webhooks_disabled, even signed) and takes no callback_url', async () => {
    await t.sys.gateway.update((options) => ({
      ...options,
      workers: options.workers.map((w) => ('configPath' in w && w.configPath === 'workers/jobs/wrangler.toml' ? { ...w, vars: { ...w.vars, WEBHOOK_SECRET: '' } } : w)),
    }))
    const b = JSON.stringify({ image_id: t.world.sampleImages.ordinary })
    expectProblem(await trigger('image-detections', b, sign(SECRET, b, now())), 404, 'webhooks_disabled')
    expectProblem(await trigger('image-detections', b, undefined), 404, 'webhooks_disabled')
    const job = await t.sys.json('/v1/jobs', { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ task: 'image-detections', params: { image_id: t.world.sampleImages.ordinary }, callback_url: receiver.url('/unsigned') }) })
    expectProblem(job, 400, 'invalid_callback_url')
    expect(job.body.reason).toBe('callbacks_disabled')
  })
})
