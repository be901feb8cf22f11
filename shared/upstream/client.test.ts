import { describe, expect, it, vi } from 'vitest'
import { GraphClient, type GraphClientOptions } from './client'
import { UpstreamError } from './errors'
import type { PermitSource } from './permits'
import { json, recordingSleep, scriptedFetch, type Step } from '../../test/support/scripted-fetch'

const TOKEN = 'MLY|4242|s3cr3tt0k3n'
const NOT_EXIST = { error: { message: "Unsupported get request. Object with ID '999' does not exist, cannot be loaded due to missing permissions", type: 'GraphMethodException', code: 100, fbtrace_id: 'x' } }

function setup(steps: Step[], opts: Partial<GraphClientOptions> = {}) {
  const f = scriptedFetch(steps)
  const s = recordingSleep()
  const client = new GraphClient({ baseUrl: 'http://graph.test/', token: TOKEN, fetch: f.fetch, sleep: s.sleep, random: () => 0.5, ...opts })
  return { client, calls: f.calls, sleeps: s.sleeps }
}

async function failure(p: Promise<unknown>): Promise<UpstreamError> {
  try {
    await p
  } catch (e) {
    expect(e).toBeInstanceOf(UpstreamError)
    return e as UpstreamError
  }
  throw new Error('expected a failure')
}

function expectNoToken(...things: unknown[]) {
  for (const t of things) {
    const s = typeof t === 'string' ? t : JSON.stringify(t)
    expect(s).not.toContain('s3cr3t')
    expect(s).not.toContain('MLY|')
  }
}

