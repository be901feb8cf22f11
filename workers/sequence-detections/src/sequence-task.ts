/**
 * @module
 * Detections of a sequence as a job-engine task: plan = the sequence's image ids (one
 * `/image_ids` call), one unit per image (its detections, and its size when pixels are asked),
 * answer = the public body, joined as text in sequence order.
 */
import { problem } from '../../../shared/problem/problem'
import type { Task } from '../../../shared/engine/task'
import { withPixels } from '../../../shared/mvt/with-pixels'
import { UpstreamError } from '../../../shared/upstream/errors'
import { upstreamProblem } from '../../../shared/upstream/to-problem'
import { pick, upstreamFields, type SweepParams } from './params'

/** One image of the sequence, at its position. */
export interface ImageUnit {
  at: number
  id: string
}

type Detection = Record<string, unknown> & { geometry?: unknown }

export const sequenceTask: Task<SweepParams, ImageUnit> = {
  async plan(p, upstream) {
    const notFound = () => ({ ok: false as const, problem: problem('not_found', `Sequence '${p.sequence_id}' does not exist or has no images.`) })
    let ids: string[]
    try {
      const res = await upstream.get<{ data?: { id: string }[] }>('/image_ids', { sequence_id: p.sequence_id })
      ids = (res.data ?? []).map((d) => String(d.id))
    } catch (e) {
      if (e instanceof UpstreamError && e.reason === 'not_found') return notFound()
      throw e
    }
    return ids.length === 0 ? notFound() : { ok: true, units: ids.map((id, at) => ({ at, id })) }
  },

  unitKey: (u) => String(u.at),

  requestsPerUnit: (p) => (p.pixels ? 2 : 1),

  async runUnit(u, p, upstream) {
    const path = `/${encodeURIComponent(u.id)}`
    const [list, size] = await Promise.all([
      upstream.get<{ data?: Detection[] }>(`${path}/detections`, { fields: upstreamFields(p) }),
      p.pixels ? upstream.get<{ width: number; height: number }>(path, { fields: 'width,height' }) : undefined,
    ])
    const data = list.data ?? []
    const detections = size ? data.map((d) => pick(withPixels(d, size.width, size.height), p.fields, true)) : data.map((d) => pick(d, p.fields, false))
    return { result: JSON.stringify(detections) }
  },

  answer(p, results) {
    const ids = results.map((r) => r.unit.id)
    // An id listed twice keeps one key (its first detections), as an object would.
    const seen = new Set<string>()
    const entries: string[] = []
    for (const r of results) {
      if (seen.has(r.unit.id)) continue
      seen.add(r.unit.id)
      entries.push(`${JSON.stringify(r.unit.id)}:${r.result || '[]'}`)
    }
    return { ok: true, body: `{"sequence_id":${JSON.stringify(p.sequence_id)},"image_ids":${JSON.stringify(ids)},"detections":{${entries.join(',')}}}` }
  },

  failure(e, _unit, source) {
    // The sequence exists (it was planned): an image the upstream listed but cannot serve is its fault.
    if (e.reason === 'not_found') return { problem: problem('upstream_error', 'The upstream listed an image of this sequence that it then could not serve.', e.status !== undefined ? { upstream_status: e.status } : {}) }
    return upstreamProblem(e, source)
  },
}
