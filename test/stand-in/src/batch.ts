/**
 * @module
 * `GET /images?image_ids=ID1,ID2,…`: the id list of a batch read, and its limit. Pure.
 *
 * The list is checked whole: empty, an empty element (`1,,2`, a trailing comma) or a non-numeric id
 * makes it malformed (400 code 100). More ids than `maxBatchIds` (counted as written, duplicates
 * included, as the upstream sees the parameter) is refused. A duplicate is answered once, at its
 * first place; ids that name no image are left out of the answer silently.
 */

export const DEFAULT_MAX_BATCH_IDS = 200

export type ImageIdsResult = { ok: true; ids: string[]; asked: number } | { ok: false; message: string }

/**
 * Parses `image_ids`: the distinct ids in first-asked order, and how many were written.
 * @example parseImageIds('3,1,3') // { ok: true, ids: ['3', '1'], asked: 3 }
 * @example parseImageIds('1,x').ok // false
 */
export function parseImageIds(raw: string | undefined | null): ImageIdsResult {
  if (raw === undefined || raw === null) return { ok: false, message: 'The parameter image_ids is required' }
  const parts = raw.split(',').map((p) => p.trim())
  const bad = parts.find((p) => !/^\d{1,20}$/.test(p))
  if (raw.trim() === '' || bad !== undefined) {
    return { ok: false, message: `Invalid parameter image_ids '${raw}': expected a comma-separated list of numeric ids` }
  }
  return { ok: true, ids: [...new Set(parts)], asked: parts.length }
}
