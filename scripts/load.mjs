#!/usr/bin/env node
/**
 * @module `npm run load`: many concurrent clients against the whole system on loopback, with
 * autocannon: a cached answer, questions never asked before, and a mix. Prints requests/s, p50/p99
 * latency and status counts per case; fails on any 5xx, connection error or timeout, or when
 * `/healthz` is not ok afterwards. Not a test (its numbers depend on the machine).
 *
 *   npm run load                          starts the system (npm start's way, sample world, free
 *                                         ports, a state directory of its own, removed after)
 *   npm run load -- --url http://127.0.0.1:8787 [--sandbox-url http://127.0.0.1:8799]
 *                                         a running `npm start` on the sample world instead
 *   --connections 50 --duration 30       per case (at most 500 clients, 300 s)
 *   --cases cached,box,images,mix        which cases, in this order
 *   --readme                              writes the table into README.md between its markers
 *
 * Loopback only: any other host is refused, so this never floods a deployed service. 429s (the
 * gateway's per-client limits; loopback is exempt in the root wrangler.toml, and the system this
 * starts is told so again) are reported, not counted as server failures.
 */
import { spawn } from 'node:child_process'
import { mkdtempSync, openSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { createServer } from 'node:net'
import { cpus, loadavg, tmpdir } from 'node:os'
import path from 'node:path'
import { fileURLToPath } from 'node:url'
import { parseArgs } from 'node:util'
import autocannon from 'autocannon'

const root = path.dirname(path.dirname(fileURLToPath(import.meta.url)))
const MAX_CONNECTIONS = 500
const MAX_DURATION_S = 300
/** Above the gateway's 25 s request deadline: a client waiting this long means the deadline broke. */
const TIMEOUT_S = 30
const TOKEN = 'MLY|load|local-stand-in' // for the stand-in's own routes; the system uses its own

const { values: opts } = parseArgs({
  options: {
    url: { type: 'string' },
    'sandbox-url': { type: 'string' },
    connections: { type: 'string', default: '50' },
    duration: { type: 'string', default: '30' },
    cases: { type: 'string', default: 'cached,box,images,mix' },
    readme: { type: 'boolean', default: false },
  },
})
const connections = Number(opts.connections)
const duration = Number(opts.duration)
if (!(Number.isInteger(connections) && connections >= 1 && connections <= MAX_CONNECTIONS)) usage(`--connections must be an integer in 1..${MAX_CONNECTIONS}`)
if (!(Number.isFinite(duration) && duration >= 1 && duration <= MAX_DURATION_S)) usage(`--duration must be 1..${MAX_DURATION_S} seconds`)

function usage(message) {
  console.error(`npm run load: ${message}`)
  process.exit(2)
}

/** Only 127.0.0.0/8, ::1 and localhost: a load run never leaves this machine. */
function loopbackOnly(url, flag) {
  let u
  try {
    u = new URL(url)
  } catch {
    usage(`${flag} is not a URL: ${url}`)
  }
  const host = u.hostname.replace(/^\[|\]$/g, '')
  if (!(host === 'localhost' || host === '::1' || /^127(\.\d{1,3}){3}$/.test(host))) usage(`${flag} must be a loopback address (127.x, ::1, localhost), not ${host}`)
  return u.origin
}

async function freePort() {
  const server = createServer()
  await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve))
  const { port } = server.address()
  await new Promise((resolve) => server.close(resolve))
  return port
}

async function waitHealthy(url, timeoutMs) {
  const end = Date.now() + timeoutMs
  while (Date.now() < end) {
    const res = await fetch(`${url}/healthz`, { signal: AbortSignal.timeout(10_000) }).catch(() => null)
    if (res?.ok) return true
    await new Promise((r) => setTimeout(r, 500))
  }
  return false
}

// ---------------------------------------------------------------- the system under load

