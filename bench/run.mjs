#!/usr/bin/env node
/**
 * `npm run bench`: upstream requests and wall time of mly-edge against the FAQ's method, both run
 * in this process against the Graph API stand-in with injected latency. Not a test: it prints ratios
 * against baselines measured in the same run.
 */
import { createRequire } from 'node:module'
import { createTestHarness } from 'wrangler'

process.env.CLOUDFLARE_CF_FETCH_ENABLED ??= 'false'
process.env.WRANGLER_SEND_METRICS ??= 'false'
const require = createRequire(import.meta.url)
const tileCover = require('@mapbox/tile-cover')

const LATENCY_MS = Number(process.env.BENCH_LATENCY_MS ?? 50)
/** Runs of ours per case (each a new question, so neither KV nor a finished sweep answers it); the median is reported. */
const RUNS = Number(process.env.BENCH_RUNS ?? 5)
const JITTER_MS = Number(process.env.BENCH_JITTER_MS ?? 10)
const CONNECTIONS = 6 // the Workers limit on fetches awaiting headers per invocation
const TOKEN = 'MLY|4242424242|0123456789abcdef0123456789abcdef'
// The gateway binds every task Worker and the jobs Worker, and the task Workers take their upstream
// permits from the quota governor: all must run (the gateway first: it is the one listened on).
const TASKS = ['sequence-detections', 'map-features', 'detection-geometry', 'feature-images', 'jobs']

const sandbox = createTestHarness({ workers: [{ configPath: 'test/stand-in/wrangler.toml' }] })
const { url: upstream } = await sandbox.listen()
const system = createTestHarness({
  workers: [
    { configPath: 'wrangler.toml' },
    { configPath: 'workers/governor/wrangler.toml' },
    // The embed Worker (the gateway binds it), with no upstream and no token.
    { configPath: 'workers/embed/wrangler.toml' },
    ...TASKS.map((t) => ({ configPath: `workers/${t}/wrangler.toml`, vars: { MAPILLARY_GRAPH_URL: upstream.origin }, secrets: { MAPILLARY_ACCESS_TOKEN: TOKEN } })),
  ],
})
const { url: gateway } = await system.listen()

// The baseline gets a retry on a dropped local socket, so it is measured, not crashed.
const up = async (path, init, tries = 3) => {
  try {
    const res = await fetch(new URL(path, upstream), { ...init, headers: { authorization: `OAuth ${TOKEN}`, ...init?.headers } })
    if (!res.ok) throw new Error(`${path} → ${res.status}`)
    return await res.json()
  } catch (e) {
    if (tries <= 1 || !(e instanceof TypeError)) throw e
    return up(path, init, tries - 1)
  }
}
const control = (path, body) => up(path, body ? { method: 'POST', body: JSON.stringify(body), headers: { 'content-type': 'application/json' } } : undefined)
const requestsSoFar = async () => (await control('/__sandbox/stats')).requests

const world = await control('/__sandbox/truth/world')
await control('/__sandbox/config', { latencyMs: LATENCY_MS, jitterMs: JITTER_MS })
const district = (part) => world.districts.find((d) => d.name.includes(part))
const sequence = (n) => world.sequences.find((s) => s.length === n)

