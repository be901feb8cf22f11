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
 * The FeatureCollection of `texts` ({@link featureCollectionJson}) as one flat string, written
 * once: its head and tail joined onto the first and last feature, so the many-megabyte text is
 * never a rope the runtime copies again when it sends or stores it.
 * @example flatCollection(['{"type":"Feature",…}']) === featureCollectionJson(['{"type":"Feature",…}'])
 */
export function flatCollection(texts: string[]): string {
  if (texts.length === 0) return featureCollectionJson(texts)
  const [head, tail] = featureCollectionJson(['\n']).split('\n') as [string, string]
  texts[0] = head + texts[0]!
  texts[texts.length - 1] = texts[texts.length - 1]! + tail
  return texts.join(',')
}

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
      // Read line by line in place, no array of lines: a city's box holds some 60,000 features,
      // and each text kept is a slice of its cell's result, not a copy.
      const byId = new Map<string, string>()
      for (const { result } of results) {
        for (let start = 0; start < result.length; ) {
          const newline = result.indexOf('\n', start)
          const end = newline < 0 ? result.length : newline
          if (result.startsWith(SATURATED, start)) {
            saturated.push(JSON.parse(result.slice(start + 1, end)) as Bbox)
          } else {
            const tab = result.indexOf('\t', start)
            const at = tab >= 0 && tab < end ? tab : -1
            const id = result.slice(start, at < 0 ? end - 1 : at)
            if (!byId.has(id)) byId.set(id, result.slice(at + 1 || start, end))
          }
          if (newline < 0) break
          start = newline + 1
        }
      }
      if (saturated.length > 0) {
        return {
          ok: false,
          problem: problem('incomplete_result', `${saturated.length} cell(s) no side of which is longer than a z22 tile (about 9.5 m) still hold 2000 or more features; the answer would be cut, so none is given.`, { saturated_cells: saturated }),
        }
      }
      const texts = orderIds(byId.keys()).map((id) => byId.get(id)!)
      byId.clear()
      return { ok: true, body: flatCollection(texts) }
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
