import { describe, expect, it } from 'vitest'
import { DEFAULT_SHARDS, partition, shardCount, shardSettings } from './shards'

describe('shardCount', () => {
  it('one child per minPerShard items, between 1 and maxShards', () => {
    const s = { maxShards: 4, minPerShard: 25 }
    expect([0, 1, 49, 50, 74, 75, 100, 1250].map((n) => shardCount(n, s))).toEqual([1, 1, 1, 2, 2, 3, 4, 4])
    expect(shardCount(1250, { maxShards: 1, minPerShard: 25 })).toBe(1)
  })
})

describe('partition', () => {
  it('keeps order, covers every item once, sizes within one of each other', () => {
    for (const [n, k] of [[0, 3], [1, 4], [5, 2], [50, 2], [1250, 4], [7, 7], [3, 10]] as const) {
      const items = Array.from({ length: n }, (_, i) => i)
      const parts = partition(items, k)
      expect(parts.flat()).toEqual(items)
      expect(parts.length).toBe(Math.max(1, Math.min(k, n)))
      const sizes = parts.map((p) => p.length)
      expect(Math.max(...sizes) - Math.min(...sizes)).toBeLessThanOrEqual(1)
    }
    expect(partition([1, 2, 3, 4, 5], 2)).toEqual([[1, 2, 3], [4, 5]])
  })
})

describe('shardSettings', () => {
  it('reads the vars, falls back on the defaults for missing or nonsense values', () => {
    expect(shardSettings({})).toEqual(DEFAULT_SHARDS)
    expect(shardSettings({ MAX_SHARDS: '8', MIN_ITEMS_PER_SHARD: '300' })).toEqual({ maxShards: 8, minPerShard: 300 })
    expect(shardSettings({ MAX_SHARDS: '0', MIN_ITEMS_PER_SHARD: 'x' })).toEqual(DEFAULT_SHARDS)
    expect(shardSettings({ MAX_SHARDS: '2.7' }).maxShards).toBe(2)
  })

  it('takes 1 (one child, no fan-out) and refuses Infinity', () => {
    expect(shardSettings({ MAX_SHARDS: '1', MIN_ITEMS_PER_SHARD: '1' })).toEqual({ maxShards: 1, minPerShard: 1 })
    expect(shardSettings({ MAX_SHARDS: 'Infinity', MIN_ITEMS_PER_SHARD: '1e999' })).toEqual({ maxShards: 4, minPerShard: 12 })
  })
})
