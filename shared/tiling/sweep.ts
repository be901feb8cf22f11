/**
 * @module
 * The adaptive sweep: ask each cell, split the saturated ones, filter and dedupe. Step functions
 * (judgeCell, dedupeById) so a Durable Object can drive it slice by slice, plus a simple driver.
 */
import { inBbox } from './bbox'
import { splitDense } from './dense-split'
import { planCells, startCellCount, type PlanOptions } from './plan-cells'
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

/**
 * One feature per id (the first seen), sorted by id (numeric ids in numeric order).
 * @example dedupeById([{ id: '10', … }, { id: '9', … }, { id: '10', … }]).map((f) => f.id) // ['9', '10']
 */
export function dedupeById<F extends { id: string }>(features: Iterable<F>): F[] {
  const byId = new Map<string, F>()
  for (const f of features) if (!byId.has(f.id)) byId.set(f.id, f)
  return orderIds(byId.keys()).map((id) => byId.get(id)!)
}

/** Thrown when a sweep would need more upstream requests than allowed; nothing partial is returned. */
export class SweepBudgetError extends Error {
  override readonly name = 'SweepBudgetError'
  /**
   * @param needed the least number of requests the sweep was known to need when it stopped
   * @param limit the `maxRequests` it was given
   * @param made requests already started
   */
  constructor(
    readonly needed: number,
    readonly limit: number,
    readonly made: number,
  ) {
    super(`bbox sweep needs at least ${needed} upstream requests, over the limit of ${limit}`)
  }
}

export interface SweepOptions extends JudgeOptions {
  /** Most `fetchCell` calls in flight. Default 6. */
  concurrency?: number
  /** See {@link PlanOptions}. Default: none. */
  maxCellSpanDeg?: number
  /**
   * Most upstream requests: the sweep fails with {@link SweepBudgetError}, before making the
   * request past it, as soon as the cells it knows it must ask outnumber it. Default unlimited.
   */
  maxRequests?: number
}

export interface SweepResult<F> {
  /** Deduped by id, all inside the box, sorted by id. */
  features: F[]
  /** Upstream requests made. */
  requests: number
  /** Cells still cut with no side above the floor: when non-empty the answer is incomplete. */
  saturated: Cell[]
}

/**
 * Every feature whose point lies in the box (edges included), each once, asking the upstream
 * cell by cell, breadth first, at most `concurrency` at a time, splitting cells whose answer
 * reached the cap. `fetchCell` gets a non-crossing bbox (and an AbortSignal raised when the
 * sweep fails); its rejections reject the sweep. Saturated floor cells are reported in
 * `saturated`, never dropped silently; over `maxRequests` it throws {@link SweepBudgetError}.
 * @example
 * const { features, requests, saturated } = await sweepBbox([-79.54, 8.94, -79.52, 8.96],
 *   (bbox) => graph.mapFeatures({ bbox }))
 */
export async function sweepBbox<F extends PointFeature>(
  b: Bbox,
  fetchCell: (cellBbox: Bbox, signal: AbortSignal) => Promise<F[]>,
  opts: SweepOptions = {},
): Promise<SweepResult<F>> {
  const maxRequests = opts.maxRequests ?? Infinity
  const plan: PlanOptions = { maxCellSpanDeg: opts.maxCellSpanDeg }
  const starts = startCellCount(b, plan)
  if (starts > maxRequests) throw new SweepBudgetError(starts, maxRequests, 0)
  const queue: Cell[] = planCells(b, plan)
  const concurrency = Math.max(1, Math.floor(opts.concurrency ?? 6))
  const judge: JudgeOptions = { cap: opts.cap, minCellDeg: opts.minCellDeg, denseShare: opts.denseShare }
  const found: F[] = []
  const saturated: Cell[] = []
  const abort = new AbortController()
  let requests = 0
  let active = 0
  let done = false

  return new Promise<SweepResult<F>>((resolve, reject) => {
    const fail = (err: unknown) => {
      if (done) return
      done = true
      abort.abort(err)
      reject(err)
    }
    const pump = () => {
      if (done) return
      // Every queued cell costs at least one request: fail before spending any we cannot finish.
      if (requests + queue.length > maxRequests) {
        return fail(new SweepBudgetError(requests + queue.length, maxRequests, requests))
      }
      if (queue.length === 0 && active === 0) {
        done = true
        return resolve({ features: dedupeById(found), requests, saturated })
      }
      while (active < concurrency && queue.length > 0) {
        const cell = queue.shift()!
        active++
        requests++
        Promise.resolve()
          .then(() => fetchCell(cell.bbox, abort.signal))
          .then((answer) => {
            active--
            if (done) return
            const out = judgeCell(cell, answer, b, judge)
            if (out.kind === 'split') queue.push(...out.children)
            else {
              for (const f of out.features) found.push(f)
              if (out.kind === 'saturated') saturated.push(out.cell)
            }
            pump()
          })
          .catch((err: unknown) => {
            active--
            fail(err)
          })
      }
    }
    pump()
  })
}
