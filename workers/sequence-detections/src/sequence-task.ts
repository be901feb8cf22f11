/**
 * @module
 * Detections of a sequence as a job-engine task, at the fewest upstream requests the upstream
 * allows. Plan: the sequence's image ids (one `/image_ids` call), then how the upstream treats
 * `detections.<field>` (a remembered upstream trait, else ONE probe with the first batch):
 * - expanded (or not yet known): units are batches of images read with
 *   `GET /images?image_ids=…&fields=id,detections.…` ({@link BatchUnit}); whatever a batch cannot
 *   answer for certain (a paged or long edge, an image left out, bare ids after all) becomes
 *   per-image units in its place, and a refused batch becomes halves;
 * - ids only, or refused: one unit per image (`/{id}/detections`, today's way), and with pixels the
 *   sizes read in batches first ({@link SizesUnit}, kept a month in KV).
 * Every unit makes one upstream request (a per-image unit whose size nobody knew makes two), so a
 * unit always fits a slice's budget. Answer = the public body, joined as text in sequence order.
 */
import { problem } from '../../../shared/problem/problem'
import type { Task } from '../../../shared/engine/task'
import type { GraphClient } from '../../../shared/upstream/client'
import { chunksOf } from '../../../shared/upstream/batch-read'
import type { ShardSettings } from '../../../shared/fanout/shards'
import { withPixels } from '../../../shared/mvt/with-pixels'
import { UpstreamError } from '../../../shared/upstream/errors'
import { upstreamProblem } from '../../../shared/upstream/to-problem'
import { expandedFields, judgeBatchFailure, judgeExpansion, readDetectionsEdge, type ExpansionVerdict } from '../../../shared/upstream/expanded-detections'
import { pick, upstreamFields, type SweepParams } from './params'

/** An image's size in pixels. */
export interface Size {
  width: number
  height: number
}

/**
 * One image of the sequence, at its position: its detections from `/{id}/detections`. `width` and
 * `height` when its size is already known (pixels); `done` when a batch already read its answer.
 */
export interface ImageUnit {
  at: number
  id: string
  width?: number
  height?: number
  done?: string
}

/**
 * The images at positions `at`… (`ids`, in sequence order, repeats kept) read in one request through
 * dot expansion. `pre`: the planning probe's answer for them (its `data`, as JSON text), read again
 * instead of asked again.
 */
export interface BatchUnit {
  at: number
  ids: string[]
  read: 'expanded'
  pre?: string
}

/** The images at positions `at`…: their sizes read in one batch, then one {@link ImageUnit} each. `sizes`: already known. */
export interface SizesUnit {
  at: number
  ids: string[]
  read: 'sizes'
  sizes?: Array<Size | null>
}

export type SequenceUnit = ImageUnit | BatchUnit | SizesUnit

/** What the upstream is remembered to do (shared/upstream/traits.ts's `UpstreamTraits`, the part read here). */
export interface SequenceTraits {
  batchMax?: number
  detectionsExpansion?: ExpansionVerdict
}

/** What the task needs beyond its parameters and the slice's client: the Worker's settings and KV. */
export interface SequenceTaskHost {
  /** Ids per `/images?image_ids=` request (`BATCH_IDS`). */
  batchIds: number
  /** The sweep's sharding: sizes batches are cut so a long sequence still spreads over every part. */
  shards: ShardSettings
  /** The remembered upstream traits (never throws: nothing known when they cannot be read). */
  readTraits(): Promise<SequenceTraits>
  /** Remembers what was learned (never throws: best effort). */
  rememberTraits(patch: SequenceTraits): Promise<void>
  /** Image sizes, kept ones first, the rest read in batches of `batch` (shared/cache/image-sizes.ts). */
  imageSizes(client: GraphClient, ids: string[], batch: number): Promise<Map<string, Size>>
}

/** A batch's answer (or the probe's) kept in a unit or a result only up to this size: a Durable Object's SQLite value holds 2 MB. */
const MAX_KEPT_TEXT = 1_000_000

type Detection = Record<string, unknown> & { geometry?: unknown }