describe('GraphClient.get', () => {
  it('answers parsed JSON and sends the token only as the OAuth header', async () => {
    const { client, calls } = setup([json(200, { data: [{ id: '1' }] })])
    await expect(client.get('/image_ids', { sequence_id: 'abc' })).resolves.toEqual({ data: [{ id: '1' }] })
    expect(calls).toHaveLength(1)
    expect(calls[0]!.url).toBe('http://graph.test/image_ids?sequence_id=abc')
    expect(calls[0]!.headers.get('authorization')).toBe(`OAuth ${TOKEN}`)
    expect(client.stats).toEqual({ requests: 1, attempts: 1, retries: 0, inFlightPeak: 1 })
  })

  it('encodes query params, keeps commas, drops undefined', async () => {
    const { client, calls } = setup([json(200, {})])
    await client.get('/map_features', { bbox: '-79.5,8.9,-79.4,9', fields: 'id,geometry', object_values: undefined, q: 'a b&c=d/é' })
    expect(calls[0]!.url).toBe('http://graph.test/map_features?bbox=-79.5,8.9,-79.4,9&fields=id,geometry&q=a%20b%26c%3Dd%2F%C3%A9')
  })

  it('refuses to put a token in the URL', async () => {
    const { client, calls } = setup([json(200, {})])
    await expect(client.get('/x', { access_token: 'abc' })).rejects.toThrow(TypeError)
    await expect(client.get('/x', { q: 'MLY|1|2' })).rejects.toThrow(TypeError)
    expect(calls).toHaveLength(0)
  })

  it.each<[string, Step]>([
    ['429', json(429, { error: { code: 4, message: 'limit' } })],
    ['500', json(500, {})],
    ['502', json(502, 'Bad gateway')],
    ['503', json(503, {})],
    ['504', json(504, {})],
    ['a refused connection', { drop: 'connect' }],
    ['a body that drops mid-stream', { drop: 'body' }],
    ['invalid JSON', json(200, '{"data": [')],
  ])('retries after %s, then succeeds', async (_, step) => {
    const { client, calls, sleeps } = setup([step, step, json(200, { ok: true })])
    await expect(client.get('/1')).resolves.toEqual({ ok: true })
    expect(calls).toHaveLength(3)
    expect(client.stats).toMatchObject({ requests: 1, attempts: 3, retries: 2 })
    // full jitter with random() = 0.5: half of 200, then half of 400
    expect(sleeps).toEqual([100, 200])
  })

  it('retries after a timeout, then succeeds', async () => {
    const { client, calls } = setup([{ hang: true }, json(200, { ok: 1 })], { timeoutMs: 20 })
    await expect(client.get('/1')).resolves.toEqual({ ok: 1 })
    expect(calls).toHaveLength(2)
  })

  it('times out even when fetch ignores the abort signal', async () => {
    const never = (() => new Promise<Response>(() => {})) as typeof fetch
    const client = new GraphClient({ baseUrl: 'http://g', token: TOKEN, fetch: never, timeoutMs: 10, maxAttempts: 2, sleep: async () => {} })
    const e = await failure(client.get('/1'))
    expect(e.reason).toBe('timeout')
    expect(client.stats.attempts).toBe(2)
  })

  it('honours Retry-After in seconds as the minimum delay', async () => {
    const { client, sleeps } = setup([json(429, {}, { 'retry-after': '3' }), json(503, {}, { 'retry-after': '0' }), json(200, {})])
    await client.get('/1')
    expect(sleeps).toEqual([3000, 200])
  })

  it('honours Retry-After as an HTTP date', async () => {
    const now = Date.UTC(2026, 0, 1, 0, 0, 0)
    const date = new Date(now + 7000).toUTCString()
    const { client, sleeps } = setup([json(429, {}, { 'retry-after': date }), json(200, {})], { now: () => now })
    await client.get('/1')
    expect(sleeps).toEqual([7000])
  })

  it('gives up at once on a Retry-After beyond the cap, reporting it', async () => {
    const { client, calls, sleeps } = setup([json(429, {}, { 'retry-after': '120' })])
    const e = await failure(client.get('/1'))
    expect(e).toMatchObject({ reason: 'rate_limited', status: 429, retryAfterSeconds: 120 })
    expect(calls).toHaveLength(1)
    expect(sleeps).toEqual([])
  })

  it.each<[string, Step, string]>([
    ['429', json(429, {}), 'rate_limited'],
    ['500', json(500, {}), 'unavailable'],
    ['drop', { drop: 'connect' }, 'dropped'],
    ['body drop', { drop: 'body' }, 'dropped'],
    ['bad JSON', json(200, 'nope'), 'bad_response'],
  ])('gives up after maxAttempts on %s with reason %s', async (_, step, reason) => {
    const { client, calls, sleeps } = setup([step], { maxAttempts: 4 })
    const e = await failure(client.get('/1'))
    expect(e.reason).toBe(reason)
    expect(e.attempts).toBe(4)
    expect(calls).toHaveLength(4)
    expect(sleeps).toHaveLength(3)
  })

  it('caps the backoff at maxDelayMs', async () => {
    const { client, sleeps } = setup([json(500, {})], { maxAttempts: 6, random: () => 0.999, baseDelayMs: 1000, maxDelayMs: 3000 })
    await failure(client.get('/1'))
    expect(sleeps).toEqual([999, 1998, 2997, 2997, 2997])
  })

  it('maps 400 code 100 "does not exist" to not_found without retrying', async () => {
    const { client, calls } = setup([json(400, NOT_EXIST)])
    const e = await failure(client.get('/999'))
    expect(e).toMatchObject({ reason: 'not_found', status: 400, graphCode: 100 })
    expect(calls).toHaveLength(1)
  })

  it('maps "nonexisting field" (an id of another kind of object) to not_found without retrying', async () => {
    const { client, calls } = setup([json(400, { error: { code: 100, message: '(#100) Tried accessing nonexisting field (width) on node type (MapFeature)' } })])
    expect((await failure(client.get('/1'))).reason).toBe('not_found')
    expect(calls).toHaveLength(1)
  })

  it('maps other 4xx to bad_request without retrying', async () => {
    const { client, calls } = setup([json(400, { error: { code: 100, message: 'Invalid parameter' } })])
    expect((await failure(client.get('/1'))).reason).toBe('bad_request')
    expect(calls).toHaveLength(1)
  })

  it.each<[string, Step]>([
    ['401', json(401, { error: { type: 'OAuthException', code: 190, message: 'Invalid OAuth access token' } })],
    ['403', json(403, {})],
    ['400 code 190', json(400, { error: { type: 'OAuthException', code: 190 } })],
  ])('maps %s to unauthorized without retrying, tagged with the token source', async (_, step) => {
    const client = setup([step], { tokenSource: 'client' })
    const e = await failure(client.client.get('/1'))
    expect(e).toMatchObject({ reason: 'unauthorized', tokenSource: 'client' })
    expect(client.calls).toHaveLength(1)
  })

  it('keeps at most maxInFlight attempts awaiting a response (body included) with 50 concurrent gets', async () => {
    let inFlight = 0
    let peak = 0
    const slowFetch = (async () => {
      inFlight++
      peak = Math.max(peak, inFlight)
      await new Promise((r) => setTimeout(r, Math.random() * 3))
      // The connection stays busy until its body is read to the end.
      const stream = new ReadableStream<Uint8Array>({
        async pull(c) {
          await new Promise((r) => setTimeout(r, Math.random() * 3))
          c.enqueue(new TextEncoder().encode('{"ok":true}'))
          inFlight--
          c.close()
        },
      })
      return new Response(stream, { status: 200 })
    }) as typeof fetch
    const client = new GraphClient({ baseUrl: 'http://g', token: TOKEN, fetch: slowFetch })
    const all = await Promise.all(Array.from({ length: 50 }, (_, i) => client.get(`/${i}`)))
    expect(all).toHaveLength(50)
    expect(peak).toBe(6)
    expect(client.stats).toMatchObject({ requests: 50, attempts: 50, inFlightPeak: 6 })
  })

  it('honours a smaller maxInFlight', async () => {
    let inFlight = 0
    let peak = 0
    const f = (async () => {
      inFlight++
      peak = Math.max(peak, inFlight)
      await new Promise((r) => setTimeout(r, 2))
      inFlight--
      return new Response('{}')
    }) as typeof fetch
    const client = new GraphClient({ baseUrl: 'http://g', token: TOKEN, fetch: f, maxInFlight: 2 })
    await Promise.all(Array.from({ length: 10 }, () => client.get('/1')))
    expect(peak).toBe(2)
  })

  it('throws budget_exhausted once attempts would exceed the budget (retries count)', async () => {
    const { client, calls } = setup([json(500, {}), json(200, {})], { subrequestBudget: 3 })
    await client.get('/a') // 2 attempts
    await client.get('/b') // 1 attempt: budget now spent
    const e = await failure(client.get('/c'))
    expect(e.reason).toBe('budget_exhausted')
    expect(calls).toHaveLength(3)
    expect(client.stats.attempts).toBe(3)
  })

  it('stops retrying when the budget runs out mid-retries', async () => {
    const { client, calls } = setup([json(503, {})], { subrequestBudget: 2 })
    expect((await failure(client.get('/a'))).reason).toBe('budget_exhausted')
    expect(calls).toHaveLength(2)
  })

  it('never lets the token out: URLs, errors, stats, the client itself', async () => {
    const steps: Step[] = [json(401, { error: { type: 'OAuthException', code: 190, message: `Invalid token ${TOKEN}` } })]
    const { client, calls } = setup(steps)
    const errors: UpstreamError[] = [await failure(client.get('/1', { fields: 'id' }))]
    const more = setup([json(429, {}, { 'retry-after': '999' })])
    errors.push(await failure(more.client.get('/2')))
    const drop = setup([{ drop: 'body' }], { maxAttempts: 2 })
    errors.push(await failure(drop.client.get('/3')))
    const budget = setup([json(200, {})], { subrequestBudget: 0 })
    errors.push(await failure(budget.client.get('/4')))
    for (const c of [...calls, ...more.calls, ...drop.calls]) {
      expect(c.headers.get('authorization')).toBe(`OAuth ${TOKEN}`)
      expectNoToken(c.url)
    }
    for (const e of errors) expectNoToken(e.message, String(e), e.stack ?? '', e, Object.values(e))
    expectNoToken(client.stats, client, drop.client.stats)
  })

  it('rejects a malformed token without echoing it', () => {
    expect(() => new GraphClient({ baseUrl: 'http://g', token: 'MLY|1|x\r\nX-Evil: 1' })).toThrow(/malformed/)
    try {
      new GraphClient({ baseUrl: 'http://g', token: 'MLY|1|s3cr3t\n' })
    } catch (e) {
      expectNoToken(String(e))
    }
  })
})

