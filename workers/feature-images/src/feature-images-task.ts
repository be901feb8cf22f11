/**
 * @module
 * The images of a map feature as a job-engine task: plan = the feature (one
 * `/{id}?fields=id,object_value,geometry,images` call), units = the feature record itself (its
 * result is its public JSON, made without a request) and one unit per image in upstream order
 * (`/{image}?fields=id,thumb_original_url`), answer = the public body `{map_feature, images}`
 * joined as text: the very text `JSON.stringify` makes of it.
 */
import type { Point } from 'geojson'
import { problem } from '../../../shared/problem/problem'
import type { Task } from '../../../shared/engine/task'
import type { UpstreamIdentity } from '../../../shared/upstream/identity'

/** The question: one map feature (a numeric id, validated by the public route). */
export interface FeatureImagesParams {
  map_feature_id: string
}

/** The public `map_feature` member, as the upstream gave it (absent members are null). */
export interface MapFeatureRecord {
  id: string
  object_value: string | null
  geometry: Point | null
}

/** The feature record (answered from the plan, no request), or one image of it, at its position. */
export type FeatureImagesUnit = { kind: 'feature'; map_feature: MapFeatureRecord } | { kind: 'image'; at: number; id: string }

interface UpstreamFeature {
  id: string
  object_value?: string
  geometry?: Point
  images?: { data?: { id: string }[] }
}

const FEATURE_ID = /^[0-9]{1,20}$/

/** The parameters, or null when they are not what the public route validates. */
export function validFeatureImagesParams(input: unknown): FeatureImagesParams | null {
  const id = (input as Partial<FeatureImagesParams> | null)?.map_feature_id
  return typeof id === 'string' && FEATURE_ID.test(id) ? { map_feature_id: id } : null
}

/**
 * The Durable Object name of a question: `mf-images-job:<id>`, then `|client:<hmac>` for a client's
 * identity (its parts' names start with it). Holds no credential.
 * @example featureImagesName({ map_feature_id: '897467189777867' }) // 'mf-images-job:897467189777867'
 */
export function featureImagesName(p: FeatureImagesParams, identity: UpstreamIdentity = 'server'): string {
  return `mf-images-job:${p.map_feature_id}${identity === 'server' ? '' : `|${identity}`}`
}

export const featureImagesTask: Task<FeatureImagesParams, FeatureImagesUnit> = {
  // A wrong kind of id (an image's has no `images`) or an unknown one throws the client's not_found: 404.
  async plan(p, upstream) {
    const f = await upstream.get<UpstreamFeature>(`/${p.map_feature_id}`, { fields: 'id,object_value,geometry,images' })
    const map_feature: MapFeatureRecord = { id: f.id, object_value: f.object_value ?? null, geometry: f.geometry ?? null }
    const images = (f.images?.data ?? []).map((image, at) => ({ kind: 'image' as const, at, id: String(image.id) }))
    return { ok: true, units: [{ kind: 'feature', map_feature }, ...images] }
  },

  unitKey: (u) => (u.kind === 'feature' ? 'feature' : String(u.at)),

  async runUnit(u, _p, upstream) {
    if (u.kind === 'feature') return { result: JSON.stringify(u.map_feature) }
    const image = await upstream.get<{ id: string; thumb_original_url: string }>(`/${encodeURIComponent(u.id)}`, { fields: 'id,thumb_original_url' })
    return { result: JSON.stringify({ id: image.id, thumb_original_url: image.thumb_original_url }) }
  },

  answer(_p, results) {
    // Plan order: the feature, then its images in upstream order (an image listed twice, twice).
    const feature = results.find((r) => r.unit.kind === 'feature')
    if (!feature) return { ok: false, problem: problem('internal_error', 'The job lost its map feature.') }
    const images = results.filter((r) => r.unit.kind === 'image').map((r) => r.result)
    return { ok: true, body: `{"map_feature":${feature.result},"images":[${images.join(',')}]}` }
  },
}
