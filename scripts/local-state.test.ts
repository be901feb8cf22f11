/**
 * @module Local state kept per upstream, and local logs bounded (scripts/local-state.mjs).
 * Regression tests for issue 9: a KV cache filled from the sample world answered for a real
 * upstream, and the local log store grew to 236 MB in an afternoon.
 */
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, truncateSync, utimesSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import path from 'node:path'
import { describe, expect, it } from 'vitest'
import { boundLocalLogs, capDir, persistDir, prepareStateDir, pruneLogs, readSettings, upstreamName } from './local-state.mjs'

const tmp = () => mkdtempSync(path.join(tmpdir(), 'mly-local-state-'))
const TOKEN = 'MLY|4242424242|0123456789abcdef0123456789abcdef'

describe('persistDir: one state directory per upstream', () => {
  it('keeps the sample world apart from any configured upstream', () => {
    const root = tmp()
    const sample = readSettings(root, {})
    expect(sample.sample).toBe(true)
    expect(persistDir(sample)).toBe('.wrangler/state/sample')
    // A real token alone means the real Graph API: not the sample world's directory.
    const real = persistDir(readSettings(root, { MAPILLARY_ACCESS_TOKEN: TOKEN }))
    expect(real).toMatch(/^\.wrangler\/state\/upstream-[0-9a-f]{12}$/)
    expect(persistDir(readSettings(root, { MAPILLARY_GRAPH_URL: 'https://graph.mapillary.com', MAPILLARY_ACCESS_TOKEN: TOKEN }))).toBe(real)
    // sha256('https://graph.mapillary.com'), computed outside this code (`printf %s … | sha256sum`).
    expect(real).toBe('.wrangler/state/upstream-7ac31005befd')
    // Another root (a test's, a load run's): the same names under it.
    expect(persistDir(readSettings(root, { MLY_EDGE_STATE_ROOT: '/tmp/x' }))).toBe('/tmp/x/sample')
    expect(persistDir(readSettings(root, { MLY_EDGE_STATE_ROOT: '/tmp/x', MAPILLARY_ACCESS_TOKEN: TOKEN }))).toBe('/tmp/x/upstream-7ac31005befd')
  })

  it('gives another upstream another directory, and the same upstream however its URL is written', () => {
    const dir = (url: string) => persistDir({ sample: false, graphUrl: url })
    expect(dir('http://127.0.0.1:9000')).not.toBe(dir('http://127.0.0.1:9001'))
    expect(dir('https://graph.mapillary.com')).not.toBe(dir('https://graph.example.org'))
    expect(dir('https://Graph.Mapillary.com/')).toBe(dir('https://graph.mapillary.com'))
    expect(dir('https://graph.mapillary.com:443')).toBe(dir('https://graph.mapillary.com'))
  })

  it('depends on no token: neither the server token nor one put in the URL', () => {
    const withToken = persistDir(readSettings(tmp(), { MAPILLARY_GRAPH_URL: 'https://graph.mapillary.com', MAPILLARY_ACCESS_TOKEN: TOKEN }))
    const otherToken = persistDir(readSettings(tmp(), { MAPILLARY_GRAPH_URL: 'https://graph.mapillary.com', MAPILLARY_ACCESS_TOKEN: 'MLY|1|other' }))
    expect(otherToken).toBe(withToken)
    expect(persistDir({ sample: false, graphUrl: `https://u:p@graph.mapillary.com/?access_token=${encodeURIComponent(TOKEN)}#x` })).toBe(withToken)
    expect(upstreamName(`https://u:${encodeURIComponent(TOKEN)}@graph.mapillary.com/v4/?access_token=${encodeURIComponent(TOKEN)}`)).toBe('https://graph.mapillary.com/v4')
  })

  it('reads .dev.vars, the environment winning', () => {
    const root = tmp()
    writeFileSync(path.join(root, '.dev.vars'), `MAPILLARY_GRAPH_URL = "http://127.0.0.1:9000"\nPORT=9100\n`)
    expect(readSettings(root, {})).toMatchObject({ sample: false, graphUrl: 'http://127.0.0.1:9000', port: 9100, sandboxPort: 8799 })
    expect(readSettings(root, { PORT: '9200' }).port).toBe(9200)
  })

  it('notes in the directory which upstream it holds, never a token', () => {
    const root = tmp()
    const dir = prepareStateDir(root, { sample: false, graphUrl: `https://graph.mapillary.com/?access_token=${TOKEN}`, token: TOKEN })
    const note = readFileSync(path.join(root, dir, 'UPSTREAM'), 'utf8')
    expect(note).toBe('https://graph.mapillary.com\n')
    expect(readFileSync(path.join(root, prepareStateDir(root, { sample: true }), 'UPSTREAM'), 'utf8')).toBe('the sample world (test/stand-in)\n')
  })
})

