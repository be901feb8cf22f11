/**
 * @module
 * The sandbox's sample world: map features in a few districts, sequences of images walking through
 * them, and which features each image sees. Pure and deterministic: the same seed builds the same
 * world on every platform. Only metadata and indices are stored; detection geometries are made
 * lazily from their ids (see `detections.ts`). `getWorld()` builds it once per isolate.
 */
import { cumulative, hash32, Rng } from './prng'
import { lonLatToTile, pointInBBox, tileBounds, type BBox } from './geo'

/** Every count and knob of the world, in one place. */
export const WORLD = {
  seed: 20260101,
  /** The Graph API's per-request cap on /map_features. */
  apiCap: 2000,
  denseTileZoom: 18,
  /** Features packed strictly inside the dense z18 tile. */
  denseTileFeatures: 6000,
  /** Further features spread over the Panama district. */
  panamaSpreadFeatures: 3000,
  /** Points placed on each edge of the dense z18 tile (corners come on top). */
  denseTileEdgePointsPerEdge: 3,
  /** Points placed on each edge of the dense tile's z17 parent (corners come on top). */
  parentTileEdgePointsPerEdge: 3,
  malmoFeatures: 150,
  taveuniFeatures: 300,
  /** Of those, how many lie exactly on lon 180 and how many exactly on -180. */
  taveuniOnMeridianEachSide: 6,
  /** Chance that a district feature is seen in at least one image. */
  seenFraction: 2 / 3,
  /** Weights of "seen in k images" for k = 1..5. */
  imagesPerSeenFeatureWeights: [0.55, 0.25, 0.1, 0.06, 0.04],
  /** Weights of "n detections on an image" for n = 0..6. */
  detectionsPerImageWeights: [0.1, 0.14, 0.18, 0.18, 0.15, 0.12, 0.13],
  maxDetectionsPerImage: 6,
  /** Sequences besides the named ones, giving the districts enough images. */
  panamaBackgroundSequences: 20,
  panamaBackgroundLength: 100,
  taveuniBackgroundSequences: 2,
  taveuniBackgroundLength: 60,
  malmoBackgroundSequences: 0,
  noDetectionSequenceLength: 12,
} as const

export const DISTRICTS = {
  panama: { name: 'panama-dense', bbox: [-79.54, 8.94, -79.52, 8.96] as BBox, center: [-79.53, 8.95] },
  malmo: { name: 'malmo-sparse', bbox: [12.985, 55.585, 13.015, 55.615] as BBox, center: [13.0, 55.6] },
  taveuni: { name: 'taveuni-antimeridian', bbox: [179.97, -16.83, -179.97, -16.77] as BBox, center: [180, -16.8] },
  probe: { name: 'probe', bbox: [13.02, 55.62, 13.03, 55.63] as BBox, center: [13.025, 55.625] },
  // The largest box a question may ask (MAX_BBOX_AREA, 0.05 deg²: 0.25° × 0.2°, a hair under in floats).
  city: { name: 'city', bbox: [-9.25, 38.6, -9.0, 38.8] as BBox, center: [-9.125, 38.7] },
} as const
export type DistrictKey = keyof typeof DISTRICTS

/** Map feature values with weights; the object_type follows from the value. */
export const OBJECT_VALUES: ReadonlyArray<readonly [string, number]> = [
  ['object--street-light', 14],
  ['object--support--utility-pole', 10],
  ['regulatory--stop--g1', 6],
  ['regulatory--maximum-speed-limit-50--g1', 5],
  ['regulatory--maximum-speed-limit-30--g1', 4],
  ['regulatory--no-entry--g1', 3],
  ['regulatory--yield--g1', 3],
  ['regulatory--one-way-right--g1', 2],
  ['information--pedestrians-crossing--g1', 5],
  ['information--parking--g1', 3],
  ['warning--pedestrians-crossing--g4', 2],
  ['warning--curve-left--g1', 1],
  ['complementary--chevron-left--g1', 1],
  ['object--fire-hydrant', 5],
  ['object--bench', 5],
  ['object--manhole', 7],
  ['object--trash-can', 4],
  ['object--catch-basin', 4],
  ['object--traffic-light--general-upright', 3],
  ['object--bike-rack', 2],
  ['object--cctv-camera', 1],
  ['object--junction-box', 2],
  ['object--mailbox', 1],
  ['marking--discrete--crosswalk-zebra', 3],
  ['construction--flat--crosswalk-plain', 2],
]

