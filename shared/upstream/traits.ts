/**
 * @module
 * What we learned about the upstream's behaviour (the most ids a batch read takes, whether it
 * expands `detections`), remembered for a while in KV and in the isolate's memory, so later
 * questions neither probe nor get refused again. Keyed by the upstream's URL, never by a token.
 */

/** The upstream's behaviours we adapt to; absent: not known (or forgotten). */
export interface UpstreamTraits {
  /** The most ids a `/images?image_ids=` read was seen to take (a larger one was refused). */
  batchMax?: number
  /** What `fields=…,detections.value,…` gives: the asked subfields, ids only, or a refusal. */
  detectionsExpansion?: 'expanded' | 'ids-only' | 'refused'
}

/** The slice of a `KVNamespace` the traits use (best effort: a failing KV just forgets). */
export interface TraitsKV {
  get(key: string, type: 'text'): Promise<string | null>
  put(key: string, value: string, opts?: { expirationTtl?: number }): Promise<void>
  delete?(key: string): Promise<void>
}

export interface TraitsOptions {
  /** How long a patched trait is remembered; at least KV's 60 s. Default {@link TRAITS_TTL_SECONDS}. */
  ttlSeconds?: number
  /** Clock (ms). Default Date.now. */
  now?: () => number
  /** The per-isolate memory; default one module-wide map (tests pass their own). */
  memory?: TraitsMemory
}

/** Per isolate: the stored traits of each key, and when to look in KV again for the ones it lacks. */
export type TraitsMemory = Map<string, { traits: StoredTraits; recheckAt: number }>

/** An upstream can change its behaviour: what we learned is asked again after an hour. */
export const TRAITS_TTL_SECONDS = 3600

type TraitName = keyof UpstreamTraits
/** Each trait with the time (ms) it is forgotten: one patch never extends another trait's life. */
export type StoredTraits = { [K in TraitName]?: { value: NonNullable<UpstreamTraits[K]>; until: number } }

const ISOLATE_MEMORY: TraitsMemory = new Map()
/** A trait this isolate does not know may have been learned by another: KV is asked again after this. */
const RECHECK_MS = 60_000
const EXPANSIONS: ReadonlySet<string> = new Set(['expanded', 'ids-only', 'refused'])

/** KV's shortest `expirationTtl`. */
const KV_MIN_TTL_SECONDS = 60

/**
 * The KV key of an upstream's traits (shared/cache/KEYS.md): `upstream-traits:v1:<sha256 hex>` of
 * the canonical parts `{"upstream": <origin and path>}`, the shape `cacheKey` makes (shared/cache
 * uses shared/upstream, so this folder does not use it back). No query, no credentials, no token.
 * @example await traitsKey('https://graph.mapillary.com') // 'upstream-traits:v1:…' (64 hex digits)
 */
export async function traitsKey(baseUrl: string): Promise<string> {
  const canonical = JSON.stringify({ upstream: upstreamOf(baseUrl) })
  const digest = await crypto.subtle.digest('SHA-256', new TextEncoder().encode(canonical))
  return `upstream-traits:v1:${[...new Uint8Array(digest)].map((b) => b.toString(16).padStart(2, '0')).join('')}`
}

/** Whole seconds, at least KV's minimum. */
function clampTtl(seconds: number): number {
  return Number.isFinite(seconds) ? Math.max(KV_MIN_TTL_SECONDS, Math.ceil(seconds)) : KV_MIN_TTL_SECONDS
}

/**
 * What is remembered of the upstream at `baseUrl`, unexpired: from the isolate's memory, else KV
 * (then kept in memory until the same expiry). A KV failure reads as nothing remembered.
 *
 * @example
 * const { batchMax } = await readTraits(env.CACHE, env.MAPILLARY_GRAPH_URL)
 * const batch = Math.min(batchIdsSetting(env), batchMax ?? Infinity)
 */
export async function readTraits(kv: TraitsKV | undefined, baseUrl: string, opts: TraitsOptions = {}): Promise<UpstreamTraits> {
  const now = (opts.now ?? Date.now)()
  return valuesOf(await stored(kv, await traitsKey(baseUrl), now, opts.memory ?? ISOLATE_MEMORY), now)
}

/**
 * Remembers `patch` (its defined members) for `ttlSeconds` beside what is already remembered, in
 * memory at once and in KV (awaited; best effort).
 *
 * @example
 * await rememberTraits(env.CACHE, env.MAPILLARY_GRAPH_URL, { detectionsExpansion: 'ids-only' })
 */
export async function rememberTraits(kv: TraitsKV | undefined, baseUrl: string, patch: UpstreamTraits, opts: TraitsOptions = {}): Promise<void> {
  const now = (opts.now ?? Date.now)()
  const memory = opts.memory ?? ISOLATE_MEMORY
  const ttl = clampTtl(opts.ttlSeconds ?? TRAITS_TTL_SECONDS)
  const key = await traitsKey(baseUrl)
  const next: StoredTraits = { ...(await stored(kv, key, now, memory)) }
  const until = now + ttl * 1000
  if (validBatchMax(patch.batchMax)) next.batchMax = { value: patch.batchMax, until }
  if (patch.detectionsExpansion !== undefined && EXPANSIONS.has(patch.detectionsExpansion)) next.detectionsExpansion = { value: patch.detectionsExpansion, until }
  memory.set(key, { traits: next, recheckAt: now + RECHECK_MS })
  if (!kv) return
  const last = Math.max(...Object.values(next).map((t) => t.until))
  try {
    await kv.put(key, JSON.stringify(next), { expirationTtl: clampTtl((last - now) / 1000) })
  } catch {
    // Best effort: forgetting costs one probe or one refusal later, nothing more.
  }
}

