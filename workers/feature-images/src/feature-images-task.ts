/**
 * @module
 * The images of a map feature as a job-engine task: plan = the feature (one
 * `/{id}?fields=id,object_value,geometry,images` call), units = the feature record itself (its
 * result is its public JSON, made without a request) and one unit per batch of `BATCH_IDS` images
 * in upstream order (one `/images?image_ids=…&fields=id,thumb_original_url` read, halved when the
 * upstream refuses it), answer = the public body `{map_feature, images}` joined as text: the very
 * text `JSON.stringify` makes of it. A feature seen in N images costs 1 + ceil(N / BATCH_IDS).
 */
import type { Point } from 'geojson'
import { problem } from '../../../shared/problem/problem'
import type { Task } from '../../../shared/engine/task'
import type { GraphClient } from '../../../shared/upstream/client'
import { chunksOf, readImages } from '../../../shared/upstream/batch-read'
import { UpstreamError } from '../../../shared/upstream/errors'
import type { UpstreamIdentity } from '../../../shared/upstream/identity'
import { batchSizeNow, learnBatchMax, type TraitsKV } from '../../../shared/upstream/traits'

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

/**
 * The feature record (answered from the plan, no request), or a batch of its images from position
 * `at` on (as listed: an image listed twice is there twice). `image` is the unit of jobs planned
 * before batches (one image each), still run if a deploy finds one stored.
 */
export type FeatureImagesUnit =
  | { kind: 'feature'; map_feature: MapFeatureRecord }
  | { kind: 'images'; at: number; ids: string[] }
  | { kind: 'image'; at: number; id: string }

/** What the task reads besides its parameters. */
export interface FeatureImagesSettings {
  /** Ids per batch read (`BATCH_IDS`). */
  batch: number
  /** Where the upstream's traits are remembered (the Worker's `CACHE`); absent: per isolate only. */
  kv?: TraitsKV
  /** The upstream's URL: the traits' key. */
  baseUrl: string
}

interface ImageUrl {
  id: string
  thumb_original_url: string
}

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

/**
 * The task: batches of `settings.batch` images, or of the smaller size the upstream was seen to
 * take (remembered in its traits, so a refused size is not asked again for an hour).
 * @example new JobRunner(host, featureImagesTask({ batch: batchIdsSetting(env), kv: env.CACHE, baseUrl: env.MAPILLARY_GRAPH_URL }), options)
 */
export function featureImagesTask(settings: FeatureImagesSettings): Task<FeatureImagesParams, FeatureImagesUnit> {
  const batchNow = () => batchSizeNow(settings.kv, settings.baseUrl, settings.batch)
  return {
    // A wrong kind of id (an image's has no `images`) or an unknown one throws the client's not_found: 404.
    async plan(p, upstream) {
      const f = await upstream.get<UpstreamFeature>(`/${p.map_feature_id}`, { fields: 'id,object_value,geometry,images' })
      const map_feature: MapFeatureRecord = { id: f.id, object_value: f.object_value ?? null, geometry: f.geometry ?? null }
      const listed = (f.images?.data ?? []).map((image) => String(image.id))
      const size = await batchNow()
      const batches = chunksOf(listed, size).map(({ at, ids }): FeatureImagesUnit => ({ kind: 'images', at, ids }))
      return { ok: true, units: [{ kind: 'feature', map_feature }, ...batches] }
    },

    // A batch split into narrower ones (its children) keeps its `at`: the length tells them apart.
    unitKey: (u) => (u.kind === 'feature' ? 'feature' : u.kind === 'images' ? `images:${u.at}+${u.ids.length}` : String(u.at)),

    async runUnit(u, _p, upstream) {
      if (u.kind === 'feature') return { result: JSON.stringify(u.map_feature) }
      const ids = u.kind === 'images' ? u.ids : [u.id]
      const size = await batchNow()
      // The upstream takes fewer ids than this unit holds (learned since the plan, or by this unit
      // when its slice's budget ended mid-read): batches it takes, each a unit of its own, so no
      // unit needs more requests than a slice may make.
      if (u.kind === 'images' && new Set(ids).size > size) {
        return { children: chunksOf(ids, size).map(({ at, ids }): FeatureImagesUnit => ({ kind: 'images', at: u.at + at, ids })) }
      }
      const learn = learnBatchMax(settings.kv, settings.baseUrl)
      const read = await readImages<ImageUrl>(upstream, ids, 'id,thumb_original_url', { batch: size, onSmaller: learn.onSmaller }).finally(learn.remember)
      // As the one-image read did: an image the feature lists but the upstream does not serve ends the job as its 404.
      const missing = ids.find((id) => read.absent.has(id))
      if (missing !== undefined) throw notServed(missing, upstream)
      return { result: ids.map((id) => imageJson(read.found.get(id)!)).join(',') }
    },

    answer(_p, results) {
      // The feature, then its images in upstream order (an image listed twice, twice): by position,
      // since a split batch's children finish after their parent's peers.
      const feature = results.find((r) => r.unit.kind === 'feature')
      if (!feature) return { ok: false, problem: problem('internal_error', 'The job lost its map feature.') }
      const images = results
        .flatMap((r) => (r.unit.kind === 'feature' ? [] : [{ at: r.unit.at, text: r.result }]))
        .sort((a, b) => a.at - b.at)
        .map((r) => r.text)
      return { ok: true, body: `{"map_feature":${feature.result},"images":[${images.join(',')}]}` }
    },
  }
}

/** An image's public JSON: exactly these two members, in this order. */
function imageJson(image: ImageUrl): string {
  return JSON.stringify({ id: image.id, thumb_original_url: image.thumb_original_url })
}

/** The error `GET /{id}` threw for an id the upstream does not know (what the unit of one image threw). */
function notServed(id: string, upstream: GraphClient): UpstreamError {
  return new UpstreamError('not_found', `Graph API GET /${id} failed: HTTP 400 (not_found)`, { status: 400, graphCode: 100, tokenSource: upstream.tokenSource })
}
