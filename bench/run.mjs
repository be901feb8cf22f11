#!/usr/bin/env node
/**
 * `npm run bench`: upstream requests, rounds, wall time, peak memory and quota cost of mly-edge
 * against the FAQ's method, both run in this process against the Graph API stand-in with injected
 * latency. Not a test: it prints ratios against baselines and bounds measured in the same run.
 *
 * `BENCH_CASES=city,boxes` runs only those groups (boxes, city, sequences, expansion,
 * feature-images, feature-detections); `BENCH_FAQ=0` skips the FAQ runs (counted only).
 * A group whose part is missing (a stand-in config key, a route) prints "n/a" and why.
 */
import { spawnSync } from 'node:child_process'
import { createRequire } from 'node:module'
import { readFileSync, writeFileSync, mkdtempSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { createTestHarness } from 'wrangler'
import { cellDepths, cellRounds, connectionsWith, cpuSeconds, roundAwareBound, quotaAnswersPerMinute, tomlVar, workerdPids, RssSampler, HeapSampler } from './measures.mjs'

process.env.CLOUDFLARE_CF_FETCH_ENABLED ??= 'false'
process.env.WRANGLER_SEND_METRICS ??= 'false'
const require = createRequire(import.meta.url)
const tileCover = require('@mapbox/tile-cover')

const LATENCY_MS = Number(process.env.BENCH_LATENCY_MS ?? 50)
/** Runs of ours per case (each a new question, so neither KV nor a finished sweep answers it); the median is reported. */
const RUNS = Number(process.env.BENCH_RUNS ?? 5)
/** Runs of ours for the city (each sweeps 60,000 features). */
const CITY_RUNS = Number(process.env.BENCH_CITY_RUNS ?? 4)
const JITTER_MS = Number(process.env.BENCH_JITTER_MS ?? 10)
const CASES = new Set((process.env.BENCH_CASES ?? 'boxes,city,sequences,expansion,feature-images,feature-detections').split(',').map((s) => s.trim()))
const RUN_FAQ = process.env.BENCH_FAQ !== '0'
const CONNECTIONS = 6 // the Workers limit on fetches awaiting headers per invocation
/** Images of the crowd feature in the feature-images and map-feature detections cases. */
const CROWD = Number(process.env.BENCH_CROWD ?? 1000)
const TOKEN = 'MLY|4242424242|0123456789abcdef0123456789abcdef'
// The gateway binds every task Worker and the jobs Worker, and the task Workers take their upstream
// permits from the quota governor: all must run (the gateway first: it is the one listened on).
const TASKS = ['sequence-detections', 'map-features', 'detection-geometry', 'feature-images', 'jobs']
const UPSTREAM_CAP = 2000

// The product's settings, as its wrangler.toml files set them (the bound and the floors follow them).
// BOX_HELPERS unset: the product's default (box-limits.ts), 0 where there is none (no helpers yet).
const BOX_HELPERS = Number(tomlVar('workers/map-features/wrangler.toml', 'BOX_HELPERS') ?? /DEFAULT_BOX_HELPERS = (\d+)/.exec(readFileSync('workers/map-features/src/box-limits.ts', 'utf8'))?.[1] ?? 0)
const batchIds = (worker) => Number(tomlVar(`workers/${worker}/wrangler.toml`, 'BATCH_IDS') ?? 100)
const MANY = connectionsWith(BOX_HELPERS)

const sandboxBefore = new Set(workerdPids())
const sandbox = createTestHarness({ workers: [{ configPath: 'test/stand-in/wrangler.toml' }] })
const { url: upstream } = await sandbox.listen()
const sandboxPids = new Set(workerdPids().filter((p) => !sandboxBefore.has(p)))
const system = createTestHarness({
  workers: [
    { configPath: 'wrangler.toml' },
    { configPath: 'workers/governor/wrangler.toml' },
    // The embed Worker (the gateway binds it), with no upstream and no token.
    { configPath: 'workers/embed/wrangler.toml' },
    // BENCH_NO_GOVERNOR=1 (an experiment, not the product): the task Workers without their quota
    // governor binding, so what its permit calls cost here can be measured.
    ...TASKS.map((t) => ({ configPath: `workers/${t}/wrangler.toml`, vars: { MAPILLARY_GRAPH_URL: upstream.origin, ...(process.env.BENCH_NO_GOVERNOR === '1' ? { GOVERNOR: '' } : {}) }, secrets: { MAPILLARY_ACCESS_TOKEN: TOKEN } })),
  ],
})
// The product's workerd gets a V8 inspector (bench/workerd-inspect.sh wraps the real binary), so
// each isolate's heap is read while a case runs; BENCH_HEAP=0 runs it without one.
const HEAP = process.env.BENCH_HEAP !== '0'
const PROFILE = process.env.BENCH_PROFILE
const PROFILE_WORKERS = (process.env.BENCH_PROFILE_WORKERS ?? 'map-features,gateway').split(',')
let profiles = 0
const inspectorLog = join(mkdtempSync(join(tmpdir(), 'bench-')), 'inspectors')
if (HEAP) {
  writeFileSync(inspectorLog, '')
  Object.assign(process.env, { BENCH_WORKERD: require('workerd').default, BENCH_INSPECTOR_LOG: inspectorLog, MINIFLARE_WORKERD_PATH: new URL('./workerd-inspect.sh', import.meta.url).pathname })
}
// BENCH_HEAP_LIMIT_MB: the product's workerd (not the stand-in's) runs every isolate with a V8 heap
// of at most that size; a case that needs more crashes the runtime, so passing bounds its live heap.
const HEAP_LIMIT_MB = Number(process.env.BENCH_HEAP_LIMIT_MB ?? 0)
if (HEAP_LIMIT_MB > 0) process.env.MINIFLARE_WORKERD_V8_FLAGS = `--max-heap-size=${HEAP_LIMIT_MB}`
const { url: gateway } = await system.listen()
delete process.env.MINIFLARE_WORKERD_PATH
delete process.env.MINIFLARE_WORKERD_V8_FLAGS
// The product's workerd: every isolate of the system (gateway, task Workers, their objects) runs in it.
const productPids = workerdPids().filter((p) => !sandboxPids.has(p) && !sandboxBefore.has(p))
const rss = new RssSampler(productPids)
const inspectorPorts = HEAP ? readFileSync(inspectorLog, 'utf8').trim().split('\n').map((l) => l.split(' ').map(Number)).filter(([pid]) => productPids.includes(pid)).map(([, port]) => port) : []
const heap = await HeapSampler.connect(inspectorPorts)

// The baseline gets a retry on a dropped local socket, so it is measured, not crashed.
const up = async (path, init, tries = 3) => {
  try {
    const res = await fetch(new URL(path, upstream), { ...init, headers: { authorization: `OAuth ${TOKEN}`, ...init?.headers } })
    if (!res.ok) throw new Error(`${path} → ${res.status} ${(await res.text()).slice(0, 200)}`)
    return await res.json()
  } catch (e) {
    if (tries <= 1 || !(e instanceof TypeError)) throw e
    return up(path, init, tries - 1)
  }
}
const control = (path, body) => up(path, body ? { method: 'POST', body: JSON.stringify(body), headers: { 'content-type': 'application/json' } } : undefined)
const stats = () => control('/__sandbox/stats')

const world = await control('/__sandbox/truth/world')
await control('/__sandbox/config', { latencyMs: LATENCY_MS, jitterMs: JITTER_MS })
const district = (part) => world.districts.find((d) => d.name.includes(part))
const sequence = (n) => world.sequences.find((s) => s.length === n)

/** The two largest peaks of used heap, by Worker: "map-features 31.2, gateway 14.0". */
const heapText = (peaks) => {
  const top = Object.entries(peaks ?? {}).sort((a, b) => b[1] - a[1]).slice(0, 2)
  return top.length ? top.map(([w, mb]) => `${w} ${mb.toFixed(1)}`).join(', ') : 'n/a'
}
/** Stand-in requests by route between two stats snapshots, and the last URLs (up to 500 kept). */
function delta(a, b) {
  const byRoute = Object.fromEntries(Object.keys(b.byRoute).map((k) => [k, b.byRoute[k] - (a.byRoute[k] ?? 0)]))
  const requests = b.requests - a.requests
  const searches = requests > 0 ? b.times.search.slice(-requests) : []
  return { requests, byRoute, urls: requests > 0 && requests <= b.urls.length ? b.urls.slice(-requests) : null, searchTimes: searches }
}

async function measure(fn, { sampleHeap = false } = {}) {
  const s0 = await stats()
  rss.start()
  const startedAt = Date.now()
  const jobs0 = viaJobs
  if (sampleHeap) heap.start()
  // BENCH_PROFILE=dir: a CPU profile of each named isolate per run (Chrome DevTools .cpuprofile files).
  const profiled = PROFILE ? heap.names.filter((n) => PROFILE_WORKERS.some((w) => n.includes(w))) : []
  for (const n of profiled) {
    await heap.call(n, 'Profiler.enable')
    await heap.call(n, 'Profiler.setSamplingInterval', { interval: 200 })
    await heap.call(n, 'Profiler.start')
  }
  const cpu0 = cpuSeconds(productPids)
  const upCpu0 = cpuSeconds([...sandboxPids])
  const t0 = performance.now()
  const out = await fn()
  for (const n of profiled) writeFileSync(join(PROFILE, `${n}-${++profiles}.cpuprofile`), JSON.stringify((await heap.call(n, 'Profiler.stop')).profile))
  const seconds = (performance.now() - t0) / 1000
  // CPU the run cost the product's processes and the stand-in's (read before the stats call below).
  const cpu = { product: cpuSeconds(productPids) - cpu0, upstream: cpuSeconds([...sandboxPids]) - upCpu0 }
  const memoryMb = rss.stop()
  const heapMb = sampleHeap ? await heap.stop() : {}
  return { ...out, seconds, cpu, memoryMb, heapMb, startedAt, viaJob: viaJobs > jobs0, ...delta(s0, await stats()) }
}

const sameSet = (a, b) => a.size === b.size && [...a].every((x) => b.has(x))
const inBox = ([lon, lat], [w, s, e, n]) => lat >= s && lat <= n && (w <= e ? lon >= w && lon <= e : lon >= w || lon <= e)
// tile-cover returns a whole row of tiles for a box ending exactly at 180: stop just short of it.
const halves = ([w, s, e, n]) => (w <= e ? [[w, s, e, n]] : [[w, s, 180 - 1e-9, n], [-180, s, e, n]])
const polygon = ([w, s, e, n]) => ({ type: 'Polygon', coordinates: [[[w, s], [e, s], [e, n], [w, n], [w, s]]] })
function tileBbox([x, y, z]) {
  const lon = (x) => (x / 2 ** z) * 360 - 180
  const lat = (y) => (Math.atan(Math.sinh(Math.PI * (1 - (2 * y) / 2 ** z))) * 180) / Math.PI
  return [lon(x), lat(y + 1), lon(x + 1), lat(y)]
}
/** The FAQ's z18 tiles of a box (wrapped and deduped near 180, as mercantile would). */
function faqTiles(bbox) {
  const tiles = new Map()
  for (const half of halves(bbox)) {
    for (const [x, y, z] of tileCover.tiles(polygon(half), { min_zoom: 18, max_zoom: 18 })) tiles.set(`${x % 2 ** z}/${y}`, [x % 2 ** z, y, z])
  }
  return [...tiles.values()]
}

/** The FAQ: every z18 tile of the box, one request each, one after another; whatever fits in 2000. */
async function faqBox(bbox) {
  const ids = new Set()
  for (const tile of faqTiles(bbox)) {
    const q = new URLSearchParams({ bbox: tileBbox(tile).join(','), fields: 'id,geometry', limit: String(UPSTREAM_CAP) })
    for (const f of (await up(`/map_features?${q}`)).data) if (inBox(f.geometry.coordinates, bbox)) ids.add(f.id)
  }
  return { ids }
}

/**
 * The FAQ's z18 tiles of a box counted, not run, and what they would lose: in every tile holding
 * more than 2000 of the given points, the points past 2000 (a point on a tile edge is counted in
 * each tile it touches, so this is the loss of the interior ones).
 */
function faqBoxCounted(bbox, points) {
  const tiles = faqTiles(bbox)
  const n = 2 ** 18
  const perTile = new Map()
  for (const [lon, lat] of points) {
    const x = Math.floor(((lon + 180) / 360) * n)
    const r = (lat * Math.PI) / 180
    const y = Math.floor(((1 - Math.log(Math.tan(r) + 1 / Math.cos(r)) / Math.PI) / 2) * n)
    const key = `${x}/${y}`
    perTile.set(key, (perTile.get(key) ?? 0) + 1)
  }
  let lost = 0
  let over = 0
  for (const count of perTile.values()) {
    if (count > UPSTREAM_CAP) {
      lost += count - UPSTREAM_CAP
      over++
    }
  }
  return { requests: tiles.length, lost, over }
}

/** The FAQ: the sequence's image ids, then one detections request per image, one after another. */
async function faqSequence(id) {
  const images = (await up(`/image_ids?sequence_id=${id}`)).data
  const detections = {}
  for (const { id: image } of images) detections[image] = (await up(`/${image}/detections?fields=id,value,geometry`)).data
  return { count: Object.keys(detections).length }
}

/** Answers that came through a job: the gateway's deadline passed first and the bench followed the job. */
let viaJobs = 0
async function ours(path) {
  const res = await fetch(new URL(path, gateway))
  const body = await res.json()
  // Past the gateway's deadline a fan-out goes on as a job: follow it, so the case still measures the whole answer.
  if (res.status === 503 && typeof body.status_url === 'string') {
    viaJobs++
    return followJob(body.status_url, path)
  }
  if (res.status !== 200) throw new Error(`${path.split('?')[0]} → ${res.status} ${body.title ?? ''}: ${String(body.detail ?? JSON.stringify(body)).split('; ')[0].slice(0, 200)}`)
  return body
}
async function followJob(statusUrl, path) {
  for (const until = Date.now() + 10 * 60_000; Date.now() < until; ) {
    const job = await (await fetch(statusUrl)).json()
    if (job.state === 'done') return (await fetch(new URL(job.result_url, gateway))).json()
    if (job.state === 'failed') throw new Error(`${path.split('?')[0]} → job failed: ${JSON.stringify(job.problem ?? job).slice(0, 200)}`)
    await new Promise((r) => setTimeout(r, 200))
  }
  throw new Error(`${path.split('?')[0]} → job not done in 10 minutes`)
}

/**
 * Ours, `runs` times, each a new question (`variant(k)`), one after another: the run with the
 * median time, how far the others spread, and the most memory any run took. Every run must be complete.
 */
/** Runs of `runs` that are timed: all but the first, which reads the heap (when the bench does). */
const timedOf = (runs) => (HEAP && runs >= 2 ? runs - 1 : runs)

async function median(variant, complete, runs = RUNS, before = async () => {}) {
  // Reading every isolate's heap through the inspector slows workerd (a city answer took 0.8 s
  // more): the first run samples the heap and is not timed; the others are timed, unsampled.
  const heapRun = timedOf(runs) < runs
  const done = []
  for (let k = 0; k < runs; k++) {
    await before(k)
    const run = await measure(() => variant(k), { sampleHeap: heapRun && k === 0 })
    if (!complete(run, k)) throw new Error(`run ${k} of ours is not complete`)
    // Every run is a new question: one answered with no upstream request was answered from a cache.
    if (run.requests === 0) throw new Error(`run ${k} of ours made no upstream request: answered from a cache, not measured`)
    done.push(run)
  }
  const timed = heapRun ? done.slice(1) : [...done]
  timed.sort((a, b) => a.seconds - b.seconds)
  const mid = timed[Math.floor(timed.length / 2)]
  return {
    ...mid,
    spread: [timed[0].seconds, timed.at(-1).seconds],
    // CPU seconds per answer, the median over the timed runs: steadier than wall time on a shared machine.
    cpu: { product: medianOf(timed.map((r) => r.cpu.product)), upstream: medianOf(timed.map((r) => r.cpu.upstream)) },
    requestsSeen: [...new Set(done.map((r) => r.requests))].sort((a, b) => a - b),
    runs: timed.length,
    memoryMb: Math.max(...done.map((r) => r.memoryMb)),
    heapMb: heapRun ? done[0].heapMb : {},
    viaJobs: done.filter((r) => r.viaJob).length,
  }
}
/**
 * The box grown north by k nanodegrees: another question (object, cache key), the same features.
 * A box of the largest allowed area shrinks instead (no city feature lies that near its edge).
 */
const nudged = ([w, s, e, n], k) => [w, s, e, n + (district('city')?.bbox === undefined || [w, s, e, n].join() !== district('city').bbox.join() ? k : -k) * 1e-9]
/**
 * Detection fields of run k: always value and geometry, like the FAQ, plus others to make each run a
 * new question. The two 1,250-image cases ask the same sequence, so each takes its own four.
 */
const FIELDS = ['id,value,geometry', 'value,geometry,created_at', 'value,geometry,image', 'value,geometry,created_at,image', 'id,value,geometry,image', 'value,geometry', 'id,value,geometry,created_at', 'id,value,geometry,created_at,image']
const fieldsOf = (k, expansion) => (expansion === undefined ? FIELDS[k % 5] : FIELDS[(expansion === 'expand' ? 0 : 4) + (k % 4)])

/** The measured round trip: a capped (2000-feature) `/map_features` request to the stand-in, alone; the median of `n`. */
const roundTrips = []
async function measureRoundTrip(n = 5) {
  const q = new URLSearchParams({ bbox: world.denseTile.bbox.join(','), fields: 'id,object_value,geometry', limit: String(UPSTREAM_CAP) })
  const times = []
  for (let i = 0; i < n; i++) {
    const t0 = performance.now()
    const body = await up(`/map_features?${q}`)
    times.push(performance.now() - t0)
    if (body.data.length !== UPSTREAM_CAP) throw new Error(`the round-trip probe got ${body.data.length} features, not a capped answer`)
  }
  roundTrips.push(...times)
  times.sort((a, b) => a - b)
  return times[Math.floor(n / 2)]
}
const medianOf = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]

