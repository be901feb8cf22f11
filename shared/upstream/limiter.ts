/**
 * @module
 * Counting semaphore: caps how many upstream attempts await a response at once.
 */

/** A concurrency gate; `run` holds one slot for the whole life of `fn`'s promise. */
export interface Limiter {
  run<T>(fn: () => Promise<T>): Promise<T>
  /** Slots held right now. */
  readonly active: number
  /** Callers waiting for a slot. */
  readonly pending: number
  /** Highest `active` seen. */
  readonly peak: number
}

/**
 * Creates a FIFO limiter with `n` slots.
 *
 * Why: Workers lets only 6 fetches per invocation wait for headers; a 7th queues invisibly inside
 * the runtime (and local dev does not enforce it at all), so we queue ourselves and can count.
 *
 * @example
 * const limit = createLimiter(6)
 * const bodies = await Promise.all(urls.map((u) => limit.run(() => fetch(u).then((r) => r.text()))))
 */
export function createLimiter(n: number): Limiter {
  if (!Number.isInteger(n) || n < 1) throw new RangeError('limiter size must be an integer ≥ 1')
  let active = 0
  let peak = 0
  const queue: Array<() => void> = []

  const acquire = (): Promise<void> => {
    if (active < n) {
      active++
      if (active > peak) peak = active
      return Promise.resolve()
    }
    // The releasing caller hands its slot straight over, so `active` never dips and rises again.
    return new Promise((resolve) => queue.push(resolve))
  }

  const release = (): void => {
    const next = queue.shift()
    if (next) next()
    else active--
  }

  return {
    async run<T>(fn: () => Promise<T>): Promise<T> {
      await acquire()
      try {
        return await fn()
      } finally {
        release()
      }
    },
    get active() {
      return active
    },
    get pending() {
      return queue.length
    },
    get peak() {
      return peak
    },
  }
}
