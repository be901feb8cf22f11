import { describe, expect, it } from 'vitest'
import { partName } from '../../../shared/engine/job-runner'
import { sequenceDetectionsQuery } from '../../../shared/http/task-params'
import { isSweepParams, normalizeParams, pick, sweepName, upstreamFields } from '../src/params'

/** The sweep's params as the route makes them: the public validation, then the normalising. */
const asked = (sequence_id: string, query: Record<string, string>) => normalizeParams({ sequence_id, ...sequenceDetectionsQuery.parse(query) })

describe('sweep parameters', () => {
  it('names the same question the same way whatever the field order', () => {
    const a = asked('kx7r2u', { fields: 'value,id,value' })
    const b = asked('kx7r2u', { fields: 'id,value' })
    expect(a).toEqual({ sequence_id: 'kx7r2u', fields: ['id', 'value'], pixels: false })
    expect(asked('kx7r2u', {})).toEqual({ sequence_id: 'kx7r2u', fields: ['geometry', 'id', 'value'], pixels: false })
    expect(sweepName(a)).toBe(sweepName(b))
    expect(sweepName(a)).toBe('seq:kx7r2u|id,value|px0')
    expect(sweepName({ ...a, pixels: true })).not.toBe(sweepName(a))
  })

  it('names a client identity’s question apart, its parts under it; the server’s as before', () => {
    const a = normalizeParams({ sequence_id: 'kx7r2u', fields: ['id'], pixels: false })
    expect(sweepName(a, 'server')).toBe('seq:kx7r2u|id|px0')
    expect(sweepName(a, 'client:0a1b')).toBe('seq:kx7r2u|id|px0|client:0a1b')
    expect(sweepName(a, 'client:0a1b')).not.toBe(sweepName(a, 'client:0a1c'))
    expect(partName(sweepName(a, 'client:0a1b'), 1, 4)).toBe('seq:kx7r2u|id|px0|client:0a1b#2/4')
  })

  it('the object takes only what the route gives: valid, normalised, nothing else', () => {
    expect(isSweepParams(asked('ok', { fields: 'value,id', pixels: 'true' }))).toBe(true)
    for (const p of [
      { sequence_id: 'a/b', fields: ['id'], pixels: false },
      { sequence_id: 'MLY|1|x', fields: ['id'], pixels: false },
      { sequence_id: 'ok', fields: ['secret'], pixels: false },
      { sequence_id: 'ok', fields: ['value', 'id'], pixels: false }, // not sorted: not normalised
      { sequence_id: 'ok', fields: ['id', 'id'], pixels: false },
      { sequence_id: 'ok', fields: [], pixels: false },
      { sequence_id: 'ok', fields: ['id'], pixels: 'true' },
      null,
    ]) {
      expect(isSweepParams(p), JSON.stringify(p)).toBe(false)
    }
  })

  it('asks the upstream for the geometry when pixels are wanted, and answers only the asked fields', () => {
    const p = normalizeParams({ sequence_id: 's', fields: ['value'], pixels: true })
    expect(upstreamFields(p)).toBe('id,value,geometry')
    expect(pick({ id: '1', value: 'v', geometry: 'g', pixel_geometry: null, pixel_geometry_error: { reason: 'r' } }, p.fields, true)).toEqual({
      id: '1',
      value: 'v',
      pixel_geometry: null,
      pixel_geometry_error: { reason: 'r' },
    })
  })
})
