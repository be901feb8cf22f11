/**
 * @module
 * Which upstream requests to make: start cells for a box, and the children of a saturated cell.
 */
import { bboxError, intersectBbox, sameBbox, splitAtAntimeridian } from './bbox'
import { tileChildren, tileRange, tileToBbox } from './tile-math'
import { FLOOR_ZOOM, type Bbox, type Cell, type Tile } from './types'

export interface PlanOptions {
  /** Most start cells (requests in the first round). Default 4. */
  maxStartCells?: number
  /** Widest a cell may be, in degrees of lon or lat (the upstream's bbox limit is unconfirmed). Default 1. */
  maxCellSpanDeg?: number
  /** Deepest zoom considered. Default {@link FLOOR_ZOOM}. */
  floorZoom?: number
}

/** Whether a non-crossing part of the requested box is a line/point in x or in y. */
function degeneracy(half: Bbox): { x: boolean; y: boolean } {
  return { x: half[0] === half[2], y: half[1] === half[3] }
}

/**
 * `tile ∩ area`, or null when empty. A zero-width (or zero-height) result is empty unless the box
 * itself is degenerate in that direction: a point on a shared edge is also inside the
 * neighbouring cell, where the intersection has area, so nothing is lost.
 */
function clip(tile: Tile, area: Bbox, deg: { x: boolean; y: boolean }): Cell | null {
  const bbox = intersectBbox(tileToBbox(tile), area)
  if (!bbox) return null
  if (!deg.x && bbox[0] === bbox[2]) return null
  if (!deg.y && bbox[1] === bbox[3]) return null
  return { tile, bbox }
}

/** All non-empty cells of a non-crossing box at zoom z, north to south, west to east. */
function coverHalf(half: Bbox, z: number): Cell[] {
  const deg = degeneracy(half)
  const r = tileRange(half, z)
  const cells: Cell[] = []
  for (let y = r.minY; y <= r.maxY; y++) {
    for (let x = r.minX; x <= r.maxX; x++) {
      const cell = clip([x, y, z], half, deg)
      if (cell) cells.push(cell)
    }
  }
  return cells
}

/** Cells of both antimeridian halves, dropping repeats of one bbox (a point on a tile corner). */
function cover(b: Bbox, z: number): Cell[] {
  const out: Cell[] = []
  const seen = new Set<string>()
  for (const half of splitAtAntimeridian(b)) {
    for (const cell of coverHalf(half, z)) {
      const key = cell.bbox.join(',')
      if (!seen.has(key)) {
        seen.add(key)
        out.push(cell)
      }
    }
  }
  return out
}

function span(c: Cell): number {
  return Math.max(c.bbox[2] - c.bbox[0], c.bbox[3] - c.bbox[1])
}

function assertValid(b: Bbox): void {
  const why = bboxError(b)
  if (why) throw new RangeError(`invalid bbox [${b.join(',')}]: ${why}`)
}

/**
 * Start cells for a box: the cover at the deepest zoom that still needs at most `maxStartCells`
 * cells, each no wider than `maxCellSpanDeg` (so a sparse small box costs 1–4 requests and a
 * dense one skips split rounds). When the span limit alone needs more cells, the coarsest zoom
 * meeting it. A box crossing the antimeridian is covered on both sides; a point or line box
 * gives cells containing it. Throws `RangeError` for an invalid box (see `bboxError`): validate first.
 * Large boxes give many cells: reject them before (see `bboxArea`).
 * @example
 * planCells([-79.54, 8.94, -79.52, 8.96]) // 1–4 cells whose bboxes tile the box
 * planCells([179.5, -17, -179.5, -16])     // cells east of 179.5 and west of -179.5
 */
export function planCells(b: Bbox, opts: PlanOptions = {}): Cell[] {
  assertValid(b)
  const maxStart = Math.max(1, opts.maxStartCells ?? 4)
  const maxSpan = opts.maxCellSpanDeg ?? 1
  const floor = opts.floorZoom ?? FLOOR_ZOOM
  let best: Cell[] | null = null
  for (let z = 0; z <= floor; z++) {
    const cells = cover(b, z)
    const spanOk = cells.every((c) => span(c) <= maxSpan)
    // The count never shrinks with zoom (every cell has a non-empty child), so stop at the first overflow.
    if (cells.length > maxStart) {
      if (best) break
      if (spanOk) return cells
      continue
    }
    if (spanOk) best = cells
  }
  // The floor zoom is always reached by a small enough box, and the span limit at some zoom.
  return best ?? cover(b, floor)
}

/**
 * The 4 children of a saturated cell, clipped to it (so their edges are the box's edges where
 * the box cuts the tile), empty ones dropped; zero-width ones are kept only where the part of
 * `within` the cell lies in is itself degenerate, and a repeated bbox is asked once. When one child would repeat the cell's own
 * request (the box sits inside that child) it descends instead, since asking again is useless.
 * Returns `[]` when no narrower request exists at or above `floorZoom`: the cell cannot be split.
 * @example
 * splitCell({ tile: [0, 0, 0], bbox: [-10, -10, 10, 10] }, [-10, -10, 10, 10])
 * // 4 cells: [-10,0,0,10], [0,0,10,10], [-10,-10,0,0], [0,-10,10,0] (tiles at z1)
 */
export function splitCell(c: Cell, within: Bbox, opts: { floorZoom?: number } = {}): Cell[] {
  const floor = opts.floorZoom ?? FLOOR_ZOOM
  const half = splitAtAntimeridian(within).find((h) => intersectBbox(h, c.bbox)) ?? within
  const deg = degeneracy(half)
  let tile = c.tile
  while (tile[2] < floor) {
    const kids: Cell[] = []
    for (const t of tileChildren(tile)) {
      const kid = clip(t, c.bbox, deg)
      // A line on a tile edge clips to the same bbox on both sides: ask once.
      if (kid && !kids.some((k) => sameBbox(k.bbox, kid.bbox))) kids.push(kid)
    }
    const same = kids.find((k) => sameBbox(k.bbox, c.bbox))
    if (!same) return kids
    tile = same.tile
  }
  return []
}

/**
 * The Mapillary FAQ's method, as the benchmark baseline: every z18 tile covering the box, one
 * request each, empty or not (cells clipped to the box like ours).
 * @example fixedZ18Tiles([-79.54, 8.94, -79.52, 8.96]).length // 256 (16 × 16)
 */
export function fixedZ18Tiles(b: Bbox): Cell[] {
  assertValid(b)
  return splitAtAntimeridian(b).flatMap((half) => coverHalf(half, 18))
}
