import { describe, expect, it } from 'vitest'
import { DEFAULT_MAX_BATCH_IDS, parseImageIds } from './batch'

describe('parseImageIds', () => {
  it('gives the distinct ids in first-asked order and how many were written', () => {
    expect(parseImageIds('3,1,3,2,1')).toEqual({ ok: true, ids: ['3', '1', '2'], asked: 5 })
    expect(parseImageIds(' 10 , 20 ')).toEqual({ ok: true, ids: ['10', '20'], asked: 2 })
    expect(parseImageIds('498763468214164')).toEqual({ ok: true, ids: ['498763468214164'], asked: 1 })
  })

  it('refuses a missing, empty or malformed list, naming the parameter', () => {
    const missing = parseImageIds(undefined)
    expect(missing).toEqual({ ok: false, message: 'The parameter image_ids is required' })
    for (const raw of ['', ' ', ',', '1,', ',1', '1,,2', 'a', '1,b', '1.5', '-1', '1;2', '1 2', '123456789012345678901']) {
      const r = parseImageIds(raw)
      expect(r.ok, JSON.stringify(raw)).toBe(false)
      if (!r.ok) expect(r.message).toContain('image_ids')
    }
  })

  it('defaults to 200 ids a request, as MapillaryJS asks', () => {
    expect(DEFAULT_MAX_BATCH_IDS).toBe(200)
  })
})