let system = null // { child, state, log } when this run started it
async function startSystem() {
  const [port, sandboxPort] = [await freePort(), await freePort()]
  const state = mkdtempSync(path.join(tmpdir(), 'mly-edge-load-'))
  const log = path.join(state, 'start.log')
  const { MAPILLARY_GRAPH_URL: _url, MAPILLARY_ACCESS_TOKEN: _token, ...inherited } = process.env
  const env = {
    ...inherited,
    PORT: String(port),
    SANDBOX_PORT: String(sandboxPort),
    // The per-client limits must not shape the numbers: loopback exempt, as the config already says.
    RATE_LIMIT_EXEMPT_IPS: '127.0.0.1,::1',
    // Thousands of new questions: kept apart from the sample world's state, and removed after.
    MLY_EDGE_STATE_ROOT: state,
  }
  const out = openSync(log, 'a')
  const child = spawn(process.execPath, [path.join(root, 'scripts/start.mjs')], { cwd: root, env, stdio: ['ignore', out, out] })
  system = { child, state, log }
  const url = `http://127.0.0.1:${port}`
  console.error(`starting the system on ${url} (stand-in on ${sandboxPort}; log ${log}) …`)
  if (!(await waitHealthy(url, 180_000))) {
    console.error(`the system did not become healthy; its log:\n${readFileSync(log, 'utf8').slice(-4000)}`)
    await stopSystem()
    process.exit(1)
  }
  return { url, sandboxUrl: `http://127.0.0.1:${sandboxPort}` }
}

async function stopSystem() {
  if (!system) return
  const { child, state } = system
  system = null
  if (child.exitCode === null) {
    const exited = new Promise((resolve) => child.once('exit', resolve))
    child.kill('SIGTERM')
    await Promise.race([exited, new Promise((r) => setTimeout(r, 15_000))])
    if (child.exitCode === null) child.kill('SIGKILL')
  }
  rmSync(state, { recursive: true, force: true })
}
for (const signal of ['SIGINT', 'SIGTERM']) process.on(signal, () => void stopSystem().then(() => process.exit(130)))

// ---------------------------------------------------------------- the questions

/** The sample world's ids, from the stand-in: a short sequence, a sparse box, every image of its sequences. */
async function sampleWorld(sandboxUrl) {
  const get = async (p) => {
    const res = await fetch(`${sandboxUrl}${p}`, { headers: { authorization: `OAuth ${TOKEN}` }, signal: AbortSignal.timeout(30_000) })
    if (!res.ok) throw new Error(`stand-in ${p} → ${res.status}`)
    return res.json()
  }
  const world = await get('/__sandbox/truth/world')
  const sequences = [...world.sequences].sort((a, b) => a.length - b.length)
  const images = []
  for (const s of sequences) for (const { id } of (await get(`/image_ids?sequence_id=${s.id}`)).data) images.push(id)
  const sparse = world.districts.find((d) => d.name.includes('sparse'))
  return { sequence: sequences.find((s) => s.length >= 3) ?? sequences[0], sparse, images }
}

function questions(world) {
  // A fresh start for every run, so a running system's earlier answers are not asked again.
  let box = Math.floor(Math.random() * 1e5)
  let image = Math.floor(Math.random() * world.images.length)
  const [w, s, e, n] = world.sparse.bbox
  const paths = {
    cached: () => `/v1/sequences/${world.sequence.id}/detections`,
    // The sparse suburb grown north by one more nanodegree each time: a new question (object, key),
    // one upstream request.
    box: () => `/v1/map-features?bbox=${w},${s},${e},${(n + ++box * 1e-9).toFixed(9)}`,
    // The next image of the sample world's sequences: its detections and size, 2 upstream requests
    // the first time (cached after; the run says how many distinct images it asked).
    images: () => `/v1/images/${world.images[image++ % world.images.length]}/detections`,
  }
  let k = 0
  paths.mix = () => {
    const r = k++ % 10
    return r < 8 ? paths.cached() : r === 8 ? paths.box() : paths.images()
  }
  return { paths, distinctImages: () => Math.min(image, world.images.length) }
}

/** What each case's requests ask, for the table. */
const describe = (world) => ({
  cached: `one sequence's detections (${world.sequence.length} images), answered before`,
  box: 'map features of a box never asked before (the sparse suburb grown by 1e-9° each time): 1 upstream request each',
  images: `an image's pixel detections, cycling through the sample world's ${world.images.length} images: 2 upstream requests each when new`,
  mix: '8 cached : 1 new box : 1 image',
})

function runCase(url, next) {
  return new Promise((resolve, reject) => {
    const instance = autocannon(
      {
        url,
        connections,
        duration,
        timeout: TIMEOUT_S,
        requests: [{ method: 'GET', setupRequest: (req) => ({ ...req, path: next() }) }],
      },
      (err, result) => (err ? reject(err) : resolve(result)),
    )
    instance.on('error', reject)
  })
}

// ---------------------------------------------------------------- run

