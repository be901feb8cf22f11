/**
 * @module
 * What a sequence sweep is about, normalised: the same question always names the same Durable
 * Object and the same cache key, whatever the order of `fields`.
 */
import { DEFAULT_DETECTION_FIELDS, DETECTION_FIELDS } from '../../../shared/http/task-params'
import type { UpstreamIdentity } from '../../../shared/upstream/identity'

// One list with the public route's validation (shared/http/task-params).
export { DETECTION_FIELDS }
export const DEFAULT_FIELDS = DEFAULT_DETECTION_FIELDS

export interface SweepParams {
  sequence_id: string
  /** Detection fields to answer, sorted and deduplicated. */
  fields: string[]
  /** Add `pixel_geometry` to every detection. */
  pixels: boolean
}

const SEQUENCE_ID = /^[A-Za-z0-9_-]{1,64}$/
const KNOWN = new Set<string>(DETECTION_FIELDS)

/**
 * Sorted, deduplicated fields; throws a TypeError on anything the public validation would refuse
 * (the Durable Object re-checks what the Worker sends it).
 *
 * @example
 * normalizeParams({ sequence_id: 'kx7r2u', fields: ['value', 'id', 'value'], pixels: false })
 * // { sequence_id: 'kx7r2u', fields: ['id', 'value'], pixels: false }
 */
export function normalizeParams(p: { sequence_id: string; fields: readonly string[]; pixels: boolean }): SweepParams {
  if (typeof p?.sequence_id !== 'string' || !SEQUENCE_ID.test(p.sequence_id)) throw new TypeError('sweep: bad sequence id')
  if (!Array.isArray(p.fields) || p.fields.some((f) => typeof f !== 'string' || !KNOWN.has(f))) throw new TypeError('sweep: bad fields')
  const fields = [...new Set(p.fields.length > 0 ? p.fields : DEFAULT_FIELDS)].sort()
  return { sequence_id: p.sequence_id, fields, pixels: p.pixels === true }
}

/**
 * The Durable Object name of a sweep: `seq:<id>|<sorted fields>|px0|px1`, then `|client:<hmac>`
 * when the caller's upstream identity is a client's (callers share a run only with the same
 * identity; its parts' names start with this one). Holds no credential.
 *
 * @example
 * sweepName({ sequence_id: 'kx7r2u', fields: ['geometry', 'id', 'value'], pixels: true })
 * // 'seq:kx7r2u|geometry,id,value|px1'
 * sweepName({ sequence_id: 'kx7r2u', fields: ['id'], pixels: false }, 'client:9f2c…')
 * // 'seq:kx7r2u|id|px0|client:9f2c…'
 */
export function sweepName(p: SweepParams, identity: UpstreamIdentity = 'server'): string {
  return `seq:${p.sequence_id}|${p.fields.join(',')}|px${p.pixels ? 1 : 0}${identity === 'server' ? '' : `|${identity}`}`
}

/** The upstream `fields` of a `/{image}/detections` call: `id`, the asked fields, and `geometry` when pixels are wanted. */
export function upstreamFields(p: SweepParams): string {
  return [...new Set(['id', ...p.fields, ...(p.pixels ? ['geometry'] : [])])].join(',')
}

/** `id` and the asked fields, as the upstream answers them, plus the pixel members when asked. */
export function pick(d: Record<string, unknown>, fields: readonly string[], pixels: boolean): Record<string, unknown> {
  const out: Record<string, unknown> = {}
  for (const f of ['id', ...fields]) if (f in d) out[f] = d[f]
  if (pixels) {
    out.pixel_geometry = d.pixel_geometry
    if (d.pixel_geometry_error) out.pixel_geometry_error = d.pixel_geometry_error
  }
  return out
}