/**
 * The task, given its host (the sweep object wires KV, the traits and the settings).
 * @example
 * const task = sequenceTask({ batchIds: 100, shards: shardSettings(env), readTraits, rememberTraits, imageSizes })
 * new JobRunner(host, task, options)
 */
export function sequenceTask(host: SequenceTaskHost): Task<SweepParams, SequenceUnit> {
  /** Remembers `patch` when it changes what is remembered. */
  const learn = async (patch: SequenceTraits) => {
    const known = await host.readTraits()
    const changed = (Object.keys(patch) as Array<keyof SequenceTraits>).some((k) => patch[k] !== undefined && patch[k] !== known[k])
    if (changed) await host.rememberTraits(patch)
  }

  return {
    async plan(p, upstream) {
      const notFound = () => ({ ok: false as const, problem: problem('not_found', `Sequence '${p.sequence_id}' does not exist or has no images.`) })
      let ids: string[]
      try {
        const res = await upstream.get<{ data?: { id: string }[] }>('/image_ids', { sequence_id: p.sequence_id })
        ids = (res.data ?? []).map((d) => String(d.id))
      } catch (e) {
        if (e instanceof UpstreamError && e.reason === 'not_found') return notFound()
        throw e
      }
      if (ids.length === 0) return notFound()

      const traits = await host.readTraits()
      let batch = Math.max(1, Math.min(host.batchIds, traits.batchMax ?? Infinity))
      let verdict = traits.detectionsExpansion
      let probe: Probe | undefined
      if (verdict === undefined) {
        probe = await probeExpansion(upstream, ids.slice(0, batch), p)
        verdict = probe.verdict
        batch = probe.batch
        const patch: SequenceTraits = { ...(verdict ? { detectionsExpansion: verdict } : {}), ...(probe.batchMax !== undefined ? { batchMax: probe.batchMax } : {}) }
        if (Object.keys(patch).length > 0) await host.rememberTraits(patch)
      }

      if (verdict === undefined || verdict === 'expanded') {
        // Not known (no detection in the probed batch): expansion is tried; each batch judges its own answer.
        const units: SequenceUnit[] = chunksOf(ids, batch).map(({ at, ids }) => ({ at, ids, read: 'expanded' as const }))
        const first = units[0] as BatchUnit
        if (probe?.data && first.ids.length === probe.batch && probe.data.length <= MAX_KEPT_TEXT) first.pre = probe.data
        return { ok: true, units }
      }
      if (!p.pixels) return { ok: true, units: ids.map((id, at) => ({ at, id })) }
      // Small sizes batches: a long sequence keeps enough units to spread over every part.
      const chunk = Math.max(1, Math.min(host.batchIds, batch, Math.floor(ids.length / (host.shards.maxShards * host.shards.minPerShard))))
      const probed = probe?.sizes
      const units = chunksOf(ids, chunk).map(({ at, ids }): SizesUnit => {
        const known = probed ? ids.map((id) => probed.get(id) ?? null) : []
        return probed && known.every((s) => s !== null) ? { at, ids, read: 'sizes', sizes: known } : { at, ids, read: 'sizes' }
      })
      return { ok: true, units }
    },

    unitKey: (u) => ('ids' in u ? `${u.read === 'sizes' ? 's' : 'b'}${u.at}+${u.ids.length}` : String(u.at)),

    // One request a unit: a batch, a sizes batch, or one image's detections with its size known.
    requestsPerUnit: () => 1,

    async runUnit(u, p, upstream) {
      if (!('ids' in u)) return { result: await imageDetections(u, p, upstream) }
      if (u.read === 'sizes') {
        const sizes = u.sizes ? new Map(u.ids.map((id, i) => [id, u.sizes![i]] as const)) : await host.imageSizes(upstream, [...new Set(u.ids)], host.batchIds)
        return { children: u.ids.map((id, i) => ({ at: u.at + i, id, ...(sizes.get(id) ?? {}) })) }
      }
      return runBatch(u, p, upstream, learn)
    },

    answer(p, results) {
      // Each image at its position, whichever unit answered it.
      const slots: Array<{ id: string; text: string }> = []
      for (const { unit: u, result } of results) {
        if (!('ids' in u)) {
          slots[u.at] = { id: u.id, text: result || '[]' }
          continue
        }
        const lines = result.split('\n')
        if (u.read !== 'expanded' || lines.length !== u.ids.length) return { ok: false, problem: problem('internal_error', 'A batch of the sequence answered for other images.') }
        u.ids.forEach((id, i) => (slots[u.at + i] = { id, text: lines[i]! }))
      }
      for (let at = 0; at < slots.length; at++) if (!slots[at]) return { ok: false, problem: problem('internal_error', `Image ${at + 1} of the sequence has no answer.`) }
      const ids = slots.map((s) => s.id)
      // An id listed twice keeps one key (its first detections), as an object would.
      const seen = new Set<string>()
      const entries: string[] = []
      for (const s of slots) {
        if (seen.has(s.id)) continue
        seen.add(s.id)
        entries.push(`${JSON.stringify(s.id)}:${s.text}`)
      }
      return { ok: true, body: `{"sequence_id":${JSON.stringify(p.sequence_id)},"image_ids":${JSON.stringify(ids)},"detections":{${entries.join(',')}}}` }
    },

    failure(e, _unit, source) {
      // The sequence exists (it was planned): an image the upstream listed but cannot serve is its fault.
      if (e.reason === 'not_found') return { problem: problem('upstream_error', 'The upstream listed an image of this sequence that it then could not serve.', e.status !== undefined ? { upstream_status: e.status } : {}) }
      return upstreamProblem(e, source)
    },
  }
}