// Warm-up, not measured: the first request to each Worker and Durable Object class pays for
// starting its isolate. A tiny box elsewhere, and the 50-image sequence with other fields (another
// question: other objects, another cache key), touch every path measured below.
// The product remembers how the upstream treats expanded detections (KV, an hour): the warm-up
// meets an expanding stand-in where it can, so the expanded case is measured as it runs once known,
// and the ids-only case's first run meets the change (one probe) as a real upstream change would.
await ours('/v1/map-features?bbox=13.02,55.62,13.021,55.621')
const expandingWarmUp = await control('/__sandbox/config', { detectionsExpansion: 'expand' }).then(() => true, () => false)
await ours(`/v1/sequences/${sequence(50).id}/detections?fields=created_at`)
if (expandingWarmUp) await control('/__sandbox/config', { detectionsExpansion: null })
const roundTripStartMs = await measureRoundTrip()
const idleRssMb = rss.now()
console.error(`stand-in world built in ${world.buildMs} ms; round trip ${roundTripStartMs.toFixed(1)} ms (capped /map_features, median of 5); product workerd ${productPids.join(',') || 'not found'} at ${idleRssMb.toFixed(0)} MB RSS`)

/**
 * Each row: label, size, mine (the median run: requests, seconds, memoryMb, byRoute), faq
 * ({requests, seconds, ran}), complete, floor (least requests; `floorWhy`), rounds (cells per
 * round of the median run), or `na` (why the case could not run).
 */
