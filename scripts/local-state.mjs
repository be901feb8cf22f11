/**
 * @module Where `npm start` (and `npm run key`, `npm run load`) keep wrangler's local state, and how
 * much of its logs they keep.
 *
 * The local KV and Durable Objects hold answers fetched from one upstream, and no cache key names
 * the upstream: a cache filled from the sample world would answer for a real one. So each upstream
 * gets a directory of its own under `.wrangler/state/`: `sample` for the bundled stand-in, and
 * `upstream-<12 hex digits of SHA-256 of its URL>` otherwise (the URL without query, fragment or
 * credentials, so a token put in the URL never reaches the hash nor the `UPSTREAM` note beside it).
 * The token is not part of the name: the same upstream answers the same public data whatever the
 * token, and a hash of a token alone could be brute-forced back to it.
 *
 * Local logs are bounded at each start: wrangler's own log files (`.wrangler/logs`, instead of one
 * file per run in `~/.config/.wrangler/logs`, pruned there after 30 days only) by age and total
 * size, and the local Workers Logs store (`<state>/v3/observability`, a SQLite trace store that
 * keeps every request forever) by size.
 */
import { createHash } from 'node:crypto'
import { existsSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync, mkdirSync } from 'node:fs'
import path from 'node:path'

/** Every upstream's state lives under this directory, relative to the repository root. */
export const STATE_ROOT = '.wrangler/state'
/** The sample world's state (the bundled Graph API stand-in). */
export const SAMPLE_STATE = `${STATE_ROOT}/sample`
/** wrangler's log files (`WRANGLER_LOG_PATH`), one per wrangler run. */
export const LOG_DIR = '.wrangler/logs'
/** The upstream `npm start` uses when only a token is given. */
export const DEFAULT_GRAPH_URL = 'https://graph.mapillary.com'
/** The token the stand-in accepts (any `MLY|…`); never a real one. */
export const SANDBOX_TOKEN = 'MLY|sandbox|local-stand-in'

/** Log files older than this go at start: a week covers "what happened yesterday". */
export const LOG_MAX_AGE_MS = 7 * 24 * 3600 * 1000
/** At most this much of wrangler's log files is kept (newest first): a few hundred runs. */
export const LOG_MAX_BYTES = 20 * 1024 * 1024
/** A local Workers Logs store past this is emptied at start (it grew to 236 MB in an afternoon). */
export const OBSERVABILITY_MAX_BYTES = 64 * 1024 * 1024

/**
 * `npm start`'s settings: the process environment, then `.dev.vars` at `root` (the environment wins).
 *
 * @example
 * const s = readSettings('/work/main', { PORT: '9000' })
 * s.port // 9000; s.sample is true when neither MAPILLARY_GRAPH_URL nor MAPILLARY_ACCESS_TOKEN is set
 */
export function readSettings(root, env = process.env) {
  const file = path.join(root, '.dev.vars')
  const fromFile = {}
  if (existsSync(file)) {
    for (const line of readFileSync(file, 'utf8').split('\n')) {
      const m = line.match(/^\s*([A-Z0-9_]+)\s*=\s*"?(.*?)"?\s*$/)
      if (m) fromFile[m[1]] = m[2]
    }
  }
  const pick = (k) => env[k] ?? fromFile[k]
  const graphUrl = pick('MAPILLARY_GRAPH_URL')
  const token = pick('MAPILLARY_ACCESS_TOKEN')
  return {
    port: Number(pick('PORT') ?? 8787),
    sandboxPort: Number(pick('SANDBOX_PORT') ?? 8799),
    // Neither an upstream nor a token: the bundled stand-in's sample world.
    sample: !graphUrl && !token,
    graphUrl,
    token,
    /** Where every upstream's directory goes: `.wrangler/state`, or MLY_EDGE_STATE_ROOT (tests). */
    stateRoot: pick('MLY_EDGE_STATE_ROOT') ?? STATE_ROOT,
    corsOrigins: pick('CORS_ORIGINS'),
    budget: pick('SUBREQUEST_BUDGET'),
    /** Any other setting by name, from the same two places. */
    pick,
  }
}

/**
 * What names an upstream: its URL without query, fragment nor credentials, no trailing slash.
 *
 * @example
 * upstreamName('https://user:pw@Graph.Mapillary.com/?access_token=MLY|x') // 'https://graph.mapillary.com'
 */
