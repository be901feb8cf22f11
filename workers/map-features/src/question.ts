/**
 * @module
 * One map-features question, normalised from its validated query: whatever the order of its
 * lists, the same question names one sweep object and one cache key. The public route and the
 * internal progress route both start here.
 */
import type { z } from 'zod'
import { fail } from '../../../shared/problem/problem'
import type { mapFeaturesQuery } from '../../../shared/http/task-params'
import { bboxArea } from '../../../shared/tiling'
import type { Env } from './env'
import type { SweepParams } from './sweep-params'

// A city district is ~0.0004 deg²; this allows a whole city while bounding the fan-out.
export const DEFAULT_MAX_BBOX_AREA = 0.05

/**
 * The sweep's parameters (lists sorted); throws the 422 `bbox_too_large` problem past MAX_BBOX_AREA.
 * @example sweepParams({ bbox: [-79.54, 8.94, -79.52, 8.96], fields: ['object_type'] }, env)
 */
export function sweepParams(query: z.output<typeof mapFeaturesQuery>, env: Pick<Env, 'MAX_BBOX_AREA'>): SweepParams {
  const { bbox, object_values, fields } = query
  const maxArea = Number(env.MAX_BBOX_AREA) > 0 ? Number(env.MAX_BBOX_AREA) : DEFAULT_MAX_BBOX_AREA
  const area = bboxArea(bbox)
  if (area > maxArea) {
    fail('bbox_too_large', `The box covers ${area.toPrecision(3)} square degrees; the limit is ${maxArea}. Split it into smaller boxes.`, { limit_square_degrees: maxArea })
  }
  // Order does not change the answer: sorted, one question has one key and one sweep object.
  const objectValues = object_values ? [...object_values].sort() : undefined
  return { bbox, fields: [...fields].sort(), ...(objectValues ? { objectValues } : {}) }
}
