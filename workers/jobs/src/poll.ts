/**
 * @module
 * How often a running job asks its task Worker for progress. Each ask is a subrequest of the
 * alarm invocation that waits for the task (at most 1,000 to Cloudflare services per invocation
 * on the free plan), so the pace slows as the wait grows: every second for the first minute, then
 * every elapsed/60 (10 s at ten minutes), never slower than every 15 s. A 10-minute wait costs
 * about 200 asks, a 15-minute one (an alarm's wall-time limit) about 225.
 */

export const POLL_MIN_MS = 1_000
export const POLL_MAX_MS = 15_000
/** The delay is the time waited so far divided by this. */
const POLL_SLOWDOWN = 60

/**
 * The delay before the next progress ask, `elapsedMs` after the task call started.
 * @example pollDelayMs(5_000) // 1000
 * @example pollDelayMs(600_000) // 10000
 */
export function pollDelayMs(elapsedMs: number): number {
  return Math.min(POLL_MAX_MS, Math.max(POLL_MIN_MS, Math.floor(elapsedMs / POLL_SLOWDOWN)))
}

/**
 * How many asks a wait of `ms` makes (the schedule above, simulated).
 * @example pollsWithin(60_000) // 59
 */
export function pollsWithin(ms: number): number {
  let n = 0
  for (let t = pollDelayMs(0); t < ms; t += pollDelayMs(t)) n++
  return n
}
