/**
 * Jobs (docs/api-v1.md "Jobs"): each task as a job answers byte for byte what its synchronous
 * endpoint answers; progress streams as Server-Sent Events; bad requests are 4xx problems at POST.
 */
import { afterEach, describe, expect, it } from 'vitest'
import { tokenHash } from './stand-in/src/stats'
import { ended, readEvents, submit, submitted, type SseEvent } from './support/jobs'
import { expectProblem } from './support/problem'
import { SERVER_TOKEN, useSystem } from './support/system'

// Heartbeats every second, so a stream of a few seconds shows some.
const t = useSystem({ vars: { SSE_HEARTBEAT_SECONDS: '1' } })
afterEach(() => t.sys.sandboxControl.reset())

const district = (name: string) => t.world.districts.find((d: any) => d.name.includes(name))
const sequence = (length: number) => t.world.sequences.find((s: any) => s.length === length)
const leaks = (text: string, token: string) => [token, encodeURIComponent(token), token.split('|')[2]!].some((x) => text.includes(x))

async function bytes(path: string, init?: RequestInit) {
  const res = await t.sys.fetch(path, init)
  return { status: res.status, type: res.headers.get('content-type'), body: Buffer.from(await res.arrayBuffer()) }
}

/** Progress events: done never decreases, never above total; ids strictly increase; ends in `done`. */
function expectWellFormed(events: SseEvent[]) {
  const ids = events.map((e) => e.id!)
  for (let i = 1; i < ids.length; i++) expect(ids[i]!, `ids ${ids.join(',')}`).toBeGreaterThan(ids[i - 1]!)
  const progress = events.filter((e) => e.event === 'progress').map((e) => e.data)
  for (const [i, p] of progress.entries()) {
    expect(p.done).toBeLessThanOrEqual(p.total)
    if (i > 0) expect(p.done).toBeGreaterThanOrEqual(progress[i - 1].done)
  }
  return progress
}

describe('a job answers byte for byte what the synchronous endpoint answers', () => {
  const cases: Array<[string, () => Record<string, unknown>, () => string]> = [
    [
      'map-features',
      () => ({ bbox: district('dense').bbox.join(','), fields: 'object_type' }),
      () => `/v1/map-features?bbox=${district('dense').bbox.join(',')}&fields=object_type`,
    ],
    [
      'sequence-detections',
      () => ({ sequence_id: sequence(50).id, fields: 'id,value,geometry', pixels: true }),
      () => `/v1/sequences/${sequence(50).id}/detections?fields=id,value,geometry&pixels=true`,
    ],
    [
      'image-detections',
      // A number stands for its text.
      () => ({ image_id: Number(t.world.sampleImages.multipolygonWithHoles) }),
      () => `/v1/images/${t.world.sampleImages.multipolygonWithHoles}/detections`,
    ],
    [
      'feature-images',
      () => ({ map_feature_id: t.world.sampleMapFeatures.seenInSeveralImages }),
      () => `/v1/map-features/${t.world.sampleMapFeatures.seenInSeveralImages}/images`,
    ],
  ]

  it.each(cases)('%s', async (task, params, syncPath) => {
    const posted = await submit(t.sys, task, params())
    expect(posted.status, JSON.stringify(posted.body)).toBe(202)
    expect(posted.body.id).toMatch(/^[0-9a-f]{32}$/)
    expect(['queued', 'running']).toContain(posted.body.state)
    expect(posted.body.status_url).toBe(new URL(`/v1/jobs/${posted.body.id}`, t.sys.url).href)
    expect(posted.headers.get('location')).toBe(posted.body.status_url)

    const status = await ended(t.sys, posted.body.id)
    expect(status.state, JSON.stringify(status.problem)).toBe('done')
    expect(status).toMatchObject({ id: posted.body.id, task, result_url: `${posted.body.status_url}/result` })
    expect(status.progress.done).toBe(status.progress.total)
    expect(status.progress.total).toBeGreaterThan(0)
    for (const at of ['created_at', 'updated_at', 'expires_at']) expect(Date.parse(status[at])).toBeGreaterThan(0)

    const result = await bytes(status.result_url)
    const sync = await bytes(syncPath())
    expect(result.status).toBe(200)
    expect(sync.status).toBe(200)
    expect(result.type).toBe(sync.type)
    expect(result.body.length).toBeGreaterThan(0)
    expect(result.body.equals(sync.body), `${task}: ${result.body.length} vs ${sync.body.length} bytes`).toBe(true)
  })

  it('a result over 1 MiB (stored in pieces) comes back whole', async () => {
    // The dense district's collection is about 1.8 MB: more than one stored piece.
    const bbox = district('dense').bbox.join(',')
    const id = await submitted(t.sys, 'map-features', { bbox })
    expect((await ended(t.sys, id)).state).toBe('done')
    const result = await bytes(`/v1/jobs/${id}/result`)
    expect(result.body.length).toBeGreaterThan(1024 * 1024)
    const sync = await bytes(`/v1/map-features?bbox=${bbox}`)
    expect(result.body.equals(sync.body)).toBe(true)
    expect(JSON.parse(result.body.toString()).features.length).toBe(district('dense').featureCount)
  })
})

