/**
 * @module
 * The query of `GET /v1/images/{id}/detections.svg`, validated in the style of
 * shared/http/validation.ts: each parameter given at most once, a failure a 400 naming it.
 */
import { z } from 'zod'
import { objectValuesParam } from '../../../shared/http/validation'

/** Thumbnail sizes the upstream has a URL field for (`thumb_{size}_url`). */
export const THUMB_SIZES = ['256', '1024', '2048', 'original'] as const
export type ThumbSize = (typeof THUMB_SIZES)[number]
/** Widest display asked for: wider than any screen, small enough to keep the numbers sane. */
export const MAX_DISPLAY_WIDTH = 8192
/** Browsers keep the SVG two minutes: the thumbnail URL inside expires upstream (KV keeps it ≤ TTL.withThumbUrls). */
export const SVG_MAX_AGE = 120
/** Thickest outline, in displayed pixels. */
export const MAX_STROKE = 20

const once = () =>
  z.string({ error: (iss) => (Array.isArray(iss.input) ? 'must be given only once' : 'must be a string') }).optional()

const decimal = (name: string, min: number, max: number) =>
  once().transform((s, ctx): number | undefined => {
    if (s === undefined) return undefined
    const n = /^\s*[+-]?(?:\d+(?:\.\d*)?|\.\d+)\s*$/.test(s) ? Number(s) : NaN
    if (!Number.isFinite(n) || n < min || n > max) {
      ctx.addIssue({ code: 'custom', message: `must be a number from ${min} to ${max} (${name})` })
      return z.NEVER
    }
    return n
  })

/**
 * `size` (default 1024), `width` (1–8192), `labels` (default true), `opacity` (0–1), `stroke`
 * (0–20), `values` (object values, exact).
 *
 * @example
 * detectionsSvgQuery.parse({ size: '256', width: '640', labels: 'false', values: 'regulatory--stop--g1' })
 * // { size: '256', width: 640, labels: false, opacity: undefined, stroke: undefined, values: ['regulatory--stop--g1'] }
 */
export const detectionsSvgQuery = z.object({
  size: once().transform((s, ctx): ThumbSize => {
    if (s === undefined) return '1024'
    if ((THUMB_SIZES as readonly string[]).includes(s)) return s as ThumbSize
    ctx.addIssue({ code: 'custom', message: `must be one of ${THUMB_SIZES.join(', ')}` })
    return z.NEVER
  }),
  width: once().transform((s, ctx): number | undefined => {
    if (s === undefined) return undefined
    if (!/^\d{1,5}$/.test(s) || Number(s) < 1 || Number(s) > MAX_DISPLAY_WIDTH) {
      ctx.addIssue({ code: 'custom', message: `must be a whole number of pixels from 1 to ${MAX_DISPLAY_WIDTH}` })
      return z.NEVER
    }
    return Number(s)
  }),
  labels: once().transform((s, ctx): boolean => {
    if (s === undefined || s === 'true' || s === '1') return true
    if (s === 'false' || s === '0') return false
    ctx.addIssue({ code: 'custom', message: 'must be true, false, 1 or 0' })
    return z.NEVER
  }),
  opacity: decimal('fill opacity', 0, 1),
  stroke: decimal('outline width in pixels', 0, MAX_STROKE),
  values: objectValuesParam,
})
