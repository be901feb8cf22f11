/**
 * @module
 * KVLike: the slice of a Workers `KVNamespace` the cache uses (structural, so tests pass a Map).
 */

/** Any `KVNamespace` fits; so does a small in-memory fake. */
export interface KVLike {
  get(key: string, type: 'text'): Promise<string | null>
  put(key: string, value: string, opts?: { expirationTtl?: number; metadata?: unknown }): Promise<void>
  /** The value and the metadata it was put with (stale-if-error reads when it was written); optional for fakes. */
  getWithMetadata?(key: string, type: 'text'): Promise<{ value: string | null; metadata: unknown }>
}

/** Workers KV limits (docs/workers-platform.md). */
export const KV_LIMITS = {
  /** Largest value. */
  maxValueBytes: 25 * 1024 * 1024,
  /** Longest key. */
  maxKeyBytes: 512,
  /** Shortest `expirationTtl` KV accepts (also enforced locally). */
  minTtlSeconds: 60,
} as const
