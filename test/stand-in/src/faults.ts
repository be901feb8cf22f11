/**
 * @module
 * Latency and fault injection of the sandbox, driven by `POST /__sandbox/config`.
 *
 * Each Graph request draws one number from a seeded PRNG: below `rate429` it answers 429 (code 4,
 * `Retry-After`), then up to `+rate500` a 500 Graph error, then up to `+rateDrop` a dropped
 * connection. A `script` of outcomes (e.g. `["429", "drop"]`) is consumed first, one per request,
 * for exact tests. `routes` limits faults to some route kinds.
 *
 * A dropped connection is a 200 with JSON headers whose body stream sends a few bytes and then
 * errors (`dropMode: "error"`, default), or stalls for `stallMs` first (`dropMode: "stall"`). On
 * workerd an errored body aborts the HTTP response mid-body, so the client's body read fails.
 */
import { z } from 'zod'
import { Rng } from './prng'
import { appLimitReached, rateLimited, serverError } from './graph-errors'
import { MAX_CROWD } from './crowd'
import { DEFAULT_MAX_BATCH_IDS } from './batch'
import { EXPANSIONS, type Expansion } from './expansion'

export const ROUTE_KINDS = ['image_ids', 'entity', 'detections', 'map_features', 'images'] as const
export type RouteKind = (typeof ROUTE_KINDS)[number]

export const FAULTS = ['ok', '429', '500', '502', '503', 'drop'] as const
export type Fault = (typeof FAULTS)[number]

const rate = z.number().min(0).max(1)

/** The body of `POST /__sandbox/config`: every key optional; `null` restores a default. */
export const configPatchSchema = z
  .object({
    latencyMs: z.number().min(0).max(120_000).nullable(),
    jitterMs: z.number().min(0).max(120_000).nullable(),
    rate429: rate,
    rate500: rate,
    rateDrop: rate,
    retryAfterSeconds: z.number().int().min(0).max(3600),
    seed: z.number().int(),
    dropMode: z.enum(['error', 'stall']),
    stallMs: z.number().int().min(0).max(300_000),
    routes: z.array(z.enum(ROUTE_KINDS)).nullable(),
    script: z.array(z.enum(FAULTS)).max(10_000),
    thumbTtlSeconds: z.number().int().min(-86_400).max(30 * 86_400),
    pile: z.object({ lon: z.number().min(-180).max(180), lat: z.number().min(-85).max(85), count: z.number().int().min(1).max(10_000) }).strict().nullable(),
    crowd: z.object({ count: z.number().int().min(1).max(MAX_CROWD) }).strict().nullable(),
    rejectTokens: z.array(z.string().regex(/^h:[0-9a-f]{8}$/)).max(100),
    code4Storm: z.object({ seconds: z.number().min(0).max(3600), retryAfter: z.boolean().optional() }).strict().nullable(),
    maxBatchIds: z.number().int().min(1).max(10_000).nullable(),
    batchRefusal: z.enum(['400', '500']).nullable(),
    detectionsExpansion: z.enum(EXPANSIONS).nullable(),
    edgePageLimit: z.number().int().min(1).max(10_000).nullable(),
  })
  .partial()
  .strict()
export type ConfigPatch = z.infer<typeof configPatchSchema>

export interface SandboxConfig {
  /** null: use the SANDBOX_LATENCY_MS var. */
  latencyMs: number | null
  /** null: use the SANDBOX_JITTER_MS var. */
  jitterMs: number | null
  rate429: number
  rate500: number
  rateDrop: number
  retryAfterSeconds: number
  seed: number
  dropMode: 'error' | 'stall'
  stallMs: number
  /** Route kinds faults apply to; null: all. */
  routes: RouteKind[] | null
  /** Outcomes for the next Graph requests, consumed first-in first-out before the random faults. */
  script: Fault[]
  /** Lifetime of thumbnail URLs (their `exp`). */
  thumbTtlSeconds: number
  /** Extra map features, all on one point (more than the cap there: no request can be complete). */
  pile: { lon: number; lat: number; count: number } | null
  /** One map feature seen in `count` generated images, reachable by id only (see `crowd.ts`). */
  crowd: { count: number } | null
  /**
   * Tokens answered 401 code 190 although they look valid, named by their stats hash (`h:…`, see
   * `tokenHash`), never in clear: lets a test reject one client's token while the server's works.
   */
  rejectTokens: string[]
  /**
   * A code-4 storm: for `seconds` from when it was configured, every Graph request answers the
   * app limit (HTTP 403, code 4, as the real service), with `Retry-After` the seconds left (unless
   * `retryAfter: false`). `until` is when it ends (ms since the epoch), filled in by configure.
   */
  code4Storm: { seconds: number; retryAfter?: boolean; until?: number } | null
  /** Most ids one `GET /images?image_ids=` may ask (counted as written); more are refused. */
  maxBatchIds: number
  /** How a too-long id list is refused: 400 Graph code 100 "Too many ids …", or a 500 Graph error code 1. */
  batchRefusal: '400' | '500'
  /** What the image field `detections.x` does: `expand`, `ids` (ids only, as a recorded real answer), `refuse` (see `expansion.ts`). */
  detectionsExpansion: Expansion
  /** Most items of an expanded edge in one answer; longer edges are paged (`expand` only). */
  edgePageLimit: number
}

