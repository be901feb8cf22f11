/**
 * @module
 * A box's features streamed from its sweep object as cells complete (`format=geojsonseq`): the job
 * is planned (the engine's `prepare`: a bad box, a plan over the bound or no token is a problem
 * before any byte), its slices run by the alarm, and the stream reads each finished cell's result
 * from storage once, while the job runs. A job already done streams from storage. The whole answer
 * is never built: each read holds a few cells' texts, and only the ids sent are kept (once each).
 *
 * Past the first byte a failure cannot be a status: the stream errors (the client sees a cut
 * transfer, never a clean end) and a log line names the problem.
 */
import type { JobAnswer, JobRunner } from '../../../shared/engine/job-runner'
import type { Problem } from '../../../shared/problem/problem'
import { problem } from '../../../shared/problem/problem'
import type { Cell } from '../../../shared/tiling'
import { cellRecords, collectionFeatures, record } from './stream-records'
import type { SweepParams } from './sweep-params'

/** What the object answers: the records' stream, or the problem before any byte. */
export type StreamAnswer = { ok: true; stream: ReadableStream<Uint8Array> } | { ok: false; problem: Problem; headers?: Record<string, string>; requests: number }

export interface StreamOptions {
  maxRequests: number
  /** How often the stream looks for newly finished cells while the job runs. */
  pollMs?: number
}

/** Cells read from storage at once: a cell holds at most 2000 features (some 600 KB of text). */
const CELLS_PER_READ = 4
const POLL_MS = 100
/** A running job with no alarm armed this long gets one (the engine's own fallback, for a stream that no run() waits with). */
const ALARM_CHECK_MS = 5000

/**
 * The stream of `params`' features, run by `runner` in the object `ctx`, named `name`.
 * @example return streamFeatures({ ctx: this.ctx, runner: this.runner }, name, params, clientToken, { maxRequests: 200 })
 */
export async function streamFeatures(host: { ctx: DurableObjectState; runner: JobRunner<SweepParams, Cell> }, name: string, params: SweepParams, clientToken: string | undefined, opts: StreamOptions): Promise<StreamAnswer> {
  const { ctx, runner } = host
  const refused = (p: Problem, headers?: Record<string, string>): StreamAnswer => ({ ok: false, problem: p, ...(headers ? { headers } : {}), requests: runner.store.spent().requests })
  const planned = await runner.prepare(name, params, clientToken, { maxRequests: opts.maxRequests })
  if (!planned.ok) return refused(planned.problem, planned.headers)
  let job = runner.store.job()
  if (!job) return refused(problem('internal_error', 'The sweep lost its plan.'))
  if (job.role === 'coordinator') return wholeAnswerStream(await runner.run(name, params, clientToken, { maxRequests: opts.maxRequests }))
  if (job.state === 'failed') {
    // Stopped by its bound, asked under no larger one: the same 422, no request (as run() answers).
    if (job.overLimit && opts.maxRequests <= (job.maxRequests ?? Infinity)) return refused(job.problem ?? problem('internal_error', 'The sweep failed.'), job.headers)
    if (job.client) {
      // Its token lived in memory only: planned afresh, this caller's token runs it.
      runner.store.clear()
      const again = await runner.prepare(name, params, clientToken, { maxRequests: opts.maxRequests })
      if (!again.ok) return refused(again.problem, again.headers)
    } else {
      // Work done so far is kept: the failed cells run again.
      runner.store.retry(Date.now(), opts.maxRequests)
    }
    job = runner.store.job()!
  }
  if (job.state === 'running' && (await ctx.storage.getAlarm()) === null) await ctx.storage.setAlarm(Date.now())
  return { ok: true, stream: cellStream(ctx, runner, opts.pollMs ?? POLL_MS) }
}

/** Every finished cell's new features as they come, then the end, or an error saying why not. */
function cellStream(ctx: DurableObjectState, runner: JobRunner<SweepParams, Cell>, pollMs: number): ReadableStream<Uint8Array> {
  const store = runner.store
  const read: number[] = []
  const sent = new Set<string>()
  const encoder = new TextEncoder()
  let lastAlarmCheck = Date.now()
  let cancelled = false
  return new ReadableStream<Uint8Array>({
    async pull(controller) {
      while (!cancelled) {
        // The state before the read: a job done then has nothing left for a later read.
        const job = store.job()
        const fresh = store.resultsNotIn(read, CELLS_PER_READ)
        let text = ''
        for (const { id, result } of fresh) {
          read.push(id)
          const cell = cellRecords(result, sent)
          if (!cell.ok) {
            const p = problem('incomplete_result', `A cell no side of which is longer than a z22 tile (about 9.5 m) still holds 2000 or more features (${cell.saturated}); the answer would be cut, so the stream ends in an error.`)
            return fail(controller, p, sent.size)
          }
          text += cell.text
        }
        if (text !== '') return controller.enqueue(encoder.encode(text))
        if (fresh.length > 0) continue
        if (!job) return fail(controller, problem('internal_error', 'The sweep lost its plan.'), sent.size)
        if (job.state === 'done') return controller.close()
        if (job.state === 'failed') return fail(controller, job.problem ?? problem('internal_error', 'The sweep failed.'), sent.size)
        await new Promise((resolve) => setTimeout(resolve, pollMs))
        if (Date.now() - lastAlarmCheck >= ALARM_CHECK_MS) {
          lastAlarmCheck = Date.now()
          if (store.job()?.state === 'running' && (await ctx.storage.getAlarm()) === null) await ctx.storage.setAlarm(Date.now())
        }
      }
    },
    cancel() {
      // The client went away: the sweep goes on by its alarm, and its answer stays in storage.
      cancelled = true
    },
  })
}

/** A coordinator's box (many start cells, parts in other objects): its whole answer, cut into records. */
function wholeAnswerStream(answer: JobAnswer): StreamAnswer {
  if (!answer.ok) return { ok: false, problem: answer.problem, ...(answer.headers ? { headers: answer.headers } : {}), requests: answer.requests }
  const features = collectionFeatures(answer.body)
  if (!features) return { ok: false, problem: problem('internal_error', 'The sweep answered a collection of another shape.'), requests: answer.requests }
  return { ok: true, stream: recordStream(features) }
}

/**
 * Records of the given Feature texts, some at a time as the reader asks.
 * @example new Response(recordStream(['{"type":"Feature"}']))
 */
export function recordStream(features: Iterable<string>, perChunk = 256): ReadableStream<Uint8Array> {
  const it = features[Symbol.iterator]()
  const encoder = new TextEncoder()
  return new ReadableStream<Uint8Array>({
    pull(controller) {
      let text = ''
      for (let n = 0; n < perChunk; n++) {
        const next = it.next()
        if (next.done) {
          if (text !== '') controller.enqueue(encoder.encode(text))
          return controller.close()
        }
        text += record(next.value)
      }
      controller.enqueue(encoder.encode(text))
    },
  })
}

/** Ends the stream in an error (the client sees a cut transfer) and logs why: never a token or a name. */
function fail(controller: ReadableStreamDefaultController<Uint8Array>, p: Problem, featuresSent: number): void {
  console.error(JSON.stringify({ event: 'map_features_stream_failed', problem: p.code, status: p.status, detail: p.detail, features_sent: featuresSent }))
  controller.error(new Error(`${p.code}: ${p.detail}`))
}
