/**
 * @module
 * Upstream permits on the client's side: what a GraphClient asks before each fetch attempt
 * ({@link PermitSource}), and the one that takes them in batches from the quota governor's
 * Durable Object, keeps them locally and spends one per attempt ({@link GovernedPermits}).
 */
import type { Grant, PermitKind } from './permit-bucket'

export type { PermitKind, Grant } from './permit-bucket'

/** A permit refused: nothing was fetched; ask again after this. */
export interface PermitRefusal {
  retryAfterSeconds: number
}

/** What a GraphClient needs from a quota governor (injected; absent: no pacing). */
export interface PermitSource {
  /** One permit for one fetch attempt of `kind`: undefined when granted, else how long to wait. */
  take(kind: PermitKind): Promise<PermitRefusal | undefined>
  /** The upstream answered code 4 (the app limit): pause everyone of this identity. */
  report(retryAfterSeconds: number | undefined): Promise<void>
}

/** The governor object's RPC methods, typed structurally (shared/ holds no binding). */
export interface GovernorStub {
  acquire(kind: PermitKind, count: number): Promise<Grant>
  report(retryAfterSeconds?: number): Promise<Grant>
}

// Mapillary's search endpoints (10,000/min): the collection reads that take a bbox, and the
// batch read of images. Every other path (`/{id}`, `/{id}/detections`, `/image_ids`) is an entity call.
const SEARCH_PATHS = new Set(['/map_features', '/images'])

/**
 * Which budget a Graph API path spends.
 * @example permitKind('/map_features') // 'search'
 * @example permitKind('/123/detections') // 'entity'
 */
export function permitKind(path: string): PermitKind {
  return SEARCH_PATHS.has(path.replace(/\/+$/, '')) ? 'search' : 'entity'
}

export interface GovernedPermitsOptions {
  /** Most permits this source may ever need (the client's subrequest budget): it never asks for more. */
  limit?: number
  /** Longest a `take` waits for the governor before refusing. Default 5000. */
  maxWaitMs?: number
  /** Most permits asked at once. Default 32. */
  maxBatch?: number
  /**
   * The first ask per kind (then doubled each time). Default: entity 2 (an image's detections are two
   * fetches), search 1 (a sparse box is one; a permit taken but not spent is lost, and the search
   * budget is the small one).
   */
  firstAsk?: Partial<Record<PermitKind, number>>
  now?: () => number
  sleep?: (ms: number) => Promise<void>
}

interface Held {
  count: number
  /** Local time after which the held permits are dropped (the governor paced them for holdMs). */
  until: number
}

const defaultSleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms))

/**
 * Permits from a governor object, taken in growing batches per kind (2, 4, 8… or 1, 2, 4… up to `maxBatch` and
 * never past `limit`), so a client making N fetches costs about log2(N) object calls and wastes at
 * most half of what it took. Concurrent takes share one object call per kind. A code 4 reported here, or a
 * pause the governor answers, refuses at once every take that cannot wait it out.
 *
 * @example
 * const permits = new GovernedPermits(async () => env.GOVERNOR.getByName('server'), { limit: 45 })
 * const client = new GraphClient({ baseUrl, token, permits })
 */
export class GovernedPermits implements PermitSource {
  readonly #stub: () => Promise<GovernorStub>
  readonly #limit: number
  readonly #maxWaitMs: number
  readonly #maxBatch: number
  readonly #now: () => number
  readonly #sleep: (ms: number) => Promise<void>
  readonly #held: Record<PermitKind, Held> = { entity: { count: 0, until: 0 }, search: { count: 0, until: 0 } }
  readonly #asking: Partial<Record<PermitKind, Promise<Grant>>> = {}
  readonly #nextAsk: Record<PermitKind, number>
  #asked = 0
  #pausedUntil = 0
  /** Object calls made (acquire and report), for tests and logs. */
  calls = 0

  constructor(stub: () => Promise<GovernorStub>, opts: GovernedPermitsOptions = {}) {
    this.#stub = stub
    this.#limit = opts.limit ?? Number.POSITIVE_INFINITY
    this.#maxWaitMs = opts.maxWaitMs ?? 5000
    this.#maxBatch = Math.max(1, opts.maxBatch ?? 32)
    this.#nextAsk = { entity: Math.max(1, opts.firstAsk?.entity ?? 2), search: Math.max(1, opts.firstAsk?.search ?? 1) }
    this.#now = opts.now ?? Date.now
    this.#sleep = opts.sleep ?? defaultSleep
  }

  async take(kind: PermitKind): Promise<PermitRefusal | undefined> {
    const deadline = this.#now() + this.#maxWaitMs
    for (;;) {
      const now = this.#now()
      const held = this.#held[kind]
      if (held.count > 0 && now < held.until) {
        held.count--
        return undefined
      }
      held.count = 0
      const waitMs = this.#pausedUntil > now ? this.#pausedUntil - now : (await this.#ask(kind)) ?? 0
      if (waitMs === 0) continue
      if (this.#now() + waitMs > deadline) return { retryAfterSeconds: Math.max(1, Math.ceil(waitMs / 1000)) }
      await this.#sleep(waitMs)
    }
  }

  async report(retryAfterSeconds: number | undefined): Promise<void> {
    // Held permits are dropped: the pause is for everyone, this client included.
    this.#held.entity.count = 0
    this.#held.search.count = 0
    const sent = this.#now()
    if (retryAfterSeconds !== undefined && retryAfterSeconds > 0) this.#pausedUntil = Math.max(this.#pausedUntil, sent + retryAfterSeconds * 1000)
    this.calls++
    const grant = await (await this.#stub()).report(retryAfterSeconds)
    this.#pausedUntil = Math.max(this.#pausedUntil, sent + grant.pausedMs)
  }

  /** One object call for `kind` (shared by concurrent takes): 0 when permits came, else the wait. */
  async #ask(kind: PermitKind): Promise<number> {
    let pending = this.#asking[kind]
    if (!pending) {
      const count = Math.max(1, Math.min(this.#nextAsk[kind], this.#maxBatch, this.#limit - this.#asked))
      this.#nextAsk[kind] = Math.min(this.#maxBatch, this.#nextAsk[kind] * 2)
      // Measured from before the call: the governor's hold started no earlier than this.
      const sent = this.#now()
      this.calls++
      pending = this.#stub()
        .then((stub) => stub.acquire(kind, count))
        .then((grant) => {
          this.#asked += grant.granted
          if (grant.granted > 0) this.#held[kind] = { count: this.#held[kind].count + grant.granted, until: sent + grant.holdMs }
          if (grant.pausedMs > 0) this.#pausedUntil = Math.max(this.#pausedUntil, sent + grant.pausedMs)
          return grant
        })
        // The governor unreachable: no permit (the quota is not guessed), ask again in a second.
        .catch((): Grant => ({ granted: 0, holdMs: 0, waitMs: 1000, pausedMs: 0 }))
        .finally(() => {
          delete this.#asking[kind]
        })
      this.#asking[kind] = pending
    }
    const grant = await pending
    return grant.granted > 0 ? 0 : Math.max(1, grant.waitMs)
  }
}