/**
 * The city: some 60,000 map features in the largest box a question may ask, for the benchmark
 * and the sweep's bound. Cores pack thousands of features into a few hundred metres (the sweep
 * must split deep, yet no z22 tile holds 2000: it stays answerable), parks are empty, the rest is
 * spread over neighbourhoods and the whole box. Seen in no image, and drawn from a generator of
 * its own after the rest of the world: every other id, count and sequence stays as it was.
 */
export const CITY = {
  seedSalt: 'city',
  /** Dense cores: `count` features uniform in a square of side `2 × half` degrees around the centre. */
  cores: [
    { label: 'downtown', lon: -9.139, lat: 38.711, half: 0.002, count: 9000 },
    { label: 'old town', lon: -9.131, lat: 38.716, half: 0.001, count: 6000 },
    { label: 'station', lon: -9.101, lat: 38.741, half: 0.0004, count: 4000 },
    { label: 'market', lon: -9.196, lat: 38.662, half: 0.00075, count: 3000 },
    { label: 'campus', lon: -9.043, lat: 38.772, half: 0.0015, count: 5000 },
    { label: 'harbour', lon: -9.221, lat: 38.781, half: 0.0006, count: 3000 },
  ],
  /** Neighbourhoods: `count` features each, uniform in a square of side `2 × half` degrees. */
  neighbourhoods: { number: 12, count: 1000, halfMin: 0.004, halfMax: 0.012 },
  /** Features spread uniformly over the whole box (outside the parks). */
  spreadFeatures: 18_000,
  /** Empty areas: no feature lies in them. */
  parks: [
    [-9.2, 38.72, -9.14, 38.77],
    [-9.08, 38.63, -9.04, 38.67],
    [-9.24, 38.61, -9.16, 38.64],
  ] as BBox[],
} as const

export function objectTypeOf(value: string): 'mly_map_feature_traffic_sign' | 'mly_map_feature_point' {
  return /^(regulatory|information|warning|complementary)--/.test(value) ? 'mly_map_feature_traffic_sign' : 'mly_map_feature_point'
}

export interface MapFeature {
  id: string
  object_value: string
  object_type: 'mly_map_feature_point' | 'mly_map_feature_traffic_sign'
  lon: number
  lat: number
  /** Times in ms since the epoch; the API shows them as `first_seen_at`/`last_seen_at` (see `graphTime`). */
  first_seen_ms: number
  last_seen_ms: number
  aligned_direction: number
  /** Image ids in which the feature is detected, oldest capture first. */
  images: string[]
  district: DistrictKey
}

export interface Camera {
  width: number
  height: number
  make: string
  model: string
  camera_type: 'perspective' | 'spherical'
}

export const CAMERAS: readonly Camera[] = [
  { width: 4032, height: 3024, make: 'Apple', model: 'iPhone 12', camera_type: 'perspective' },
  { width: 2048, height: 1536, make: 'GoPro', model: 'HERO5 Black', camera_type: 'perspective' },
  { width: 5760, height: 2880, make: 'GoPro', model: 'GoPro Max', camera_type: 'spherical' },
]

/** Images with a hand-set detection list. */
export type SpecialImage = 'showcase' | 'none' | 'real'

export interface Image {
  id: string
  camera: number
  lon: number
  lat: number
  altitude: number
  captured_at: number
  compass_angle: number
  sequence: string
  /** Number of detections on the image (0..6). */
  slots: number
  /** Map feature ids seen, in detection order (the first `links.length` detections). */
  links: string[]
  special?: SpecialImage
  district: DistrictKey
}

export interface Sequence {
  id: string
  label: string
  district: DistrictKey
  imageIds: string[]
}

export interface WorldSummary {
  seed: number
  apiCap: number
  counts: { mapFeatures: number; images: number; sequences: number; seenFeatures: number; unseenFeatures: number; detections: number }
  districts: Array<{ name: string; bbox: BBox; crossesAntimeridian: boolean; featureCount: number }>
  denseTile: { tile: [number, number, number]; bbox: BBox; featureCount: number; parentTile: [number, number, number]; parentBbox: BBox }
  probe: { bbox: BBox; insideIds: string[]; outsideIds: string[]; note: string }
  antimeridian: { onLon180: string[]; onLonMinus180: string[] }
  sequences: Array<{ id: string; length: number; label: string; district: string }>
  sampleImages: {
    multipolygonWithHoles: string
    noDetections: string
    realDetections: string
    realDetectionIds: string[]
    ordinary: string
  }
  sampleMapFeatures: { seenInSeveralImages: string; seenInSeveralImagesCount: number; seenInNoImage: string }
}

