/**
 * @module
 * The loop of one budgeted slice, shared by both sweep objects: start items while the next one
 * still fits the invocation's budget, at most `maxActive` at once, until nothing runs and nothing
 * more may start. Work may add items to the queue while it runs (a split cell's children). What
 * the slice's own connections cannot take may go, in groups, to helpers (`overflow`).
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
  /**
   * Where the items go that `run` cannot take now (its `maxActive` are busy, or the next does not
   * fit): groups of items run elsewhere, at most `maxActive` groups at once. Absent: none.
   */
  overflow?: PumpOverflow<T>
}

export interface PumpOverflow<T> {
  /** Most groups running at once. */
  maxActive: number
  /** Most items the next group may take now; 0: no group may start. Called just before each group starts. */
  size: () => number
  /** Runs one group (its `run` reserves what it spends before its first await); a rejection stops the pump. */
  run: (items: T[]) => Promise<void>
}

/**
 * Resolves when nothing runs and nothing more may start; the items it did not start stay in
 * `queue`. Each pass starts single items first, then groups of what is left. A rejecting `run`
 * stops new starts; the pump rejects with it once the others finish.
 * @example
 * await pump({ queue: cells, maxActive: 6, fits: (n) => client.stats.attempts + n < budget, run: fetchAndRecord })
 * @example
 * // Six here, the rest six at a time elsewhere, at most 16 groups at once.
 * await pump({ queue: cells, maxActive: 6, fits, run, overflow: { maxActive: 16, size: () => 6, run: askHelper } })
 */
export function pump<T>(o: PumpOptions<T>): Promise<void> {
  let active = 0
  let groups = 0
  let failed: { error: unknown } | undefined
  return new Promise<void>((resolve, reject) => {
    const settle = (work: Promise<void>, done: () => void) =>
      work
        .catch((error: unknown) => {
          failed ??= { error }
        })
        .finally(() => {
          done()
          fill()
        })
    const fill = () => {
      let starting = 0
      while (!failed && active < o.maxActive && o.queue.length > 0 && o.fits(starting)) {
        const item = o.queue.shift()!
        active++
        starting++
        settle(o.run(item), () => active--)
      }
      const ov = o.overflow
      while (ov && !failed && groups < ov.maxActive && o.queue.length > 0) {
        const n = Math.min(o.queue.length, Math.floor(ov.size()))
        if (!(n > 0)) break
        groups++
        settle(ov.run(o.queue.splice(0, n)), () => groups--)
      }
      if (active > 0 || groups > 0) return
      if (failed) reject(failed.error)
      else resolve()
    }
    fill()
  })
}
