/**
 * @module
 * readImages: many images read with `GET /images?image_ids=…&fields=…`, in chunks of a set size,
 * halving a chunk the upstream refuses, and never losing an id (docs/upstream.md, "Reading many
 * objects at once"; the maximum is undocumented: MapillaryJS asks 200, JOSM 25).
 */
import type { GraphClient } from './client'
import { UpstreamError } from './errors'

/** Ids per `/images?image_ids=` request when `BATCH_IDS` is unset. */
export const DEFAULT_BATCH_IDS = 100

/** Chunks asked at once: the Workers connection limit (the client's limiter caps it anyway). */
const CHUNKS_IN_FLIGHT = 6

/** Why a chunk of several ids failed in a way a smaller chunk may not: it is halved and asked again. */
const REFUSALS: ReadonlySet<string> = new Set(['bad_request', 'not_found', 'unavailable', 'timeout', 'dropped', 'bad_response'])

/**
 * `BATCH_IDS` (its whole part) when at least 1, else {@link DEFAULT_BATCH_IDS}.
 * @example batchIdsSetting({ BATCH_IDS: '50' }) // 50
 */
export function batchIdsSetting(env: { BATCH_IDS?: string }): number {
  const n = Number(env.BATCH_IDS)
  return Number.isFinite(n) && n >= 1 ? Math.floor(n) : DEFAULT_BATCH_IDS
}

/**
 * `ids` cut into runs of at most `size`, each with its position.
 * @example chunksOf(['a', 'b', 'c'], 2) // [{ at: 0, ids: ['a', 'b'] }, { at: 2, ids: ['c'] }]
 */
export function chunksOf(ids: readonly string[], size: number): Array<{ at: number; ids: string[] }> {
  const out: Array<{ at: number; ids: string[] }> = []
  for (let at = 0; at < ids.length; at += size) out.push({ at, ids: ids.slice(at, at + size) })
  return out
}

export interface ReadImagesOptions {
  /** Ids per request to start with. */
  batch: number
  /**
   * Told the smaller size a later read should start with (e.g. remembered with `rememberTraits`):
   * at once after a 4xx refusal ("Too many ids"), even when the read then fails (the budget
   * ended); after a 5xx or a lost answer, only once a chunk of the smaller size has passed, so an
   * outage never teaches one id a request.
   */
  onSmaller?: (batch: number) => void
}

/** What {@link readImages} read. */
export interface ImagesRead<T> {
  /** Each image the upstream answered, by its id (the asked id). */
  found: Map<string, T>
  /** Ids the upstream does not know: asked alone, it answered not_found. */
  absent: Set<string>
  /** The chunk size the read ended with: smaller than asked when the upstream refused a chunk. */
  batch: number
  /** Upstream requests this read made (refused ones included; the client's retries not). */
  requests: number
}

/**
 * Reads `ids` (deduplicated) with `fields` (`id` added when missing): chunks of `batch` ids through
 * `/images?image_ids=`, up to 6 at once. A chunk of several ids that fails (a refusal: HTTP 400 such
 * as "Too many ids", or a 5xx after the client's retries) is halved and both halves asked again;
 * the rest of the read then uses the smaller size (returned as `batch`). An id a chunk's answer
 * leaves out is asked alone with `GET /{id}?fields=`, and so is a chunk of one: not_found there
 * puts it in `absent`, any other failure is thrown. Rate limits, token errors, the governor's pacing
 * and the budget's end are thrown at once, never halved. Every id asked ends in `found` or `absent`.
 *
 * Not a probe for a field the upstream may refuse (e.g. `detections.value`): a refused field is
 * halved down to single ids, whose "nonexisting field" reads as not_found.
 *
 * @example
 * const { found, absent, batch } = await readImages<{ id: string; thumb_original_url: string }>(client, ['1', '2'], 'id,thumb_original_url', { batch: 100 })
 * found.get('1') // { id: '1', thumb_original_url: 'https://…' }
 */
export async function readImages<T extends { id: string }>(client: GraphClient, ids: Iterable<string>, fields: string, opts: ReadImagesOptions): Promise<ImagesRead<T>> {
  if (!Number.isInteger(opts.batch) || opts.batch < 1) throw new RangeError('readImages: batch must be an integer ≥ 1')
  const asked = fields.split(',').includes('id') ? fields : `id,${fields}`
  const found = new Map<string, T>()
  const absent = new Set<string>()
  // Ids waiting for a chunk, in order; a refused chunk's ids go back to the front.
  const pending = [...new Set(ids)]
  // Ids a chunk's answer left out: asked alone, before any new chunk.
  const alone: string[] = []
  let batch = opts.batch
  // A size halved after a failure that may be an outage, not told until a chunk that small passes.
  let unconfirmed: number | undefined
  let requests = 0
  let error: unknown

  const readOne = async (id: string) => {
    requests++
    try {
      found.set(id, await client.get<T>(`/${encodeURIComponent(id)}`, { fields: asked }))
    } catch (e) {
      if (e instanceof UpstreamError && e.reason === 'not_found') absent.add(id)
      else throw e
    }
  }

  const readChunk = async (chunk: string[]) => {
    requests++
    let data: unknown
    try {
      data = (await client.get<{ data?: unknown }>('/images', { image_ids: chunk.join(','), fields: asked })).data
    } catch (e) {
      if (!(e instanceof UpstreamError) || e.paced || !REFUSALS.has(e.reason)) throw e
      // Smaller from now on: the chunks in flight at the old size will be refused too.
      const half = Math.ceil(chunk.length / 2)
      if (half < batch) {
        batch = half
        if (e.reason === 'bad_request' || e.reason === 'not_found') {
          unconfirmed = undefined
          opts.onSmaller?.(batch)
        } else unconfirmed = batch
      }
      pending.unshift(...chunk)
      return
    }
    if (!Array.isArray(data)) throw new UpstreamError('bad_response', 'Graph API GET /images answered no data list (bad_response)')
    if (unconfirmed !== undefined && chunk.length <= unconfirmed) {
      unconfirmed = undefined
      opts.onSmaller?.(batch)
    }
    const wanted = new Set(chunk)
    for (const item of data as Array<T | null>) {
      const id = item && item.id !== undefined ? String(item.id) : undefined
      if (id !== undefined && wanted.has(id) && !found.has(id)) found.set(id, item!)
    }
    // Left out: unknown upstream, or dropped by it; alone, the upstream says which.
    for (const id of chunk) if (!found.has(id)) alone.push(id)
  }

  const next = (): (() => Promise<void>) | undefined => {
    const id = alone.shift()
    if (id !== undefined) return () => readOne(id)
    if (pending.length === 0) return undefined
    const chunk = pending.splice(0, batch)
    return chunk.length === 1 ? () => readOne(chunk[0]!) : () => readChunk(chunk)
  }

  // A small pump: up to CHUNKS_IN_FLIGHT requests; a finished one starts what its outcome added.
  await new Promise<void>((resolve) => {
    let active = 0
    const fill = () => {
      while (error === undefined && active < CHUNKS_IN_FLIGHT) {
        const run = next()
        if (!run) break
        active++
        run()
          .catch((e: unknown) => {
            error ??= e
          })
          .finally(() => {
            active--
            fill()
          })
      }
      if (active === 0) resolve()
    }
    fill()
  })
  if (error !== undefined) throw error
  return { found, absent, batch, requests }
}
