/**
 * @module
 * The image field `detections` and its dot expansion (`fields=id,detections.value,detections.geometry`),
 * in the three behaviours the stand-in can play (config `detectionsExpansion`):
 * - `ids` (default, what a recorded real answer shows): `"detections":{"data":[{"id"}…]}`, whatever
 *   subfields were asked, never paged;
 * - `expand`: each detection with `id` plus the asked subfields, exactly as `GET /{id}/detections?fields=…`
 *   gives them; an edge longer than `edgePageLimit` is cut there and carries Graph `paging`
 *   (cursors and a `next` URL that `GET /{id}/detections?…&after=` continues);
 * - `refuse`: any `detections.x` answers 400 code 100 "Tried accessing nonexisting field (detections.x)".
 * Pure: no config or world lookups of its own.
 */
import { DETECTION_FIELDS, IMAGE_FIELDS } from './fields'

export const EXPANSIONS = ['expand', 'ids', 'refuse'] as const
export type Expansion = (typeof EXPANSIONS)[number]

/** What `fields=` asks of an image. */
export interface ImageFields {
  /** Top-level fields in the order first asked, `id` first; holds `detections` when it or any `detections.x` was asked. */
  fields: string[]
  /** The detection subfields asked with dots (`id` first), or null when only bare `detections` (or none) was asked. */
  detectionFields: string[] | null
  /** The first dotted field as written (`detections.value`), for the refusal's message. */
  firstDotted: string | null
}

export type ImageFieldsResult = ({ ok: true } & ImageFields) | { ok: false; unknown: string; nodeType: string }

/**
 * Parses an image's `fields`: the plain image fields, `detections`, and `detections.<detection field>`.
 * @example parseImageFields('width,detections.value') // { ok: true, fields: ['id','width','detections'], detectionFields: ['id','value'], firstDotted: 'detections.value' }
 */
export function parseImageFields(raw: string | undefined | null): ImageFieldsResult {
  const fields = ['id']
  let detectionFields: string[] | null = null
  let firstDotted: string | null = null
  for (const part of (raw ?? '').split(',')) {
    const f = part.trim()
    if (f === '') continue
    const dot = f.indexOf('.')
    if (dot >= 0) {
      const [edge, sub] = [f.slice(0, dot), f.slice(dot + 1)]
      if (edge !== 'detections') return { ok: false, unknown: f, nodeType: 'Image' }
      if (!(DETECTION_FIELDS as readonly string[]).includes(sub)) return { ok: false, unknown: sub, nodeType: 'ImageDetection' }
      firstDotted ??= f
      detectionFields ??= ['id']
      if (!detectionFields.includes(sub)) detectionFields.push(sub)
      if (!fields.includes('detections')) fields.push('detections')
      continue
    }
    if (f !== 'detections' && !(IMAGE_FIELDS as readonly string[]).includes(f)) return { ok: false, unknown: f, nodeType: 'Image' }
    if (!fields.includes(f)) fields.push(f)
  }
  return { ok: true, fields, detectionFields, firstDotted }
}

/** Graph `paging` of an edge or an edge route's page. */
export interface Paging {
  cursors: { before: string; after: string }
  next?: string
}

/**
 * An opaque cursor naming one item of an edge (base64 of its id, as Graph cursors look).
 * @example edgeCursor('123') // 'MTIz'
 */
export function edgeCursor(id: string): string {
  return btoa(id)
}

/** The id a cursor names, or null when it is no cursor of ours. */
export function cursorId(cursor: string): string | null {
  try {
    const id = atob(cursor)
    return /^\d+$/.test(id) ? id : null
  } catch {
    return null
  }
}

export interface PageOptions {
  /** Most items on one page. */
  limit: number
  /** Where the items came from, for `next`: `{origin}/{nodeId}/detections`. */
  origin: string
  nodeId: string
  /** The detection fields of the items (for `next`'s `fields`), `id` first. */
  fields: string[]
}

/**
 * One page of an edge starting at `start`: the items, and `paging` when the edge does not fit on one
 * page (cursors of the page's first and last items; `next` only when more follow). The `next` URL
 * carries no token: follow it with the `Authorization` header, as every request here.
 * @example pageOf([{ id: '1' }, { id: '2' }, { id: '3' }], 0, { limit: 2, origin: 'http://s', nodeId: '9', fields: ['id'] }).paging?.next
 * // 'http://s/9/detections?fields=id&limit=2&after=Mg%3D%3D'
 */
export function pageOf<T extends { id: string }>(items: readonly T[], start: number, opts: PageOptions): { data: T[]; paging?: Paging } {
  const data = items.slice(start, start + opts.limit)
  const whole = start === 0 && items.length <= opts.limit
  if (whole || data.length === 0) return { data }
  const paging: Paging = { cursors: { before: edgeCursor(data[0]!.id), after: edgeCursor(data.at(-1)!.id) } }
  if (start + data.length < items.length) {
    const q = new URLSearchParams({ fields: opts.fields.join(','), limit: String(opts.limit), after: paging.cursors.after })
    paging.next = `${opts.origin}/${opts.nodeId}/detections?${q}`
  }
  return { data, paging }
}

/**
 * The value of an image's `detections` field under one behaviour (never called for `refuse` with
 * dotted fields: that is a refusal before any projection). `project` gives one detection with the
 * given fields, as `GET /{id}/detections` does.
 */
export function detectionsEdge<D extends { id: string }>(
  detections: readonly D[],
  asked: ImageFields,
  mode: Expansion,
  page: Omit<PageOptions, 'fields'>,
  project: (d: D, fields: string[]) => Record<string, unknown>,
): { data: Record<string, unknown>[]; paging?: Paging } {
  if (mode !== 'expand') return { data: detections.map((d) => ({ id: d.id })) }
  const fields = asked.detectionFields ?? ['id']
  const { data, paging } = pageOf(detections, 0, { ...page, fields })
  const out = data.map((d) => project(d, fields))
  return paging ? { data: out, paging } : { data: out }
}
