/**
 * @module
 * A reference driver of the tiling sweep, in memory and in one call: plan the box, ask each cell,
 * judge its answer (shared/tiling's `planCells` and `judgeCell`, the product's own steps), split
 * the capped ones, dedupe. The product runs the same steps in Durable Object slices
 * (workers/map-features/src/box-task.ts); this loop lets the unit tests check what those steps
 * find against a fake capped upstream, without workerd.
 */
import { judgeCell, orderIds, planCells, startCellCount, type Bbox, type Cell, type JudgeOptions, type PlanOptions, type PointFeature } from '../../shared/tiling'

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
 * One feature per id (the first seen), sorted by id (numeric ids in numeric order).
 * @example dedupeById([{ id: '10', … }, { id: '9', … }, { id: '10', … }]).map((f) => f.id) // ['9', '10']
 */
export function dedupeById<F extends { id: string }>(features: Iterable<F>): F[] {
  const byId = new Map<string, F>()
  for (const f of features) if (!byId.has(f.id)) byId.set(f.id, f)
  return orderIds(byId.keys()).map((id) => byId.get(id)!)
}

/**
 * Every feature whose point lies in the box (edges included), each once, asking the upstream
 * cell by cell, breadth first, at most `concurrency` at a time, splitting cells whose answer
 * reached the cap. `fetchCell` gets a non-crossing bbox (and an AbortSignal raised when the
 * sweep fails); its rejections reject the sweep. Saturated floor cells are reported in
 * `saturated`, never dropped silently; over `maxRequests` it throws {@link SweepBudgetError}.
 * @example
 * const { features, requests, saturated } = await sweepBbox([-79.54, 8.94, -79.52, 8.96], upstream.fetch)
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

export interface RoundsResult<F> extends SweepResult<F> {
  /** Cells asked per round: round r holds the children of round r − 1's capped cells. */
  rounds: Cell[][]
}

/**
 * The same sweep one round at a time: every cell of a round asked (all at once), then the
 * children of its capped cells make the next round. A split waits for its parent's answer, so
 * these rounds are the least number of dependent round trips the sweep can take; the bench's
 * round-aware bound counts them (bench/measures.mjs reads them back from the cells asked).
 * @example
 * const { rounds } = await sweepRounds(box, upstream.fetch)
 * rounds.map((r) => r.length) // e.g. [1, 7, 39, 88, 6]
 */
export async function sweepRounds<F extends PointFeature>(
  b: Bbox,
  fetchCell: (cellBbox: Bbox, signal: AbortSignal) => Promise<F[]>,
  opts: JudgeOptions & Pick<SweepOptions, 'maxCellSpanDeg'> = {},
): Promise<RoundsResult<F>> {
  const judge: JudgeOptions = { cap: opts.cap, minCellDeg: opts.minCellDeg, denseShare: opts.denseShare }
  const signal = new AbortController().signal
  const rounds: Cell[][] = []
  const found: F[] = []
  const saturated: Cell[] = []
  let round: Cell[] = planCells(b, { maxCellSpanDeg: opts.maxCellSpanDeg })
  while (round.length > 0) {
    rounds.push(round)
    const answers = await Promise.all(round.map((cell) => fetchCell(cell.bbox, signal)))
    const next: Cell[] = []
    round.forEach((cell, i) => {
      const out = judgeCell(cell, answers[i]!, b, judge)
      if (out.kind === 'split') next.push(...out.children)
      else {
        found.push(...out.features)
        if (out.kind === 'saturated') saturated.push(out.cell)
      }
    })
    round = next
  }
  return { features: dedupeById(found), requests: rounds.reduce((a, r) => a + r.length, 0), saturated, rounds }
}