export const DEFAULT_CONFIG: SandboxConfig = {
  latencyMs: null,
  jitterMs: null,
  rate429: 0,
  rate500: 0,
  rateDrop: 0,
  retryAfterSeconds: 1,
  seed: 1,
  dropMode: 'error',
  stallMs: 30_000,
  routes: null,
  script: [],
  thumbTtlSeconds: 3600,
  pile: null,
  crowd: null,
  rejectTokens: [],
  code4Storm: null,
  maxBatchIds: DEFAULT_MAX_BATCH_IDS,
  batchRefusal: '400',
  detectionsExpansion: 'ids',
  edgePageLimit: 25,
}

export interface LatencyVars {
  SANDBOX_LATENCY_MS?: string
  SANDBOX_JITTER_MS?: string
}

const nonNegative = (raw: string | undefined): number => {
  const n = Number(raw)
  return Number.isFinite(n) && n > 0 ? n : 0
}

/** Holds the config and the seeded fault generator. One per isolate (module scope in index.ts). */
export class FaultInjector {
  config: SandboxConfig = structuredClone(DEFAULT_CONFIG)
  private rng = new Rng(DEFAULT_CONFIG.seed)

  /** Applies a validated patch; a new `seed` restarts the fault sequence. */
  configure(patch: ConfigPatch): SandboxConfig {
    for (const [key, value] of Object.entries(patch)) {
      if (value === undefined) continue
      const k = key as keyof SandboxConfig
      ;(this.config as unknown as Record<string, unknown>)[k] = value === null ? DEFAULT_CONFIG[k] : value
    }
    if (patch.seed !== undefined) this.rng = new Rng(this.config.seed)
    if (this.config.code4Storm && patch.code4Storm) this.config.code4Storm = { ...this.config.code4Storm, until: Date.now() + this.config.code4Storm.seconds * 1000 }
    return this.config
  }

  /** While a code-4 storm lasts, its answer (the app limit); else undefined. */
  storm(now = Date.now()): Response | undefined {
    const s = this.config.code4Storm
    if (!s?.until || now >= s.until) return undefined
    return appLimitReached(s.retryAfter === false ? undefined : Math.max(1, Math.ceil((s.until - now) / 1000)))
  }

  reset(): void {
    this.config = structuredClone(DEFAULT_CONFIG)
    this.rng = new Rng(this.config.seed)
  }

  /** The config with the effective latency filled in from the vars. */
  effective(vars: LatencyVars): SandboxConfig & { effectiveLatencyMs: number; effectiveJitterMs: number } {
    return {
      ...this.config,
      effectiveLatencyMs: this.config.latencyMs ?? nonNegative(vars.SANDBOX_LATENCY_MS),
      effectiveJitterMs: this.config.jitterMs ?? nonNegative(vars.SANDBOX_JITTER_MS),
    }
  }

  /** Milliseconds to wait before answering: latency ± jitter, never negative. */
  delayMs(vars: LatencyVars): number {
    const { effectiveLatencyMs: base, effectiveJitterMs: jitter } = this.effective(vars)
    if (base === 0 && jitter === 0) return 0
    return Math.max(0, base + (jitter > 0 ? (Math.random() * 2 - 1) * jitter : 0))
  }

  /** The outcome for the next Graph request of this kind. */
  decide(route: RouteKind | 'other'): Fault {
    const c = this.config
    if (c.routes && !c.routes.includes(route as RouteKind)) return 'ok'
    const scripted = c.script.shift()
    if (scripted !== undefined) return scripted
    if (c.rate429 === 0 && c.rate500 === 0 && c.rateDrop === 0) return 'ok'
    const r = this.rng.next()
    if (r < c.rate429) return '429'
    if (r < c.rate429 + c.rate500) return '500'
    if (r < c.rate429 + c.rate500 + c.rateDrop) return 'drop'
    return 'ok'
  }

  /** The response for a fault (never called with 'ok'). */
  respond(fault: Exclude<Fault, 'ok'>): Response {
    switch (fault) {
      case '429':
        return rateLimited(this.config.retryAfterSeconds)
      case '500':
      case '502':
      case '503':
        return serverError(Number(fault) as 500 | 502 | 503)
      case 'drop':
        return droppedResponse(this.config.dropMode === 'stall' ? this.config.stallMs : 0)
    }
  }
}

/**
 * A 200 with JSON headers whose body breaks: a few bytes, then (after `stallMs`) a stream error.
 * The reader sees a valid status and headers and then a failing body read.
 */
export function droppedResponse(stallMs = 0): Response {
  let sent = false
  const body = new ReadableStream<Uint8Array>({
    async pull(controller) {
      if (!sent) {
        sent = true
        controller.enqueue(new TextEncoder().encode('{"data":[{"id":"'))
        return
      }
      await new Promise((r) => setTimeout(r, Math.max(stallMs, 5)))
      controller.error(new Error('mly-sandbox: connection dropped (injected fault)'))
    },
  })
  return new Response(body, { status: 200, headers: { 'content-type': 'application/json' } })
}

export const sleep = (ms: number): Promise<void> => (ms > 0 ? new Promise((r) => setTimeout(r, ms)) : Promise.resolve())