describe('progress as Server-Sent Events', () => {
  it('streams monotone progress of a 1,250-image sequence, then done, then ends', async () => {
    await t.sys.sandboxControl.config({ latencyMs: 10 })
    const t0 = Date.now()
    const id = await submitted(t.sys, 'sequence-detections', { sequence_id: sequence(1250).id, fields: 'id,value' })
    const read = await readEvents(t.sys, `/v1/jobs/${id}/events`)
    const seconds = (Date.now() - t0) / 1000
    expect(read.status).toBe(200)
    expect(read.headers.get('content-type')).toMatch(/^text\/event-stream/)
    expect(read.headers.get('etag')).toBeNull()
    expect(read.ended).toBe(true)
    const progress = expectWellFormed(read.events)
    // Several steps on the way, and the whole sequence at the end.
    expect(progress.length, read.text).toBeGreaterThanOrEqual(3)
    expect(progress.filter((p) => p.done > 0 && p.done < p.total).length, read.text).toBeGreaterThanOrEqual(1)
    expect(progress.at(-1)).toEqual({ done: 1250, total: 1250 })
    const last = read.events.at(-1)!
    expect(last.event).toBe('done')
    expect(last.data).toMatchObject({ id, state: 'done', progress: { done: 1250, total: 1250 } })
    expect(read.events.filter((e) => e.event === 'done')).toHaveLength(1)
    console.log(`sse: ${read.events.length} events (${progress.length} progress), ${read.comments.length} heartbeats in ${seconds.toFixed(1)} s`)

    // The job's own accounting: its one run asked for progress about once a second.
    const runs = await (await t.sys.gateway.getWorker('mly-jobs').getDurableObjectStorage('JOB', { name: id })).exec('SELECT * FROM runs')
    expect(runs).toHaveLength(1)
    const run = runs[0] as any
    const runSeconds = (run.finished_at - run.started_at) / 1000
    expect(run.subrequests).toBe(run.polls + 1)
    expect(run.polls).toBeLessThanOrEqual(Math.ceil(runSeconds) + 1)
    console.log(`run: ${run.subrequests} subrequests (${run.polls} progress asks) in ${runSeconds.toFixed(1)} s`)
  })

  it('sends a heartbeat comment while nothing changes', async () => {
    // One image's detections: no fan-out to report on, so 0 of 1 for the 2.5 s the upstream takes.
    await t.sys.sandboxControl.config({ latencyMs: 2500 })
    const id = await submitted(t.sys, 'image-detections', { image_id: t.world.sampleImages.realDetections })
    const read = await readEvents(t.sys, `/v1/jobs/${id}/events`)
    expect(read.comments.filter((c) => c === 'heartbeat').length, read.text).toBeGreaterThanOrEqual(1)
    expect(read.retry).toBeGreaterThan(0)
    expect(read.events.map((e) => [e.event, e.event === 'progress' ? e.data : e.data.state])).toEqual([
      ['progress', { done: 0, total: 1 }],
      ['progress', { done: 1, total: 1 }],
      ['done', 'done'],
    ])
  })

  it('a reconnect with Last-Event-ID gets no event it already had, and still ends in done', async () => {
    await t.sys.sandboxControl.config({ latencyMs: 10 })
    const id = await submitted(t.sys, 'sequence-detections', { sequence_id: sequence(1250).id, fields: 'id,geometry' })
    const first = await readEvents(t.sys, `/v1/jobs/${id}/events`, { stopAfter: 2 })
    expect(first.ended).toBe(false)
    expect(first.events).toHaveLength(2)
    const seen = first.events.at(-1)!.id!
    const rest = await readEvents(t.sys, `/v1/jobs/${id}/events`, { lastEventId: seen })
    expect(rest.ended).toBe(true)
    for (const e of rest.events) expect(e.id!).toBeGreaterThan(seen)
    expectWellFormed([...first.events, ...rest.events])
    expect(rest.events.at(-1)!.event).toBe('done')
    // Having seen the last event, a client is told there is nothing more (EventSource stops on 204).
    const after = await readEvents(t.sys, `/v1/jobs/${id}/events`, { lastEventId: rest.events.at(-1)!.id! })
    expect(after.status).toBe(204)
    expect(after.events).toEqual([])
    // A client that connects after the end gets the final progress and done at once.
    const late = await readEvents(t.sys, `/v1/jobs/${id}/events`)
    expect(late.events.map((e) => e.event)).toEqual(['progress', 'done'])
  })
})