export interface World {
  features: MapFeature[]
  featureById: Map<string, MapFeature>
  imageById: Map<string, Image>
  sequenceById: Map<string, Sequence>
  summary: WorldSummary
}

/** "2021-04-06T18:56:33+0000", the Graph API's timestamp style. */
export function graphTime(ms: number): string {
  return new Date(ms).toISOString().replace(/\.\d{3}Z$/, '+0000')
}

const normLon = (lon: number) => (lon > 180 ? lon - 360 : lon)
const round7 = (v: number) => Math.round(v * 1e7) / 1e7

export function buildWorld(seed: number = WORLD.seed): World {
  const rng = new Rng(seed)
  const usedIds = new Set<string>()
  const newId = (): string => {
    for (;;) {
      const id = rng.numericId(15)
      if (!usedIds.has(id)) {
        usedIds.add(id)
        return id
      }
    }
  }
  const valueTable = cumulative(OBJECT_VALUES.map(([, w]) => w))

  // ---- map features ----
  const features: MapFeature[] = []
  const addFeature = (lon: number, lat: number, district: DistrictKey): MapFeature => {
    const object_value = OBJECT_VALUES[rng.fromCumulative(valueTable)]![0]
    const f: MapFeature = {
      id: newId(),
      object_value,
      object_type: objectTypeOf(object_value),
      lon,
      lat,
      first_seen_ms: 0,
      last_seen_ms: 0,
      aligned_direction: Math.round(rng.range(0, 360) * 1e5) / 1e5,
      images: [],
      district,
    }
    features.push(f)
    return f
  }
  const uniformIn = ([w, s, e, n]: BBox, district: DistrictKey, count: number, margin = 0) => {
    const e2 = w > e ? e + 360 : e
    for (let i = 0; i < count; i++) {
      const lon = normLon(round7(w + (e2 - w) * rng.range(margin, 1 - margin)))
      const lat = round7(s + (n - s) * rng.range(margin, 1 - margin))
      addFeature(lon, lat, district)
    }
  }
  /** Corners plus `perEdge` points on each edge, at the exact edge coordinates. */
  const onEdges = ([w, s, e, n]: BBox, district: DistrictKey, perEdge: number) => {
    for (const [lon, lat] of [[w, s], [w, n], [e, s], [e, n]] as const) addFeature(lon, lat, district)
    for (let i = 0; i < perEdge; i++) {
      const t = rng.range(0.05, 0.95)
      addFeature(w, s + (n - s) * t, district)
      addFeature(e, s + (n - s) * rng.range(0.05, 0.95), district)
      addFeature(w + (e - w) * rng.range(0.05, 0.95), s, district)
      addFeature(w + (e - w) * rng.range(0.05, 0.95), n, district)
    }
  }

  // Panama: one z18 tile far over the cap, its edges, its z17 parent's edges, and the district.
  const z = WORLD.denseTileZoom
  const [tx, ty] = lonLatToTile(DISTRICTS.panama.center[0], DISTRICTS.panama.center[1], z)
  const denseBbox = tileBounds(tx, ty, z)
  const parent: [number, number, number] = [tx >> 1, ty >> 1, z - 1]
  const parentBbox = tileBounds(parent[0], parent[1], parent[2])
  // Strictly inside: never on an edge (no rounding either, so never rounded onto one).
  const strictlyInside = ([w, s, e, n]: BBox, district: DistrictKey, count: number) => {
    for (let i = 0; i < count; i++) addFeature(w + (e - w) * rng.range(0.001, 0.999), s + (n - s) * rng.range(0.001, 0.999), district)
  }
  strictlyInside(denseBbox, 'panama', WORLD.denseTileFeatures)
  onEdges(denseBbox, 'panama', WORLD.denseTileEdgePointsPerEdge)
  onEdges(parentBbox, 'panama', WORLD.parentTileEdgePointsPerEdge)
  uniformIn(DISTRICTS.panama.bbox, 'panama', WORLD.panamaSpreadFeatures)

  // Malmö: a sparse suburb.
  uniformIn(DISTRICTS.malmo.bbox, 'malmo', WORLD.malmoFeatures)

  // Taveuni: both sides of the antimeridian, some exactly on ±180.
  const onLon180: string[] = []
  const onLonMinus180: string[] = []
  {
    const [, s, , n] = DISTRICTS.taveuni.bbox
    for (let i = 0; i < WORLD.taveuniOnMeridianEachSide; i++) {
      onLon180.push(addFeature(180, round7(rng.range(s, n)), 'taveuni').id)
      onLonMinus180.push(addFeature(-180, round7(rng.range(s, n)), 'taveuni').id)
    }
    const rest = WORLD.taveuniFeatures - 2 * WORLD.taveuniOnMeridianEachSide
    uniformIn(DISTRICTS.taveuni.bbox, 'taveuni', rest)
  }

  // Probe box: features exactly on each edge and corner, a few inside, some 1e-7° outside.
  const probeInside: string[] = []
  const probeOutside: string[] = []
  {
    const [w, s, e, n] = DISTRICTS.probe.bbox
    const mx = 13.025
    const my = 55.625
    const inside: Array<[number, number]> = [
      [w, s], [w, n], [e, s], [e, n],
      [w, my], [e, my], [mx, s], [mx, n],
      [w, 55.6225], [e, 55.6275], [13.0225, s], [13.0275, n],
      [mx, my], [13.021, 55.621], [13.029, 55.629], [13.0234567, 55.6276543], [13.0299999, 55.6200001],
    ]
    const eps = 1e-7
    const outside: Array<[number, number]> = [
      [w - eps, my], [e + eps, my], [mx, s - eps], [mx, n + eps],
      [w - eps, s - eps], [e + eps, n + eps], [w - eps, n], [e, s - eps],
    ]
    for (const [lon, lat] of inside) probeInside.push(addFeature(lon, lat, 'probe').id)
    for (const [lon, lat] of outside) probeOutside.push(addFeature(lon, lat, 'probe').id)
  }

  // ---- sequences and images ----
  const imageById = new Map<string, Image>()
  const sequenceById = new Map<string, Sequence>()
  const sequences: Sequence[] = []
  const baseTime = Date.UTC(2019, 0, 1)
  const slotTable = cumulative(WORLD.detectionsPerImageWeights)
  const addSequence = (
    label: string,
    district: DistrictKey,
    length: number,
    opts: { start?: [number, number]; heading?: number; slots?: (i: number) => number; special?: Array<SpecialImage | undefined> } = {},
  ): Sequence => {
    const seq: Sequence = { id: rng.alnum(22), label, district, imageIds: [] }
    const camera = rng.weighted([5, 3, 2])
    const [w, s, e, n] = DISTRICTS[district].bbox
    const e2 = w > e ? e + 360 : e
    let lon = opts.start ? (opts.start[0] < w ? opts.start[0] + 360 : opts.start[0]) : rng.range(w, e2)
    let lat = opts.start ? opts.start[1] : rng.range(s, n)
    let heading = opts.heading ?? rng.range(0, 360)
    const step = rng.range(0.00003, 0.00005)
    let t = baseTime + Math.floor(rng.range(0, 5 * 365)) * 86_400_000 + rng.int(6, 18) * 3_600_000
    const altitude0 = rng.range(5, 80)
    for (let i = 0; i < length; i++) {
      const special = opts.special?.[i]
      const img: Image = {
        id: newId(),
        camera,
        lon: normLon(round7(lon)),
        lat: round7(lat),
        altitude: Math.round((altitude0 + rng.range(-0.5, 0.5)) * 100) / 100,
        captured_at: t,
        compass_angle: Math.round((((heading % 360) + 360) % 360) * 1e4) / 1e4,
        sequence: seq.id,
        slots: opts.slots ? opts.slots(i) : rng.fromCumulative(slotTable),
        links: [],
        district,
        ...(special ? { special } : {}),
      }
      seq.imageIds.push(img.id)
      imageById.set(img.id, img)
      t += rng.int(1800, 2400)
      // Walk on: gentle drift, now and then a turn, bounce off the district's edges.
      heading += rng.chance(0.01) ? rng.pick([-90, 90]) : rng.range(-6, 6)
      for (let tries = 0; tries < 8; tries++) {
        const rad = (heading * Math.PI) / 180
        const nl = lon + (step * Math.sin(rad)) / Math.cos((lat * Math.PI) / 180)
        const nt = lat + step * Math.cos(rad)
        if (nl >= w && nl <= e2 && nt >= s && nt <= n) {
          lon = nl
          lat = nt
          break
        }
        heading += 180 + rng.range(-45, 45)
      }
    }
    sequences.push(seq)
    sequenceById.set(seq.id, seq)
    return seq
  }

  const seqSingle = addSequence('single image', 'panama', 1)
  const seqTriple = addSequence('three images: showcase detections, none, real fixture', 'malmo', 3, {
    slots: (i) => [4, 0, 2][i]!,
    special: ['showcase', 'none', 'real'],
  })
  const seq50 = addSequence('crosses the antimeridian', 'taveuni', 50, { start: [179.999, -16.8], heading: 90 })
  const seq250 = addSequence('suburb drive', 'malmo', 250)
  const seq1250 = addSequence('long city drive', 'panama', 1250, { start: [DISTRICTS.panama.center[0], DISTRICTS.panama.center[1]] })
  const seqNone = addSequence('no detections on any image', 'malmo', WORLD.noDetectionSequenceLength, { slots: () => 0 })
  for (let i = 0; i < WORLD.panamaBackgroundSequences; i++) addSequence('background', 'panama', WORLD.panamaBackgroundLength)
  for (let i = 0; i < WORLD.taveuniBackgroundSequences; i++) addSequence('background', 'taveuni', WORLD.taveuniBackgroundLength)
  for (let i = 0; i < WORLD.malmoBackgroundSequences; i++) addSequence('background', 'malmo', 100)

  // ---- who sees what: each seen feature gets k nearby images with a free detection slot ----
  for (const district of ['panama', 'malmo', 'taveuni'] as const) assignLinks(rng, district, features, imageById)

  // Dates follow from the images; unseen features get plausible ones of their own.
  assignDates(rng, features, imageById, baseTime)

  // The city last, from a generator of its own: nothing above changes with it.
  addCity(new Rng(hash32(seed, CITY.seedSalt)), usedIds, valueTable, features, baseTime)

  const featureById = new Map(features.map((f) => [f.id, f]))
  const inBox = (bbox: BBox) => {
    let count = 0
    for (const f of features) if (pointInBBox(f.lon, f.lat, bbox)) count++
    return count
  }

  // Samples: the Malmö feature seen most often, the first Malmö feature seen nowhere.
  const malmo = features.filter((f) => f.district === 'malmo')
  const several = malmo.reduce((best, f) => (f.images.length > best.images.length ? f : best), malmo[0]!)
  const unseen = malmo.find((f) => f.images.length === 0)!
  const ordinary = seq250.imageIds.find((id) => {
    const im = imageById.get(id)!
    return im.links.length >= 2 && im.slots > im.links.length
  })!
  const seen = features.filter((f) => f.images.length > 0).length
  let detections = 0
  for (const im of imageById.values()) detections += im.slots

  const summary: WorldSummary = {
    seed,
    apiCap: WORLD.apiCap,
    counts: {
      mapFeatures: features.length,
      images: imageById.size,
      sequences: sequences.length,
      seenFeatures: seen,
      unseenFeatures: features.length - seen,
      detections,
    },
    districts: Object.values(DISTRICTS).map((d) => ({
      name: d.name,
      bbox: d.bbox,
      crossesAntimeridian: d.bbox[0] > d.bbox[2],
      featureCount: inBox(d.bbox),
    })),
    denseTile: { tile: [tx, ty, z], bbox: denseBbox, featureCount: inBox(denseBbox), parentTile: parent, parentBbox },
    probe: {
      bbox: DISTRICTS.probe.bbox,
      insideIds: probeInside,
      outsideIds: probeOutside,
      note: 'insideIds lie in the box or exactly on its edges/corners; outsideIds lie 1e-7 degrees outside',
    },
    antimeridian: { onLon180, onLonMinus180 },
    sequences: [seqSingle, seqTriple, seq50, seq250, seq1250, seqNone, ...sequences.filter((s) => s.label === 'background')].map(
      (s) => ({ id: s.id, length: s.imageIds.length, label: s.label, district: DISTRICTS[s.district].name }),
    ),
    sampleImages: {
      multipolygonWithHoles: seqTriple.imageIds[0]!,
      noDetections: seqTriple.imageIds[1]!,
      realDetections: seqTriple.imageIds[2]!,
      realDetectionIds: REAL_DETECTIONS.map((d) => d.id),
      ordinary,
    },
    sampleMapFeatures: { seenInSeveralImages: several.id, seenInSeveralImagesCount: several.images.length, seenInNoImage: unseen.id },
  }
  return { features, featureById, imageById, sequenceById, summary }
}