/** The public detections of a list, as `/{id}/detections` gave it: the asked fields, and pixels with a size. */
function render(data: Detection[], p: SweepParams, size: Size | undefined): string {
  const detections = size ? data.map((d) => pick(withPixels(d, size.width, size.height), p.fields, true)) : data.map((d) => pick(d, p.fields, false))
  return JSON.stringify(detections)
}

/** One image's detections through its own `/{id}/detections` (and its size, when pixels are asked and it is not known). */
async function imageDetections(u: ImageUnit, p: SweepParams, upstream: GraphClient): Promise<string> {
  if (u.done !== undefined) return u.done
  const path = `/${encodeURIComponent(u.id)}`
  const known = u.width !== undefined && u.height !== undefined ? { width: u.width, height: u.height } : undefined
  const [list, size] = await Promise.all([
    upstream.get<{ data?: Detection[] }>(`${path}/detections`, { fields: upstreamFields(p) }),
    p.pixels ? (known ?? upstream.get<Size>(path, { fields: 'width,height' })) : undefined,
  ])
  return render(list.data ?? [], p, size)
}

/** One batch: asked (or its probe read again), each image answered or handed to a unit of its own. */
async function runBatch(u: BatchUnit, p: SweepParams, upstream: GraphClient, learn: (patch: SequenceTraits) => Promise<void>) {
  const fields = upstreamFields(p).split(',')
  let data: unknown[]
  if (u.pre !== undefined) data = JSON.parse(u.pre) as unknown[]
  else {
    const distinct = [...new Set(u.ids)]
    try {
      data = await readBatch(upstream, distinct, p)
    } catch (e) {
      if (!(e instanceof UpstreamError)) throw e
      const judged = judgeBatchFailure(e, distinct.length)
      if (judged === 'trouble') throw e
      if (judged === 'smaller') {
        // Only a 400 says "too many"; a 5xx may be a bad moment, used for this batch and not remembered.
        if (e.reason === 'bad_request') await learn({ batchMax: Math.ceil(distinct.length / 2) })
        const half = Math.ceil(u.ids.length / 2)
        return { children: [{ at: u.at, ids: u.ids.slice(0, half), read: 'expanded' as const }, { at: u.at + half, ids: u.ids.slice(half), read: 'expanded' as const }] }
      }
      // The upstream no longer takes the dotted fields: each image on its own, sizes in one batch first.
      await learn({ detectionsExpansion: 'refused' })
      return { children: p.pixels ? [{ at: u.at, ids: u.ids, read: 'sizes' as const }] : u.ids.map((id, i) => ({ at: u.at + i, id })) }
    }
  }
  const verdict = judgeExpansion(data, fields)
  if (verdict) await learn({ detectionsExpansion: verdict })

  const byId = new Map<string, unknown>()
  for (const image of data) {
    const id = isObject(image) && (typeof image.id === 'string' || typeof image.id === 'number') ? String(image.id) : undefined
    if (id !== undefined && !byId.has(id)) byId.set(id, image)
  }
  const lines: Array<string | undefined> = []
  const own: ImageUnit[] = []
  u.ids.forEach((id, i) => {
    const image = byId.get(id)
    const size = p.pixels ? sizeOf(image) : undefined
    const edge = image === undefined ? undefined : readDetectionsEdge(image, fields)
    if (edge?.kind === 'whole' && (!p.pixels || size)) lines[i] = render(edge.detections as Detection[], p, size)
    // Left out, cut, bare ids, or no size: its own /{id}/detections answers it.
    else own.push({ at: u.at + i, id, ...(size ?? {}) })
  })
  const answered = lines.filter((l) => l !== undefined)
  if (own.length === 0 && answered.reduce((n, l) => n + l.length + 1, 0) <= MAX_KEPT_TEXT) return { result: lines.join('\n') }
  // Some images need their own request: every image becomes a unit, the answered ones carrying their answer.
  const children: ImageUnit[] = u.ids.map((id, i) => (lines[i] !== undefined ? { at: u.at + i, id, done: lines[i] } : own.find((o) => o.at === u.at + i)!))
  return { children }
}

