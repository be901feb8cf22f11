/**
 * @module
 * Which upstream requests to make first: the start cells of a box. (The children of a capped
 * cell are in `split-cell.ts`.)
 */
import { bboxError, splitAtAntimeridian } from './bbox'
import type { Bbox, Cell } from './types'

export interface PlanOptions {
  /**
   * Widest a cell may be, in degrees of longitude or latitude. Default: none. Whether the upstream
   * limits the size of a `bbox` is not known (docs/upstream.md): set it only if it does, and
   * mind that it makes a long box cost one request per span of its length.
   */
  maxCellSpanDeg?: number
}

function assertValid(b: Bbox): void {
  const why = bboxError(b)
  if (why) throw new RangeError(`invalid bbox [${b.join(',')}]: ${why}`)
}

/** A usable span limit, or `undefined` for none. */
function spanLimit(opts: PlanOptions): number | undefined {
  const span = opts.maxCellSpanDeg
  return span !== undefined && Number.isFinite(span) && span > 0 ? span : undefined
}

/** How many parts of at most `span` a side of length `length` takes (at least 1). */
function partsOf(length: number, span: number | undefined): number {
  return span === undefined ? 1 : Math.max(1, Math.ceil(length / span))
}

/** `n + 1` evenly spaced edges from `lo` to `hi`, both ends exact. */
function edges(lo: number, hi: number, n: number): number[] {
  return Array.from({ length: n + 1 }, (_, i) => (i === 0 ? lo : i === n ? hi : lo + ((hi - lo) * i) / n))
}

/**
 * How many start cells {@link planCells} gives, without building them (a span limit on a long
 * box could ask for millions): what a request bound is checked against before any work.
 * @example startCellCount([-180, 10, 180, 10.0001]) // 1
 * startCellCount([-180, 10, 180, 10.0001], { maxCellSpanDeg: 1 }) // 360
 */
export function startCellCount(b: Bbox, opts: PlanOptions = {}): number {
  assertValid(b)
  const span = spanLimit(opts)
  return splitAtAntimeridian(b).reduce((sum, [w, s, e, n]) => sum + partsOf(e - w, span) * partsOf(n - s, span), 0)
}

/**
 * Start cells for a box: each antimeridian half of it as one cell, whatever its shape (a sparse
 * box costs one request per half; a capped answer is split where its features are, see
 * `splitCell`). With `maxCellSpanDeg`, each half as an even grid of cells no wider, north to
 * south, west to east. A point or line box gives a point or line cell. Throws `RangeError` for an
 * invalid box (see `bboxError`): validate first. Check {@link startCellCount} before planning
 * with a span limit.
 * @example
 * planCells([-79.54, 8.94, -79.52, 8.96]) // [{ bbox: [-79.54, 8.94, -79.52, 8.96] }]
 * planCells([179.5, -17, -179.5, -16])     // [{ bbox: [179.5,-17,180,-16] }, { bbox: [-180,-17,-179.5,-16] }]
 */
export function planCells(b: Bbox, opts: PlanOptions = {}): Cell[] {
  assertValid(b)
  const span = spanLimit(opts)
  return splitAtAntimeridian(b).flatMap(([w, s, e, n]) => {
    const xs = edges(w, e, partsOf(e - w, span))
    const ys = edges(s, n, partsOf(n - s, span))
    const cells: Cell[] = []
    for (let j = ys.length - 2; j >= 0; j--) {
      for (let i = 0; i + 1 < xs.length; i++) cells.push({ bbox: [xs[i]!, ys[j]!, xs[i + 1]!, ys[j + 1]!] })
    }
    return cells
  })
}
