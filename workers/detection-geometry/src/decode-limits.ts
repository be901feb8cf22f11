/**
 * @module
 * How much one decode may cost: the largest `POST /v1/decode` body and the most points a decoded
 * geometry may hold (also per detection on the image and map-feature routes). Both are settings
 * (`MAX_DECODE_BODY_BYTES`, `MAX_DECODE_POINTS`) with the defaults below.
 */
import { MAX_GEOMETRY_CHARS } from '../../../shared/http/validation'
import { DEFAULT_MAX_POINTS } from '../../../shared/mvt/pixel-geometry'

/**
 * The largest `geometry` the body schema accepts (1 MiB of base64, a 768 KiB tile) and 4 KiB for
 * the JSON around it (`{"geometry":…,"width":…,"height":…}`, white space, members we ignore). A
 * body that cannot hold a valid request is refused before it is read whole.
 */
export const DEFAULT_MAX_DECODE_BODY_BYTES = MAX_GEOMETRY_CHARS + 4 * 1024

/** `MAX_DECODE_POINTS` unset: the cap every detection's pixel geometry gets (shared/mvt). */
export const DEFAULT_MAX_DECODE_POINTS = DEFAULT_MAX_POINTS

/** The settings as the Worker's env gives them (vars are text). */
export interface DecodeSettings {
  MAX_DECODE_BODY_BYTES?: string
  MAX_DECODE_POINTS?: string
}

export interface DecodeLimits {
  maxBodyBytes: number
  maxPoints: number
}

/**
 * The limits of `env`: each setting when it is a positive integer, else its default.
 *
 * @example
 * decodeLimits({ MAX_DECODE_POINTS: '1000' }) // { maxBodyBytes: 1052672, maxPoints: 1000 }
 */
export function decodeLimits(env: DecodeSettings): DecodeLimits {
  return {
    maxBodyBytes: positiveInteger(env.MAX_DECODE_BODY_BYTES) ?? DEFAULT_MAX_DECODE_BODY_BYTES,
    maxPoints: positiveInteger(env.MAX_DECODE_POINTS) ?? DEFAULT_MAX_DECODE_POINTS,
  }
}

function positiveInteger(text: string | undefined): number | undefined {
  if (text === undefined || !/^\s*[0-9]+\s*$/.test(text)) return undefined
  const n = Number(text)
  return Number.isSafeInteger(n) && n > 0 ? n : undefined
}