/** The city's features (see {@link CITY}), appended to `features`; ids unique against `usedIds`. */
function addCity(rng: Rng, usedIds: Set<string>, valueTable: Float64Array, features: MapFeature[], baseTime: number): void {
  const [w, s, e, n] = DISTRICTS.city.bbox
  // Ids climb by a random step from a random start: unique among themselves by construction (no
  // set of 60,000 to fill, the build stays quick), and any the rest of the world holds is skipped.
  let next = 10 ** 14 + Math.floor(rng.next() * 4 * 10 ** 14)
  const newId = (): string => {
    for (;;) {
      next += 1 + Math.floor(rng.next() * 1000)
      const id = String(next)
      if (!usedIds.has(id)) return id
    }
  }
  // Strictly inside the box and outside every park (the parks stay empty).
  const allowed = (lon: number, lat: number) => lon > w && lon < e && lat > s && lat < n && !CITY.parks.some((p) => pointInBBox(lon, lat, p))
  /** `count` features uniform in [x0, x1] × [y0, y1], redrawn where not allowed. */
  const fill = (x0: number, y0: number, x1: number, y1: number, count: number) => {
    for (let i = 0; i < count; i++) {
      let lon: number
      let lat: number
      do {
        lon = round7(rng.range(x0, x1))
        lat = round7(rng.range(y0, y1))
      } while (!allowed(lon, lat))
      const object_value = OBJECT_VALUES[rng.fromCumulative(valueTable)]![0]
      const first_seen_ms = baseTime + Math.floor(rng.range(0, 5 * 365 * 86_400)) * 1000
      features.push({
        id: newId(),
        object_value,
        object_type: objectTypeOf(object_value),
        lon,
        lat,
        first_seen_ms,
        last_seen_ms: first_seen_ms + Math.floor(rng.range(0, 400 * 86_400)) * 1000,
        aligned_direction: Math.round(rng.range(0, 360) * 1e5) / 1e5,
        images: [],
        district: 'city',
      })
    }
  }
  for (const c of CITY.cores) fill(c.lon - c.half, c.lat - c.half, c.lon + c.half, c.lat + c.half, c.count)
  const hood = CITY.neighbourhoods
  for (let i = 0; i < hood.number; i++) {
    const half = rng.range(hood.halfMin, hood.halfMax)
    let lon: number
    let lat: number
    // A centre outside the parks: part of the square around it is always allowed.
    do {
      lon = rng.range(w + half, e - half)
      lat = rng.range(s + half, n - half)
    } while (!allowed(lon, lat))
    fill(lon - half, lat - half, lon + half, lat + half, hood.count)
  }
  fill(w, s, e, n, CITY.spreadFeatures)
}

