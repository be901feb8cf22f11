/**
 * @module
 * The crowd: one map feature seen in `count` generated images, for tests of fan-outs larger than
 * one invocation's subrequest budget (the world's features are seen in at most 5 images). Turned
 * on by the config key `crowd: {count}`; reachable by id only (`/{id}`, `/{id}/detections`,
 * thumbnails), in no box of `/map_features` and no sequence's `/image_ids`. Pure and
 * deterministic: the same count always makes the same feature, images and detections.
 *
 * Ids are 15 digits like the world's and name their count, so crowds of different sizes never
 * share an id (nor a cached answer): the feature `8` + count (14 digits), its images `9` + count
 * (5 digits) + index (9 digits), in the feature's upstream order (oldest capture first).
 */
import type { Image, MapFeature, World } from './world'

/** What the Graph routes look ids up in: the world's maps, or a crowd's. */
export type Lookup = Pick<World, 'featureById' | 'imageById'>

export interface Crowd extends Lookup {
  feature: MapFeature
  images: Image[]
}

/** Most images one crowd may have (the config's bound). */
export const MAX_CROWD = 10_000

const BASE_TIME = Date.UTC(2024, 5, 1, 9)
const LON = 13.05
const LAT = 55.65

/** The id of the crowd feature seen in `count` images. */
export function crowdFeatureId(count: number): string {
  return `8${String(count).padStart(14, '0')}`
}

/** The id of image `i` (from 0) of the crowd of `count`. */
export function crowdImageId(count: number, i: number): string {
  return `9${String(count).padStart(5, '0')}${String(i).padStart(9, '0')}`
}

/**
 * The crowd of `count` images: a street light, and images 2 s apart walking past it, one detection
 * each (the feature's), cameras in turn (so widths and heights differ).
 * @example crowdOf(60).feature.images.length // 60
 */
export function crowdOf(count: number): Crowd {
  if (!Number.isInteger(count) || count < 1 || count > MAX_CROWD) throw new RangeError(`crowd: count must be 1..${MAX_CROWD}`)
  const id = crowdFeatureId(count)
  const images: Image[] = Array.from({ length: count }, (_, i) => ({
    id: crowdImageId(count, i),
    camera: i % 3,
    lon: Math.round((LON - 0.0005 + i * 1e-6) * 1e7) / 1e7,
    lat: LAT,
    altitude: 12,
    captured_at: BASE_TIME + i * 2000,
    compass_angle: 90,
    sequence: `crowd${String(count).padStart(17, '0')}`,
    slots: 1,
    links: [id],
    district: 'probe',
  }))
  const feature: MapFeature = {
    id,
    object_value: 'object--street-light',
    object_type: 'mly_map_feature_point',
    lon: LON,
    lat: LAT,
    first_seen_ms: images[0]!.captured_at,
    last_seen_ms: images[images.length - 1]!.captured_at,
    aligned_direction: 270,
    images: images.map((im) => im.id),
    district: 'probe',
  }
  return { feature, images, featureById: new Map([[id, feature]]), imageById: new Map(images.map((im) => [im.id, im])) }
}

let memo: Crowd | undefined

/** {@link crowdOf}, kept for the last count asked (a config holds one crowd at a time). */
export function crowd(count: number): Crowd {
  if (memo?.images.length !== count) memo = crowdOf(count)
  return memo
}
