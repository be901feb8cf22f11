import { describe, expect, it } from 'vitest'
import { cursorId, detectionsEdge, edgeCursor, pageOf, parseImageFields } from './expansion'

const items = ['11', '22', '33', '44', '55'].map((id) => ({ id, value: `v${id}` }))
const page = { origin: 'http://s.test', nodeId: '9' }
const project = (d: { id: string; value: string }, fields: string[]) => Object.fromEntries(fields.map((f) => [f, d[f as 'id' | 'value']]))

describe('parseImageFields', () => {
  it('splits plain fields from the detection subfields, id first, no duplicates, detections where first asked', () => {
    expect(parseImageFields('width,detections.value,height,detections.geometry,detections.value,width')).toEqual({
      ok: true,
      fields: ['id', 'width', 'detections', 'height'],
      detectionFields: ['id', 'value', 'geometry'],
      firstDotted: 'detections.value',
    })
    expect(parseImageFields('detections')).toEqual({ ok: true, fields: ['id', 'detections'], detectionFields: null, firstDotted: null })
    expect(parseImageFields(undefined)).toEqual({ ok: true, fields: ['id'], detectionFields: null, firstDotted: null })
    expect(parseImageFields('detections.id')).toMatchObject({ detectionFields: ['id'], firstDotted: 'detections.id' })
  })

  it('names the unknown field and its node type', () => {
    expect(parseImageFields('nope')).toEqual({ ok: false, unknown: 'nope', nodeType: 'Image' })
    expect(parseImageFields('detections.nope')).toEqual({ ok: false, unknown: 'nope', nodeType: 'ImageDetection' })
    expect(parseImageFields('sequence.id')).toEqual({ ok: false, unknown: 'sequence.id', nodeType: 'Image' })
    expect(parseImageFields('detections.')).toEqual({ ok: false, unknown: '', nodeType: 'ImageDetection' })
  })
})

describe('cursors', () => {
  it('round-trip an id and refuse anything else', () => {
    expect(cursorId(edgeCursor('498763468214164'))).toBe('498763468214164')
    expect(edgeCursor('123')).toBe('MTIz')
    expect(cursorId('not base64!')).toBeNull()
    expect(cursorId(btoa('abc'))).toBeNull()
    expect(cursorId('')).toBeNull()
  })
})

describe('pageOf', () => {
  it('leaves an edge that fits unpaged', () => {
    expect(pageOf(items, 0, { ...page, limit: 5, fields: ['id'] })).toEqual({ data: items })
    expect(pageOf([], 0, { ...page, limit: 5, fields: ['id'] })).toEqual({ data: [] })
  })

  it('cuts at the limit with cursors of the first and last items and a next URL carrying fields, limit and after', () => {
    const p = pageOf(items, 0, { ...page, limit: 2, fields: ['id', 'value'] })
    expect(p.data).toEqual(items.slice(0, 2))
    expect(p.paging!.cursors).toEqual({ before: edgeCursor('11'), after: edgeCursor('22') })
    const next = new URL(p.paging!.next!)
    expect(`${next.origin}${next.pathname}`).toBe('http://s.test/9/detections')
    expect(Object.fromEntries(next.searchParams)).toEqual({ fields: 'id,value', limit: '2', after: edgeCursor('22') })
  })

  it('continues after a cursor, with no next on the last page and nothing past the end', () => {
    const mid = pageOf(items, 2, { ...page, limit: 2, fields: ['id'] })
    expect(mid.data.map((d) => d.id)).toEqual(['33', '44'])
    expect(mid.paging!.next).toContain(`after=${encodeURIComponent(edgeCursor('44'))}`)
    const last = pageOf(items, 4, { ...page, limit: 2, fields: ['id'] })
    expect(last).toEqual({ data: [items[4]], paging: { cursors: { before: edgeCursor('55'), after: edgeCursor('55') } } })
    expect(pageOf(items, 5, { ...page, limit: 2, fields: ['id'] })).toEqual({ data: [] })
  })
})

describe('detectionsEdge', () => {
  const asked = { fields: ['id', 'detections'], detectionFields: ['id', 'value'], firstDotted: 'detections.value' }

  it('gives ids only, whole, under ids (and never pages there)', () => {
    expect(detectionsEdge(items, asked, 'ids', { ...page, limit: 2 }, project)).toEqual({ data: items.map((d) => ({ id: d.id })) })
  })

  it('expands the asked subfields, paged past the limit', () => {
    const whole = detectionsEdge(items, asked, 'expand', { ...page, limit: 25 }, project)
    expect(whole).toEqual({ data: items.map((d) => ({ id: d.id, value: d.value })) })
    const cut = detectionsEdge(items, asked, 'expand', { ...page, limit: 3 }, project)
    expect(cut.data).toEqual(items.slice(0, 3).map((d) => ({ id: d.id, value: d.value })))
    expect(cut.paging!.next).toContain('fields=id%2Cvalue')
    const bare = detectionsEdge(items, { ...asked, detectionFields: null, firstDotted: null }, 'expand', { ...page, limit: 3 }, project)
    expect(bare.data).toEqual(items.slice(0, 3).map((d) => ({ id: d.id })))
    expect(bare.paging!.next).toContain('fields=id&')
  })
})
