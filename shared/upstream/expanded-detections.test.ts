import { describe, expect, it } from 'vitest'
import fc from 'fast-check'
import { EDGE_PAGE_GUARD, expandedFields, judgeBatchFailure, judgeExpansion, readDetectionsEdge } from './expanded-detections'
import type { UpstreamReason } from './errors'

const det = (id: string, extra: Record<string, unknown> = {}) => ({ id, ...extra })
const image = (detections: unknown) => ({ id: '100', detections })

describe('expandedFields', () => {
  it('asks id, the image fields, then every detection field dotted, id included, without repeats', () => {
    expect(expandedFields(['id', 'value', 'geometry'], ['width', 'height'])).toBe('id,width,height,detections.id,detections.value,detections.geometry')
    expect(expandedFields(['created_at'])).toBe('id,detections.id,detections.created_at')
    expect(expandedFields(['value', 'value', 'id'], ['id'])).toBe('id,detections.id,detections.value')
  })
})

describe('readDetectionsEdge', () => {
  const asked = ['id', 'value', 'geometry']

  it('an expanded list shorter than the guard is whole, detections as sent', () => {
    const data = [det('1', { value: 'a', geometry: 'g1' }), det('2', { value: 'b', geometry: 'g2' })]
    expect(readDetectionsEdge(image({ data }), asked)).toEqual({ kind: 'whole', detections: data, expanded: true })
  })

  it('an empty list is whole (nothing to expand), and tells nothing about expansion', () => {
    expect(readDetectionsEdge(image({ data: [] }), asked)).toEqual({ kind: 'whole', detections: [], expanded: false })
  })

  it('a detection missing one asked field is still expanded when another carries it (the per-image route omits it too)', () => {
    const data = [det('1', { value: 'a' }), det('2')]
    expect(readDetectionsEdge(image({ data }), ['id', 'value'])).toMatchObject({ kind: 'whole', expanded: true })
  })

  it('bare ids where subfields were asked are ids-only', () => {
    expect(readDetectionsEdge(image({ data: [det('1'), det('2')] }), asked)).toEqual({ kind: 'ids-only' })
  })

  it('bare ids are whole when only id was asked', () => {
    expect(readDetectionsEdge(image({ data: [det('1'), det('2')] }), ['id'])).toEqual({ kind: 'whole', detections: [det('1'), det('2')], expanded: false })
  })

  it('any paging is cut, whatever the length', () => {
    const paged = { data: [det('1', { value: 'a' })], paging: { cursors: { before: 'MQ==', after: 'MQ==' }, next: 'http://x/100/detections?after=MQ%3D%3D' } }
    expect(readDetectionsEdge(image(paged), asked)).toEqual({ kind: 'cut', expanded: true })
    // A last page carries cursors and no next: still not known to be the whole list from here.
    expect(readDetectionsEdge(image({ data: [det('1')], paging: { cursors: { before: 'MQ==', after: 'MQ==' } } }), asked)).toEqual({ kind: 'cut', expanded: false })
  })

  it(`${EDGE_PAGE_GUARD} detections or more are cut even without paging; one fewer is whole`, () => {
    const list = (n: number) => Array.from({ length: n }, (_, i) => det(String(i + 1), { value: 'v' }))
    expect(readDetectionsEdge(image({ data: list(EDGE_PAGE_GUARD) }), asked).kind).toBe('cut')
    expect(readDetectionsEdge(image({ data: list(EDGE_PAGE_GUARD + 7) }), asked).kind).toBe('cut')
    expect(readDetectionsEdge(image({ data: list(EDGE_PAGE_GUARD - 1) }), asked).kind).toBe('whole')
    expect(readDetectionsEdge(image({ data: list(3) }), asked, 3).kind).toBe('cut')
  })

  it('no edge or a malformed one is unknown (never read as "no detections")', () => {
    for (const bad of [{ id: '1' }, image(null), image([]), image({}), image({ data: 'x' }), image({ data: [{ value: 'no id' }] }), image({ data: [null] }), null, 'x', []]) {
      expect(readDetectionsEdge(bad, asked), JSON.stringify(bad)).toEqual({ kind: 'unknown' })
    }
  })
})

describe('judgeExpansion', () => {
  const asked = ['id', 'value']
  it('expanded as soon as one detection shows an asked subfield, cut images included', () => {
    expect(judgeExpansion([image({ data: [] }), image({ data: [det('1', { value: 'a' })] })], asked)).toBe('expanded')
    expect(judgeExpansion([image({ data: [det('1', { value: 'a' })], paging: { cursors: {} } })], asked)).toBe('expanded')
  })
  it('ids-only when detections came back bare', () => {
    expect(judgeExpansion([image({ data: [] }), image({ data: [det('1')] })], asked)).toBe('ids-only')
  })
  it('undefined when it cannot tell: no detections anywhere, only id asked, or nothing readable', () => {
    expect(judgeExpansion([image({ data: [] }), image({ data: [] })], asked)).toBeUndefined()
    expect(judgeExpansion([image({ data: [det('1')] })], ['id'])).toBeUndefined()
    expect(judgeExpansion([], asked)).toBeUndefined()
    expect(judgeExpansion([{ id: '1' }], asked)).toBeUndefined()
  })
  it('property: a list built from the asked fields is judged by whether any detection carries one', () => {
    fc.assert(
      fc.property(fc.array(fc.array(fc.record({ id: fc.stringMatching(/^\d{1,6}$/), value: fc.option(fc.string(), { nil: undefined }) }, { requiredKeys: ['id'] }), { maxLength: 5 }), { maxLength: 6 }), (lists) => {
        const images = lists.map((l) => image({ data: l.map((d) => (d.value === undefined ? { id: d.id } : d)) }))
        const any = lists.some((l) => l.some((d) => d.value !== undefined))
        const someDetection = lists.some((l) => l.length > 0)
        expect(judgeExpansion(images, asked)).toBe(any ? 'expanded' : someDetection ? 'ids-only' : undefined)
      }),
    )
  })
})

describe('judgeBatchFailure', () => {
  it.each<[UpstreamReason, number, string]>([
    ['not_found', 100, 'refused'],
    ['not_found', 1, 'refused'],
    ['bad_request', 100, 'smaller'],
    ['bad_request', 2, 'smaller'],
    ['bad_request', 1, 'refused'],
    ['unavailable', 100, 'smaller'],
    ['timeout', 3, 'smaller'],
    ['dropped', 3, 'smaller'],
    ['bad_response', 3, 'smaller'],
    ['unavailable', 1, 'trouble'],
    ['timeout', 1, 'trouble'],
    ['rate_limited', 100, 'trouble'],
    ['unauthorized', 100, 'trouble'],
    ['budget_exhausted', 100, 'trouble'],
  ])('%s with %i ids: %s', (reason, ids, verdict) => {
    expect(judgeBatchFailure({ reason }, ids)).toBe(verdict)
  })
  it("the governor's pacing is trouble whatever its reason", () => {
    expect(judgeBatchFailure({ reason: 'rate_limited', paced: true }, 100)).toBe('trouble')
    expect(judgeBatchFailure({ reason: 'bad_request', paced: true }, 100)).toBe('trouble')
  })
})
