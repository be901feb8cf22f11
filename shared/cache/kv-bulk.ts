/**
 * @module
 * Many KV keys read at once: a `KVNamespace` takes up to 100 keys in one `get` and answers a Map
 * (one operation, one subrequest on the platform); a binding or fake without it is read key by key.
 * And a bound on the KV operations of one invocation ({@link KvBudget}): the platform allows 1,000
 * subrequests to Cloudflare services per invocation on the free plan, KV's among them.
 */
import type { KVLike } from './kv'

/** Most keys one KV bulk read takes. */
export const KV_BULK_KEYS = 100

/** Thrown when a KV read does not fit in its {@link KvBudget}: a read is never skipped silently. */
export class KvBudgetExhausted extends Error {
  constructor(readonly limit: number) {
    super(`KV budget of ${limit} operations spent`)
    this.name = 'KvBudgetExhausted'
  }
}

/**
 * The KV operations one invocation may still make (reads and writes alike, each a subrequest).
 * A read that does not fit throws {@link KvBudgetExhausted} (the caller runs it in a later
 * invocation); a write that does not fit is not made and is counted in `skipped` (writes here are
 * caches: a lost one costs a later upstream request, nothing more).
 *
 * @example
 * const budget = new KvBudget(800)
 * await readTexts(env.CACHE, keys, budget) // budget.reads === ceil(keys.length / 100)
 * if (budget.write()) await env.CACHE.put(key, text) // else budget.skipped === 1
 */
export class KvBudget {
  reads = 0
  writes = 0
  skipped = 0
  constructor(readonly limit: number) {}

  /** Operations left. */
  get left(): number {
    return this.limit - this.reads - this.writes
  }

  /** Takes `n` reads, or throws {@link KvBudgetExhausted} and takes none. */
  read(n = 1): void {
    if (n > this.left) throw new KvBudgetExhausted(this.limit)
    this.reads += n
  }

  /** Takes one write: true when it fits, else false (counted in `skipped`). */
  write(): boolean {
    if (this.left < 1) {
      this.skipped++
      return false
    }
    this.writes++
    return true
  }
}

/** Counts `n` reads in `ops`: taken from it when it is a {@link KvBudget} (throwing when they do not fit). */
function countReads(ops: { reads: number }, n: number): void {
  if (ops instanceof KvBudget) ops.read(n)
  else ops.reads += n
}

/**
 * The stored texts of `keys` (absent ones missing from the map): bulk reads of ≤ 100 keys, else
 * one read per key. Each operation is counted in `ops.reads`; when `ops` is a {@link KvBudget}, a
 * read past it throws {@link KvBudgetExhausted} before it is made. A failing KV holds nothing (no error).
 *
 * @example
 * const ops = { reads: 0 }
 * const texts = await readTexts(env.CACHE, [keyA, keyB], ops) // Map { keyA → '…' }, ops.reads === 1
 */
export async function readTexts(kv: KVLike | undefined, keys: readonly string[], ops: { reads: number } = { reads: 0 }): Promise<Map<string, string>> {
  const out = new Map<string, string>()
  if (!kv || keys.length === 0) return out
  const bulk = kv as unknown as { get(keys: string[], type: 'text'): Promise<unknown> }
  for (let i = 0; i < keys.length; i += KV_BULK_KEYS) {
    const group = keys.slice(i, i + KV_BULK_KEYS)
    countReads(ops, 1)
    let got: unknown
    try {
      got = await bulk.get(group, 'text')
    } catch {
      got = undefined
    }
    if (got instanceof Map) {
      for (const [k, v] of got as Map<string, unknown>) if (typeof v === 'string') out.set(k, v)
      continue
    }
    // No bulk reads here: one read per key, side by side (all taken from the budget first).
    countReads(ops, group.length)
    await Promise.all(
      group.map(async (k) => {
        try {
          const v = await kv.get(k, 'text')
          if (v !== null) out.set(k, v)
        } catch {
          // Nothing kept, as far as we can tell.
        }
      }),
    )
  }
  return out
}
