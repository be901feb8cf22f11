/**
 * @module
 * Many KV keys read at once: a `KVNamespace` takes up to 100 keys in one `get` and answers a Map
 * (one operation, one subrequest on the platform); a binding or fake without it is read key by key.
 */
import type { KVLike } from './kv'

/** Most keys one KV bulk read takes. */
export const KV_BULK_KEYS = 100

/**
 * The stored texts of `keys` (absent ones missing from the map): bulk reads of ≤ 100 keys, else
 * one read per key. Each operation is counted in `ops.reads`. A failing KV holds nothing (no error).
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
    ops.reads++
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
    // No bulk reads here: one read per key, side by side.
    await Promise.all(
      group.map(async (k) => {
        ops.reads++
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
