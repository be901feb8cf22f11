/**
 * @module
 * The detections of a map feature, each drawn in its image's pixels, as a job-engine task: plan =
 * the feature's detections (one request, read through KV as the image route does; they also tell
 * a map feature from an image, see {@link kindOf}), units = the detections list itself (its result
 * is the list, made without a request) and one unit per batch of `BATCH_IDS` distinct images (their
 * metadata through KV, the misses in one `/images?image_ids=` read), answer = the public body
 * `{map_feature, detections}`, as `JSON.stringify` writes it. A feature whose detections name N
 * images costs 1 + ceil(N / BATCH_IDS) requests (one more when it has no detections).
 */
import { cacheKey, cached, TTL } from '../../../shared/cache/kv-cache'
import type { Task, UnitOutcome } from '../../../shared/engine/task'
import { problem } from '../../../shared/problem/problem'
import { UpstreamError } from '../../../shared/upstream/errors'
import { identityPart, type UpstreamIdentity } from '../../../shared/upstream/identity'
import { batchSizeNow, learnBatchMax } from '../../../shared/upstream/traits'
import { withPixels } from '../../../shared/mvt/with-pixels'
import { chunksOf, DEFAULT_BATCH_IDS } from '../../../shared/upstream/batch-read'
import { KvBudget, KvBudgetExhausted } from '../../../shared/cache/kv-bulk'
import type { GraphClient } from '../../../shared/upstream/client'
import { subrequestBudget } from '../../../shared/upstream/request-client'
import { DEFAULT_MAX_DECODE_POINTS } from './decode-limits'
import { imageMeta, imageMetas, type ImageMeta } from './image-meta'
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

/**
 * The feature's detections (answered from the plan, no request), or a batch of the distinct images
 * they name from position `at` on. `image` is the unit of jobs planned before batches (one image
 * each), still run if a deploy finds one stored.
 */
export type FeatureDetectionsUnit =
  | { kind: 'detections'; detections: Detection[] }
  | { kind: 'images'; at: number; ids: string[] }
  | { kind: 'image'; at: number; id: string }

/** What the task reads besides its parameters. */
export interface FeatureDetectionsSettings {
  /** Ids per batch read (`BATCH_IDS`). */
  batch?: number
  /** The upstream's URL: the key of its remembered traits (the batch size it takes). */
  baseUrl?: string
  /** KV operations the units of one slice may make between them ({@link kvOpsSetting}). */
  kvOps?: number
  /**
   * Runs the units' KV writes after the units (pass `p => ctx.waitUntil(p)`): a slice's writes are
   * held until none of its units is running, so they never slow its upstream reads, then started
   * and handed here. The next plan of this object waits for them (a question asked again here reads
   * what the last one wrote). Without it each unit makes and awaits its own writes.
   */
  defer?: (p: Promise<unknown>) => void
}

/** One slice's KV: its bound, its units running, the writes they hold until none runs. */
interface SliceKv {
  budget: KvBudget
  running: number
  held: Array<() => Promise<void>>
}

/** The platform's bound on subrequests to Cloudflare services (KV, Durable Objects) per invocation, free plan. */
const SERVICE_SUBREQUESTS = 1000
/**
 * Of those, what a slice's units leave to the rest of its invocation besides one governor call per
 * upstream attempt: the plan's KV operations (the detections, the kind check, the traits), the
 * traits a unit reads and remembers, and a part's calls to its children.
 */
const KV_RESERVE = 100

/**
 * The KV operations one slice's units may make: `KV_OPS_PER_SLICE` when at least 1, else what the
 * free plan's 1,000 subrequests to Cloudflare services per invocation leave after one governor
 * call per upstream attempt (`budget`, SUBREQUEST_BUDGET) and a reserve of 100 (at least 10).
 * @example kvOpsSetting({}, 45) // 855
 */
export function kvOpsSetting(env: { KV_OPS_PER_SLICE?: string }, budget: number): number {
  const n = Number(env.KV_OPS_PER_SLICE)
  return Number.isFinite(n) && n >= 1 ? Math.floor(n) : Math.max(10, SERVICE_SUBREQUESTS - budget - KV_RESERVE)
}

/**
 * What the detections of `id` say it is: the upstream lists detections of an image id too, but
 * an image's all name that image (`image.id` = `id`), and a map feature's never name it (ids are
 * unique across kinds). An empty list, or a mixed one, cannot tell: `unknown`.
 * @example kindOf('5', [{ id: 'd1', image: { id: '7' } }]) // 'map_feature'
 */
export function kindOf(id: string, detections: readonly Detection[]): 'map_feature' | 'image' | 'unknown' {
  if (detections.length === 0) return 'unknown'
  const naming = detections.filter((d) => d.image?.id === id).length
  if (naming === detections.length) return 'image'
  if (naming === 0 && detections.every((d) => typeof d.image?.id === 'string')) return 'map_feature'
  return 'unknown'
}

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
 * @example new JobRunner(host, featureDetectionsTask(env.CACHE, decodeLimits(env).maxPoints, { batch: batchIdsSetting(env), baseUrl: env.MAPILLARY_GRAPH_URL, kvOps: kvOpsSetting(env, subrequestBudget(env)) }), options)
 */