describe('a job that is not done', () => {
  it('answers /result with 409 naming its state while it runs', async () => {
    await t.sys.sandboxControl.config({ latencyMs: 200 })
    const id = await submitted(t.sys, 'sequence-detections', { sequence_id: sequence(50).id, fields: 'id,created_at' })
    const res = await t.sys.json(`/v1/jobs/${id}/result`)
    expectProblem(res, 409, 'job_not_ready')
    expect(['queued', 'running']).toContain(res.body.state)
    expect(res.body.detail).toContain(res.body.state)
    await t.sys.sandboxControl.config({ latencyMs: 0 })
    expect((await ended(t.sys, id)).state).toBe('done')
  })

  it('fails with the task’s problem when the upstream keeps failing, and /result answers it', async () => {
    await t.sys.sandboxControl.config({ rate500: 1 })
    const id = await submitted(t.sys, 'image-detections', { image_id: t.world.sampleImages.ordinary })
    const status = await ended(t.sys, id)
    expect(status.state).toBe('failed')
    expect(status.problem).toMatchObject({ status: 502, code: 'upstream_error' })
    const result = await t.sys.json(`/v1/jobs/${id}/result`)
    expectProblem(result, 502, 'upstream_error')
    // The job's problem, as an answer of its own: the gateway names the request that read it.
    expect(result.body).toEqual({ ...status.problem, request_id: result.headers.get('x-request-id') })
    const events = await readEvents(t.sys, `/v1/jobs/${id}/events`)
    expect(events.events.at(-1)).toMatchObject({ event: 'failed', data: status.problem })
  })

  it('retries a task that answers 503 with Retry-After a few times, then fails with its problem', async () => {
    await t.sys.sandboxControl.config({ rate429: 1, retryAfterSeconds: 0 })
    const id = await submitted(t.sys, 'feature-images', { map_feature_id: t.world.sampleMapFeatures.seenInNoImage })
    const status = await ended(t.sys, id)
    expect(status.state).toBe('failed')
    expect(status.problem).toMatchObject({ status: 503, code: 'upstream_rate_limited' })
    const runs = await (await t.sys.gateway.getWorker('mly-jobs').getDurableObjectStorage('JOB', { name: id })).exec('SELECT * FROM runs ORDER BY n')
    expect(runs.length).toBe(5)
    for (let i = 1; i < runs.length; i++) expect((runs[i] as any).started_at - (runs[i - 1] as any).finished_at).toBeGreaterThanOrEqual(950)
  })
})

