#!/usr/bin/env node
/**
 * `npm start`: the gateway, every task Worker and the jobs Worker on workerd (wrangler dev), gateway on PORT.
 * With neither MAPILLARY_GRAPH_URL nor MAPILLARY_ACCESS_TOKEN set, it first starts the bundled
 * Graph API stand-in (test/stand-in) and points the task Workers at it, so everything works offline.
 */
import { spawn } from 'node:child_process'
import { existsSync, readFileSync } from 'node:fs'
import { fileURLToPath } from 'node:url'
import path from 'node:path'

const root = path.dirname(path.dirname(fileURLToPath(import.meta.url)))
const wrangler = path.join(root, 'node_modules', '.bin', 'wrangler')
// The Workers behind the gateway: the four tasks, and jobs (which calls the four).
const TASKS = ['sequence-detections', 'map-features', 'detection-geometry', 'feature-images', 'jobs']
const SANDBOX_TOKEN = 'MLY|sandbox|local-stand-in'

/** `.dev.vars` at the root, then the process environment (the environment wins). */
function settings() {
  const file = path.join(root, '.dev.vars')
  const fromFile = {}
  if (existsSync(file)) {
    for (const line of readFileSync(file, 'utf8').split('\n')) {
      const m = line.match(/^\s*([A-Z0-9_]+)\s*=\s*"?(.*?)"?\s*$/)
      if (m) fromFile[m[1]] = m[2]
    }
  }
  const pick = (k) => process.env[k] ?? fromFile[k]
  return {
    port: Number(pick('PORT') ?? 8787),
    graphUrl: pick('MAPILLARY_GRAPH_URL'),
    token: pick('MAPILLARY_ACCESS_TOKEN'),
    sandboxPort: Number(pick('SANDBOX_PORT') ?? 8799),
    corsOrigins: pick('CORS_ORIGINS'),
    budget: pick('SUBREQUEST_BUDGET'),
  }
}

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
    ...vars,
  }
}

const children = []
function run(args, env, name) {
  const child = spawn(wrangler, args, { cwd: root, env, stdio: ['ignore', 'pipe', 'pipe'] })
  const prefix = (chunk) => chunk.toString().split('\n').filter((l) => l.trim()).map((l) => `[${name}] ${l}`).join('\n') + '\n'
  child.stdout.on('data', (d) => process.stdout.write(prefix(d)))
  child.stderr.on('data', (d) => process.stderr.write(prefix(d)))
  child.on('exit', (code) => {
    console.error(`[${name}] exited with ${code}`)
    shutdown(code ?? 1)
  })
  children.push(child)
  return child
}

let stopping = false
function shutdown(code = 0) {
  if (stopping) return
  stopping = true
  for (const c of children) c.kill('SIGTERM')
  setTimeout(() => process.exit(code), 500).unref()
}
process.on('SIGINT', () => shutdown(0))
process.on('SIGTERM', () => shutdown(0))

async function waitFor(url, timeoutMs = 90_000) {
  const t0 = Date.now()
  while (Date.now() - t0 < timeoutMs) {
    try {
      const res = await fetch(url)
      if (res.ok) return true
    } catch {}
    await new Promise((r) => setTimeout(r, 300))
  }
  return false
}

const s = settings()
let graphUrl = s.graphUrl
let token = s.token
if (!graphUrl && !token) {
  graphUrl = `http://127.0.0.1:${s.sandboxPort}`
  token = SANDBOX_TOKEN
  console.log(`No upstream configured: serving the sample world from the Graph API stand-in on ${graphUrl}`)
  run(['dev', '-c', 'test/stand-in/wrangler.toml', '--ip', '127.0.0.1', '--port', String(s.sandboxPort), '--inspector-port', '0', '--persist-to', '.wrangler/sandbox'], childEnv({}), 'sandbox')
  if (!(await waitFor(`${graphUrl}/__sandbox/truth/world`))) {
    console.error('The Graph API stand-in did not start.')
    shutdown(1)
  }
}

const vars = {
  CLOUDFLARE_INCLUDE_PROCESS_ENV: 'true',
  MAPILLARY_GRAPH_URL: graphUrl ?? 'https://graph.mapillary.com',
  ...(token ? { MAPILLARY_ACCESS_TOKEN: token } : {}),
  ...(s.corsOrigins ? { CORS_ORIGINS: s.corsOrigins } : {}),
  ...(s.budget ? { SUBREQUEST_BUDGET: s.budget } : {}),
}
const configs = ['wrangler.toml', ...TASKS.map((t) => `workers/${t}/wrangler.toml`)].flatMap((c) => ['-c', c])
run(['dev', ...configs, '--ip', '127.0.0.1', '--port', String(s.port), '--inspector-port', '0'], childEnv(vars), 'workers')
if (await waitFor(`http://127.0.0.1:${s.port}/healthz`)) {
  console.log(`\nmly-edge is up: http://127.0.0.1:${s.port}  (try: curl http://127.0.0.1:${s.port}/healthz)`)
} else {
  console.error('The gateway did not become healthy in time.')
  shutdown(1)
}
