/**
 * @module
 * mly-sandbox: a local stand-in for the Mapillary Graph API v4 (graph.mapillary.com) serving a
 * seeded sample world, with the real API's 2000-feature cap, Graph-style errors, latency and
 * injected faults. Used by `npm start` (no upstream configured), the end-to-end tests and the
 * benchmark. Never deployed.
 *
 * State (config, stats) lives in module scope: one isolate locally, which is all a stand-in needs.
 * Graph routes: `GET /image_ids`, `GET /map_features`, `GET /images?image_ids=` (batch read),
 * `GET /:id`, `GET /:id/detections` (paged when asked with `after` or `limit`).
 * Control routes (no token): `/__sandbox/config|stats|reset|truth/*|thumbs/*`.
 */
import { Hono, type Context } from 'hono'
import type { Env } from './env'
import { configPatchSchema, sleep, type RouteKind } from './faults'
import { faults, stats } from './state'
import { tokenHash } from './stats'
import { CAMERAS, getWorld, featuresIn, pileFeatures, worldBuildMs, WORLD, type Image, type MapFeature } from './world'
import { thumbDimensions, thumbnailPng, type ThumbSize } from './thumbnail'
import { detectionsOfFeature, detectionsOfImage } from './detections'
import { crowd, type Lookup } from './crowd'
import { parseImageIds } from './batch'
import { cursorId, detectionsEdge, pageOf, parseImageFields, type ImageFields } from './expansion'
import { parseBBox, type BBox } from './geo'
import { hash32, Rng } from './prng'
import {
  DETECTION_FIELDS,
  FEATURE_FIELDS,
  parseFields,
  projectDetection,
  projectFeature,
  projectImage,
  type ProjectionContext,
} from './fields'
import {
  graphJson,
  invalidParameter,
  invalidToken,
  missingToken,
  nonexistingField,
  tooManyIds,
  tooMuchData,
  unknownObject,
  unknownPath,
} from './graph-errors'

type C = Context<{ Bindings: Env }>

const app = new Hono<{ Bindings: Env }>()
const envOf = (c: C): Env => c.env ?? {}

// ---------------------------------------------------------------- control surface

app.get('/__sandbox/config', (c) => c.json(faults.effective(envOf(c))))

app.post('/__sandbox/config', async (c) => {
  const text = await c.req.text()
  let body: unknown = {}
  if (text.trim() !== '') {
    try {
      body = JSON.parse(text)
    } catch {
      return c.json({ error: 'body is not JSON' }, 400)
    }
  }
  const parsed = configPatchSchema.safeParse(body)
  if (!parsed.success) return c.json({ error: 'invalid config', issues: parsed.error.issues }, 400)
  faults.configure(parsed.data)
  return c.json(faults.effective(envOf(c)))
})

app.get('/__sandbox/stats', (c) => c.json(stats.snapshot()))

app.post('/__sandbox/reset', (c) => {
  stats.reset()
  faults.reset()
  return c.json({ ok: true, config: faults.effective(envOf(c)) })
})

app.get('/__sandbox/truth/map_features', (c) => {
  const bbox = parseBBox(c.req.query('bbox'))
  if (!bbox) return c.json({ error: 'bbox must be west,south,east,north degrees (south <= north)' }, 400)
  const ids = mapFeaturesIn(bbox, objectValuesOf(c.req.query('object_values'))).map((f) => f.id)
  ids.sort()
  return c.json({ ids, count: ids.length })
})

app.get('/__sandbox/truth/world', (c) => {
  const world = getWorld()
  return c.json({ ...world.summary, buildMs: worldBuildMs() })
})

const THUMB_FILES = new Map<string, ThumbSize>([['original.jpg', 'original'], ['256.jpg', '256'], ['1024.jpg', '1024'], ['2048.jpg', '2048']])

// The URL keeps the upstream's `.jpg` (tests and clients match it); the bytes are a generated PNG,
// said so by content-type. CORS and CORP open: browsers draw them into canvases in the tests.
app.get('/__sandbox/thumbs/:id/:file', async (c) => {
  const { id, file } = c.req.param()
  const size = THUMB_FILES.get(file)
  const image = lookupOf(id).imageById.get(id)
  if (size === undefined || !image) return c.text('Not Found', 404)
  const exp = Number(c.req.query('exp'))
  if (c.req.query('exp') !== undefined && (!Number.isFinite(exp) || exp < Date.now() / 1000)) {
    return c.text('URL signature expired', 403)
  }
  const camera = CAMERAS[image.camera]!
  const { width, height } = thumbDimensions(size, camera.width, camera.height)
  return new Response(await thumbnailPng(width, height), {
    headers: {
      'content-type': 'image/png',
      'cache-control': 'max-age=3600',
      'access-control-allow-origin': '*',
      'cross-origin-resource-policy': 'cross-origin',
      'x-content-type-options': 'nosniff',
    },
  })
})

app.all('/__sandbox/*', (c) => c.json({ error: 'unknown sandbox control route' }, 404))