const rows = []
async function guarded(label, size, fn) {
  try {
    const row = await fn()
    // Runs past the gateway's 25 s deadline were answered through the job it started (time: until the result was read).
    const jobs = row.mine?.viaJobs ? ` (${row.mine.viaJobs} of ${row.mine.runs} runs past the 25 s deadline, answered as a job)` : ''
    rows.push({ label: label + jobs, size, ...row })
  } catch (e) {
    console.error(`${label}: n/a, ${e.message}`)
    rows.push({ label, size, na: String(e.message).split('\n')[0].slice(0, 200) })
  } finally {
    console.error(`  product workerd RSS now: ${rss.perPid().map((p) => `${p.pid} ${p.mb.toFixed(0)} MB`).join(', ')}`)
  }
}
/** The stand-in config patch, or an error naming the part that is missing. */
async function configure(patch, owner) {
  try {
    await control('/__sandbox/config', patch)
  } catch (e) {
    throw new Error(`the stand-in takes no ${Object.keys(patch).join(', ')} (${owner}): ${e.message.slice(0, 80)}`)
  }
}

/** A box case: ours RUNS times (nudged), the FAQ once (or counted). */
async function boxCase(label, d, { runs = RUNS, faqRun = RUN_FAQ } = {}) {
  await guarded(`box: ${label}`, '', async () => {
    const truth = new Set((await control(`/__sandbox/truth/map_features?bbox=${d.bbox.join(',')}`)).ids)
    const truths = await Promise.all(Array.from({ length: runs }, async (_, k) => new Set((await control(`/__sandbox/truth/map_features?bbox=${nudged(d.bbox, k).join(',')}`)).ids)))
    let points = []
    const mine = await median(
      async (k) => {
        const body = await ours(`/v1/map-features?bbox=${nudged(d.bbox, k).join(',')}`)
        if (k === 0) points = body.features.map((f) => f.geometry.coordinates)
        return { ids: new Set(body.features.map((f) => f.id)) }
      },
      (run, k) => sameSet(run.ids, truths[k]) && sameSet(truths[k], truth),
      runs,
    )
    // The same question again, answered from what the first run kept: the answer's way through the Workers alone.
    const t0 = performance.now()
    await ours(`/v1/map-features?bbox=${nudged(d.bbox, 0).join(',')}`)
    const again = (performance.now() - t0) / 1000
    const cells = mine.urls ? mine.urls.filter((u) => new URL(u).pathname === '/map_features').map((u) => new URL(u).searchParams.get('bbox').split(',').map(Number)) : null
    const rounds = cells ? cellRounds(cells) : null
    // When each round's cells reached the stand-in (ms after the question was sent): where the time goes.
    if (cells && mine.searchTimes.length === cells.length) {
      const depth = cellDepths(cells)
      const spans = rounds.map((_, r) => {
        const at = mine.searchTimes.filter((_, i) => depth[i] === r).map((t) => t - mine.startedAt)
        return `r${r + 1} +${Math.min(...at)}…+${Math.max(...at)}`
      })
      console.error(`  ${label}: cells reached the stand-in at (ms): ${spans.join(', ')}; answer at +${Math.round(mine.seconds * 1000)}`)
    }
    // The replay: the very cells our sweep asked, round by round straight from Node, each round's
    // requests all at once (bodies read whole). The stand-in is one single-threaded isolate on this
    // machine, so a round of many capped answers takes longer than one lone round trip: this is
    // what the stand-in itself needs to answer our sweep's rounds here.
    let replay
    if (cells && mine.urls) {
      const depth = cellDepths(cells)
      const search = mine.urls.filter((u) => new URL(u).pathname === '/map_features')
      replay = await replayRounds(rounds.map((_, r) => search.filter((_, i) => depth[i] === r)))
      console.error(`  ${label}: replayed round by round from Node (s): ${replay.perRound.map((x) => x.toFixed(2)).join(' + ')} = ${replay.seconds.toFixed(2)}`)
    }
    let faq
    if (faqRun) {
      const run = await measure(() => faqBox(d.bbox))
      faq = { requests: run.requests, seconds: run.seconds, ran: true, complete: sameSet(run.ids, truth) }
    } else {
      const counted = faqBoxCounted(d.bbox, points)
      faq = { requests: counted.requests, ran: false, complete: counted.lost === 0, lost: counted.lost, over: counted.over }
    }
    console.error(`${label}: ours ${mine.requests} requests ${mine.seconds.toFixed(2)} s (asked again, answered without upstream: ${again.toFixed(2)} s), rounds ${rounds?.join('+')}, CPU s per answer: product ${mine.cpu.product.toFixed(2)}, stand-in ${mine.cpu.upstream.toFixed(2)}, peak heap MB ${heapText(mine.heapMb)}, RSS +${mine.memoryMb.toFixed(0)} MB; FAQ ${faq.requests} requests${faq.ran ? ` ${faq.seconds.toFixed(2)} s` : ' (counted)'}`)
    return { size: `${truth.size} features`, mine, faq, complete: [sameSet(mine.ids, truth), faq.complete], floor: Math.ceil(truth.size / UPSTREAM_CAP), floorWhy: 'features / 2000', rounds, replay, again }
  })
}

