/**
 * @module
 * The cells to ask instead of one whose answer hit the cap: the cell cut along its long side,
 * then each part cut along its own long side. A square cell gives its 4 quarters (as the tile
 * quadtree would), a thin one pieces in a row: a cell's cost follows the features it holds, never
 * its length.
 *
 * A side is cut near its middle, on a web-mercator tile line: the coarsest one in its middle half,
 * so each part is a quarter to three quarters of it and overlapping questions cut on the same
 * lines. The capped answer is an unordered sample of the cell, and guides the cuts:
 * - a part holding at most an eighth of the sample ({@link LIGHT_SHARE}) is as light as a quarter
 *   of an evenly filled cell: it is asked whole, not cut again;
 * - where one side of a cut holds that little, cutting again and again towards the rest would ask
 *   the light parts one by one (a 360°-long box holding one town would cost 18 of them), so the
 *   side is cut at once around the part holding the rest, and what lies on each side of it is
 *   asked as one cell, each holding at most an eighth of the sample;
 * - with `denseAt` (see `dense-split.ts`), a part holding that many points of the sample is split
 *   again at once: a piece of the second cut as soon as it does, a part of the first cut (about
 *   half the cell, so about half the sample by chance alone) when it also holds three quarters
 *   of the sample ({@link CROWDED_SHARE}).
 * Edges are computed once and shared, so neighbours meet bit-identically; edges are inclusive,
 * so a feature on a cut is in both cells (deduped later).
 */
import { latToTileY, lonToTileX, tileXToLon, tileYToLat } from './tile-math'
import { MIN_CELL_DEG, type Bbox, type Cell } from './types'

/** A `[lon, lat]` point of an answer (non-finite or missing coordinates are never inside a cell). */
export type SamplePoint = readonly number[]

/** 0: longitude (west..east), 1: latitude (south..north). */
export type Axis = 0 | 1

/** Share of a cell's sample at or below which a part of it is light: asked whole. */
export const LIGHT_SHARE = 1 / 8

/** Share of a cell's sample at which a part of its first cut (about half the cell) is crowded. */
export const CROWDED_SHARE = 3 / 4

/** Deepest zoom whose tile lines are cut along: a z22 tile is {@link MIN_CELL_DEG} wide. */
const DEEPEST_ZOOM = 22

export interface SplitOptions {
  /** A side this short or shorter is never cut. Default {@link MIN_CELL_DEG}. */
  minCellDeg?: number
  /** The cell's capped answer as points: guides the cuts. Without it, plain cuts (4 parts). */
  sample?: readonly SamplePoint[]
  /** Points of `sample` at which a part is split at once instead of asked. Default: never. */
  denseAt?: number
}

/**
 * Whether a point lies in a non-crossing box, all edges included.
 * @example inCell([10, 20], [10, 20, 11, 21]) // true (corner)
 */
export function inCell(p: SamplePoint, [w, s, e, n]: Bbox): boolean {
  const lon = p[0]
  const lat = p[1]
  return lon !== undefined && lat !== undefined && lon >= w && lon <= e && lat >= s && lat <= n
}

function sideOf(b: Bbox, axis: Axis): number {
  return b[axis + 2]! - b[axis]!
}

/**
 * The axis of the box's longer side (longitude on a tie), or `null` when no side is longer than
 * `min`: the box is at the floor and cannot be cut.
 * @example longAxis([-180, 10, 180, 10.0001]) // 0 (longitude)
 */
export function longAxis(b: Bbox, min: number = MIN_CELL_DEG): Axis | null {
  const axis: Axis = sideOf(b, 0) >= sideOf(b, 1) ? 0 : 1
  return sideOf(b, axis) > min ? axis : null
}

/** A tile line of zoom `z` along `axis` within `[a, b]`, the one nearest the middle, if any. */
function tileLineWithin(a: number, b: number, axis: Axis, z: number): number | undefined {
  const middle = (a + b) / 2
  const near = Math.floor(axis === 0 ? lonToTileX(middle, z) : latToTileY(middle, z))
  let best: number | undefined
  for (let i = near - 1; i <= near + 2; i++) {
    const line = axis === 0 ? tileXToLon(i, z) : tileYToLat(i, z)
    if (line >= a && line <= b && (best === undefined || Math.abs(line - middle) < Math.abs(best - middle))) best = line
  }
  return best
}

/**
 * Where to cut the side `[lo, hi]` along `axis`: on the coarsest tile line (zoom ≤ 22) in its
 * middle half, else at its middle.
 * @example cutPoint(-79.54, -79.52, 0) // -79.530029296875, the west edge of z15 column 9145
 */