const target = opts.url ? { url: loopbackOnly(opts.url, '--url'), sandboxUrl: loopbackOnly(opts['sandbox-url'] ?? 'http://127.0.0.1:8799', '--sandbox-url') } : await startSystem()
let failed = false
const rows = []
try {
  const world = await sampleWorld(target.sandboxUrl)
  const { paths, distinctImages } = questions(world)
  const what = describe(world)
  // Warm-up, not measured: every path once (isolates started, the cached answer stored).
  for (const name of ['cached', 'box', 'images']) {
    const res = await fetch(`${target.url}${paths[name]()}`, { signal: AbortSignal.timeout(60_000) })
    await res.arrayBuffer()
    if (res.status !== 200) throw new Error(`warm-up ${name} → ${res.status}`)
  }
  const load0 = loadavg()[0]
  for (const name of opts.cases.split(',')) {
    if (!paths[name]) usage(`unknown case ${name} (cached, box, images, mix)`)
    const imagesBefore = distinctImages()
    const r = await runCase(target.url, paths[name])
    const codes = Object.fromEntries(Object.entries(r.statusCodeStats ?? {}).map(([code, v]) => [code, v.count]))
    const count = (pred) => Object.entries(codes).filter(([c]) => pred(Number(c))).reduce((sum, [, n]) => sum + Number(n), 0)
    const row = {
      name,
      requests: r.requests.total,
      rps: r.requests.average,
      p50: r.latency.p50,
      p99: r.latency.p99,
      ok: count((c) => c >= 200 && c < 300),
      limited: count((c) => c === 429),
      other4xx: count((c) => c >= 400 && c < 500 && c !== 429),
      server: count((c) => c >= 500),
      errors: r.errors,
      timeouts: r.timeouts,
      codes,
      // Asked, not prepared: autocannon prepares a request per client past the end.
      images: name === 'images' || name === 'mix' ? Math.min(distinctImages() - imagesBefore, r.requests.total) : undefined,
    }
    rows.push(row)
    console.error(`${name}: ${row.requests} requests, ${row.rps.toFixed(0)}/s, p50 ${row.p50} ms, p99 ${row.p99} ms, statuses ${JSON.stringify(codes)}, errors ${row.errors}, timeouts ${row.timeouts}`)
    if (row.server > 0 || row.errors > 0) failed = true
  }
  const health = await fetch(`${target.url}/healthz`, { signal: AbortSignal.timeout(30_000) }).catch((e) => ({ ok: false, status: String(e) }))
  const healthy = health.ok
  console.error(`/healthz after the run: ${health.status}`)
  if (!healthy) failed = true

  const lines = [
    `${connections} concurrent clients for ${duration} s per case, on loopback against \`npm start\`'s system (sample world, stand-in with no injected latency).`,
    `Machine: ${cpus().length} cores shared with other work (load average ${load0.toFixed(1)} before the run, ${loadavg()[0].toFixed(1)} after). /healthz after the run: ${healthy ? 'ok' : 'NOT ok'}.`,
    '',
    '| case | what each request asks | requests | requests/s | p50 ms | p99 ms | 2xx | 429 | other 4xx | 5xx | errors + timeouts |',
    '|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|',
    ...rows.map((r) => `| ${r.name} | ${what[r.name]}${r.images !== undefined ? ` (${r.images} distinct images)` : ''} | ${r.requests} | ${r.rps.toFixed(0)} | ${r.p50} | ${r.p99} | ${r.ok} | ${r.limited} | ${r.other4xx} | ${r.server} | ${r.errors} |`),
  ]
  console.log(lines.join('\n'))
  if (opts.readme) {
    const readme = readFileSync(path.join(root, 'README.md'), 'utf8')
    const [start, end] = ['<!-- load:start -->', '<!-- load:end -->']
    const a = readme.indexOf(start)
    const b = readme.indexOf(end)
    if (a < 0 || b < a) throw new Error('README.md has no <!-- load:start --> … <!-- load:end --> markers')
    const stamp = `Measured by \`npm run load -- --readme\` on ${new Date().toISOString().slice(0, 10)}.`
    writeFileSync(path.join(root, 'README.md'), `${readme.slice(0, a + start.length)}\n${stamp} ${lines.join('\n')}\n${readme.slice(b)}`)
    console.error('README.md: table written')
  }
} catch (e) {
  console.error(e instanceof Error ? e.stack : e)
  failed = true
} finally {
  await stopSystem()
}
process.exit(failed ? 1 : 0)
