import { describe, expect, it } from 'vitest'
import { partName } from '../../../shared/engine/job-runner'
import { normalizeParams, pick, sweepName, upstreamFields } from '../src/params'

describe('sweep parameters', () => {
  it('names the same question the same way whatever the field order', () => {
    const a = normalizeParams({ sequence_id: 'kx7r2u', fields: ['value', 'id', 'value'], pixels: false })
    const b = normalizeParams({ sequence_id: 'kx7r2u', fields: ['id', 'value'], pixels: false })
    expect(a).toEqual({ sequence_id: 'kx7r2u', fields: ['id', 'value'], pixels: false })
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

  it('refuses what the public validation refuses', () => {
    expect(() => normalizeParams({ sequence_id: 'a/b', fields: [], pixels: false })).toThrow(TypeError)
    expect(() => normalizeParams({ sequence_id: 'MLY|1|x', fields: [], pixels: false })).toThrow(TypeError)
    expect(() => normalizeParams({ sequence_id: 'ok', fields: ['secret'], pixels: false })).toThrow(TypeError)
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
