/**
 * @module
 * Detections, made on demand and deterministically from their image (seed = hash of the id), so the
 * world stores no tiles. Geometry is a real Mapbox Vector Tile (layer 'mpy-or', extent 4096,
 * polygon features, MVT winding), base64 as the Graph API sends it.
 */
import { encodeTile, orientRings, type TileFeatureInput } from './encode-tile'
import { encodeBase64 } from '../../../shared/mvt/base64'
import { hash32, Rng } from './prng'
import { graphTime, REAL_DETECTIONS, type Image, type MapFeature, type World } from './world'

/** Where ids are looked up: the world, or a crowd (`crowd.ts`). */
type Lookup = Pick<World, 'featureById' | 'imageById'>

export const DETECTION_LAYER = 'mpy-or'
export const DETECTION_EXTENT = 4096

/** simple: one polygon; hole: one polygon with a hole; multi: 2–4 features; multi-hole: 2–4 features, one with a hole. */
export type GeometryKind = 'simple' | 'hole' | 'multi' | 'multi-hole'

export interface Detection {
  id: string
  value: string
  geometry: string
  created_at: string
  /** Image id. */
  image: string
  /** Map feature id, when the detection belongs to one. */
  map_feature?: string
}

/** Values of detections that belong to no map feature (segmentation classes and the like). */
const EXTRA_VALUES: ReadonlyArray<readonly [string, number, 'small' | 'medium' | 'large']> = [
  ['object--vehicle--car', 10, 'medium'],
  ['human--person', 6, 'small'],
  ['construction--flat--road', 5, 'large'],
  ['construction--flat--sidewalk', 4, 'large'],
  ['nature--vegetation', 4, 'large'],
  ['object--vehicle--bicycle', 2, 'small'],
  ['construction--structure--building', 3, 'large'],
  ['nature--sky', 2, 'large'],
  ['object--traffic-sign--front', 3, 'small'],
  ['marking--continuous--solid', 2, 'medium'],
]
const EXTRA_WEIGHTS = EXTRA_VALUES.map(([, w]) => w)

const KINDS: readonly GeometryKind[] = ['simple', 'hole', 'multi', 'multi-hole']
const KIND_WEIGHTS = [0.7, 0.12, 0.13, 0.05]
/** The showcase image's detections, in order. */
const SHOWCASE_KINDS: readonly GeometryKind[] = ['multi', 'hole', 'multi-hole', 'simple']

/** Numeric id of the detection in slot `slot` of image `imageId`. */
export function detectionId(imageId: string, slot: number): string {
  return new Rng(hash32('detection', imageId, slot)).numericId(15)
}

/** Geometry kind of a detection, from its id (or the showcase image's fixed list). */
export function detectionKind(image: Image, slot: number): GeometryKind {
  if (image.special === 'showcase') return SHOWCASE_KINDS[slot % SHOWCASE_KINDS.length]!
  return KINDS[new Rng(hash32('kind', detectionId(image.id, slot))).weighted(KIND_WEIGHTS)]!
}

/** All detections of an image, in slot order (map-feature detections first). */
export function detectionsOfImage(world: Lookup, image: Image): Detection[] {
  if (image.special === 'real') {
    return REAL_DETECTIONS.map((d) => ({
      id: d.id,
      value: d.value,
      geometry: d.geometry,
      created_at: graphTime(image.captured_at + 3 * 86_400_000),
      image: image.id,
    }))
  }
  const out: Detection[] = []
  for (let slot = 0; slot < image.slots; slot++) out.push(detectionAt(world, image, slot))
  return out
}

/** The detections of a map feature: one per image it is seen in, in the feature's image order. */
export function detectionsOfFeature(world: Lookup, feature: MapFeature): Detection[] {
  const out: Detection[] = []
  for (const imageId of feature.images) {
    const image = world.imageById.get(imageId)
    const slot = image ? image.links.indexOf(feature.id) : -1
    if (image && slot >= 0) out.push(detectionAt(world, image, slot))
  }
  return out
}

