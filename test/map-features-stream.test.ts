/**
 * `GET /v1/map-features` as RFC 8142 records (`format=geojsonseq`, or `Accept:
 * application/geo+json-seq`), end to end through the gateway: read back record by record and
 * compared with the plain GeoJSON answer of the same box and with the stand-in's truth; from the
 * sweep object while its cells complete, and from KV; a failure after the first byte seen by the
 * client as an error (a cut transfer, never a clean end).
 */
import { spawn } from 'node:child_process'
import { afterEach, describe, expect, it } from 'vitest'
import { sweepName } from '../workers/map-features/src/sweep-params'
import { expectProblem } from './support/problem'
import { useSystem } from './support/system'

type Bbox = [number, number, number, number]

const RS = '\x1e'

/**
 * The records of a streamed answer as they arrive: each one's JSON text, checked for RFC 8142's
 * framing (RS, the text, LF). `onFirst` runs when the first record has arrived, before more is read.
 * A body that errors is answered as `error` (with the records read before it).
 */
async function readRecords(res: Response, onFirst?: () => Promise<void>): Promise<{ texts: string[]; error?: unknown }> {
  const reader = res.body!.getReader()
  const decoder = new TextDecoder()
  const texts: string[] = []
  let buffer = ''
  for (;;) {
    let chunk: ReadableStreamReadResult<Uint8Array>
    try {
      chunk = await reader.read()
    } catch (error) {
      return { texts, error }
    }
    if (chunk.done) break
    buffer += decoder.decode(chunk.value, { stream: true })
    const before = texts.length
    // Complete records: RS … LF; what follows the last LF waits for more bytes.
    let end: number
    while ((end = buffer.indexOf('\n')) >= 0) {
      const rec = buffer.slice(0, end)
      expect(rec.startsWith(RS), `record framing: ${JSON.stringify(rec.slice(0, 40))}`).toBe(true)
      expect(rec.indexOf(RS, 1)).toBe(-1)
      texts.push(rec.slice(1))
      buffer = buffer.slice(end + 1)
    }
    if (before === 0 && texts.length > 0 && onFirst) await onFirst()
  }
  expect(buffer).toBe('')
  return { texts }
}

const t = useSystem()
afterEach(() => t.sys.sandboxControl.reset())

const district = (name: string) => t.world.districts.find((d: any) => d.name.includes(name)) as { bbox: Bbox; featureCount: number }

async function plain(query: string) {
  const res = await t.sys.json(`/v1/map-features?${query}`)
  expect(res.status, JSON.stringify(res.body).slice(0, 300)).toBe(200)
  return res
}

/** The stream's features by id; every id once. */
function byId(texts: string[]): Map<string, any> {
  const out = new Map<string, any>()
  for (const text of texts) {
    const f = JSON.parse(text)
    expect(f.type).toBe('Feature')
    expect(out.has(f.id), `feature ${f.id} twice`).toBe(false)
    out.set(f.id, f)
  }
  return out
}

/** The streamed features are the plain answer's, each once, equal objects, and the stand-in's truth. */
async function expectSameAsPlain(texts: string[], bbox: Bbox, query: string) {
  const streamed = byId(texts)
  const truth = await t.sys.sandboxControl.truthIds(bbox.join(','))
  expect([...streamed.keys()].sort()).toEqual([...truth].sort())
  const collection = (await plain(query)).body
  expect(collection.features).toHaveLength(streamed.size)
  for (const f of collection.features) expect(streamed.get(f.id), f.id).toEqual(f)
}

const storageOf = (name: string) => t.sys.gateway.getWorker('mly-map-features').getDurableObjectStorage('MAP_FEATURES_SWEEP', { name })
const count = async (name: string, state: string) => Number(((await (await storageOf(name)).exec(`SELECT count(*) AS n FROM units WHERE state = '${state}'`)) as unknown as Array<{ n: number }>)[0]!.n)