/**
 * Ids per `/images` request now: `setting` (`BATCH_IDS`), or the smaller size the upstream was seen
 * to take (its remembered `batchMax`).
 * @example const size = await batchSizeNow(env.CACHE, env.MAPILLARY_GRAPH_URL, batchIdsSetting(env))
 */
export async function batchSizeNow(kv: TraitsKV | undefined, baseUrl: string, setting: number): Promise<number> {
  return Math.max(1, Math.min(setting, (await readTraits(kv, baseUrl)).batchMax ?? Infinity))
}

/**
 * A read's `onSmaller` and what then remembers the last size it told as `batchMax` (nothing when
 * it told none), for `readImages` and the reads built on it.
 * @example const learn = learnBatchMax(kv, baseUrl); await readImages(client, ids, fields, { batch, onSmaller: learn.onSmaller }).finally(learn.remember)
 */
export function learnBatchMax(kv: TraitsKV | undefined, baseUrl: string): { onSmaller: (batch: number) => void; remember: () => Promise<void> } {
  let learned: number | undefined
  return {
    onSmaller: (batch) => void (learned = batch),
    remember: async () => {
      if (learned !== undefined) await rememberTraits(kv, baseUrl, { batchMax: learned })
    },
  }
}

/**
 * Forgets everything learned of the upstream at `baseUrl`, in this isolate and in KV (an operator
 * who knows the upstream changed; tests that need a fresh start).
 * @example await forgetTraits(env.CACHE, env.MAPILLARY_GRAPH_URL)
 */
export async function forgetTraits(kv: TraitsKV | undefined, baseUrl: string, opts: Pick<TraitsOptions, 'memory'> = {}): Promise<void> {
  const key = await traitsKey(baseUrl)
  ;(opts.memory ?? ISOLATE_MEMORY).delete(key)
  try {
    await kv?.delete?.(key)
  } catch {
    // Best effort, like every KV write here.
  }
}

/** The unexpired stored traits: memory when it holds the key, else KV's (then kept in memory). */
async function stored(kv: TraitsKV | undefined, key: string, now: number, memory: TraitsMemory): Promise<StoredTraits> {
  const held = memory.get(key)
  if (held) {
    const known = unexpired(held.traits, now)
    // Both known, or looked up lately: no KV read (KV reads are subrequests too).
    if ((known.batchMax && known.detectionsExpansion) || now < held.recheckAt) return known
  }
  let text: string | null = null
  try {
    text = kv ? await kv.get(key, 'text') : null
  } catch {
    text = null
  }
  // What this isolate learned itself and KV does not hold yet (a lost write) stays known.
  const read = { ...(held ? unexpired(held.traits, now) : {}), ...unexpired(parse(text), now) }
  memory.set(key, { traits: read, recheckAt: now + RECHECK_MS })
  return read
}

function unexpired(s: StoredTraits, now: number): StoredTraits {
  const out: StoredTraits = {}
  if (s.batchMax && s.batchMax.until > now) out.batchMax = s.batchMax
  if (s.detectionsExpansion && s.detectionsExpansion.until > now) out.detectionsExpansion = s.detectionsExpansion
  return out
}

function valuesOf(s: StoredTraits, now: number): UpstreamTraits {
  const u = unexpired(s, now)
  return { ...(u.batchMax ? { batchMax: u.batchMax.value } : {}), ...(u.detectionsExpansion ? { detectionsExpansion: u.detectionsExpansion.value } : {}) }
}

/** A stored value read defensively: anything malformed is nothing remembered. */
function parse(text: string | null): StoredTraits {
  if (!text) return {}
  try {
    const o = JSON.parse(text) as Record<string, { value?: unknown; until?: unknown } | undefined>
    const out: StoredTraits = {}
    const b = o.batchMax
    if (b && validBatchMax(b.value) && typeof b.until === 'number') out.batchMax = { value: b.value, until: b.until }
    const d = o.detectionsExpansion
    if (d && typeof d.value === 'string' && EXPANSIONS.has(d.value) && typeof d.until === 'number') {
      out.detectionsExpansion = { value: d.value as NonNullable<UpstreamTraits['detectionsExpansion']>, until: d.until }
    }
    return out
  } catch {
    return {}
  }
}

function validBatchMax(n: unknown): n is number {
  return typeof n === 'number' && Number.isInteger(n) && n >= 1
}

/** Origin and path of the upstream URL, without query, fragment or credentials. */
function upstreamOf(baseUrl: string): string {
  try {
    const u = new URL(baseUrl)
    return `${u.protocol}//${u.host}${u.pathname.replace(/\/+$/, '')}`
  } catch {
    return baseUrl.replace(/[?#].*$/, '').replace(/\/+$/, '')
  }
}
