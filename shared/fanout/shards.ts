/**
 * @module
 * How many child Durable Objects a fan-out uses, and which items each gets. One invocation holds
 * at most 6 upstream connections; K children hold 6K, so a long list finishes about K times
 * sooner, while each child still keeps to its own subrequest budget.
 */

export interface ShardSettings {
  /** Most children one fan-out uses (upstream concurrency is 6 × this). */
  maxShards: number
  /** Fewest items worth a child of their own. */
  minPerShard: number
}

/** The Worker settings read here (strings, as wrangler vars are). */
export interface ShardVars {
  MAX_SHARDS?: string
  MIN_ITEMS_PER_SHARD?: string
}

/** 4 × 6 = 24 upstream connections at most: well under Mapillary's per-app rate limits. */
export const DEFAULT_SHARDS: ShardSettings = { maxShards: 4, minPerShard: 12 }

export function shardSettings(vars: ShardVars): ShardSettings {
  const num = (s: string | undefined, fallback: number) => {
    const n = Number(s)
    return s !== undefined && s !== '' && Number.isFinite(n) && n >= 1 ? Math.floor(n) : fallback
  }
  return { maxShards: num(vars.MAX_SHARDS, DEFAULT_SHARDS.maxShards), minPerShard: num(vars.MIN_ITEMS_PER_SHARD, DEFAULT_SHARDS.minPerShard) }
}

/**
 * Children for `items` items: as many as `minPerShard` allows, at most `maxShards`, at least 1.
 * @example shardCount(1250, { maxShards: 4, minPerShard: 12 }) // 4
 * @example shardCount(30, { maxShards: 4, minPerShard: 12 })   // 2
 */
export function shardCount(items: number, s: ShardSettings): number {
  return Math.max(1, Math.min(s.maxShards, Math.floor(items / s.minPerShard)))
}

/**
 * `items` in `k` contiguous parts, in order, sizes differing by at most one.
 * @example partition([1, 2, 3, 4, 5], 2) // [[1, 2, 3], [4, 5]]
 */
export function partition<T>(items: readonly T[], k: number): T[][] {
  const parts = Math.max(1, Math.min(Math.floor(k), items.length || 1))
  const out: T[][] = []
  let start = 0
  for (let i = 0; i < parts; i++) {
    const size = Math.floor(items.length / parts) + (i < items.length % parts ? 1 : 0)
    out.push(items.slice(start, start + size))
    start += size
  }
  return out
}
