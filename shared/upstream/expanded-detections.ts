/**
 * @module
 * Reading an image's `detections` through dot expansion (`GET /images?image_ids=…&fields=id,detections.value,…`),
 * which the upstream may honour, ignore (ids only, as a recorded real answer shows) or refuse
 * (docs/upstream.md, "Reading many objects at once"). Pure: what to ask ({@link expandedFields}),
 * what one image's edge says ({@link readDetectionsEdge}), what a whole answer says about the
 * upstream ({@link judgeExpansion}) and what a failed batch means ({@link judgeBatchFailure}). The
 * per-image `/{id}/detections` stays the always-correct fallback: whatever is not certainly whole
 * here is completed there.
 */
import type { UpstreamReason } from './errors'

/** How the upstream treats `detections.<field>`: remembered as an upstream trait. */
export type ExpansionVerdict = 'expanded' | 'ids-only' | 'refused'

/**
 * An expanded edge this long may be cut even without `paging`: Graph-style APIs page edges past a
 * default limit, often 25, and we cannot see that limit. Such an image is completed on its own.
 */
export const EDGE_PAGE_GUARD = 25

/**
 * The `fields` of a batch read through expansion: `id`, the image fields (`width,height` for pixels),
 * then `detections.<f>` for every detection field (`id` included), without repeats.
 * @example expandedFields(['id', 'value', 'geometry'], ['width', 'height'])
 * // 'id,width,height,detections.id,detections.value,detections.geometry'
 */
export function expandedFields(detectionFields: readonly string[], imageFields: readonly string[] = []): string {
  const dotted = [...new Set(['id', ...detectionFields])].map((f) => `detections.${f}`)
  return [...new Set(['id', ...imageFields]), ...dotted].join(',')
}

/** What one image's `detections` edge in a batch answer says. */
export type EdgeReading =
  /** The whole list, usable as `/{id}/detections` would give it; `expanded`: a detection showed an asked subfield. */
  | { kind: 'whole'; detections: Array<Record<string, unknown>>; expanded: boolean }
  /** Paged, or as long as a page may be: maybe cut, completed on its own. `expanded` as above. */
  | { kind: 'cut'; expanded: boolean }
  /** Detections holding their ids only where subfields were asked: the upstream did not expand. */
  | { kind: 'ids-only' }
  /** No edge, or not the shape of one: nothing to trust, completed on its own. */
  | { kind: 'unknown' }

/**
 * Reads one image of a batch answer. `fields` are the detection fields asked (`id` may be among
 * them). With no field besides `id` asked, an ids-only list is whole: it is the answer.
 * @example readDetectionsEdge({ id: '1', detections: { data: [{ id: '7', value: 'object--bench' }] } }, ['id', 'value'])
 * // { kind: 'whole', detections: [{ id: '7', value: 'object--bench' }], expanded: true }
 * @example readDetectionsEdge({ id: '1', detections: { data: [{ id: '7' }] } }, ['id', 'value']) // { kind: 'ids-only' }
 * @example readDetectionsEdge({ id: '1', detections: { data: [], paging: { cursors: {} } } }, ['value']) // { kind: 'cut', expanded: false }
 */
export function readDetectionsEdge(image: unknown, fields: readonly string[], guard = EDGE_PAGE_GUARD): EdgeReading {
  if (!isObject(image) || !isObject(image.detections)) return { kind: 'unknown' }
  const { data, paging } = image.detections
  if (!Array.isArray(data) || !data.every((d) => isObject(d) && (typeof d.id === 'string' || typeof d.id === 'number'))) return { kind: 'unknown' }
  const detections = data as Array<Record<string, unknown>>
  const subfields = fields.filter((f) => f !== 'id')
  const expanded = detections.some((d) => subfields.some((f) => f in d))
  if (paging !== undefined || detections.length >= guard) return { kind: 'cut', expanded }
  // Ids only although more was asked: the per-image route has what is missing.
  if (subfields.length > 0 && detections.length > 0 && !expanded) return { kind: 'ids-only' }
  return { kind: 'whole', detections, expanded }
}

/**
 * What a batch answer (its `data` list) says about the upstream, for the fields asked: `expanded`
 * when any detection shows an asked subfield, `ids-only` when detections came back as bare ids,
 * `undefined` when it cannot tell (no detection at all, or only `id` asked).
 * @example judgeExpansion([{ id: '1', detections: { data: [{ id: '7', value: 'x' }] } }], ['id', 'value']) // 'expanded'
 * @example judgeExpansion([{ id: '1', detections: { data: [{ id: '7' }] } }], ['id', 'value']) // 'ids-only'
 * @example judgeExpansion([{ id: '1', detections: { data: [] } }], ['id', 'value']) // undefined
 */
export function judgeExpansion(images: readonly unknown[], fields: readonly string[]): 'expanded' | 'ids-only' | undefined {
  let idsOnly = false
  for (const image of images) {
    const r = readDetectionsEdge(image, fields)
    if ((r.kind === 'whole' || r.kind === 'cut') && r.expanded) return 'expanded'
    if (r.kind === 'ids-only') idsOnly = true
  }
  return idsOnly ? 'ids-only' : undefined
}

/** The facts of a failed request that matter here (an `UpstreamError`'s). */
export interface FailureFacts {
  reason: UpstreamReason
  paced?: boolean
}

/**
 * What a failed `/images?image_ids=…&fields=…detections.…` of `ids` distinct ids means:
 * - `refused`: the upstream refuses the dotted fields (Graph's "nonexisting field", which reads as
 *   not_found; or a 400 for a single id, which no batch maximum explains);
 * - `smaller`: it may be the batch's size (a 400 such as "Too many ids", or a 5xx, a timeout, a
 *   dropped connection or an unreadable answer after the client's retries): ask in halves;
 * - `trouble`: anything else (rate limits, tokens, the governor's pacing, the budget's end, or a
 *   single id's transient failure): the caller's to throw.
 * @example judgeBatchFailure({ reason: 'not_found' }, 100) // 'refused'
 * @example judgeBatchFailure({ reason: 'bad_request' }, 100) // 'smaller'
 * @example judgeBatchFailure({ reason: 'bad_request' }, 1) // 'refused'
 * @example judgeBatchFailure({ reason: 'rate_limited' }, 100) // 'trouble'
 */
export function judgeBatchFailure(e: FailureFacts, ids: number): 'refused' | 'smaller' | 'trouble' {
  if (e.paced) return 'trouble'
  if (e.reason === 'not_found') return 'refused'
  if (e.reason === 'bad_request') return ids > 1 ? 'smaller' : 'refused'
  if (ids > 1 && SIZE_FAILURES.has(e.reason)) return 'smaller'
  return 'trouble'
}

/** Failures a smaller batch may not meet (the stand-in can refuse an oversized batch with a 500). */
const SIZE_FAILURES: ReadonlySet<UpstreamReason> = new Set(['unavailable', 'timeout', 'dropped', 'bad_response'])

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v)
}
