/**
 * @module
 * Time moved ahead inside a runtime test: for the TTLs a Worker keeps in KV.
 */
import { vi } from 'vitest'

/**
 * Moves this isolate's clock (the Worker's and its objects' `Date.now`, which run in the test's
 * isolate) `seconds` ahead, real timers still running, and makes `kv` what it would be then: local
 * KV expires entries on its own (real) clock, so the entries whose expiration has passed by the
 * new time are deleted here. Undo with `vi.useRealTimers()`.
 *
 * @example
 * await later(env.CACHE, 86_400 + 60) // a day and a minute on: day-long entries are gone
 */
export async function later(kv: KVNamespace, seconds: number): Promise<void> {
  const now = Date.now() + seconds * 1000
  vi.useFakeTimers({ toFake: ['Date'], shouldAdvanceTime: true })
  vi.setSystemTime(now)
  let cursor: string | undefined
  do {
    const page = await kv.list({ cursor })
    for (const key of page.keys) if (key.expiration !== undefined && key.expiration * 1000 <= now) await kv.delete(key.name)
    cursor = page.list_complete ? undefined : page.cursor
  } while (cursor)
}