// Found by mutation testing (`npm run mutate`): each test below pins a value a mutant changed.
describe('GraphClient, pinned', () => {
  it('sends a GET accepting JSON, to a base URL stripped of all its trailing slashes, as the server by default', async () => {
    const seen: { method?: string; accept: string | null }[] = []
    const f = (async (_url: RequestInfo | URL, init?: RequestInit) => {
      seen.push({ method: init?.method, accept: new Headers(init?.headers).get('accept') })
      return new Response('{}')
    }) as typeof fetch
    const { client, calls } = setup([json(200, {})], { baseUrl: 'http://graph.test//' })
    await client.get('/1')
    expect(calls[0]!.url).toBe('http://graph.test/1')
    expect(client.tokenSource).toBe('server')
    await new GraphClient({ baseUrl: 'http://g', token: TOKEN, fetch: f }).get('/1')
    expect(seen).toEqual([{ method: 'GET', accept: 'application/json' }])
  })

  it('uses globalThis.fetch when given none', async () => {
    const urls: string[] = []
    vi.stubGlobal('fetch', async (url: RequestInfo | URL) => {
      urls.push(String(url))
      return new Response('{"ok":1}')
    })
    try {
      await expect(new GraphClient({ baseUrl: 'http://g', token: TOKEN }).get('/1')).resolves.toEqual({ ok: 1 })
      expect(urls).toEqual(['http://g/1'])
    } finally {
      vi.unstubAllGlobals()
    }
  })

  it('really waits between attempts when given no sleep', async () => {
    const f = scriptedFetch([json(500, {}), json(200, {})])
    const client = new GraphClient({ baseUrl: 'http://g', token: TOKEN, fetch: f.fetch, baseDelayMs: 40, random: () => 1 })
    const start = performance.now()
    await client.get('/1')
    expect(performance.now() - start).toBeGreaterThanOrEqual(35)
  })

  it('refuses a path that does not start with / or that carries a query or a fragment', async () => {
    const { client, calls } = setup([json(200, {})])
    for (const path of ['1', '/1?fields=id', '/1#x']) await expect(client.get(path)).rejects.toThrow(TypeError)
    expect(calls).toHaveLength(0)
  })

  it('fails a 3xx at once as bad_response', async () => {
    for (const status of [300, 302]) {
      const { client, calls } = setup([json(status, {})])
      expect(await failure(client.get('/1'))).toMatchObject({ reason: 'bad_response', status })
      expect(calls).toHaveLength(1)
    }
  })

  it('waits for a Retry-After of exactly the cap', async () => {
    const { client, sleeps } = setup([json(429, {}, { 'retry-after': '30' }), json(200, {})])
    await client.get('/1')
    expect(sleeps).toEqual([30_000])
  })

  it('reports an unavailable upstream asking for too long a wait as unavailable', async () => {
    const { client, calls } = setup([json(503, {}, { 'retry-after': '120' })])
    expect(await failure(client.get('/1'))).toMatchObject({ reason: 'unavailable', status: 503, retryAfterSeconds: 120 })
    expect(calls).toHaveLength(1)
  })

  it('does not sleep once the budget is spent', async () => {
    const { client, sleeps } = setup([json(503, {})], { subrequestBudget: 1 })
    expect(await failure(client.get('/1'))).toMatchObject({ reason: 'budget_exhausted', attempts: 2 })
    expect(sleeps).toEqual([100])
  })

  it('keeps the last upstream failure, not a spent budget', async () => {
    const { client } = setup([json(503, {}), json(200, {})])
    expect(client.lastFailure).toBeUndefined()
    await client.get('/1')
    expect(client.lastFailure).toMatchObject({ reason: 'unavailable', status: 503 })
    const spent = setup([json(500, {})], { subrequestBudget: 1 })
    await failure(spent.client.get('/1'))
    expect(spent.client.lastFailure).toMatchObject({ reason: 'unavailable', status: 500 })
  })

  it('keeps the highest number of attempts in flight, not the latest', async () => {
    const { client } = setup([json(200, {})])
    await Promise.all([client.get('/1'), client.get('/2'), client.get('/3')])
    await client.get('/4')
    expect(client.stats.inFlightPeak).toBe(3)
  })

  it('aborts the fetch that timed out', async () => {
    const signals: AbortSignal[] = []
    const hang = ((_url: RequestInfo | URL, init?: RequestInit) => {
      signals.push(init!.signal!)
      return new Promise<Response>(() => {})
    }) as typeof fetch
    const client = new GraphClient({ baseUrl: 'http://g', token: TOKEN, fetch: hang, timeoutMs: 5, maxAttempts: 1 })
    expect((await failure(client.get('/1'))).reason).toBe('timeout')
    expect(signals.map((s) => s.aborted)).toEqual([true])
  })

  it('leaves no timer behind once an attempt is answered', async () => {
    vi.useFakeTimers()
    try {
      const { client } = setup([json(200, {})])
      await client.get('/1')
      expect(vi.getTimerCount()).toBe(0)
    } finally {
      vi.useRealTimers()
    }
  })

  it('names the path, the status or the reason in the error', async () => {
    const cases: [Step, string][] = [
      [json(500, {}), 'Graph API GET /1 failed: HTTP 500 (unavailable)'],
      [{ drop: 'connect' }, 'Graph API GET /1 failed: dropped (dropped)'],
    ]
    for (const [step, message] of cases) {
      const { client } = setup([step], { maxAttempts: 1 })
      expect(String(await failure(client.get('/1')))).toBe(`UpstreamError: ${message}`)
    }
    const { client } = setup([json(200, {})], { subrequestBudget: 0 })
    expect((await failure(client.get('/1'))).message).toBe('Graph API GET /1 failed: budget exhausted (budget_exhausted)')
  })
})

