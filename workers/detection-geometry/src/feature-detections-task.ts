/**
 * @module
 * The detections of a map feature, each drawn in its image's pixels, as a job-engine task: plan =
 * the feature's detections and the check that the id is a map feature (two requests at once, each
 * read through KV as the image route does), units = the detections list itself (its result is the
 * list, made without a request) and one unit per distinct image (its metadata, through KV: a
 * thumbnail URL, 300 s), answer = the public body `{map_feature, detections}`, as `JSON.stringify`
 * writes it.
 */
import { cacheKey, cached, TTL } from '../../../shared/cache/kv-cache'
import type { Task } from '../../../shared/engine/task'
import { problem } from '../../../shared/problem/problem'
import { identityPart, type UpstreamIdentity } from '../../../shared/upstream/identity'
import { withPixels } from '../../../shared/mvt/with-pixels'
import { DEFAULT_MAX_DECODE_POINTS } from './decode-limits'
import { imageMeta, type ImageMeta } from './image-meta'
import { requireMapFeature } from './map-feature-kind'

/**
 * The question: one map feature, for one upstream identity (it keys the KV entries the task reads
 * and writes; an HMAC, never a token).
 */
export interface FeatureDetectionsParams {
  map_feature_id: string
  identity: UpstreamIdentity
}

export interface Detection {
  id: string
  value?: string
  geometry?: string
  image?: { id: string }
}

/** The feature's detections (answered from the plan, no request), or one image they name, at its position. */
export type FeatureDetectionsUnit = { kind: 'detections'; detections: Detection[] } | { kind: 'image'; at: number; id: string }

const FEATURE_ID = /^[0-9]{1,20}$/
const IDENTITY = /^(?:server|client:[0-9a-f]{64})$/

/** The parameters, or null when they are not what the public route validates. */
export function validFeatureDetectionsParams(input: unknown): FeatureDetectionsParams | null {
  const p = input as Partial<FeatureDetectionsParams> | null
  if (typeof p?.map_feature_id !== 'string' || !FEATURE_ID.test(p.map_feature_id)) return null
  if (typeof p.identity !== 'string' || !IDENTITY.test(p.identity)) return null
  return { map_feature_id: p.map_feature_id, identity: p.identity }
}

/**
 * The Durable Object name of a question: `mf-detections-job:<id>`, then `|client:<hmac>` for a
 * client's identity (its parts' names start with it). Holds no credential.
 * @example featureDetectionsName('897467189777867', 'server') // 'mf-detections-job:897467189777867'
 */
export function featureDetectionsName(mapFeatureId: string, identity: UpstreamIdentity): string {
  return `mf-detections-job:${mapFeatureId}${identity === 'server' ? '' : `|${identity}`}`
}

/**
 * The task over the Worker's KV (absent: no cache, every piece from the upstream); a detection
 * drawing more than `maxPoints` points answers `pixel_geometry: null` (`too_many_points`).
 * @example new JobRunner(host, featureDetectionsTask(env.CACHE, decodeLimits(env).maxPoints), options)
 */
export function featureDetectionsTask(kv: KVNamespace | undefined, maxPoints = DEFAULT_MAX_DECODE_POINTS): Task<FeatureDetectionsParams, FeatureDetectionsUnit> {
  return {
    // The upstream lists detections of an image id too: an id of another kind is 404 like elsewhere.
    async plan(p, upstream) {
      const id = p.map_feature_id
      const key = await cacheKey('mf-detections', { id, identity: identityPart(p.identity) })
      const [{ value: detections }] = await Promise.all([
        cached(kv, key, TTL.detections, async () => (await upstream.get<{ data: Detection[] }>(`/${id}/detections`, { fields: 'id,value,geometry,image' })).data),
        requireMapFeature(kv, upstream, p.identity, id),
      ])
      const list = detections ?? []
      const imageIds = [...new Set(list.flatMap((d) => (d.image?.id ? [d.image.id] : [])))]
      return { ok: true, units: [{ kind: 'detections', detections: list }, ...imageIds.map((image, at) => ({ kind: 'image' as const, at, id: image }))] }
    },

    unitKey: (u) => (u.kind === 'detections' ? 'detections' : String(u.at)),

    async runUnit(u, p, upstream) {
      if (u.kind === 'detections') return { result: JSON.stringify(u.detections) }
      return { result: JSON.stringify(await imageMeta(kv, upstream, p.identity, u.id)) }
    },

    answer(p, results) {
      const list = results.find((r) => r.unit.kind === 'detections')
      if (!list) return { ok: false, problem: problem('internal_error', 'The job lost the feature’s detections.') }
      const images = new Map<string, ImageMeta>()
      for (const r of results) {
        if (r.unit.kind !== 'image') continue
        const meta = JSON.parse(r.result) as ImageMeta
        images.set(meta.id, meta)
      }
      const detections: unknown[] = []
      for (const d of JSON.parse(list.result) as Detection[]) {
        const image = d.image?.id ? images.get(d.image.id) : undefined
        if (!image) return { ok: false, problem: problem('upstream_error', `The upstream named no image for detection ${d.id}.`) }
        detections.push({ ...withPixels(d, image.width, image.height, { maxPoints }), image })
      }
      return { ok: true, body: JSON.stringify({ map_feature: { id: p.map_feature_id }, detections }) }
    },
  }
}