/**
 * Upstream URLs (as the stand-in recorded them) asked again from Node, round after round, each
 * round's all at once, bodies read whole: seconds per round and summed.
 */
async function replayRounds(roundsOfUrls) {
  const perRound = []
  for (const urls of roundsOfUrls) {
    const t0 = performance.now()
    await Promise.all(
      urls.map(async (u) => {
        const url = new URL(u)
        url.searchParams.delete('access_token')
        const res = await fetch(new URL(url.pathname + url.search, upstream), { headers: { authorization: `OAuth ${TOKEN}` } })
        // Read whole, not parsed: the product's own parsing is part of what is measured against this.
        const text = await res.text()
        if (!res.ok) throw new Error(`replay ${url.pathname} → ${res.status} ${text.slice(0, 120)}`)
      }),
    )
    perRound.push((performance.now() - t0) / 1000)
  }
  return { perRound, seconds: perRound.reduce((a, b) => a + b, 0) }
}

/** Rounds of a fan-out read from its requests by route, in dependency order (a probe batch is not told apart). */
const roundsByRoute = (byRoute, order) => order.map((routes) => routes.reduce((a, r) => a + (byRoute[r] ?? 0), 0)).filter((n) => n > 0)

let faqSequence1250
async function sequenceCase(label, n, { expansion } = {}) {
  await guarded(`sequence: ${n} images${label}`, `${n} images`, async () => {
    const s = sequence(n)
    if (expansion) await configure({ detectionsExpansion: expansion }, 'H1')
    try {
      const mine = await median(
        async (k) => ({ count: (await ours(`/v1/sequences/${s.id}/detections?fields=${fieldsOf(k, expansion)}`)).image_ids.length }),
        (run) => run.count === n,
        expansion ? Math.min(RUNS, 4) : RUNS,
      )
      let faq = n === 1250 ? faqSequence1250 : undefined
      if (!faq) {
        if (RUN_FAQ) {
          const run = await measure(() => faqSequence(s.id))
          faq = { requests: run.requests, seconds: run.seconds, ran: true, complete: run.count === n }
        } else faq = { requests: n + 1, ran: false, complete: true }
        if (n === 1250) faqSequence1250 = faq
      }
      const batch = batchIds('sequence-detections')
      // Expanded: the id list, then batches of ids; ids only: the id list, then one detections request per image.
      const floor = expansion === 'expand' ? 1 + Math.ceil(n / batch) : n + 1
      const rounds = roundsByRoute(mine.byRoute, [['image_ids'], ['images'], ['detections', 'entity']])
      console.error(`sequence ${n}${label}: ours ${mine.requests} requests ${mine.seconds.toFixed(2)} s, rounds ${rounds.join('+')}; FAQ ${faq.requests} requests`)
      return { mine, faq, complete: [true, faq.complete], floor, floorWhy: expansion === 'expand' ? `1 + ceil(${n} / BATCH_IDS ${batch})` : `1 + ${n}`, rounds }
    } finally {
      if (expansion) await control('/__sandbox/config', { detectionsExpansion: null }).catch(() => {})
    }
  })
}