/** first/last seen from the images (sorted oldest first); unseen features get plausible dates of their own. */
function assignDates(rng: Rng, features: MapFeature[], imageById: Map<string, Image>, baseTime: number): void {
  const capturedAt = (id: string) => imageById.get(id)!.captured_at
  for (const f of features) {
    const imgs = f.images
    if (imgs.length > 1) imgs.sort((a, b) => capturedAt(a) - capturedAt(b) || (a < b ? -1 : 1))
    if (imgs.length > 0) {
      f.first_seen_ms = capturedAt(imgs[0]!)
      f.last_seen_ms = capturedAt(imgs[imgs.length - 1]!)
    } else {
      f.first_seen_ms = baseTime + Math.floor(rng.range(0, 5 * 365 * 86_400)) * 1000
      f.last_seen_ms = f.first_seen_ms + Math.floor(rng.range(0, 400 * 86_400)) * 1000
    }
  }
}

/** Each feature of the district is seen (chance `seenFraction`) in k nearby images with a free detection slot. */
function assignLinks(rng: Rng, district: DistrictKey, features: MapFeature[], imageById: Map<string, Image>): void {
  const kTable = cumulative(WORLD.imagesPerSeenFeatureWeights)
  const CANDIDATES = 10
  const candIdx = new Int32Array(CANDIDATES)
  const candDist = new Float64Array(CANDIDATES)
  const imgs = [...imageById.values()].filter((im) => im.district === district && !im.special && im.slots > 0)
  const freeLeft = Int32Array.from(imgs, (im) => im.slots)
  // `alive` holds the indices (into imgs) that still have a free slot; `posOf` is its inverse.
  const alive = Int32Array.from(imgs, (_, i) => i)
  const posOf = Int32Array.from(imgs, (_, i) => i)
  let aliveCount = imgs.length
  const cosLat = Math.cos((DISTRICTS[district].center[1] * Math.PI) / 180)
  const order = rng.shuffle(features.filter((f) => f.district === district))
  for (const f of order) {
    if (!rng.chance(WORLD.seenFraction) || aliveCount === 0) continue
    const k = 1 + rng.fromCumulative(kTable)
    // The k nearest of a few random images that still have a free slot.
    let m = 0
    for (let c = 0; c < CANDIDATES && m < aliveCount; c++) {
      const idx = alive[Math.floor(rng.next() * aliveCount)]!
      let dup = false
      for (let j = 0; j < m; j++) if (candIdx[j] === idx) dup = true
      if (dup) continue
      const im = imgs[idx]!
      let dx = Math.abs(im.lon - f.lon)
      if (dx > 180) dx = 360 - dx
      dx *= cosLat
      const dy = im.lat - f.lat
      const d = dx * dx + dy * dy
      // Insertion into the sorted candidate list.
      let j = m++
      while (j > 0 && candDist[j - 1]! > d) {
        candDist[j] = candDist[j - 1]!
        candIdx[j] = candIdx[j - 1]!
        j--
      }
      candDist[j] = d
      candIdx[j] = idx
    }
    for (let j = 0; j < Math.min(k, m); j++) {
      const idx = candIdx[j]!
      const im = imgs[idx]!
      im.links.push(f.id)
      f.images.push(im.id)
      if (--freeLeft[idx]! === 0) {
        const p = posOf[idx]!
        const lastIdx = alive[--aliveCount]!
        alive[p] = lastIdx
        posOf[lastIdx] = p
      }
    }
  }
}

