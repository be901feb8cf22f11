/**
 * @module
 * Every map feature of a box as a job-engine task: plan = the box's start cells (tile math, no
 * request), one unit per cell (one `/map_features` request), a capped cell adds narrower cells in
 * its place (`judgeCell`), answer = the FeatureCollection joined as text, each feature once.
 *
 * A cell's result is its features inside the box, one line each: `<id>\t<GeoJSON text>`
 * (`JSON.stringify` escapes tabs and newlines). A cell still capped at the floor starts its result
 * with `!<its bbox>`: the answer is then the honest `incomplete_result` problem.
 */
import { problem } from '../../../shared/problem/problem'
import type { Task } from '../../../shared/engine/task'
import { upstreamProblem } from '../../../shared/upstream/to-problem'
import { judgeCell, orderIds, planCells, type Bbox, type Cell } from '../../../shared/tiling'
import { boxTooCostly } from './box-limits'
import { featureCollectionJson, featureJson, type UpstreamMapFeature } from './feature-collection'
import type { SweepParams } from './sweep-params'

const SATURATED = '!'

/**
 * The task for one Worker's settings.
 * @example new JobRunner(host, boxTask({ maxCellSpanDeg: undefined }), options)
 */
export function boxTask(settings: { maxCellSpanDeg?: number; jobLimit?: number }): Task<SweepParams, Cell> {
  return {
    async plan(p) {
      try {
        return { ok: true, units: planCells(p.bbox, settings.maxCellSpanDeg !== undefined ? { maxCellSpanDeg: settings.maxCellSpanDeg } : {}) }
      } catch (e) {
        return { ok: false, problem: problem('invalid_bbox', e instanceof Error ? e.message : 'invalid bbox') }
      }
    },

    unitKey: (cell) => cell.bbox.join(','),

    async runUnit(cell, p, upstream) {
      const res = await upstream.get<{ data?: UpstreamMapFeature[] }>('/map_features', {
        bbox: cell.bbox.join(','),
        fields: ['id', 'object_value', 'geometry', ...p.fields].join(','),
        object_values: p.objectValues?.join(','),
        limit: '2000',
      })
      const outcome = judgeCell(cell, Array.isArray(res?.data) ? res.data : [], p.bbox)
      if (outcome.kind === 'split') return { children: outcome.children }
      const lines = outcome.features.map((f) => `${String(f.id)}\t${featureJson(f, p.fields)}`)
      if (outcome.kind === 'saturated') lines.unshift(`${SATURATED}${JSON.stringify(cell.bbox)}`)
      return { result: lines.join('\n') }
    },

    answer(_p, results) {
      const saturated: Bbox[] = []
      // An id found in several cells (a feature on a shared edge) keeps its first cell's text.
      const byId = new Map<string, string>()
      for (const { result } of results) {
        if (result === '') continue
        for (const line of result.split('\n')) {
          if (line.startsWith(SATURATED)) {
            saturated.push(JSON.parse(line.slice(1)) as Bbox)
            continue
          }
          const tab = line.indexOf('\t')
          const id = line.slice(0, tab)
          if (!byId.has(id)) byId.set(id, line.slice(tab + 1))
        }
      }
      if (saturated.length > 0) {
        return {
          ok: false,
          problem: problem('incomplete_result', `${saturated.length} cell(s) no side of which is longer than a z22 tile (about 9.5 m) still hold 2000 or more features; the answer would be cut, so none is given.`, { saturated_cells: saturated }),
        }
      }
      return { ok: true, body: featureCollectionJson(orderIds(byId.keys()).map((id) => byId.get(id)!)) }
    },

    failure(e, cell, source) {
      const { problem: p, headers } = upstreamProblem(e, source)
      const where = cell ? ` (cell ${cell.bbox.join(',')})` : ''
      return {
        problem: { ...p, detail: `Sweeping the box failed: ${p.detail}${where} Work done so far is kept; ask again to resume.`, upstream_reason: e.reason, ...(cell ? { failed_cell: cell.bbox } : {}) },
        headers,
      }
    },

    overLimit: ({ limit, needed, asked }) => ({ problem: boxTooCostly({ limit, needed, asked, ...(settings.jobLimit !== undefined ? { jobLimit: settings.jobLimit } : {}) }) }),
  }
}