// ---------------------------------------------------------------- Graph API lookalike

type Handler = (c: C, requestNumber: number) => Response | Promise<Response>

/** Token of the request: the `Authorization: OAuth|Bearer <token>` header, else `access_token`. */
function tokenOf(c: C, url: URL): { header: boolean; token: string | null } {
  const header = c.req.header('authorization')
  if (header !== undefined) {
    const m = /^\s*(?:OAuth|Bearer)\s+(\S+)\s*$/i.exec(header)
    return { header: true, token: m ? m[1]! : header }
  }
  const q = url.searchParams.get('access_token')
  return { header: false, token: q === null || q === '' ? null : q }
}

/** Stats, latency, auth, faults, then the handler. */
function graph(kind: RouteKind | 'other', handler: Handler) {
  return async (c: C): Promise<Response> => {
    const env = envOf(c)
    const url = new URL(c.req.url)
    const { header, token } = tokenOf(c, url)
    const n = stats.begin(kind, url, header, token)
    let res: Response | undefined
    try {
      await sleep(faults.delayMs(env))
      if (token === null) return (res = missingToken())
      const valid = env.SANDBOX_TOKEN ? token === env.SANDBOX_TOKEN : token.startsWith('MLY|') && token.length > 4
      if (!valid || rejected(token)) return (res = invalidToken())
      const storm = faults.storm()
      if (storm) {
        stats.fault('code4_storm')
        return (res = storm)
      }
      const fault = faults.decide(kind)
      if (fault !== 'ok') {
        stats.fault(fault)
        return (res = faults.respond(fault))
      }
      return (res = await handler(c, n))
    } finally {
      stats.end(res?.status ?? 500)
    }
  }
}

/** A token the config names (by its stats hash) to be refused although it looks valid. */
function rejected(token: string): boolean {
  const list = faults.config.rejectTokens
  return list.length > 0 && list.includes(tokenHash(token))
}

/** Where `id` lives: the configured crowd when it is one of the crowd's ids, else the world. */
function lookupOf(id: string): Lookup {
  const count = faults.config.crowd?.count
  if (count !== undefined) {
    const c = crowd(count)
    if (c.imageById.has(id) || c.featureById.has(id)) return c
  }
  return getWorld()
}

/** The world's features in the box, plus the configured pile's. */
function mapFeaturesIn(bbox: BBox, objectValues: Set<string> | undefined): MapFeature[] {
  const world = featuresIn(getWorld(), bbox, objectValues)
  const pile = faults.config.pile
  return pile ? [...world, ...featuresIn({ features: pileFeatures(pile) }, bbox, objectValues)] : world
}

function objectValuesOf(raw: string | undefined): Set<string> | undefined {
  if (!raw) return undefined
  const values = raw.split(',').map((v) => v.trim()).filter(Boolean)
  return values.length > 0 ? new Set(values) : undefined
}

const ctxOf = (c: C): ProjectionContext => ({
  origin: new URL(c.req.url).origin,
  thumbExp: Math.floor(Date.now() / 1000) + faults.config.thumbTtlSeconds,
})

app.get(
  '/image_ids',
  graph('image_ids', (c) => {
    const sequenceId = c.req.query('sequence_id')
    if (!sequenceId) return invalidParameter('The parameter sequence_id is required')
    const seq = getWorld().sequenceById.get(sequenceId)
    return graphJson({ data: (seq?.imageIds ?? []).map((id) => ({ id })) })
  }),
)

app.get(
  '/map_features',
  graph('map_features', (c, n) => {
    const rawBbox = c.req.query('bbox')
    if (rawBbox === undefined) return invalidParameter('The parameter bbox is required')
    const bbox = parseBBox(rawBbox)
    if (!bbox) {
      return invalidParameter(`Invalid parameter bbox '${rawBbox}': expected west,south,east,north in degrees with south <= north`)
    }
    const rawLimit = c.req.query('limit')
    let limit: number = WORLD.apiCap
    if (rawLimit !== undefined) {
      if (!/^\d+$/.test(rawLimit) || Number(rawLimit) < 1) return invalidParameter(`Invalid parameter limit '${rawLimit}'`)
      limit = Math.min(Number(rawLimit), WORLD.apiCap)
    }
    const fields = parseFields(c.req.query('fields'), FEATURE_FIELDS)
    if (!fields.ok) return nonexistingField(fields.unknown, 'MapFeature')
    let matched = mapFeaturesIn(bbox, objectValuesOf(c.req.query('object_values')))
    if (matched.length > limit) {
      // An unordered cut, like the real API: neither nearest nor first-by-id, different per request.
      matched = partialShuffle(matched.slice(), limit, new Rng(hash32('cut', faults.config.seed, n)))
    }
    return graphJson({ data: matched.map((f) => projectFeature(f, fields.fields)) })
  }),
)

