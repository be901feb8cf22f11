/**
 * @module `npm start` stops everything it started when it is told to: SIGTERM on the npm process
 * (as `docker stop`, systemd or a CI runner send it) leaves no wrangler nor workerd serving a port.
 * Regression test for the hostile client's findings of issue 9: both ports still served after npm
 * was gone, and the sample world's answers kept in the state any upstream's would use.
 */
import { execFileSync, spawn } from 'node:child_process'
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { createServer, connect } from 'node:net'
import path from 'node:path'
import { fileURLToPath } from 'node:url'
import { afterAll, expect, it } from 'vitest'

const ROOT = path.dirname(path.dirname(fileURLToPath(import.meta.url)))

/** A port nobody listens on now (the kernel's pick). */
async function freePort(): Promise<number> {
  const server = createServer()
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  const { port } = server.address() as { port: number }
  await new Promise((resolve) => server.close(resolve))
  return port
}

/** Whether something accepts TCP connections on 127.0.0.1:port. */
function listening(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect(port, '127.0.0.1')
    socket.once('connect', () => (socket.destroy(), resolve(true)))
    socket.once('error', () => resolve(false))
  })
}

/** Every process descended from `pid`, from `ps` (Linux and macOS). */
function descendants(pid: number): number[] {
  const rows = execFileSync('ps', ['-A', '-o', 'pid=,ppid='], { encoding: 'utf8' })
    .trim()
    .split('\n')
    .map((l) => l.trim().split(/\s+/).map(Number) as [number, number])
  const found: number[] = []
  const walk = (p: number) => rows.filter(([, pp]) => pp === p).forEach(([c]) => (found.push(c), walk(c)))
  walk(pid)
  return found
}

/** Every file under `dir`, recursively ([] when it does not exist). */
function filesUnder(dir: string): string[] {
  if (!existsSync(dir)) return []
  return readdirSync(dir, { recursive: true, encoding: 'utf8' }).map((f) => path.join(dir, f)).filter((f) => statSync(f).isFile())
}

const alive = (pid: number) => {
  try {
    process.kill(pid, 0)
    return true
  } catch {
    return false
  }
}

async function until(check: () => Promise<boolean> | boolean, timeoutMs: number): Promise<boolean> {
  const end = Date.now() + timeoutMs
  while (Date.now() < end) {
    if (await check()) return true
    await new Promise((r) => setTimeout(r, 200))
  }
  return check()
}

// Whatever happens, nothing this test started outlives it: npm's process group (npm, sh,
// start.mjs), then every descendant seen.
let group = 0
let started: number[] = []
const dirs: string[] = []
afterAll(async () => {
  if (group && alive(group)) started = [...new Set([...started, ...descendants(group)])]
  try {
    process.kill(-group, 'SIGTERM')
  } catch {}
  await until(() => started.every((pid) => !alive(pid)), 8_000)
  for (const pid of started) if (alive(pid)) process.kill(pid, 'SIGKILL')
  for (const dir of dirs) rmSync(dir, { recursive: true, force: true })
})

it('SIGTERM on the npm start process frees the gateway and stand-in ports within a few seconds', async () => {
  const [port, sandboxPort] = [await freePort(), await freePort()]
  // The sample world: neither upstream nor token from this machine's environment.
  const { MAPILLARY_GRAPH_URL: _url, MAPILLARY_ACCESS_TOKEN: _token, ...inherited } = process.env as Record<string, string | undefined>
  // Its own state root, so a developer's `npm start` on the same files is left alone.
  const stateRoot = mkdtempSync(path.join(tmpdir(), 'mly-start-test-'))
  dirs.push(stateRoot)
  const env = { ...inherited, PORT: String(port), SANDBOX_PORT: String(sandboxPort), MLY_EDGE_STATE_ROOT: stateRoot, CLOUDFLARE_CF_FETCH_ENABLED: 'false', WRANGLER_SEND_METRICS: 'false' }
  // (ProcessEnv is widened by the Workers' generated types to their vars, which a child needs not.)
  const npm = spawn('npm', ['start'], { cwd: ROOT, env: env as unknown as NodeJS.ProcessEnv, stdio: 'ignore', detached: true })
  group = npm.pid!
  started.push(npm.pid!)

  expect(await until(async () => (await fetch(`http://127.0.0.1:${port}/healthz`, { signal: AbortSignal.timeout(5000) }).catch(() => null))?.ok === true, 90_000), 'the gateway became healthy').toBe(true)
  expect(await listening(sandboxPort), 'the stand-in serves').toBe(true)
  // A question never asked before (a box grown by a random nanodegree) is kept in the sample
  // world's own state directory, not in the one shared with any other upstream.
  const t0 = Date.now() - 1000
  const bbox = `12.985,55.585,13.015,${(55.615 + Math.floor(Math.random() * 1e5) * 1e-12).toFixed(12)}`
  const answer = await fetch(`http://127.0.0.1:${port}/v1/map-features?bbox=${bbox}&fields=object_type`, { signal: AbortSignal.timeout(30_000) })
  expect(answer.status, await answer.clone().text()).toBe(200)
  expect(((await answer.json()) as { features: unknown[] }).features.length, 'the sparse suburb').toBe(150)
  const written = ['kv', 'do'].flatMap((kind) => filesUnder(path.join(stateRoot, 'sample/v3', kind))).filter((f) => statSync(f).mtimeMs >= t0)
  expect(written.length, 'KV and Durable Object files written under <state root>/sample').toBeGreaterThan(0)
  expect(readFileSync(path.join(stateRoot, 'sample/UPSTREAM'), 'utf8')).toBe('the sample world (test/stand-in)\n')
  started = [npm.pid!, ...descendants(npm.pid!)]
  expect(started.length, 'npm, sh, start.mjs, two wranglers and their workerd').toBeGreaterThanOrEqual(7)

  npm.kill('SIGTERM')

  expect(await until(async () => !(await listening(port)) && !(await listening(sandboxPort)), 8_000), 'both ports free').toBe(true)
  expect(await until(() => started.every((pid) => !alive(pid)), 8_000), `left running: ${started.filter(alive).join(' ')}`).toBe(true)
}, 150_000)