/**
 * A crowd case: one map feature seen in about CROWD images (run k asks the crowd of CROWD − k, new
 * ids, so no cache answers it), through `path(featureId)`; `count(body)` must equal the upstream's.
 */
async function crowdCase(label, worker, planRoute, path, count, upstreamCount) {
  await guarded(label, `${CROWD} images`, async () => {
    // Downwards from CROWD: every run's floor is the same (1 + ceil(CROWD / batch)) when CROWD is a multiple of it.
    const sizes = Array.from({ length: RUNS }, (_, k) => CROWD - k)
    const expected = []
    for (const size of sizes) {
      await configure({ crowd: { count: size } }, 'stand-in crowd')
      expected.push(await upstreamCount(`8${String(size).padStart(14, '0')}`))
    }
    const mine = await median(
      async (k) => ({ count: count(await ours(path(`8${String(sizes[k]).padStart(14, '0')}`))) }),
      (run, k) => run.count === expected[k] && expected[k] === sizes[k],
      RUNS,
      (k) => configure({ crowd: { count: sizes[k] } }, 'stand-in crowd'),
    )
    const batch = batchIds(worker)
    const n = CROWD
    // The plan (one request: the feature's images, or its detections), the batch reads, then ids asked alone.
    const rest = { ...mine.byRoute, [planRoute]: (mine.byRoute[planRoute] ?? 0) - 1 }
    const rounds = [1, ...roundsByRoute(rest, [['images'], ['entity', 'detections']])]
    const faq = { requests: 1 + n, ran: false, complete: true }
    console.error(`${label}: ours ${mine.requests} requests ${mine.seconds.toFixed(2)} s, rounds ${rounds.join('+')}`)
    return { mine, faq, complete: [true, true], floor: 1 + Math.ceil(n / batch), floorWhy: `1 + ceil(${n} / BATCH_IDS ${batch})`, rounds, perRun: true }
  })
  await control('/__sandbox/config', { crowd: null }).catch(() => {})
}