app.get(
  '/:id/detections',
  graph('detections', (c) => {
    const id = c.req.param('id') ?? ''
    const world = lookupOf(id)
    const image = world.imageById.get(id)
    const feature = image ? undefined : world.featureById.get(id)
    if (!image && !feature) return unknownObject(id)
    const fields = parseFields(c.req.query('fields'), DETECTION_FIELDS)
    if (!fields.ok) return nonexistingField(fields.unknown, 'ImageDetection')
    const detections = image ? detectionsOfImage(world, image) : detectionsOfFeature(world, feature!)
    const after = c.req.query('after')
    const rawLimit = c.req.query('limit')
    if (after === undefined && rawLimit === undefined) {
      // Unpaged, whole: the product completes an image through this plain form.
      return graphJson({ data: detections.map((d) => projectDetection(d, fields.fields)) })
    }
    // The paged form an expanded edge's `next` URL asks: `limit` per page, items after `after`.
    let limit = faults.config.edgePageLimit
    if (rawLimit !== undefined) {
      if (!/^\d+$/.test(rawLimit) || Number(rawLimit) < 1) return invalidParameter(`Invalid parameter limit '${rawLimit}'`)
      limit = Number(rawLimit)
    }
    let start = 0
    if (after !== undefined) {
      const afterId = cursorId(after)
      const at = afterId === null ? -1 : detections.findIndex((d) => d.id === afterId)
      if (at < 0) return invalidParameter(`Invalid parameter after '${after}': not a cursor of this edge`)
      start = at + 1
    }
    const page = pageOf(detections, start, { limit, origin: new URL(c.req.url).origin, nodeId: id, fields: fields.fields })
    return graphJson({ ...page, data: page.data.map((d) => projectDetection(d, fields.fields)) })
  }),
)

app.get(
  '/images',
  graph('images', (c) => {
    const ids = parseImageIds(c.req.query('image_ids'))
    if (!ids.ok) return invalidParameter(ids.message)
    const max = faults.config.maxBatchIds
    if (ids.asked > max) return faults.config.batchRefusal === '500' ? tooMuchData() : tooManyIds(ids.asked, max)
    const asked = parseImageFields(c.req.query('fields'))
    if (!asked.ok) return nonexistingField(asked.unknown, asked.nodeType)
    const refusal = refuseExpansion(asked)
    if (refusal) return refusal
    const data: Record<string, unknown>[] = []
    for (const id of ids.ids) {
      const world = lookupOf(id)
      const image = world.imageById.get(id)
      if (image) data.push(imageAnswer(c, world, image, asked))
    }
    return graphJson({ data })
  }),
)

app.get(
  '/:id',
  graph('entity', (c) => {
    const id = c.req.param('id') ?? ''
    const world = lookupOf(id)
    const image = world.imageById.get(id)
    if (image) {
      const asked = parseImageFields(c.req.query('fields'))
      if (!asked.ok) return nonexistingField(asked.unknown, asked.nodeType)
      return refuseExpansion(asked) ?? graphJson(imageAnswer(c, world, image, asked))
    }
    const feature = world.featureById.get(id)
    if (feature) {
      const fields = parseFields(c.req.query('fields'), FEATURE_FIELDS)
      if (!fields.ok) return nonexistingField(fields.unknown, 'MapFeature')
      return graphJson(projectFeature(feature, fields.fields))
    }
    return unknownObject(id)
  }),
)

/** Under `detectionsExpansion: "refuse"`, the answer to any `detections.x` asked; else undefined. */
function refuseExpansion(asked: ImageFields): Response | undefined {
  if (faults.config.detectionsExpansion !== 'refuse' || asked.firstDotted === null) return undefined
  return nonexistingField(asked.firstDotted, 'Image')
}

/** One image as `GET /{id}?fields=` answers it, `detections` (an edge) in the configured behaviour. */
function imageAnswer(c: C, world: Lookup, image: Image, asked: ImageFields): Record<string, unknown> {
  const plain = projectImage(image, asked.fields.filter((f) => f !== 'detections'), ctxOf(c))
  if (!asked.fields.includes('detections')) return plain
  const edge = detectionsEdge(
    detectionsOfImage(world, image),
    asked,
    faults.config.detectionsExpansion,
    { limit: faults.config.edgePageLimit, origin: new URL(c.req.url).origin, nodeId: image.id },
    projectDetection,
  )
  // Keys in the order asked, as every other projection here.
  const out: Record<string, unknown> = {}
  for (const f of asked.fields) out[f] = f === 'detections' ? edge : plain[f]
  return out
}

app.all(
  '*',
  graph('other', (c) => unknownPath(new URL(c.req.url).pathname)),
)

/** The first `k` elements of a Fisher–Yates shuffle of `items` (in place). */
function partialShuffle<T>(items: T[], k: number, rng: Rng): T[] {
  for (let i = 0; i < k && i < items.length - 1; i++) {
    const j = i + Math.floor(rng.next() * (items.length - i))
    const tmp = items[i]!
    items[i] = items[j]!
    items[j] = tmp
  }
  return items.slice(0, k)
}

export default app