describe('local logs are bounded at start', () => {
  const DAY = 24 * 3600 * 1000
  /** A log file of `kb` KiB, last written `daysAgo` days before `now`. */
  function log(dir: string, name: string, kb: number, daysAgo: number, now: number) {
    writeFileSync(path.join(dir, name), 'x'.repeat(kb * 1024))
    const t = (now - daysAgo * DAY) / 1000
    utimesSync(path.join(dir, name), t, t)
  }

  it('pruneLogs drops files past the age, then the oldest past the size', () => {
    const dir = tmp()
    const now = Date.now()
    log(dir, 'a-8-days.log', 1, 8, now)
    log(dir, 'b-3-days.log', 40, 3, now)
    log(dir, 'c-2-days.log', 40, 2, now)
    log(dir, 'd-1-day.log', 40, 1, now)
    log(dir, 'e-now.log', 10, 0, now)
    const removed = pruneLogs(dir, { maxBytes: 100 * 1024, maxAgeMs: 7 * DAY, now })
    expect(removed.sort()).toEqual(['a-8-days.log', 'b-3-days.log'])
    expect(readdirSync(dir).sort()).toEqual(['c-2-days.log', 'd-1-day.log', 'e-now.log'])
    expect(pruneLogs(path.join(dir, 'none'))).toEqual([])
  })

  it('capDir empties a store past its cap and leaves a smaller one', () => {
    const dir = tmp()
    mkdirSync(path.join(dir, 'store', 'inner'), { recursive: true })
    writeFileSync(path.join(dir, 'store', 'inner', 'trace.sqlite'), Buffer.alloc(3000))
    writeFileSync(path.join(dir, 'store', 'meta'), Buffer.alloc(1000))
    expect(capDir(path.join(dir, 'store'), 4000)).toBe(0)
    expect(existsSync(path.join(dir, 'store', 'meta'))).toBe(true)
    expect(capDir(path.join(dir, 'store'), 3999)).toBe(4000)
    expect(existsSync(path.join(dir, 'store'))).toBe(false)
  })

  it('boundLocalLogs caps the Workers Logs store of each state directory and keeps its KV and objects', () => {
    const root = tmp()
    const obs = path.join(root, '.wrangler/state/sample/v3/observability/miniflare-wobs-trace-store')
    const kv = path.join(root, '.wrangler/state/sample/v3/kv/mly-edge-cache')
    mkdirSync(obs, { recursive: true })
    mkdirSync(kv, { recursive: true })
    // 65 MB, past the 64 MB cap (sparse: its size without writing it).
    writeFileSync(path.join(obs, 'trace.sqlite-wal'), '')
    truncateSync(path.join(obs, 'trace.sqlite-wal'), 65 * 1024 * 1024)
    writeFileSync(path.join(kv, 'blob'), 'cached answer')
    const notes = boundLocalLogs(root, ['.wrangler/state/sample'])
    expect(notes).toEqual(['emptied the local Workers Logs store of .wrangler/state/sample (65 MB)'])
    expect(existsSync(obs)).toBe(false)
    expect(readFileSync(path.join(kv, 'blob'), 'utf8')).toBe('cached answer')
    expect(boundLocalLogs(root, ['.wrangler/state/sample'])).toEqual([])
  })
})