if (CASES.has('boxes')) {
  for (const [label, d] of [['sparse suburb', district('sparse')], ['dense district', district('dense')], ['across the antimeridian', district('antimeridian')]]) await boxCase(label, d)
}
if (CASES.has('city')) {
  const city = world.districts.find((d) => d.name === 'city')
  if (!city) rows.push({ label: 'box: city', size: '', na: 'the stand-in has no city district' })
  // The FAQ's tiles of the city are some 30,000 requests (half an hour at 60 ms): counted, not run.
  else await boxCase('city', city, { runs: CITY_RUNS, faqRun: false })
}
if (CASES.has('expansion')) await sequenceCase(', upstream expands detections', 1250, { expansion: 'expand' })
if (CASES.has('sequences')) await sequenceCase('', 50)
if (CASES.has('expansion')) await sequenceCase(', upstream gives detection ids only', 1250, { expansion: 'ids' })
if (CASES.has('feature-images')) {
  await crowdCase(
    'feature images',
    'feature-images',
    'entity',
    (id) => `/v1/map-features/${id}/images`,
    (body) => body.images.length,
    async (id) => (await up(`/${id}?fields=images`)).images.data.length,
  )
}
if (CASES.has('feature-detections')) {
  await crowdCase(
    'map-feature detections',
    'detection-geometry',
    'detections',
    (id) => `/v1/map-features/${id}/detections`,
    (body) => body.detections.length,
    async (id) => (await up(`/${id}/detections?fields=id`)).data.length,
  )
}
const roundTripEndMs = await measureRoundTrip()
const roundTripMs = medianOf(roundTrips)

