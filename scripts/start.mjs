#!/usr/bin/env node
/**
 * @module `npm start`: the gateway, the upstream quota governor, every task Worker and the jobs
 * Worker on workerd (wrangler dev), gateway on PORT.
 * With neither MAPILLARY_GRAPH_URL nor MAPILLARY_ACCESS_TOKEN set, it first starts the bundled
 * Graph API stand-in (test/stand-in) and points the task Workers at it, so everything works offline.
 *
 * State: each upstream's KV and Durable Objects in a directory of its own (scripts/local-state.mjs),
 * logs bounded at start. Signals: SIGINT, SIGTERM and SIGHUP, or the parent going away (npm killed,
 * which takes its `sh -c` along without telling us), stop every wrangler and workerd it started
 * before it exits.
 */
import { spawn } from 'node:child_process'
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { fileURLToPath } from 'node:url'
import path from 'node:path'
import { boundLocalLogs, DEFAULT_GRAPH_URL, LOG_DIR, prepareStateDir, readSettings, SANDBOX_TOKEN, STATE_ROOT } from './local-state.mjs'

const root = path.dirname(path.dirname(fileURLToPath(import.meta.url)))
const wrangler = path.join(root, 'node_modules', '.bin', 'wrangler')
// The Workers behind the gateway: the upstream quota governor (when it exists: every task Worker
// binds its object by script_name), the four tasks, and jobs (which calls the four).
const TASKS = [
  ...(existsSync(path.join(root, 'workers/governor/wrangler.toml')) ? ['governor'] : []),
  'sequence-detections', 'map-features', 'detection-geometry', 'feature-images', 'jobs', 'embed',
]
/** How long wrangler and workerd get to stop after SIGTERM before they are killed. */
const STOP_GRACE_MS = 5000

// Each run gets a dev registry of its own, so that another `npm start` or test run on this
// machine (same Worker names) neither answers our service bindings nor has its answered by us.
const registry = mkdtempSync(path.join(tmpdir(), 'mly-edge-registry-'))

// Only what wrangler itself needs, plus our settings: with CLOUDFLARE_INCLUDE_PROCESS_ENV every
// variable of the child's environment becomes a binding of every Worker, so keep it small.
function childEnv(vars) {
  const keep = ['PATH', 'HOME', 'TMPDIR', 'TERM', 'LANG', 'CI', 'XDG_CONFIG_HOME', 'NO_COLOR']
  const env = Object.fromEntries(keep.filter((k) => process.env[k] !== undefined).map((k) => [k, process.env[k]]))
  return {
    ...env,
    PATH: `${path.join(root, 'node_modules', '.bin')}${path.delimiter}${process.env.PATH ?? ''}`,
    CLOUDFLARE_CF_FETCH_ENABLED: 'false',
    WRANGLER_SEND_METRICS: 'false',
    WRANGLER_LOG_PATH: path.join(root, LOG_DIR),
    WRANGLER_REGISTRY_PATH: registry,
    ...vars,
  }
}

/** The wrangler processes started, each the leader of a process group holding its workerd. */
const children = []
function run(args, env, name) {
  if (stopping) return
  // detached: a process group of its own, so one signal reaches wrangler, esbuild and workerd.
  const child = spawn(wrangler, args, { cwd: root, env, stdio: ['ignore', 'pipe', 'pipe'], detached: true })
  const prefix = (chunk) => chunk.toString().split('\n').filter((l) => l.trim()).map((l) => `[${name}] ${l}`).join('\n') + '\n'
  child.stdout.on('data', (d) => process.stdout.write(prefix(d)))
  child.stderr.on('data', (d) => process.stderr.write(prefix(d)))
  child.on('exit', (code, signal) => {
    if (!stopping) console.error(`[${name}] exited with ${code ?? signal}`)
    void shutdown(code ?? 1)
  })
  children.push(child)
}

/** Sends `signal` to a process group; false when none of it is left. */
function signalGroup(pid, signal) {
  try {
    process.kill(-pid, signal)
    return true
  } catch {
    return false
  }
}