async function measure(fn) {
  const r0 = await requestsSoFar()
  const t0 = performance.now()
  const out = await fn()
  return { ...out, seconds: (performance.now() - t0) / 1000, requests: (await requestsSoFar()) - r0 }
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

/** The FAQ: every z18 tile of the box, one request each, one after another; whatever fits in 2000. */
async function faqBox(bbox) {
  const ids = new Set()
  for (const half of halves(bbox)) {
    // tile-cover can also hand back x past the world's edge near 180: wrap and dedupe, as mercantile would.
    const tiles = new Map(tileCover.tiles(polygon(half), { min_zoom: 18, max_zoom: 18 }).map(([x, y, z]) => [`${x % 2 ** z}/${y}`, [x % 2 ** z, y, z]]))
    for (const tile of tiles.values()) {
      const q = new URLSearchParams({ bbox: tileBbox(tile).join(','), fields: 'id,geometry', limit: '2000' })
      for (const f of (await up(`/map_features?${q}`)).data) if (inBox(f.geometry.coordinates, bbox)) ids.add(f.id)
    }
  }
  return { ids }
}

/** The FAQ: the sequence's image ids, then one detections request per image, one after another. */
async function faqSequence(id) {
  const images = (await up(`/image_ids?sequence_id=${id}`)).data
  const detections = {}
  for (const { id: image } of images) detections[image] = (await up(`/${image}/detections?fields=id,value,geometry`)).data
  return { count: Object.keys(detections).length }
}

async function ours(path) {
  const res = await fetch(new URL(path, gateway))
  const body = await res.json()
  if (res.status !== 200) throw new Error(`${path} → ${res.status} ${JSON.stringify(body).slice(0, 300)}`)
  return body
}

/**
 * Ours, RUNS times, each a new question (`variant(k)`), one after another: the run with the
 * median time, and how far the others spread. Every run must be complete.
 */
async function median(variant, complete) {
  const runs = []
  for (let k = 0; k < RUNS; k++) {
    const run = await measure(() => variant(k))
    if (!complete(run, k)) throw new Error(`run ${k} of ours is not complete`)
    runs.push(run)
  }
  runs.sort((a, b) => a.seconds - b.seconds)
  const mid = runs[Math.floor(runs.length / 2)]
  return { ...mid, spread: [runs[0].seconds, runs.at(-1).seconds], requestsSeen: [...new Set(runs.map((r) => r.requests))] }
}
/** The box grown north by k nanodegrees: another question (object, cache key), the same features. */
const nudged = ([w, s, e, n], k) => [w, s, e, n + k * 1e-9]
/** Detection fields of run k: always id, value and geometry, like the FAQ, plus others to make each run a new question. */
const FIELDS = ['id,value,geometry', 'value,geometry,created_at', 'value,geometry,image', 'value,geometry,created_at,image', 'id,value,geometry,image']

// Warm-up, not measured: the first request to each Worker and Durable Object class pays for
// starting its isolate. A tiny box elsewhere, and the 50-image sequence with other fields (another
// question: other objects, another cache key), touch every path measured below.
await ours('/v1/map-features?bbox=13.02,55.62,13.021,55.621')
await ours(`/v1/sequences/${sequence(50).id}/detections?fields=created_at`)

const rows = []
for (const [label, d] of [['sparse suburb', district('sparse')], ['dense district', district('dense')], ['across the antimeridian', district('antimeridian')]]) {
  const truth = new Set((await control(`/__sandbox/truth/map_features?bbox=${d.bbox.join(',')}`)).ids)
  const truths = await Promise.all(Array.from({ length: RUNS }, async (_, k) => new Set((await control(`/__sandbox/truth/map_features?bbox=${nudged(d.bbox, k).join(',')}`)).ids)))
  const mine = await median(
    async (k) => ({ ids: new Set((await ours(`/v1/map-features?bbox=${nudged(d.bbox, k).join(',')}`)).features.map((f) => f.id)) }),
    (run, k) => sameSet(run.ids, truths[k]) && sameSet(truths[k], truth),
  )
  const faq = await measure(() => faqBox(d.bbox))
  console.error(`${label}: ours ${mine.requests} requests ${mine.seconds.toFixed(2)} s; FAQ ${faq.requests} requests ${faq.seconds.toFixed(2)} s`)
  rows.push({ label: `box: ${label}`, size: `${truth.size} features`, mine, faq, complete: [sameSet(mine.ids, truth), sameSet(faq.ids, truth)], floor: Math.ceil(truth.size / 2000) })
}
for (const n of [50, 1250]) {
  const s = sequence(n)
  const mine = await median(async (k) => ({ count: (await ours(`/v1/sequences/${s.id}/detections?fields=${FIELDS[k % FIELDS.length]}`)).image_ids.length }), (run) => run.count === n)
  const faq = await measure(() => faqSequence(s.id))
  console.error(`sequence ${n}: ours ${mine.requests} requests ${mine.seconds.toFixed(2)} s; FAQ ${faq.requests} requests ${faq.seconds.toFixed(2)} s`)
  rows.push({ label: `sequence: ${n} images`, size: `${n} images`, mine, faq, complete: [mine.count === n, faq.count === n], floor: n + 1 })
}

const f = (x, d = 2) => x.toFixed(d)
const lines = [
  `Latency ${LATENCY_MS} ± ${JITTER_MS} ms injected per upstream request. Ours: the median of ${RUNS} runs (fastest–slowest in brackets), each a new question; the FAQ: one run.`,
  `Lower bound = our requests / ${CONNECTIONS} connections × round trip,`,
  'with the injected latency (the issue\'s bound) and with the round trip the FAQ run measured here (its time / its requests:',
  'latency plus the stand-in\'s own CPU and HTTP on this machine).',
  '',
  '| case | size | ours: requests | ours: s | FAQ: requests | FAQ: s | FAQ/ours requests | FAQ/ours time | complete (ours / FAQ) | min requests | ours / min requests | bound s (injected) | ours / bound | measured round trip ms | bound s (measured) | ours / bound (measured) |',
  '|---|---|---:|---:|---:|---:|---:|---:|---|---:|---:|---:|---:|---:|---:|---:|',
]
for (const r of rows) {
  const bound = (r.mine.requests / CONNECTIONS) * (LATENCY_MS / 1000)
  const rtt = r.faq.seconds / r.faq.requests
  const measured = (r.mine.requests / CONNECTIONS) * rtt
  lines.push(
    `| ${r.label} | ${r.size} | ${r.mine.requestsSeen.join('–')} | ${f(r.mine.seconds)} (${f(r.mine.spread[0])}–${f(r.mine.spread[1])}) | ${r.faq.requests} | ${f(r.faq.seconds)} | ${f(r.faq.requests / r.mine.requests, 1)}× | ${f(r.faq.seconds / r.mine.seconds, 1)}× | ${r.complete[0] ? 'yes' : 'NO'} / ${r.complete[1] ? 'yes' : 'no'} | ${r.floor} | ${f(r.mine.requests / r.floor)}× | ${f(bound)} | ${f(r.mine.seconds / bound)}× | ${f(rtt * 1000, 1)} | ${f(measured)} | ${f(r.mine.seconds / measured)}× |`,
  )
}
console.log(lines.join('\n'))
await Promise.allSettled([system.close(), sandbox.close()])

// `npm run bench -- --readme`: the README's table is this run's, written between its markers.
if (process.argv.includes('--readme')) {
  const { readFileSync, writeFileSync } = await import('node:fs')
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