describe('GET /v1/map-features as application/geo+json-seq', () => {
  it('streams the dense district from the sweep: every feature once, the plain answer’s objects; then from KV the same', async () => {
    const bbox = district('dense').bbox
    const query = `bbox=${bbox.join(',')}`
    const res = await t.sys.fetch(`/v1/map-features?${query}&format=geojsonseq`, { headers: { origin: 'https://example.org' } })
    expect(res.status).toBe(200)
    expect(res.headers.get('content-type')).toBe('application/geo+json-seq')
    expect(res.headers.get('x-cache')).toBe('miss')
    expect(res.headers.get('vary')).toMatch(/\bAccept\b/)
    expect(res.headers.get('etag')).toBeNull()
    expect(res.headers.get('access-control-allow-origin')).toBe('*')
    const { texts, error } = await readRecords(res)
    expect(error).toBeUndefined()
    expect(texts.length).toBeGreaterThan(2000)
    await expectSameAsPlain(texts, bbox, query)

    // The plain answer (now in KV) answers the stream: no upstream request, the same records.
    const before = (await t.sys.sandboxControl.stats()).requests
    const again = await t.sys.fetch(`/v1/map-features?${query}&format=geojsonseq`)
    expect(again.headers.get('x-cache')).toBe('hit')
    expect(again.headers.get('x-upstream-requests')).toBe('0')
    const fromKv = await readRecords(again)
    expect(fromKv.error).toBeUndefined()
    expect([...fromKv.texts].sort()).toEqual([...texts].sort())
    expect((await t.sys.sandboxControl.stats()).requests).toBe(before)
  })

  it('streams a box across the antimeridian when Accept asks for it, equal to the plain answer', async () => {
    const bbox = district('antimeridian').bbox
    const query = `bbox=${bbox.join(',')}&fields=object_type`
    const res = await t.sys.fetch(`/v1/map-features?${query}`, { headers: { accept: 'application/geo+json-seq' } })
    expect(res.status).toBe(200)
    expect(res.headers.get('content-type')).toBe('application/geo+json-seq')
    const { texts, error } = await readRecords(res)
    expect(error).toBeUndefined()
    expect(texts.length).toBe(district('antimeridian').featureCount)
    for (const text of texts) expect(Object.keys(JSON.parse(text).properties)).toEqual(['id', 'object_value', 'object_type'])
    await expectSameAsPlain(texts, bbox, query)
  })

  it('the format parameter wins over Accept; the plain answer keeps its ETag and says Vary: Accept; a bad format is a 400', async () => {
    const bbox = district('sparse').bbox
    const asPlain = await t.sys.fetch(`/v1/map-features?bbox=${bbox.join(',')}&format=geojson`, { headers: { accept: 'application/geo+json-seq' } })
    expect(asPlain.headers.get('content-type')).toMatch(/^application\/geo\+json; charset=utf-8$/)
    expect(asPlain.headers.get('etag')).toMatch(/^"/)
    expect(asPlain.headers.get('vary')).toMatch(/\bAccept\b/)
    const collection = (await asPlain.json()) as { features: unknown[] }
    // No format at all: the same body, byte for byte.
    const noFormat = await t.sys.fetch(`/v1/map-features?bbox=${bbox.join(',')}`)
    expect(await noFormat.text()).toBe(JSON.stringify(collection))

    const asStream = await t.sys.fetch(`/v1/map-features?bbox=${bbox.join(',')}&format=geojsonseq`, { headers: { accept: 'application/geo+json' } })
    expect(asStream.headers.get('content-type')).toBe('application/geo+json-seq')
    const { texts } = await readRecords(asStream)
    expect(texts.map((s) => JSON.parse(s))).toEqual(collection.features)

    const bad = await t.sys.json(`/v1/map-features?bbox=${bbox.join(',')}&format=ndjson`)
    expectProblem(bad, 400, 'invalid_parameter')
    expect(bad.body.invalid_params).toEqual([{ name: 'format', reason: 'must be geojson or geojsonseq' }])
  })

  it('sends the first records while the sweep still has cells pending, and ends whole', async () => {
    const bbox = district('dense').bbox
    const query = `bbox=${bbox.join(',')}&fields=first_seen_at`
    // The start cell answers (capped, split); the first of its children stalls 8 s, then drops.
    await t.sys.sandboxControl.config({ routes: ['map_features'], script: ['ok', 'drop'], dropMode: 'stall', stallMs: 8000 })
    const name = sweepName({ bbox, fields: ['first_seen_at'] })
    let pendingAtFirst = -1
    let doneAtFirst = -1
    const res = await t.sys.fetch(`/v1/map-features?${query}&format=geojsonseq`)
    expect(res.status).toBe(200)
    const { texts, error } = await readRecords(res, async () => {
      pendingAtFirst = await count(name, 'pending')
      doneAtFirst = await count(name, 'done')
    })
    expect(error).toBeUndefined()
    expect(doneAtFirst).toBeGreaterThan(0)
    expect(pendingAtFirst).toBeGreaterThan(0)
    expect(await count(name, 'pending')).toBe(0)
    await expectSameAsPlain(texts, bbox, query)
  })

  it('a failure after the first records ends the stream in an error the client sees, never a clean end', async () => {
    // Two start cells (one per side of the antimeridian): one answers, every later request fails.
    const bbox = district('antimeridian').bbox
    await t.sys.sandboxControl.config({ routes: ['map_features'], script: ['ok', ...Array(20).fill('500')] })
    const res = await t.sys.fetch(`/v1/map-features?bbox=${bbox.join(',')}&object_values=object--street-light&format=geojsonseq`)
    expect(res.status).toBe(200)
    const { texts, error } = await readRecords(res)
    expect(error).toBeDefined()
    const truth = await t.sys.sandboxControl.truthIds(bbox.join(','), 'object--street-light')
    expect(texts.length).toBeGreaterThan(0)
    expect(texts.length).toBeLessThan(truth.length)
    for (const f of byId(texts).values()) expect(truth).toContain(f.id)
  })

  it('curl sees the cut transfer: it exits non-zero', async () => {
    const bbox = district('antimeridian').bbox
    await t.sys.sandboxControl.config({ routes: ['map_features'], script: ['ok', ...Array(20).fill('500')] })
    const url = new URL(`/v1/map-features?bbox=${bbox.join(',')}&object_values=object--street-light&fields=object_type&format=geojsonseq`, t.sys.url)
    // Spawned, not run synchronously: the harness answers from this process's event loop.
    const run = await new Promise<{ status: number | null; bytes: number; stderr: string }>((resolve) => {
      const child = spawn('curl', ['-sS', '-o', '/dev/null', '-w', '%{size_download}', url.href])
      let out = ''
      let stderr = ''
      child.stdout.on('data', (d) => (out += d))
      child.stderr.on('data', (d) => (stderr += d))
      child.on('close', (status) => resolve({ status, bytes: Number(out), stderr }))
    })
    // 18: "transfer closed with outstanding read data remaining" (the chunked body never ended).
    expect(run.status, run.stderr).toBe(18)
    expect(run.status).not.toBe(0)
    expect(run.bytes).toBeGreaterThan(0)
  })

  it('a box with a pile no split can separate ends the stream in an error (incomplete_result), as the plain answer is a 502', async () => {
    const lon = 20.1234567
    const lat = 40.1234567
    const near: Bbox = [20.12, 40.12, 20.13, 40.13]
    await t.sys.sandboxControl.config({ pile: { lon, lat, count: 2000 } })
    const res = await t.sys.fetch(`/v1/map-features?bbox=${near.join(',')}&format=geojsonseq`)
    expect(res.status).toBe(200)
    const { error } = await readRecords(res)
    expect(error).toBeDefined()
    expectProblem(await t.sys.json(`/v1/map-features?bbox=${near.join(',')}`), 502, 'incomplete_result')
  })

  it('refuses before the first byte what the plain answer refuses: a box too large is a 422 problem', async () => {
    const res = await t.sys.json('/v1/map-features?bbox=0,0,1,1&format=geojsonseq')
    expectProblem(res, 422, 'bbox_too_large')
  })

  it('a job (and so a webhook) refuses format=geojsonseq with a 400: its result is GeoJSON', async () => {
    const bbox = district('sparse').bbox
    const res = await t.sys.json('/v1/jobs', { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ task: 'map-features', params: { bbox: bbox.join(','), format: 'geojsonseq' } }) })
    expectProblem(res, 400, 'invalid_parameter')
    expect(res.body.invalid_params[0].name).toBe('format')
  })

  // Last in this system: it reloads the gateway with a short deadline.
  it('the request deadline bounds the wait for the headers only: a sweep longer than it streams whole', async () => {
    const deadline = 2
    await t.sys.gateway.update((o) => ({
      ...o,
      workers: o.workers!.map((w) => ('configPath' in w && String(w.configPath) === 'wrangler.toml' ? { ...w, vars: { ...w.vars, REQUEST_DEADLINE_SECONDS: String(deadline) } } : w)),
    }))
    const bbox = district('dense').bbox
    const query = `bbox=${bbox.join(',')}&fields=last_seen_at`
    // Two rounds of requests (the start cell, then its children), each 1.5 s: past the deadline by construction.
    await t.sys.sandboxControl.config({ latencyMs: 1500 })
    const t0 = Date.now()
    const res = await t.sys.fetch(`/v1/map-features?${query}&format=geojsonseq`)
    expect(res.status).toBe(200)
    const { texts, error } = await readRecords(res)
    expect(error).toBeUndefined()
    expect(Date.now() - t0).toBeGreaterThan(deadline * 1000)
    await t.sys.sandboxControl.config({ latencyMs: null })
    await expectSameAsPlain(texts, bbox, query)
  })
})

describe('geojsonseq under a bound of 1 upstream request per box (MAX_BOX_REQUESTS=1)', () => {
  const small = useSystem({ vars: { MAX_BOX_REQUESTS: '1' } })
  const bboxOf = (name: string) => small.world.districts.find((d: any) => d.name.includes(name)).bbox as Bbox

  it('a plan over the bound (two start cells across the antimeridian) is a 422 box_too_costly before any byte', async () => {
    const res = await small.sys.json(`/v1/map-features?bbox=${bboxOf('antimeridian').join(',')}&format=geojsonseq`)
    expectProblem(res, 422, 'box_too_costly')
    expect(res.body).toMatchObject({ limit: 1, needed_at_least: 2 })
  })

  it('the bound reached by splits after the headers ends the stream in an error; asked again, the 422 comes first', async () => {
    const url = `/v1/map-features?bbox=${bboxOf('dense').join(',')}&format=geojsonseq`
    const res = await small.sys.fetch(url)
    expect(res.status).toBe(200)
    const { texts, error } = await readRecords(res)
    expect(error).toBeDefined()
    // The one request allowed found the start cell capped: not one feature is known complete.
    expect(texts).toEqual([])
    expectProblem(await small.sys.json(url), 422, 'box_too_costly')
  })
})