describe('bad requests are 4xx problems at POST time', () => {
  const post = (body: string, headers: Record<string, string> = { 'content-type': 'application/json' }) => t.sys.json('/v1/jobs', { method: 'POST', headers, body })
  const cases: Array<[string, string, number, string]> = [
    ['an unknown task', JSON.stringify({ task: 'everything', params: {} }), 400, 'invalid_body'],
    ['no task', JSON.stringify({ params: {} }), 400, 'invalid_body'],
    ['an unknown member', JSON.stringify({ task: 'image-detections', params: { image_id: '1' }, priority: 'high' }), 400, 'invalid_body'],
    ['params not an object', JSON.stringify({ task: 'image-detections', params: '1' }), 400, 'invalid_body'],
    ['a bad bbox', JSON.stringify({ task: 'map-features', params: { bbox: '13,55.62,13.01,55.61' } }), 400, 'invalid_bbox'],
    ['no bbox', JSON.stringify({ task: 'map-features', params: {} }), 400, 'invalid_bbox'],
    ['a box too large to serve', JSON.stringify({ task: 'map-features', params: { bbox: '-170,-80,170,80' } }), 422, 'bbox_too_large'],
    ['an unknown param name', JSON.stringify({ task: 'map-features', params: { bbox: '13,55.6,13.01,55.61', colour: 'red' } }), 400, 'invalid_parameter'],
    ['an unknown field', JSON.stringify({ task: 'map-features', params: { bbox: '13,55.6,13.01,55.61', fields: 'secret' } }), 400, 'invalid_parameter'],
    ['a bad sequence id', JSON.stringify({ task: 'sequence-detections', params: { sequence_id: 'bad id!' } }), 400, 'invalid_parameter'],
    ['a bad pixels flag', JSON.stringify({ task: 'sequence-detections', params: { sequence_id: 'abc', pixels: 'maybe' } }), 400, 'invalid_parameter'],
    ['an id too large to be exact', '{"task":"image-detections","params":{"image_id":12345678901234567890}}', 400, 'invalid_parameter'],
    ['an object as a value', JSON.stringify({ task: 'image-detections', params: { image_id: { id: 1 } } }), 400, 'invalid_parameter'],
    ['a callback_url that is not a string', JSON.stringify({ task: 'image-detections', params: { image_id: '1' }, callback_url: 5 }), 400, 'invalid_body'],
    ['not JSON', '{"task":', 400, 'invalid_body'],
    ['a JSON array', '[]', 400, 'invalid_body'],
    ['too large a body', JSON.stringify({ task: 'image-detections', params: { image_id: '1' }, callback_url: `https://example.org/${'x'.repeat(20_000)}` }), 413, 'payload_too_large'],
  ]

  it.each(cases)('%s → %i %s', async (_name, body, status, code) => {
    expectProblem(await post(body), status, code)
  })

  it('refuses a body that is not sent as JSON', async () => {
    expectProblem(await post(JSON.stringify({ task: 'image-detections', params: { image_id: '1' } }), { 'content-type': 'text/plain' }), 400, 'invalid_body')
  })

  it('answers 404 for an unknown id and for a malformed one, on every job route', async () => {
    for (const id of ['0123456789abcdef0123456789abcdef', 'nope', '0123456789ABCDEF0123456789ABCDEF', `${'a'.repeat(31)}`]) {
      for (const suffix of ['', '/result', '/events']) expectProblem(await t.sys.json(`/v1/jobs/${id}${suffix}`), 404, 'not_found')
    }
  })

  it('allows only POST on /v1/jobs and GET on a job', async () => {
    expectProblem(await t.sys.json('/v1/jobs'), 405, 'method_not_allowed')
    expectProblem(await t.sys.json('/v1/jobs/0123456789abcdef0123456789abcdef', { method: 'DELETE' }), 405, 'method_not_allowed')
  })

  it('never forwards the task Workers’ internal progress routes', async () => {
    expectProblem(await t.sys.json(`/internal/progress/v1/images/${t.world.sampleImages.ordinary}/detections`), 404, 'route_not_found')
  })
})

describe('a client’s own token', () => {
  const own = 'MLY|424242|cafebabecafebabecafebabecafebabe'

  it('pays for the job’s upstream calls and appears in no response, status or event', async () => {
    const auth = { headers: { authorization: `OAuth ${own}` } }
    const id = await submitted(t.sys, 'feature-images', { map_feature_id: t.world.sampleMapFeatures.seenInSeveralImages }, auth)
    const status = await ended(t.sys, id)
    expect(status.state).toBe('done')
    const texts = [
      JSON.stringify(status),
      await (await t.sys.fetch(`/v1/jobs/${id}`, auth)).text(),
      await (await t.sys.fetch(`/v1/jobs/${id}/result`, auth)).text(),
      (await readEvents(t.sys, `/v1/jobs/${id}/events`, { headers: auth.headers })).text,
    ]
    for (const text of texts) {
      expect(leaks(text, own)).toBe(false)
      expect(leaks(text, SERVER_TOKEN)).toBe(false)
    }
    expect((await t.sys.sandboxControl.stats()).tokensSeen).toContain(tokenHash(own))
  })

  it('is the one used: a token the upstream rejects fails the job with 401, not the server’s answer', async () => {
    await t.sys.sandboxControl.config({ rejectTokens: [tokenHash(own)] })
    const id = await submitted(t.sys, 'image-detections', { image_id: t.world.sampleImages.noDetections }, { headers: { authorization: `OAuth ${own}` } })
    const status = await ended(t.sys, id)
    expect(status.state).toBe('failed')
    expect(status.problem).toMatchObject({ status: 401, code: 'invalid_token' })
    expect(leaks(JSON.stringify(status), own)).toBe(false)
  })
})
