/**
 * @module
 * Runs the whole product for end-to-end tests: the upstream stand-in on its own port, then the
 * gateway and every task Worker (from their wrangler configs) talking HTTP to it, all on workerd.
 */
import { afterAll, beforeAll } from 'vitest'
import { createTestHarness, type TestHarness } from 'wrangler'

export const TASK_CONFIGS = [
  'workers/sequence-detections/wrangler.toml',
  'workers/map-features/wrangler.toml',
  'workers/detection-geometry/wrangler.toml',
  'workers/feature-images/wrangler.toml',
  'workers/jobs/wrangler.toml',
] as const

/** The embed Worker (`/embed/…`): no upstream access, so neither the stand-in's URL nor a token. */
export const EMBED_CONFIG = 'workers/embed/wrangler.toml'

/** The upstream quota governor, which every task Worker binds across scripts (GOVERNOR). */
export const GOVERNOR_CONFIG = 'workers/governor/wrangler.toml'

/** A token the stand-in accepts; tests assert it never leaks. */
export const SERVER_TOKEN = 'MLY|4242424242|0123456789abcdef0123456789abcdef'

export interface System {
  /** The gateway's origin, e.g. http://127.0.0.1:40123 */
  url: URL
  /** The stand-in's origin. */
  upstream: URL
  gateway: TestHarness
  sandbox: TestHarness
  fetch(path: string, init?: RequestInit): Promise<Response>
  json<T = any>(path: string, init?: RequestInit): Promise<{ status: number; headers: Headers; body: T }>
  sandboxControl: SandboxControl
  close(): Promise<void>
}

export interface SandboxControl {
  /**
   * `POST /__sandbox/config` (test/stand-in/README.md), e.g. `{ maxBatchIds: 50, batchRefusal: '500',
   * detectionsExpansion: 'expand', edgePageLimit: 25 }`; `reset()` restores every default.
   */
  config(patch: Record<string, unknown>): Promise<Record<string, unknown>>
  reset(): Promise<void>
  stats(): Promise<SandboxStats>
  truthIds(bbox: string, objectValues?: string): Promise<string[]>
  world(): Promise<any>
}

export interface SandboxStats {
  requests: number
  /** Graph requests by route kind: `image_ids`, `entity`, `detections`, `map_features`, `images` (batch reads), `other`. */
  byRoute: Record<string, number>
  authorization_headers_seen: number
  query_tokens_seen: number
  /** Distinct tokens seen, as `h:<hash>` (test/stand-in/src/stats.ts `tokenHash`), first seen first. */
  tokensSeen: string[]
  statuses: Record<string, number>
  faults: Record<string, number>
  urls: string[]
  /** Each Graph request's arrival (ms), by the upstream budget it spends (test/stand-in/src/stats.ts). */
  times: { entity: number[]; search: number[] }
  perMinute: Record<string, { entity: number; search: number }>
}

export interface SystemOptions {
  /** Extra vars for every task Worker (e.g. SUBREQUEST_BUDGET). */
  vars?: Record<string, string>
  /** Server token; `null` starts the task Workers with none. */
  token?: string | null
  /** Vars of the quota governor (e.g. a small UPSTREAM_RATE_PER_MINUTE). */
  governorVars?: Record<string, string>
  /** Vars of the embed Worker (e.g. EMBED_ANCESTORS). */
  embedVars?: Record<string, string>
}

export async function startSystem(opts: SystemOptions = {}): Promise<System> {
  const sandbox = createTestHarness({ workers: [{ configPath: 'test/stand-in/wrangler.toml' }] })
  const { url: upstream } = await sandbox.listen()
  const token = opts.token === undefined ? SERVER_TOKEN : opts.token
  const gateway = createTestHarness({
    workers: [
      { configPath: 'wrangler.toml' },
      { configPath: GOVERNOR_CONFIG, ...(opts.governorVars ? { vars: opts.governorVars } : {}) },
      { configPath: EMBED_CONFIG, ...(opts.embedVars ? { vars: opts.embedVars } : {}) },
      ...TASK_CONFIGS.map((configPath) => ({
        configPath,
        vars: { MAPILLARY_GRAPH_URL: upstream.origin, ...opts.vars },
        ...(token ? { secrets: { MAPILLARY_ACCESS_TOKEN: token } } : {}),
      })),
    ],
  })
  const { url } = await gateway.listen()
  const fetchAt = (base: URL) => (path: string, init?: RequestInit) => fetch(new URL(path, base), init)
  const up = fetchAt(upstream)
  const upJson = async (path: string, init?: RequestInit) => {
    const res = await up(path, init)
    if (!res.ok) throw new Error(`sandbox ${path} → ${res.status}`)
    return res.json() as Promise<any>
  }
  const sys: System = {
    url,
    upstream,
    gateway,
    sandbox,
    fetch: fetchAt(url),
    async json(path, init) {
      const res = await fetchAt(url)(path, init)
      const text = await res.text()
      let body: any = text
      try {
        body = JSON.parse(text)
      } catch {}
      return { status: res.status, headers: res.headers, body }
    },
    sandboxControl: {
      config: (patch) => upJson('/__sandbox/config', { method: 'POST', body: JSON.stringify(patch), headers: { 'content-type': 'application/json' } }),
      reset: async () => void (await upJson('/__sandbox/reset', { method: 'POST' })),
      stats: () => upJson('/__sandbox/stats'),
      truthIds: async (bbox, objectValues) => {
        const q = new URLSearchParams({ bbox, ...(objectValues ? { object_values: objectValues } : {}) })
        return (await upJson(`/__sandbox/truth/map_features?${q}`)).ids
      },
      world: () => upJson('/__sandbox/truth/world'),
    },
    async close() {
      await Promise.allSettled([gateway.close(), sandbox.close()])
    },
  }
  return sys
}

/**
 * One system for a test file: started before its tests, closed after them.
 * @example
 * const t = useSystem()
 * it('…', async () => { const res = await t.sys.json('/healthz') })
 */
export function useSystem(opts: SystemOptions = {}): { sys: System; world: any } {
  const ctx = {} as { sys: System; world: any }
  beforeAll(async () => {
    ctx.sys = await startSystem(opts)
    ctx.world = await ctx.sys.sandboxControl.world()
  })
  afterAll(() => ctx.sys?.close())
  return ctx
}