let stopping = false
/** SIGTERM to every group, up to STOP_GRACE_MS for them to go, SIGKILL to what is left, then exit. */
async function shutdown(code = 0) {
  if (stopping) return
  stopping = true
  for (const c of children) signalGroup(c.pid, 'SIGTERM')
  const deadline = Date.now() + STOP_GRACE_MS
  while (Date.now() < deadline && children.some((c) => signalGroup(c.pid, 0))) await new Promise((r) => setTimeout(r, 100))
  for (const c of children) signalGroup(c.pid, 'SIGKILL')
  rmSync(registry, { recursive: true, force: true })
  process.exit(code)
}
for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP']) process.on(signal, () => void shutdown(0))
// A crash of this script must not leave the process groups it started serving.
for (const event of ['uncaughtException', 'unhandledRejection']) {
  process.on(event, (e) => {
    console.error(e)
    void shutdown(1)
  })
}
// `npm start` runs us under `sh -c`; SIGTERM on npm ends npm and sh, not us: we are reparented.
const parent = process.ppid
setInterval(() => {
  if (process.ppid !== parent) void shutdown(0)
}, 250).unref()

/** The values set in the environment or .dev.vars of the names the configs' `[vars]` declare. */
function declaredVars(configPaths) {
  const names = new Set()
  for (const config of configPaths) {
    let inVars = false
    for (const line of readFileSync(path.join(root, config), 'utf8').split('\n')) {
      if (/^\s*\[/.test(line)) inVars = /^\s*\[vars\]\s*$/.test(line)
      const m = inVars && line.match(/^\s*([A-Z][A-Z0-9_]*)\s*=/)
      if (m) names.add(m[1])
    }
  }
  return Object.fromEntries([...names].map((n) => [n, s.pick(n)]).filter(([, v]) => v !== undefined))
}

async function waitFor(url, timeoutMs = 90_000) {
  const t0 = Date.now()
  while (Date.now() - t0 < timeoutMs && !stopping) {
    try {
      const res = await fetch(url)
      if (res.ok) return true
    } catch {}
    await new Promise((r) => setTimeout(r, 300))
  }
  return false
}

const s = readSettings(root)
const state = prepareStateDir(root, s)
// The stand-in's world lives in code: its directory holds only its local logs.
const standInState = `${s.stateRoot}/stand-in`
for (const note of boundLocalLogs(root, [state, standInState])) console.log(note)
if (existsSync(path.join(root, STATE_ROOT, 'v3'))) {
  console.log(`${STATE_ROOT}/v3 is from before state was kept per upstream (its upstream is not known); nothing reads it: delete it.`)
}
console.log(`Local state (KV, Durable Objects) in ${state}`)

let graphUrl = s.graphUrl
let token = s.token
if (s.sample) {
  graphUrl = `http://127.0.0.1:${s.sandboxPort}`
  token = SANDBOX_TOKEN
  console.log(`No upstream configured: serving the sample world from the Graph API stand-in on ${graphUrl}`)
  run(['dev', '-c', 'test/stand-in/wrangler.toml', '--ip', '127.0.0.1', '--port', String(s.sandboxPort), '--inspector-port', '0', '--persist-to', standInState], childEnv({}), 'sandbox')
  if (!(await waitFor(`${graphUrl}/__sandbox/truth/world`))) {
    if (!stopping) console.error('The Graph API stand-in did not start.')
    await shutdown(1)
  }
}

const configPaths = ['wrangler.toml', ...TASKS.map((t) => `workers/${t}/wrangler.toml`)]
const vars = {
  // Any var a config declares may be set in the environment or .dev.vars (e.g. RATE_LIMIT_ANONYMOUS).
  ...declaredVars(configPaths),
  CLOUDFLARE_INCLUDE_PROCESS_ENV: 'true',
  MAPILLARY_GRAPH_URL: graphUrl ?? DEFAULT_GRAPH_URL,
  ...(token ? { MAPILLARY_ACCESS_TOKEN: token } : {}),
  // A secret (not in any [vars]): the jobs Worker's webhook signing key(s), README "Webhooks".
  ...(s.pick('WEBHOOK_SECRET') ? { WEBHOOK_SECRET: s.pick('WEBHOOK_SECRET') } : {}),
  ...(s.corsOrigins ? { CORS_ORIGINS: s.corsOrigins } : {}),
  ...(s.budget ? { SUBREQUEST_BUDGET: s.budget } : {}),
}
const configs = configPaths.flatMap((c) => ['-c', c])
run(['dev', ...configs, '--ip', '127.0.0.1', '--port', String(s.port), '--inspector-port', '0', '--persist-to', state], childEnv(vars), 'workers')
if (await waitFor(`http://127.0.0.1:${s.port}/healthz`)) {
  console.log(`\nmly-edge is up: http://127.0.0.1:${s.port}  (try: curl http://127.0.0.1:${s.port}/healthz)`)
} else if (!stopping) {
  console.error('The gateway did not become healthy in time.')
  await shutdown(1)
}