/** The detection in one slot of an image. */
export function detectionAt(world: Lookup, image: Image, slot: number): Detection {
  const id = detectionId(image.id, slot)
  const rng = new Rng(hash32('geometry', id))
  const featureId = image.links[slot]
  const feature = featureId ? world.featureById.get(featureId) : undefined
  let value: string
  let size: 'small' | 'medium' | 'large'
  if (feature) {
    value = feature.object_value
    size = feature.object_type === 'mly_map_feature_traffic_sign' ? 'small' : rng.pick(['small', 'medium'] as const)
  } else {
    const extra = EXTRA_VALUES[rng.weighted(EXTRA_WEIGHTS)]!
    value = extra[0]
    size = extra[2]
  }
  const kind = detectionKind(image, slot)
  const geometry = encodeBase64(encodeTile([{ name: DETECTION_LAYER, extent: DETECTION_EXTENT, features: makeFeatures(rng, kind, size) }]))
  const created = image.captured_at + rng.int(1, 90) * 86_400_000 + rng.int(0, 86_399) * 1000
  return { id, value, geometry, created_at: graphTime(created), image: image.id, ...(feature ? { map_feature: feature.id } : {}) }
}

type Ring = Array<[number, number]>

/** A star-shaped simple ring around (cx, cy), integer tile coordinates, no closing point. */
function blob(rng: Rng, cx: number, cy: number, rx: number, ry: number, minVertices = 5, maxVertices = 12): Ring {
  const n = rng.int(minVertices, maxVertices)
  const phase = rng.range(0, Math.PI * 2)
  const ring: Ring = []
  for (let i = 0; i < n; i++) {
    const a = phase + (i / n) * Math.PI * 2 + rng.range(-0.2, 0.2) / n
    const r = rng.range(0.75, 1)
    const x = Math.round(cx + Math.cos(a) * rx * r)
    const y = Math.round(cy + Math.sin(a) * ry * r)
    const last = ring[ring.length - 1]
    if (!last || last[0] !== x || last[1] !== y) ring.push([x, y])
  }
  return ring
}

function radii(rng: Rng, size: 'small' | 'medium' | 'large'): [number, number] {
  const [lo, hi] = size === 'small' ? [20, 160] : size === 'medium' ? [120, 500] : [500, 1400]
  const rx = rng.range(lo, hi)
  return [rx, rx * rng.range(0.6, 1.4)]
}

/** One polygon (optionally with a hole) inside [x0, x1] × [y0, y1] of the tile. */
function polygon(rng: Rng, size: 'small' | 'medium' | 'large', withHole: boolean, x0 = 0, x1 = DETECTION_EXTENT - 1): Ring[] {
  let [rx, ry] = radii(rng, size)
  const half = (x1 - x0) / 2 - 2
  rx = Math.max(withHole ? 24 : 6, Math.min(rx, half))
  ry = Math.max(withHole ? 24 : 6, Math.min(ry, DETECTION_EXTENT / 2 - 2))
  const cx = rng.range(x0 + rx + 1, x1 - rx - 1)
  const cy = rng.range(ry + 1, DETECTION_EXTENT - 1 - ry - 1)
  const outer = blob(rng, cx, cy, rx, ry)
  if (!withHole) return orientRings([outer])
  // The hole's radius (≤ 0.4) stays well inside the outer ring's (≥ 0.75).
  const inner = blob(rng, cx, cy, rx * rng.range(0.25, 0.4), ry * rng.range(0.25, 0.4), 4, 8)
  return orientRings([outer, inner])
}

function makeFeatures(rng: Rng, kind: GeometryKind, size: 'small' | 'medium' | 'large'): TileFeatureInput[] {
  if (kind === 'simple' || kind === 'hole') {
    return [{ id: 1, type: 3, rings: polygon(rng, size, kind === 'hole') }]
  }
  // 2–4 separate parts side by side (e.g. a sign split by a pole), one feature each.
  const parts = rng.int(2, 4)
  const width = DETECTION_EXTENT / parts
  const holeAt = kind === 'multi-hole' ? rng.int(0, parts - 1) : -1
  const out: TileFeatureInput[] = []
  for (let i = 0; i < parts; i++) {
    const partSize = size === 'large' ? 'medium' : size
    out.push({ id: i + 1, type: 3, rings: polygon(rng, partSize, i === holeAt, Math.floor(i * width), Math.floor((i + 1) * width) - 1) })
  }
  return out
}
