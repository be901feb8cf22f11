/**
 * @module
 * The engine's test task: image sizes of a sequence. Small on purpose: it exercises every engine
 * path (plan with an upstream call, units, children, answer, limit, shards) and nothing else.
 */
import { DurableObject } from 'cloudflare:workers'
import { JobRunner, type JobAnswer, type JobProgress, type PartAnswer, type PartStub, type RunOptions } from '../../../shared/engine/job-runner'
import type { Task } from '../../../shared/engine/task'
import { problem } from '../../../shared/problem/problem'
import { shardSettings } from '../../../shared/fanout/shards'

export interface Env {
  SIZES_JOB: DurableObjectNamespace<SizesJob>
  MAPILLARY_GRAPH_URL: string
  MAPILLARY_ACCESS_TOKEN?: string
  SUBREQUEST_BUDGET?: string
  MAX_SHARDS?: string
  MIN_ITEMS_PER_SHARD?: string
}

export interface SizesParams {
  sequence_id: string
  /** One unit for the whole sequence that splits itself in halves (true), or one unit per image. */
  split: boolean
}

/** A run of the sequence's images from `at`. */
interface Run {
  at: number
  ids: string[]
}

export const sizesTask: Task<SizesParams, Run> = {
  async plan(p, upstream) {
    const res = await upstream.get<{ data?: { id: string }[] }>('/image_ids', { sequence_id: p.sequence_id })
    const ids = (res.data ?? []).map((d) => String(d.id))
    if (ids.length === 0) return { ok: false, problem: problem('not_found', `Sequence '${p.sequence_id}' does not exist.`) }
    return { ok: true, units: p.split ? [{ at: 0, ids }] : ids.map((id, at) => ({ at, ids: [id] })) }
  },
  unitKey: (u) => `${u.at}+${u.ids.length}`,
  async runUnit(u, _p, upstream) {
    if (u.ids.length > 1) {
      const half = Math.ceil(u.ids.length / 2)
      return { children: [{ at: u.at, ids: u.ids.slice(0, half) }, { at: u.at + half, ids: u.ids.slice(half) }] }
    }
    const img = await upstream.get<{ id: string; width: number; height: number }>(`/${u.ids[0]}`, { fields: 'width,height' })
    return { result: JSON.stringify({ id: img.id, width: img.width, height: img.height }) }
  },
  answer(p, results) {
    const sorted = [...results].sort((a, b) => a.unit.at - b.unit.at)
    return { ok: true, body: `{"sequence_id":${JSON.stringify(p.sequence_id)},"sizes":[${sorted.map((r) => r.result).join(',')}]}` }
  },
  overLimit: ({ limit, needed, asked }) => ({ problem: problem('invalid_parameter', `needs ${needed} requests after ${asked}, limit ${limit}`, { limit }) }),
}

export class SizesJob extends DurableObject<Env> {
  readonly runner: JobRunner<SizesParams, Run>

  constructor(ctx: DurableObjectState, env: Env) {
    super(ctx, env)
    this.runner = new JobRunner(
      { ctx, settings: env, part: (name) => env.SIZES_JOB.getByName(name) as unknown as PartStub },
      sizesTask,
      { shards: shardSettings(env), resultTtlMs: 60_000, retainMs: 120_000 },
    )
  }

  run(name: string, params: SizesParams, clientToken?: string, opts?: RunOptions): Promise<JobAnswer> {
    return this.runner.run(name, params, clientToken, opts)
  }

  runPart(name: string, params: SizesParams, units: string[], clientToken?: string, opts?: RunOptions): Promise<PartAnswer> {
    return this.runner.runPart(name, params, units, clientToken, opts)
  }

  progress(): Promise<JobProgress> {
    return this.runner.progress()
  }

  override alarm(): Promise<void> {
    return this.runner.alarm()
  }
}

export default {
  fetch: () => new Response('engine test worker', { status: 404 }),
} satisfies ExportedHandler<Env>
