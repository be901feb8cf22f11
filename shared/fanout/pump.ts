/**
 * @module
 * The loop of one budgeted slice, shared by both sweep objects: start items while the next one
 * still fits the invocation's budget, at most `maxActive` at once, until nothing runs and nothing
 * more may start. Work may add items to the queue while it runs (a split cell's children).
 */

export interface PumpOptions<T> {
  /** Items still to start, in order; the pump takes from the front, running items may push more. */
  queue: T[]
  /** Most items running at once (each holds up to 6 / `maxActive` connections). */
  maxActive: number
  /**
   * Whether one more item may start. `starting` items were started in this same pass and have not
   * counted their first requests yet (they do once the pass yields).
   */
  fits: (starting: number) => boolean
  /** Runs one item and records its outcome; a rejection stops the pump (see {@link pump}). */
  run: (item: T) => Promise<void>
}

/**
 * Resolves when nothing runs and nothing more may start; the items it did not start stay in
 * `queue`. A rejecting `run` stops new starts; the pump rejects with it once the others finish.
 * @example
 * await pump({ queue: cells, maxActive: 6, fits: (n) => client.stats.attempts + n < budget, run: fetchAndRecord })
 */
export function pump<T>(o: PumpOptions<T>): Promise<void> {
  let active = 0
  let failed: { error: unknown } | undefined
  return new Promise<void>((resolve, reject) => {
    const fill = () => {
      let starting = 0
      while (!failed && active < o.maxActive && o.queue.length > 0 && o.fits(starting)) {
        const item = o.queue.shift()!
        active++
        starting++
        o.run(item)
          .catch((error: unknown) => {
            failed ??= { error }
          })
          .finally(() => {
            active--
            fill()
          })
      }
      if (active > 0) return
      if (failed) reject(failed.error)
      else resolve()
    }
    fill()
  })
}
