/**
 * @module
 * Children for a capped cell, guided by where its answer's features lie.
 *
 * The upstream cuts a capped answer without order, so the 2000 features it sends are a sample of
 * the cell. A part holding at least half of that sample holds at least half the cell: more
 * than the cap itself, most likely. Asking it would only bring back another capped answer one
 * round trip later, so it is split at once, and so on down while the sample stays that dense.
 * A wrong guess costs a few requests and loses nothing: every child is still judged on its own answer.
 */
import { splitCell, type SamplePoint } from './split-cell'
import type { Cell } from './types'

export interface DenseSplitOptions {
  /** Sampled points at which a part is split instead of asked (`Infinity`: never). */
  threshold: number
  /** A side this short is never cut. Default {@link MIN_CELL_DEG}. */
  minCellDeg?: number
}

/**
 * The cells to ask instead of `cell`, whose answer hit the cap: its parts (see
 * {@link splitCell}, guided by `points`), each holding at least `threshold` of `points` split
 * again at once, and so on down. Empty when `cell` cannot be split (no side above the floor).
 * @example
 * // 2000 points, 1900 of them in one small spot: the spot comes back in 4 parts, the rest in a few.
 * splitDense(cell, points, { threshold: 1000 })
 */
export function splitDense(cell: Cell, points: readonly SamplePoint[], opts: DenseSplitOptions): Cell[] {
  return splitCell(cell, { sample: points, denseAt: opts.threshold, minCellDeg: opts.minCellDeg })
}