describe('GraphClient with an upstream quota governor (permits)', () => {
  function permitsLog(refuseAfter = Infinity, retryAfterSeconds = 12) {
    const taken: string[] = []
    const reported: (number | undefined)[] = []
    const permits: PermitSource = {
      async take(kind) {
        if (taken.length >= refuseAfter) return { retryAfterSeconds }
        taken.push(kind)
        return undefined
      },
      async report(ra) {
        reported.push(ra)
      },
    }
    return { permits, taken, reported }
  }

  it('takes one permit per fetch attempt, retries included, of the path’s kind', async () => {
    const p = permitsLog()
    const { client, calls } = setup([json(500, {}), json(200, { data: [] }), json(200, { id: '1' })], { permits: p.permits })
    await client.get('/map_features', { bbox: '1,2,3,4' })
    await client.get('/1', { fields: 'id' })
    expect(calls).toHaveLength(3)
    expect(p.taken).toEqual(['search', 'search', 'entity'])
  })

  it('sends nothing when refused a permit, and throws rate_limited (paced) with the governor’s wait', async () => {
    const p = permitsLog(0, 12)
    const { client, calls, sleeps } = setup([json(200, {})], { permits: p.permits })
    const e = await failure(client.get('/1'))
    expect(e).toMatchObject({ reason: 'rate_limited', retryAfterSeconds: 12, paced: true })
    expect(e.message).toContain('quota governor')
    expect(calls).toHaveLength(0)
    expect(sleeps).toEqual([])
    expect(client.stats).toMatchObject({ requests: 1, attempts: 0, retries: 0 })
  })

  it('reports a code 4 (the app limit) with its Retry-After, then stops when the pause is refused', async () => {
    const p = permitsLog(1, 20)
    const appLimit = json(403, { error: { message: 'Application request limit reached', type: 'MLYApiException', is_transient: true, code: 4 } }, { 'retry-after': '2' })
    const { client, calls, sleeps } = setup([appLimit, json(200, {})], { permits: p.permits })
    const e = await failure(client.get('/1'))
    expect(p.reported).toEqual([2])
    expect(calls).toHaveLength(1)
    expect(sleeps).toEqual([]) // no wait of its own: the governor's pause decides
    expect(e).toMatchObject({ reason: 'rate_limited', retryAfterSeconds: 20, paced: true })
  })

  it('after a code 4, tries again as soon as the governor grants a permit (a short pause waited out there)', async () => {
    const p = permitsLog()
    const appLimit = json(403, { error: { message: 'Application request limit reached', code: 4, is_transient: true } })
    const { client, calls, sleeps } = setup([appLimit, json(200, { id: '1' })], { permits: p.permits })
    await expect(client.get('/1')).resolves.toEqual({ id: '1' })
    expect(p.reported).toEqual([undefined])
    expect(calls).toHaveLength(2)
    expect(sleeps).toEqual([])
  })

  it('does not report other throttling (a 429 without code 4) nor other failures', async () => {
    const p = permitsLog()
    const { client } = setup([json(429, { error: { code: 613, message: 'calls' } }), json(503, {}), json(200, {})], { permits: p.permits })
    await client.get('/1')
    expect(p.reported).toEqual([])
    expect(p.taken).toHaveLength(3)
  })

  it('never passes its budget while attempts wait for permits side by side', async () => {
    let release!: () => void
    const gate = new Promise<void>((r) => (release = r))
    const permits: PermitSource = { take: async () => void (await gate), report: async () => {} }
    const { client, calls } = setup(Array.from({ length: 6 }, () => json(200, {})), { permits, subrequestBudget: 2 })
    const all = Promise.allSettled(Array.from({ length: 6 }, (_, i) => client.get(`/${i + 1}`)))
    release()
    const outcomes = await all
    expect(calls).toHaveLength(2)
    expect(outcomes.filter((o) => o.status === 'rejected').map((o) => (o as PromiseRejectedResult).reason.reason)).toEqual(Array(4).fill('budget_exhausted'))
  })
})