/**
 * The two real detection geometries of test/fixtures/real-detections.json (as the Graph API sent
 * them); they travel through the API on the `realDetections` sample image.
 */
export const REAL_DETECTIONS = [
  { id: '131850122441807', value: 'object--traffic-sign--front', geometry: 'GiB4AgoGbXB5LW9yKIAgEhEYAwgBIgsJ9CuaJRIcAAAMDw==' },
  { id: '131850125775140', value: 'object--traffic-sign--front', geometry: 'GiZ4AgoGbXB5LW9yKIAgEhcYAwgBIhEJ0iuyJCoGFQgABAwDAAMKDw==' },
] as const

let memo: { world: World; buildMs: number } | undefined

/** The world of `WORLD.seed`, built on first use and kept for the isolate's lifetime. */
export function getWorld(): World {
  if (!memo) {
    const t0 = Date.now()
    const world = buildWorld()
    memo = { world, buildMs: Date.now() - t0 }
  }
  return memo.world
}

/** Milliseconds the memoised build took (0 before the first build; coarse on Workers). */
export function worldBuildMs(): number {
  return memo?.buildMs ?? 0
}

/**
 * `count` street lights on one point (ids `7000…`), seen in no image: more than the cap on a point
 * makes a cell that no split can bring under it.
 */
export function pileFeatures(pile: { lon: number; lat: number; count: number }): MapFeature[] {
  return Array.from({ length: pile.count }, (_, i) => ({
    id: `7${String(i).padStart(14, '0')}`,
    object_value: 'object--street-light',
    object_type: 'mly_map_feature_point' as const,
    lon: pile.lon,
    lat: pile.lat,
    first_seen_ms: Date.UTC(2024, 0, 1),
    last_seen_ms: Date.UTC(2024, 0, 1),
    aligned_direction: 0,
    images: [],
    district: 'probe' as const,
  }))
}

/** Every feature in the box (edges included, antimeridian aware), optionally filtered by values. */
export function featuresIn(world: Pick<World, 'features'>, bbox: BBox, objectValues?: ReadonlySet<string>): MapFeature[] {
  const out: MapFeature[] = []
  for (const f of world.features) {
    if (objectValues && objectValues.size > 0 && !objectValues.has(f.object_value)) continue
    if (pointInBBox(f.lon, f.lat, bbox)) out.push(f)
  }
  return out
}
