/**
 * @module
 * KV keys as the runtime tests see them inside workerd: by kind (the `<kind>:` prefix of every key,
 * KEYS.md) with the expiration Miniflare lists for each. Keys are found by listing, never rebuilt
 * with the product's own `cacheKey`, so a key built wrongly cannot agree with itself.
 */
import { expect } from 'vitest'

export interface ListedKey {
  name: string
  /** Unix seconds. */
  expiration?: number
}

/** Every key of `kind` in `kv`. */
export async function keysOfKind(kv: KVNamespace, kind: string): Promise<ListedKey[]> {
  const out: ListedKey[] = []
  let cursor: string | undefined
  do {
    const page = await kv.list({ prefix: `${kind}:`, ...(cursor ? { cursor } : {}) })
    out.push(...page.keys.map((k) => ({ name: k.name, ...(k.expiration !== undefined ? { expiration: k.expiration } : {}) })))
    cursor = page.list_complete ? undefined : page.cursor
  } while (cursor)
  return out
}

/** Names of every key of `kind`, to diff against later. */
export async function keyNames(kv: KVNamespace, kind: string): Promise<Set<string>> {
  return new Set((await keysOfKind(kv, kind)).map((k) => k.name))
}

/**
 * The keys of `kind` not in `before`, once at least `count` have appeared (the Workers write KV
 * after answering, in `waitUntil`).
 */
export async function newKeys(kv: KVNamespace, kind: string, before: Set<string>, count = 1, timeoutMs = 10_000): Promise<ListedKey[]> {
  const end = Date.now() + timeoutMs
  for (;;) {
    const fresh = (await keysOfKind(kv, kind)).filter((k) => !before.has(k.name))
    if (fresh.length >= count) return fresh
    if (Date.now() > end) throw new Error(`no new '${kind}' key in KV after ${timeoutMs} ms (${fresh.length} of ${count})`)
    await new Promise((r) => setTimeout(r, 50))
  }
}

/**
 * Asserts a key written between `fromMs` and `toMs` (unix ms) expires `ttlSeconds` after that, to
 * the second KV keeps.
 */
export function expectExpiresAfter(key: ListedKey, ttlSeconds: number, fromMs: number, toMs: number): void {
  expect(key.expiration, `${key.name} has an expiration`).toBeTypeOf('number')
  expect(key.expiration!, `${key.name} expires ${ttlSeconds} s after its write`).toBeGreaterThanOrEqual(Math.floor(fromMs / 1000) + ttlSeconds - 1)
  expect(key.expiration!, `${key.name} expires ${ttlSeconds} s after its write`).toBeLessThanOrEqual(Math.ceil(toMs / 1000) + ttlSeconds + 1)
}

/**
 * The TTLs KEYS.md documents, in seconds. Written out here, not read from shared/cache/ttl.ts: a
 * TTL changed in the code and not in the contract fails.
 */
export const DOCUMENTED_TTL = {
  'seq-detections': 86400,
  'img-detections': 86400,
  'mf-detections': 86400,
  'mf-bbox': 3600,
  /** Anything holding a `thumb_*_url`: those URLs expire upstream. */
  withThumbUrls: 300,
  /** An entity's fields without any URL. */
  entityNoUrls: 86400,
} as const

/** How long KEYS.md says a kind's stale copy outlives its TTL (`STALE_IF_ERROR`), in seconds. */
export const DOCUMENTED_STALE_IF_ERROR = {
  'mf-bbox': 86400,
} as const

/** Unix seconds at which a stand-in thumbnail URL expires (its `exp`). */
export function thumbUrlExpiry(url: string): number {
  const exp = Number(new URL(url).searchParams.get('exp'))
  expect(Number.isFinite(exp) && exp > 0, `${url} carries its expiry`).toBe(true)
  return exp
}