export function featureDetectionsTask(kv: KVNamespace | undefined, maxPoints = DEFAULT_MAX_DECODE_POINTS, settings: FeatureDetectionsSettings = {}): Task<FeatureDetectionsParams, FeatureDetectionsUnit> {
  const baseUrl = settings.baseUrl ?? 'https://graph.mapillary.com'
  // The engine gives each slice (and each helper call) a client of its own: the slice's KV bound,
  // its units running and the writes they hold hang on it.
  const slices = new WeakMap<GraphClient, SliceKv>()
  const sliceOf = (upstream: GraphClient): SliceKv => {
    let s = slices.get(upstream)
    if (!s) slices.set(upstream, (s = { budget: new KvBudget(settings.kvOps ?? kvOpsSetting({}, subrequestBudget({}))), running: 0, held: [] }))
    return s
  }
  /** Slices holding writes, and writes started and not settled yet: a plan starts and awaits them. */
  const holding = new Set<SliceKv>()
  const pending = new Set<Promise<unknown>>()
  const hold = (s: SliceKv, writes: Array<() => Promise<void>>) => {
    s.held.push(...writes)
    holding.add(s)
  }
  /** Starts the writes `s` holds, handed to `settings.defer`. */
  const flush = (s: SliceKv) => {
    holding.delete(s)
    if (s.held.length === 0 || !settings.defer) return
    const started = Promise.all(s.held.splice(0).map((w) => w()))
    pending.add(started)
    void started.finally(() => pending.delete(started))
    settings.defer(started)
  }
  const batchNow = () => batchSizeNow(kv, baseUrl, settings.batch ?? DEFAULT_BATCH_IDS)
  const runImages = async (u: FeatureDetectionsUnit, p: FeatureDetectionsParams, upstream: GraphClient): Promise<UnitOutcome<FeatureDetectionsUnit>> => {
    if (u.kind === 'detections') return { result: JSON.stringify(u.detections) }
    const { budget: kvBudget } = sliceOf(upstream)
    if (u.kind === 'image') {
      // A unit of a job planned before batches: its two reads and up to two writes, taken at once.
      kvBudget.read(4)
      return { result: JSON.stringify(await imageMeta(kv, upstream, p.identity, u.id)) }
    }
    const size = await batchNow()
    // The upstream takes fewer ids than this batch holds (learned since the plan, or by this unit
    // when its slice's budget ended mid-read): batches it takes, each a unit of its own.
    if (u.ids.length > size) {
      return { children: chunksOf(u.ids, size).map(({ at, ids }): FeatureDetectionsUnit => ({ kind: 'images', at: u.at + at, ids })) }
    }
    const learn = learnBatchMax(kv, baseUrl)
    const metas = await imageMetas(kv, upstream, p.identity, u.ids, { batch: size, onSmaller: learn.onSmaller, kv: kvBudget, hold: settings.defer ? (writes) => hold(sliceOf(upstream), writes) : undefined }).finally(learn.remember)
    return { result: JSON.stringify(u.ids.map((id) => metas.get(id)!)) }
  }
  return {
    // The upstream lists detections of an image id too: an id of another kind is 404 like elsewhere.
    async plan(p, upstream) {
      // What an earlier question here wrote is read by this one.
      for (const s of holding) flush(s)
      await Promise.all(pending)
      const id = p.map_feature_id
      const key = await cacheKey('mf-detections', { id, identity: identityPart(p.identity) })
      const { value: detections } = await cached(kv, key, TTL.detections, async () => (await upstream.get<{ data: Detection[] }>(`/${id}/detections`, { fields: 'id,value,geometry,image' })).data)
      const list = detections ?? []
      const kind = kindOf(id, list)
      // The one request the list cannot spare: a feature with no detections (or an odd list) is asked its kind.
      if (kind === 'image') throw new UpstreamError('not_found', `Graph API GET /${id}/detections: the id names an image, not a map feature (not_found)`, { tokenSource: upstream.tokenSource })
      if (kind === 'unknown') await requireMapFeature(kv, upstream, p.identity, id)
      const imageIds = [...new Set(list.flatMap((d) => (d.image?.id ? [d.image.id] : [])))]
      const size = await batchNow()
      const batches = chunksOf(imageIds, size).map(({ at, ids }): FeatureDetectionsUnit => ({ kind: 'images', at, ids }))
      return { ok: true, units: [{ kind: 'detections', detections: list }, ...batches] }
    },

    // A batch split into narrower ones (its children) keeps its `at`: the length tells them apart.
    unitKey: (u) => (u.kind === 'detections' ? 'detections' : u.kind === 'images' ? `images:${u.at}+${u.ids.length}` : String(u.at)),

    async runUnit(u, p, upstream) {
      const slice = sliceOf(upstream)
      slice.running++
      try {
        return await runImages(u, p, upstream)
      } catch (e) {
        // Out of this slice's KV bound: the unit waits for the next slice, as when its requests are spent.
        if (e instanceof KvBudgetExhausted) throw new UpstreamError('budget_exhausted', `This slice's ${e.limit} KV operations are spent.`, { tokenSource: upstream.tokenSource })
        throw e
      } finally {
        // The slice's last running unit: its writes start (in its invocation, counted in its budget).
        if (--slice.running === 0) flush(slice)
      }
    },

    answer(p, results) {
      const list = results.find((r) => r.unit.kind === 'detections')
      if (!list) return { ok: false, problem: problem('internal_error', 'The job lost the feature’s detections.') }
      const images = new Map<string, ImageMeta>()
      for (const r of results) {
        if (r.unit.kind === 'detections') continue
        // A batch's result is a list; a unit of one image planned before batches holds one.
        const parsed = JSON.parse(r.result) as ImageMeta[] | ImageMeta
        for (const meta of Array.isArray(parsed) ? parsed : [parsed]) images.set(meta.id, meta)
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
