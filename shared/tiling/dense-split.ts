/**
 * @module
 * Children for a capped cell, guided by where its answer's features lie.
 *
 * The upstream cuts a capped answer without order, so the 2000 features it sends are a sample of
 * the cell. A child holding at least half of that sample holds at least half the cell: more
 * than the cap itself, most likely. Asking it would only bring back another capped answer one
 * round trip later, so it is split at once, and so on down while the sample stays that dense.
 * A wrong guess costs 3 requests and loses nothing: every child is still judged on its own answer.
 */
import { splitCell } from './plan-cells'
import type { Bbox, Cell } from './types'

/** Whether `[lon, lat]` lies in a non-crossing cell bbox, edges included. */
function inCell(p: readonly number[], [w, s, e, n]: Bbox): boolean {
  const lon = p[0]!
  const lat = p[1]!
  return lon >= w && lon <= e && lat >= s && lat <= n
}

export interface DenseSplitOptions {
  /** Sampled points at which a child is split instead of asked. */
  threshold: number
  floorZoom: number
}

/**
 * The cells to ask instead of `cell`, whose answer hit the cap: its children, each replaced by
 * its own children while it holds at least `threshold` of `points`. Empty when `cell` cannot
 * be split (see {@link splitCell}).
 * @example
 * // 2000 points, 1900 of them in the north-west child: that child comes back as its 4 children.
 * splitDense(cell, points, box, { threshold: 1000, floorZoom: 22 }).length // 7
 */
export function splitDense(cell: Cell, points: readonly (readonly number[])[], within: Bbox, opts: DenseSplitOptions): Cell[] {
  return splitCell(cell, within, { floorZoom: opts.floorZoom }).flatMap((kid) => {
    const inside = points.filter((p) => inCell(p, kid.bbox))
    if (inside.length < opts.threshold) return [kid]
    const deeper = splitDense(kid, inside, within, opts)
    return deeper.length > 0 ? deeper : [kid]
  })
}
