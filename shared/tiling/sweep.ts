/**
 * @module
 * The adaptive sweep's steps: judge each cell's answer (complete, split or saturated) and order the
 * ids of the joined answer. A Durable Object drives them slice by slice
 * (workers/map-features/src/box-task.ts).
 */
import { inBbox } from './bbox'
import { splitDense } from './dense-split'
import { inCell } from './split-cell'
import { MIN_CELL_DEG, UPSTREAM_CAP, type Bbox, type Cell } from './types'

/** The least a map feature needs for the sweep: an id and a GeoJSON point `[lon, lat]`. */
export interface PointFeature {
  id: string
  geometry: { type: 'Point'; coordinates: number[] }
}

/**
 * What to do after one cell's answer:
 * - `complete`: the answer was under the cap; `features` are those inside `within` (ids may repeat across cells).
 * - `split`: the answer may have been cut; ask these narrower cells instead.
 * - `saturated`: cut though no side of the cell is above the floor ({@link MIN_CELL_DEG}); completeness is impossible here. `features` is the
 *   partial answer (inside `within`), kept so nothing already known is thrown away.
 */
export type CellOutcome<F> =
  | { kind: 'complete'; features: F[] }
  | { kind: 'split'; children: Cell[] }
  | { kind: 'saturated'; cell: Cell; features: F[] }

export interface JudgeOptions {
  /** Answer length at which the upstream (possibly) cut the list. Default {@link UPSTREAM_CAP}. */
  cap?: number
  /** Shortest cell side still cut in two. Default {@link MIN_CELL_DEG}. */
  minCellDeg?: number
  /**
   * Share of a capped answer that, lying in one child, gets that child split at once instead of
   * asked (see {@link splitDense}). Default {@link DENSE_SHARE}; `Infinity` splits one level at a time.
   */
  denseShare?: number
}

/** A child holding half a capped answer's sample holds at least half the cell: split it at once. */
export const DENSE_SHARE = 0.5

/**
 * Judge one cell's upstream answer. `within` is the requested box (may cross the antimeridian);
 * the final filter uses it, not the cell, so a feature just outside the box never leaks in.
 * @example
 * judgeCell(cell, answer, [-79.54, 8.94, -79.52, 8.96])
 * // answer.length < 2000 → { kind: 'complete', features } ; ≥ 2000 → { kind: 'split', children }
 */
export function judgeCell<F extends PointFeature>(
  cell: Cell,
  answer: F[],
  within: Bbox,
  opts: JudgeOptions = {},
): CellOutcome<F> {
  const cap = opts.cap ?? UPSTREAM_CAP
  const inside = () => answer.filter((f) => inBbox(f.geometry?.coordinates ?? [], within))
  if (answer.length < cap) return { kind: 'complete', features: inside() }
  const threshold = (opts.denseShare ?? DENSE_SHARE) * cap
  const points = answer.map((f) => f.geometry?.coordinates ?? []).filter((p) => inCell(p, cell.bbox))
  const children = splitDense(cell, points, { threshold, minCellDeg: opts.minCellDeg ?? MIN_CELL_DEG })
  if (children.length === 0) return { kind: 'saturated', cell, features: inside() }
  return { kind: 'split', children }
}

const NUMERIC = /^\d+$/

/**
 * Ids in answer order: Graph ids are numeric strings, ordered as numbers (shorter first); others
 * by code unit. Each id is classified once, not per comparison (a district has ~10k ids).
 * @example orderIds(['10', '9', '100']) // ['9', '10', '100']
 */
export function orderIds(ids: Iterable<string>): string[] {
  const keyed = [...ids].map((id) => ({ id, len: NUMERIC.test(id) ? id.length : -1 }))
  keyed.sort((a, b) => (a.len >= 0 && b.len >= 0 && a.len !== b.len ? a.len - b.len : a.id < b.id ? -1 : a.id > b.id ? 1 : 0))
  return keyed.map((k) => k.id)
}