export function cutPoint(lo: number, hi: number, axis: Axis): number {
  const quarter = (hi - lo) / 4
  for (let z = 0; z <= DEEPEST_ZOOM; z++) {
    const line = tileLineWithin(lo + quarter, hi - quarter, axis, z)
    if (line !== undefined && line > lo && line < hi) return line
  }
  return (lo + hi) / 2
}

/** How many of `values` lie in `[a, b]`. */
function countWithin(values: readonly number[], a: number, b: number): number {
  let n = 0
  for (const v of values) if (v >= a && v <= b) n++
  return n
}

/**
 * The edges along `axis` of the parts `b` is cut into: `[lo, cut, hi]`; or, guided by `points`,
 * `[lo, a, z, hi]` around the part `[a, z]` that cutting again and again towards the heavier side
 * reaches while what is cut away on each side holds at most `light` points (it stops at `min`),
 * an end dropped where it coincides.
 */
function cutEdges(b: Bbox, axis: Axis, points: readonly SamplePoint[] | undefined, min: number): number[] {
  const lo = b[axis]!
  const hi = b[axis + 2]!
  const cut = cutPoint(lo, hi, axis)
  if (!points || points.length === 0) return [lo, cut, hi]
  const values = points.map((p) => p[axis]!)
  const light = points.length * LIGHT_SHARE
  let a = lo
  let z = hi
  let below = 0
  let above = 0
  while (z - a > min) {
    const m = cutPoint(a, z, axis)
    const left = countWithin(values, a, m)
    const right = countWithin(values, m, z)
    if (left <= right && below + left <= light) {
      below += left
      a = m
    } else if (right < left && above + right <= light) {
      above += right
      z = m
    } else break
  }
  if (a === lo && z === hi) return [lo, cut, hi]
  return [lo, ...(a > lo ? [a] : []), ...(z < hi ? [z] : []), hi]
}

/** `b` cut along `axis` at `edges`. */
function cutBox(b: Bbox, axis: Axis, edges: number[]): Bbox[] {
  const parts: Bbox[] = []
  for (let i = 0; i + 1 < edges.length; i++) {
    const part: Bbox = [b[0], b[1], b[2], b[3]]
    part[axis] = edges[i]!
    part[axis + 2] = edges[i + 1]!
    parts.push(part)
  }
  return parts
}

/**
 * The cells to ask instead of `cell`: cut along its long side, then each part along its own
 * long side, guided by `sample` when given (see the module comment); a part holding at least
 * `denseAt` points of it is split the same way at once instead (see `splitDense`). Together they
 * cover the cell exactly, inside it, none of zero width unless the cell has zero width. `[]` when
 * no side of the cell is longer than `minCellDeg`: it cannot be split.
 * @example
 * splitCell({ bbox: [13, 55.6, 13.02, 55.62] })  // its 4 quarters, cut on tile lines
 * splitCell({ bbox: [0, 0, 4, 0.001] })          // 4 pieces in a row, each 0.001° high
 */
export function splitCell(cell: Cell, opts: SplitOptions = {}): Cell[] {
  const min = opts.minCellDeg ?? MIN_CELL_DEG
  const denseAt = opts.denseAt ?? Infinity
  const sample = opts.sample?.filter((p) => inCell(p, cell.bbox))
  const axis = longAxis(cell.bbox, min)
  if (axis === null) return []
  const dense = (part: Bbox, inside: readonly SamplePoint[]): Cell[] => {
    const deeper = splitCell({ bbox: part }, { ...opts, sample: inside })
    return deeper.length > 0 ? deeper : [{ bbox: part }]
  }
  return cutBox(cell.bbox, axis, cutEdges(cell.bbox, axis, sample, min)).flatMap((part): Cell[] => {
    if (!sample || sample.length === 0) return cutAgain(part, undefined, min)
    const inside = sample.filter((p) => inCell(p, part))
    if (inside.length >= denseAt && inside.length >= sample.length * CROWDED_SHARE) return dense(part, inside)
    if (inside.length <= sample.length * LIGHT_SHARE) return [{ bbox: part }]
    // A part holding less than half the sample does not show where its features lie: cut in two.
    return cutAgain(part, inside.length * 2 >= sample.length ? inside : undefined, min).flatMap((piece) => {
      const mine = inside.filter((p) => inCell(p, piece.bbox))
      return mine.length >= denseAt ? dense(piece.bbox, mine) : [piece]
    })
  })
}

/** `part` cut once more along its long side (guided by `guide`), or itself at the floor. */
function cutAgain(part: Bbox, guide: readonly SamplePoint[] | undefined, min: number): Cell[] {
  const axis = longAxis(part, min)
  if (axis === null) return [{ bbox: part }]
  return cutBox(part, axis, cutEdges(part, axis, guide, min)).map((bbox) => ({ bbox }))
}