const f = (x, d = 2) => (Number.isFinite(x) ? x.toFixed(d) : 'n/a')
const na = (r, cols) => `| ${r.label} | ${r.size || 'n/a'} | n/a: ${r.na.replace(/\|/g, '/')} |${' |'.repeat(cols - 3)}`
const lines = [
  `${process.env.BENCH_NO_GOVERNOR === '1' ? 'EXPERIMENT: the task Workers ran WITHOUT their quota governor (BENCH_NO_GOVERNOR=1); not the product. ' : ''}Latency ${LATENCY_MS} ± ${JITTER_MS} ms injected per upstream request. Ours: the median of ${timedOf(RUNS)} timed runs (the city: ${timedOf(CITY_RUNS)}, the 1,250-image sequence: ${timedOf(Math.min(RUNS, 4))} per upstream behaviour; fastest–slowest in brackets)${HEAP ? ' after one more run that reads every isolate\'s heap and is not timed' : ''}, each a new question; the FAQ: one run, or counted where marked (not run: too long).`,
  `Lower bound = our requests / ${CONNECTIONS} connections × round trip,`,
  'with the injected latency (the issue\'s bound) and with the round trip the FAQ run measured here (its time / its requests:',
  'latency plus the stand-in\'s own CPU and HTTP on this machine).',
  '',
  '| case | size | ours: requests | ours: s | FAQ: requests | FAQ: s | FAQ/ours requests | FAQ/ours time | complete (ours / FAQ) | min requests | ours / min requests | bound s (injected) | ours / bound | measured round trip ms | bound s (measured) | ours / bound (measured) |',
  '|---|---|---:|---:|---:|---:|---:|---:|---|---:|---:|---:|---:|---:|---:|---:|',
]
for (const r of rows) {
  if (r.na) {
    lines.push(na(r, 16))
    continue
  }
  const bound = (r.mine.requests / CONNECTIONS) * (LATENCY_MS / 1000)
  const rtt = r.faq.ran ? r.faq.seconds / r.faq.requests : undefined
  const measured = rtt ? (r.mine.requests / CONNECTIONS) * rtt : undefined
  const faqSeconds = r.faq.ran ? f(r.faq.seconds) : 'not run'
  const faqComplete = r.faq.ran ? (r.complete[1] ? 'yes' : 'no') : r.faq.lost > 0 ? `no (would lose ${r.faq.lost} in ${r.faq.over} tiles)` : r.faq.lost === 0 ? 'yes (counted)' : '(not run)'
  lines.push(
    `| ${r.label} | ${r.size} | ${r.mine.requestsSeen.join('–')} | ${f(r.mine.seconds)} (${f(r.mine.spread[0])}–${f(r.mine.spread[1])}) | ${r.faq.requests}${r.faq.ran ? '' : ' (counted)'} | ${faqSeconds} | ${f(r.faq.requests / r.mine.requests, 1)}× | ${r.faq.ran ? `${f(r.faq.seconds / r.mine.seconds, 1)}×` : 'n/a'} | ${r.complete[0] ? 'yes' : 'NO'} / ${faqComplete} | ${r.floor} | ${f(r.mine.requests / r.floor)}× | ${f(bound)} | ${f(r.mine.seconds / bound)}× | ${rtt ? f(rtt * 1000, 1) : 'n/a'} | ${measured ? f(measured) : 'n/a'} | ${measured ? `${f(r.mine.seconds / measured)}×` : 'n/a'} |`,
  )
}
lines.push(
  '',
  `Rounds and the round-aware bound: a round is the requests that wait for no other answer of the case (a box: the cells at one depth of its splits, read from the \`/map_features\` URLs the stand-in saw; a fan-out: the plan, then the reads, by route). The product remembers how the upstream treats expanded detections (an hour): the warm-up meets an expanding stand-in, the 50-image case the default (ids only), so the ids-only case runs on what the product learned there. Round-aware bound = Σ over rounds r of ceil(cells_r / connections) × the measured round trip (a capped 2000-feature \`/map_features\` request to the stand-in alone, the median of 5 before the cases and 5 after: ${f(roundTripMs, 1)} ms; ${f(roundTripStartMs, 1)} ms before, ${f(roundTripEndMs, 1)} ms after), with ${MANY} connections (6 × (1 + BOX_HELPERS ${BOX_HELPERS}), what a box round holds with helper objects) and with 6 (one invocation). Peak memory: the RSS of the product's workerd processes (${productPids.length}, summed; workerd runs every isolate of the system in one process: gateway, task Workers, their Durable Objects, so this bounds any one isolate's share from above), sampled every 20 ms, peak during a run − the RSS just before it, the largest of the case's runs (idle: ${f(idleRssMb, 0)} MB). Peak heap per isolate: the used V8 heap of each Worker's isolate in the product's workerd, read through its inspector (\`Runtime.getHeapUsage\`, every 20 ms while the heap run goes; ${heap.names.length ? `${heap.names.length} isolates` : 'no inspector reached: n/a'}), the peak of the case's heap run, the two largest named; workerd runs one isolate per Worker and a Worker's Durable Objects (the sweep object and its helpers) share it, so map-features is all of the box's objects at once (on Cloudflare, too, the objects of one Worker may share an isolate and its 128 MB: Cloudflare's "In-memory state in a Durable Object"); used heap counts garbage not yet collected. Replay bound (boxes): the very cells our median run asked (read from the stand-in's URLs), asked again round by round straight from Node, each round's requests all at once, bodies read whole, the rounds' times summed, plus the answer's way (the same question asked again once the sweep is done: gateway, Worker, KV and the 11 MB body, no upstream request); the stand-in is one single-threaded isolate on a machine the product shares, so a round of many capped answers takes more than a lone round trip here, which the round-aware bound leaves out. Answers per minute: the Mapillary app quota (search ${quotaAnswersPerMinute.SEARCH}/min for \`/map_features\` and \`/images\`, entity ${quotaAnswersPerMinute.ENTITY}/min for the rest) ÷ our requests per answer, the tighter budget named.`,
  '',
  '| case | ours: requests (search + entity) | FAQ: requests | lower bound | ours / lower bound | rounds: cells per round | ours: s | round-aware bound s (' + MANY + ' conn.) | ours / bound | round-aware bound s (6 conn.) | ours / bound (6) | replay bound s (replay + answer\'s way) | ours / replay bound | peak memory MB (RSS, all isolates) | peak heap MB per isolate | answers / min (limited by) |',
  '|---|---:|---:|---:|---:|---|---:|---:|---:|---:|---:|---:|---:|---:|---|---|',
)
for (const r of rows) {
  if (r.na) {
    lines.push(na(r, 16))
    continue
  }
  const search = (r.mine.byRoute.map_features ?? 0) + (r.mine.byRoute.images ?? 0)
  const entity = r.mine.requests - search
  const rtt = roundTripMs / 1000
  const many = r.rounds ? roundAwareBound(r.rounds, MANY, rtt) : NaN
  const six = r.rounds ? roundAwareBound(r.rounds, CONNECTIONS, rtt) : NaN
  const quota = quotaAnswersPerMinute({ search, entity })
  const replayBound = r.replay ? r.replay.seconds + r.again : NaN
  lines.push(
    `| ${r.label} | ${r.mine.requests} (${search} + ${entity}) | ${r.faq.requests}${r.faq.ran ? '' : ' (counted)'} | ${r.floor} (${r.floorWhy}) | ${f(r.mine.requests / r.floor)}× | ${r.rounds ? `${r.rounds.length}: ${r.rounds.join(' + ')}` : 'n/a (URLs not kept)'} | ${f(r.mine.seconds)} | ${f(many)} | ${f(r.mine.seconds / many)}× | ${f(six)} | ${f(r.mine.seconds / six)}× | ${r.replay ? `${f(replayBound)} (${f(r.replay.seconds)} + ${f(r.again)})` : 'n/a'} | ${r.replay ? `${f(r.mine.seconds / replayBound)}×` : 'n/a'} | ${f(r.mine.memoryMb, 1)} | ${heapText(r.mine.heapMb)} | ${Math.floor(quota.answers)} (${quota.limit}) |`,
  )
}
rss.close()
heap.close()
await Promise.allSettled([system.close(), sandbox.close()])
// A child run (heapCaps below) tells its parent how its cases ended.
if (process.env.BENCH_ROWS_JSON) writeFileSync(process.env.BENCH_ROWS_JSON, JSON.stringify(rows.map((r) => ({ label: r.label, na: r.na, complete: r.complete?.[0] === true, seconds: r.mine?.seconds }))))
if (CASES.has('city') && process.env.BENCH_HEAP_CAPS !== '0' && !(HEAP_LIMIT_MB > 0)) lines.push('', await heapCaps())
console.log(lines.join('\n'))

