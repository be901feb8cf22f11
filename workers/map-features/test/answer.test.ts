/**
 * The box task's answer from its cells' results (box-task.ts), without the upstream: the texts
 * joined in id order, each id once (its first cell's text), a saturated cell's problem, and the
 * flat FeatureCollection text, written out here by hand.
 */
import { describe, expect, it } from 'vitest'
import type { Cell } from '../../../shared/tiling'
import { boxTask, flatCollection } from '../src/box-task'
import type { SweepParams } from '../src/map-features-sweep'

const p: SweepParams = { bbox: [0, 0, 1, 1], fields: [] }
const cell: Cell = { bbox: [0, 0, 1, 1] }
const text = (id: string, lon: number) => `{"type":"Feature","id":"${id}","geometry":{"type":"Point","coordinates":[${lon},0.5]},"properties":{"id":"${id}","object_value":null}}`

describe('the box answer', () => {
  it('joins every feature once, in id order (numbers as numbers), its first cell’s text for an id on a shared edge', () => {
    const results = [
      { unit: cell, result: `10\t${text('10', 0.1)}\n9\t${text('9', 0.2)}` },
      { unit: cell, result: '' },
      { unit: cell, result: `100\t${text('100', 0.3)}\n10\t${text('10', 0.9)}` },
      { unit: cell, result: `2\t${text('2', 0.4)}` },
    ]
    expect(boxTask({}).answer(p, results)).toStrictEqual({
      ok: true,
      body: `{"type":"FeatureCollection","features":[${text('2', 0.4)},${text('9', 0.2)},${text('10', 0.1)},${text('100', 0.3)}]}`,
    })
  })

  it('answers an empty collection for cells with no feature', () => {
    expect(boxTask({}).answer(p, [{ unit: cell, result: '' }])).toStrictEqual({ ok: true, body: '{"type":"FeatureCollection","features":[]}' })
    expect(boxTask({}).answer(p, [])).toStrictEqual({ ok: true, body: '{"type":"FeatureCollection","features":[]}' })
  })

  it('answers incomplete_result naming every saturated cell, whatever else the cells hold', () => {
    const results = [
      { unit: cell, result: `!${JSON.stringify([0.1, 0.1, 0.1000001, 0.1000001])}\n7\t${text('7', 0.1)}` },
      { unit: cell, result: `8\t${text('8', 0.2)}\n!${JSON.stringify([0.2, 0.2, 0.2000001, 0.2000001])}` },
    ]
    const out = boxTask({}).answer(p, results)
    expect(out.ok).toBe(false)
    if (out.ok) return
    expect(out.problem).toMatchObject({ status: 502, code: 'incomplete_result', saturated_cells: [[0.1, 0.1, 0.1000001, 0.1000001], [0.2, 0.2, 0.2000001, 0.2000001]] })
  })

  it('writes the collection flat, the same text as joined around', () => {
    expect(flatCollection(['{"a":1}'])).toBe('{"type":"FeatureCollection","features":[{"a":1}]}')
    expect(flatCollection(['{"a":1}', '{"b":2}', '{"c":3}'])).toBe('{"type":"FeatureCollection","features":[{"a":1},{"b":2},{"c":3}]}')
    expect(flatCollection([])).toBe('{"type":"FeatureCollection","features":[]}')
  })
})