/** `GET /images?image_ids=…` with the expanded detection fields (and the size for pixels): its `data`. */
async function readBatch(upstream: GraphClient, ids: string[], p: SweepParams): Promise<unknown[]> {
  const fields = expandedFields(upstreamFields(p).split(','), p.pixels ? ['width', 'height'] : [])
  const res = await upstream.get<{ data?: unknown }>('/images', { image_ids: ids.join(','), fields })
  if (!Array.isArray(res.data)) throw new UpstreamError('bad_response', 'Graph API GET /images answered no data list (bad_response)')
  return res.data
}

interface Probe {
  /** What the answer showed; undefined: nothing to judge by (no detection in the batch). */
  verdict: ExpansionVerdict | undefined
  /** The batch size that was answered (or refused for its fields). */
  batch: number
  /** A 400 refused a larger batch: the largest size known to pass. */
  batchMax?: number
  /** The answered batch's `data`, as JSON text (the first batch's unit reads it again). */
  data?: string
  /** Sizes the answer gave (pixels). */
  sizes?: Map<string, Size>
}

/**
 * How the upstream treats the expanded fields, asked with the first batch of the sequence: one
 * request, or a few when the batch is too large (each a half of the last).
 */
async function probeExpansion(upstream: GraphClient, first: string[], p: SweepParams): Promise<Probe> {
  const fields = upstreamFields(p).split(',')
  let size = first.length
  let batchMax: number | undefined
  for (;;) {
    const distinct = [...new Set(first.slice(0, size))]
    try {
      const data = await readBatch(upstream, distinct, p)
      const sizes = new Map<string, Size>()
      for (const image of data) {
        const s = sizeOf(image)
        if (s && isObject(image)) sizes.set(String(image.id), s)
      }
      return { verdict: judgeExpansion(data, fields), batch: size, ...(batchMax !== undefined ? { batchMax } : {}), data: JSON.stringify(data), sizes }
    } catch (e) {
      if (!(e instanceof UpstreamError)) throw e
      const judged = judgeBatchFailure(e, distinct.length)
      if (judged === 'trouble') throw e
      if (judged === 'refused') return { verdict: 'refused', batch: size, ...(batchMax !== undefined ? { batchMax } : {}) }
      size = Math.ceil(size / 2)
      if (e.reason === 'bad_request') batchMax = size
    }
  }
}

/** An image's `width` and `height` when both are positive numbers. */
function sizeOf(image: unknown): Size | undefined {
  if (!isObject(image)) return undefined
  const { width, height } = image
  return typeof width === 'number' && typeof height === 'number' && width > 0 && height > 0 ? { width, height } : undefined
}

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v)
}