export function upstreamName(graphUrl) {
  const u = new URL(graphUrl)
  return `${u.protocol}//${u.host}${u.pathname}`.replace(/\/+$/, '')
}

/**
 * The state directory (relative to the repository root, or absolute) for these settings:
 * `sample`, or `upstream-<hash of the upstream's name>`, under `settings.stateRoot`.
 *
 * @example
 * persistDir({ sample: true })                                        // '.wrangler/state/sample'
 * persistDir({ sample: false, graphUrl: 'https://graph.mapillary.com' }) // '.wrangler/state/upstream-…'
 */
export function persistDir(settings) {
  const stateRoot = settings.stateRoot ?? STATE_ROOT
  if (settings.sample) return `${stateRoot}/sample`
  const name = upstreamName(settings.graphUrl ?? DEFAULT_GRAPH_URL)
  return `${stateRoot}/upstream-${createHash('sha256').update(name).digest('hex').slice(0, 12)}`
}

/**
 * Creates the state directory and writes `UPSTREAM` in it (which upstream it holds, for a reader of
 * `.wrangler/state/`). Returns the directory, relative to `root`.
 *
 * @example
 * prepareStateDir('/work/main', readSettings('/work/main')) // '.wrangler/state/sample'
 */
export function prepareStateDir(root, settings) {
  const dir = persistDir(settings)
  mkdirSync(path.resolve(root, dir), { recursive: true })
  const note = settings.sample ? 'the sample world (test/stand-in)' : upstreamName(settings.graphUrl ?? DEFAULT_GRAPH_URL)
  writeFileSync(path.resolve(root, dir, 'UPSTREAM'), `${note}\n`)
  return dir
}

/** Bytes under `p` (a file or a directory, recursively); 0 when it does not exist. */
export function sizeOf(p) {
  if (!existsSync(p)) return 0
  const st = statSync(p)
  if (!st.isDirectory()) return st.size
  return readdirSync(p).reduce((sum, name) => sum + sizeOf(path.join(p, name)), 0)
}

/**
 * Prunes a log directory: files older than `maxAgeMs` go, then the oldest until the rest fit in
 * `maxBytes`. Returns the names removed.
 *
 * @example
 * pruneLogs('.wrangler/logs') // ['wrangler-2026-11-20_10-00-00_000.log', …]
 */
export function pruneLogs(dir, { maxBytes = LOG_MAX_BYTES, maxAgeMs = LOG_MAX_AGE_MS, now = Date.now() } = {}) {
  if (!existsSync(dir)) return []
  const files = readdirSync(dir)
    .map((name) => ({ name, st: statSync(path.join(dir, name)) }))
    .filter((f) => f.st.isFile())
    .sort((a, b) => b.st.mtimeMs - a.st.mtimeMs)
  const removed = []
  let kept = 0
  for (const f of files) {
    if (now - f.st.mtimeMs > maxAgeMs || kept + f.st.size > maxBytes) {
      rmSync(path.join(dir, f.name), { force: true })
      removed.push(f.name)
    } else kept += f.st.size
  }
  return removed
}

/**
 * Empties a directory grown past `maxBytes` (the local Workers Logs store has no retention of its
 * own). Returns the bytes it held when it was removed, else 0.
 *
 * @example
 * capDir('.wrangler/state/sample/v3/observability', 64 * 1024 * 1024) // 0, or the bytes freed
 */
export function capDir(dir, maxBytes) {
  const bytes = sizeOf(dir)
  if (bytes <= maxBytes) return 0
  rmSync(dir, { recursive: true, force: true })
  return bytes
}

/**
 * Bounds the local logs before a run: wrangler's log files in `LOG_DIR`, and the Workers Logs
 * stores of the given state directories. Returns a line per thing pruned, for the console.
 *
 * @example
 * boundLocalLogs('/work/main', ['.wrangler/state/sample']) // ['removed 3 old wrangler log files']
 */
export function boundLocalLogs(root, stateDirs) {
  const notes = []
  const removed = pruneLogs(path.join(root, LOG_DIR))
  if (removed.length) notes.push(`removed ${removed.length} old wrangler log file(s) from ${LOG_DIR}`)
  for (const dir of stateDirs) {
    const freed = capDir(path.resolve(root, dir, 'v3', 'observability'), OBSERVABILITY_MAX_BYTES)
    if (freed) notes.push(`emptied the local Workers Logs store of ${dir} (${(freed / 2 ** 20).toFixed(0)} MB)`)
  }
  return notes
}