/**
 * The city swept again, each time by a new product whose every isolate has a V8 heap of at most
 * `cap` MB (BENCH_HEAP_LIMIT_MB, in a child bench), from large to small until one fails: used heap
 * counts garbage V8 has not collected yet, a cap shows what the answer needs live. The whole
 * answer path (the sweep object, its helper objects, the Worker, the gateway) must fit.
 */
async function heapCaps(caps = (process.env.BENCH_HEAP_CAPS ?? '64,48,32,24,16').split(',').map(Number)) {
  const results = []
  for (const cap of caps) {
    const out = join(mkdtempSync(join(tmpdir(), 'bench-cap-')), 'rows.json')
    const child = spawnSync(process.execPath, [new URL(import.meta.url).pathname], {
      env: { ...process.env, BENCH_CASES: 'city', BENCH_FAQ: '0', BENCH_CITY_RUNS: '1', BENCH_HEAP: '0', BENCH_PROFILE: '', BENCH_HEAP_LIMIT_MB: String(cap), BENCH_ROWS_JSON: out },
      stdio: ['ignore', 'pipe', 'pipe'],
      encoding: 'utf8',
      maxBuffer: 64 * 2 ** 20,
      timeout: 300_000,
    })
    let city
    try {
      city = JSON.parse(readFileSync(out, 'utf8')).find((r) => r.label.startsWith('box: city'))
    } catch {
      city = undefined
    }
    const passed = city !== undefined && !city.na && city.complete
    const why = passed ? `complete in ${city.seconds.toFixed(2)} s` : city?.na ? `failed: ${/runtime crashed/i.test(`${child.stdout}${child.stderr}`) ? 'the runtime crashed, out of heap' : city.na.slice(0, 80)}` : `no answer (exit ${child.status})`
    console.error(`city with every isolate's V8 heap capped at ${cap} MB: ${why}`)
    results.push({ cap, passed, why })
    if (!passed) break
  }
  const smallest = results.filter((r) => r.passed).at(-1)
  return `The city under a heap cap (a new product per cap, every isolate's V8 heap at most the cap: \`--max-heap-size\`, BENCH_HEAP_LIMIT_MB; the sweep object, its helpers, the Worker and the gateway each within it): ${results.map((r) => `${r.cap} MB ${r.passed ? 'complete' : r.why}`).join('; ')}.${smallest ? ` The answer path needs less than ${smallest.cap} MB of live heap per isolate (an isolate has 128 MB on Workers).` : ''}`
}

// `npm run bench -- --readme`: the README's table is this run's, written between its markers.
if (process.argv.includes('--readme')) {
  const { writeFileSync } = await import('node:fs')
  const readme = readFileSync('README.md', 'utf8')
  const start = '<!-- bench:start -->'
  const end = '<!-- bench:end -->'
  const a = readme.indexOf(start)
  const b = readme.indexOf(end)
  if (a < 0 || b < a) throw new Error(`README.md has no ${start} … ${end} block`)
  const stamp = `Measured by \`npm run bench -- --readme\` on ${new Date().toISOString().slice(0, 10)}.`
  writeFileSync('README.md', `${readme.slice(0, a + start.length)}\n${stamp} ${lines.join('\n')}\n${readme.slice(b)}`)
  console.error('README.md: benchmark table written')
}
