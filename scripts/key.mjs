#!/usr/bin/env node
/**
 * @module `npm run key`: API keys of the gateway (workers/gateway/src/api-key.ts), kept only as
 * SHA-256 hashes in its API_KEYS KV namespace, through wrangler's own `kv key` commands.
 *
 *   npm run key -- create NAME [--limit N]   prints a new key once; N points per window (else RATE_LIMIT_KEY)
 *   npm run key -- list                      name, id, limit and creation time of every key
 *   npm run key -- revoke NAME|ID            deletes the key(s) of that name, or the key of that id
 *
 * Locally (the default) it works on the state `npm start` uses, which depends on the upstream
 * (scripts/local-state.mjs: `.wrangler/state/sample` for the sample world), so run it with the
 * same MAPILLARY_GRAPH_URL / MAPILLARY_ACCESS_TOKEN settings as `npm start`; `--persist-to DIR`
 * names another. `--remote` works on the deployed namespace (wrangler login first). A running
 * `npm start` sees a new key at once; a deployed gateway within a minute (KV's edge cache).
 */
import { execFileSync } from 'node:child_process'
import { createHash, randomBytes } from 'node:crypto'
import path from 'node:path'
import { fileURLToPath } from 'node:url'
import { persistDir, readSettings } from './local-state.mjs'

const root = path.dirname(path.dirname(fileURLToPath(import.meta.url)))
const USAGE = 'usage: npm run key -- create NAME [--limit N] | list | revoke NAME|ID   [--remote | --persist-to DIR]'

/**
 * A new key and its record: `mlyk_` and 256 random bits in base64url; the record's name is
 * `key:` and the key's SHA-256 in hex, its id the first 12 digits of that hash.
 *
 * @example
 * const { key, recordName, record } = newKey('alice', { limit: 1200 })
 * // key 'mlyk_…' (48 characters), recordName 'key:…', record { id, name: 'alice', limit: 1200, created_at }
 */
export function newKey(name, { limit, now = new Date() } = {}) {
  const key = `mlyk_${randomBytes(32).toString('base64url')}`
  const hash = createHash('sha256').update(key).digest('hex')
  const record = { id: hash.slice(0, 12), name, ...(limit !== undefined ? { limit } : {}), created_at: now.toISOString() }
  return { key, recordName: `key:${hash}`, record }
}

/**
 * The command line as `{ command, name?, limit?, remote, persistTo? }`, or an error message.
 *
 * @example parseArgs(['create', 'alice', '--limit', '1200']) // { command: 'create', name: 'alice', limit: 1200, remote: false }
 */
export function parseArgs(argv) {
  const rest = []
  const out = { remote: false }
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]
    if (arg === '--remote') out.remote = true
    else if (arg === '--limit') out.limit = Number(argv[++i])
    else if (arg === '--persist-to') out.persistTo = argv[++i]
    else if (arg.startsWith('--')) return { error: `unknown option ${arg}` }
    else rest.push(arg)
  }
  const [command, name, ...extra] = rest
  if (!['create', 'list', 'revoke'].includes(command)) return { error: USAGE }
  if (command !== 'list' && !name) return { error: `${command} needs a NAME${command === 'revoke' ? ' or an ID' : ''}` }
  if (extra.length || (command === 'list' && name)) return { error: USAGE }
  if (name !== undefined && !/^[\w.@-]{1,64}$/.test(name)) return { error: 'a NAME is 1 to 64 letters, digits, _ . @ or -' }
  if ('limit' in out && !(Number.isSafeInteger(out.limit) && out.limit > 0)) return { error: '--limit takes a whole number of points above 0' }
  if (out.remote && out.persistTo) return { error: '--remote and --persist-to exclude each other' }
  return { command, ...(name !== undefined ? { name } : {}), ...out }
}

/** Runs `wrangler kv key …` on the gateway's API_KEYS namespace; answers its stdout. */
function kv(args, where) {
  const target = where.remote ? ['--remote'] : ['--local', '--persist-to', where.persistTo]
  const wrangler = path.join(root, 'node_modules', '.bin', 'wrangler')
  return execFileSync(wrangler, ['kv', 'key', ...args, '--binding', 'API_KEYS', '-c', 'wrangler.toml', ...target], {
    cwd: root,
    encoding: 'utf8',
    stdio: ['ignore', 'pipe', 'pipe'],
    // The project's own Node first (wrangler needs 22), as `npm run` would put it.
    env: { ...process.env, PATH: `${path.dirname(wrangler)}${path.delimiter}${process.env.PATH ?? ''}`, WRANGLER_SEND_METRICS: 'false', CLOUDFLARE_CF_FETCH_ENABLED: 'false' },
  })
}

/** Every key's record (from the entries' metadata, so no value is read). */
function listKeys(where) {
  const out = kv(['list', '--prefix', 'key:'], where)
  const entries = JSON.parse(out.slice(out.indexOf('[')))
  return entries.map((e) => ({ recordName: e.name, ...(e.metadata ?? {}) }))
}

function main(argv) {
  const args = parseArgs(argv)
  if (args.error) {
    console.error(args.error)
    return 2
  }
  const where = { remote: args.remote, persistTo: args.persistTo ?? persistDir(readSettings(root)) }
  const place = where.remote ? 'the deployed API_KEYS namespace' : `local state ${where.persistTo}`
  if (args.command === 'create') {
    const { key, recordName, record } = newKey(args.name, { limit: args.limit })
    const json = JSON.stringify(record)
    kv(['put', recordName, json, '--metadata', json], where)
    console.log(`Created key '${record.name}' (id ${record.id}${record.limit ? `, ${record.limit} points per window` : ''}) in ${place}.`)
    console.log('It is shown this once; only its SHA-256 is kept:\n')
    console.log(key)
    return 0
  }
  const keys = listKeys(where)
  if (args.command === 'list') {
    if (!keys.length) console.log(`No keys in ${place}.`)
    for (const k of keys) console.log([k.id, k.name, k.limit ?? 'default', k.created_at].join('\t'))
    return 0
  }
  const doomed = keys.filter((k) => k.name === args.name || k.id === args.name)
  if (!doomed.length) {
    console.error(`No key named or with id '${args.name}' in ${place}.`)
    return 1
  }
  for (const k of doomed) kv(['delete', k.recordName], where)
  console.log(`Revoked ${doomed.map((k) => `'${k.name}' (id ${k.id})`).join(', ')} in ${place}.`)
  return 0
}

if (process.argv[1] && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  try {
    process.exitCode = main(process.argv.slice(2))
  } catch (err) {
    console.error(String(err.stderr || err.message || err).trim())
    process.exitCode = 1
  }
}
