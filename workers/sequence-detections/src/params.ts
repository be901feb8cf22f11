/**
 * @module
 * What a sequence sweep is about, normalised once, in the Worker ({@link normalizeParams}): the
 * same question always names the same Durable Object and the same cache key, whatever the order of
 * `fields`. The object only checks the shape of what it is sent ({@link isSweepParams}).
 */
import { DETECTION_FIELDS } from '../../../shared/http/task-params'
import { SEQUENCE_ID } from '../../../shared/http/validation'
import type { UpstreamIdentity } from '../../../shared/upstream/identity'

export interface SweepParams {
  sequence_id: string
  /** Detection fields to answer, sorted and deduplicated. */
  fields: string[]
  /** Add `pixel_geometry` to every detection. */
  pixels: boolean
}

const KNOWN = new Set<string>(DETECTION_FIELDS)

/**
 * The sweep's parameters from the validated path and query (`sequenceDetectionsPath`,
 * `sequenceDetectionsQuery`, which already refused unknown fields, dropped repeated ones and gave
 * the defaults): the fields sorted. The one place a sequence question is normalised.
 *
 * @example
 * normalizeParams({ sequence_id: 'kx7r2u', fields: ['value', 'id'], pixels: false })
 * // { sequence_id: 'kx7r2u', fields: ['id', 'value'], pixels: false }
 */
export function normalizeParams(p: { sequence_id: string; fields: readonly string[]; pixels: boolean }): SweepParams {
  return { sequence_id: p.sequence_id, fields: [...p.fields].sort(), pixels: p.pixels }
}

/**
 * Whether what a sweep object was sent over RPC is what {@link normalizeParams} gives for a valid
 * question: a sequence id by the public rule, known fields sorted without repeats, a boolean. A
 * cheap check of shape: the object does not normalise again.
 *
 * @example
 * isSweepParams({ sequence_id: 'kx7r2u', fields: ['id', 'value'], pixels: false }) // true
 * isSweepParams({ sequence_id: 'kx7r2u', fields: ['value', 'id'], pixels: false }) // false: not sorted
 */
export function isSweepParams(p: unknown): p is SweepParams {
  if (typeof p !== 'object' || p === null) return false
  const { sequence_id, fields, pixels } = p as Record<string, unknown>
  return (
    typeof sequence_id === 'string' &&
    SEQUENCE_ID.test(sequence_id) &&
    typeof pixels === 'boolean' &&
    Array.isArray(fields) &&
    fields.length > 0 &&
    fields.every((f, i) => typeof f === 'string' && KNOWN.has(f) && (i === 0 || fields[i - 1] < f))
  )
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
