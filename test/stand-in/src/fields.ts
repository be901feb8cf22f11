/**
 * @module
 * Graph-style field selection: `fields=a,b,c` picks fields of a node; `id` always comes back.
 * Pure projections of the world's records into API objects.
 */
import { CAMERAS, graphTime, type Image, type MapFeature } from './world'
import type { Detection } from './detections'
import { hash32 } from './prng'

export const IMAGE_FIELDS = [
  'id', 'width', 'height', 'captured_at', 'compass_angle', 'computed_compass_angle', 'geometry', 'computed_geometry',
  'altitude', 'computed_altitude', 'is_pano', 'camera_type', 'make', 'model', 'exif_orientation', 'sequence',
  'thumb_256_url', 'thumb_1024_url', 'thumb_2048_url', 'thumb_original_url',
] as const
export const FEATURE_FIELDS = [
  'id', 'object_value', 'object_type', 'geometry', 'first_seen_at', 'last_seen_at', 'aligned_direction', 'images',
] as const
export const DETECTION_FIELDS = ['id', 'value', 'geometry', 'image', 'created_at'] as const

export type FieldsResult = { ok: true; fields: string[] } | { ok: false; unknown: string }

/** Parses `fields` against the node's known fields; `id` first, no duplicates. */
export function parseFields(raw: string | undefined | null, known: readonly string[]): FieldsResult {
  const fields = ['id']
  for (const part of (raw ?? '').split(',')) {
    const f = part.trim()
    if (f === '') continue
    if (!known.includes(f)) return { ok: false, unknown: f }
    if (!fields.includes(f)) fields.push(f)
  }
  return { ok: true, fields }
}

export interface ProjectionContext {
  /** The request's own origin, for thumbnail URLs. */
  origin: string
  /** Unix seconds at which thumbnail URLs expire. */
  thumbExp: number
}

export function thumbUrl(ctx: ProjectionContext, imageId: string, size: 'original' | '256' | '1024' | '2048'): string {
  return `${ctx.origin}/__sandbox/thumbs/${imageId}/${size}.jpg?exp=${ctx.thumbExp}`
}

const point = (lon: number, lat: number) => ({ type: 'Point', coordinates: [lon, lat] })

function imageField(image: Image, field: string, ctx: ProjectionContext): unknown {
  const cam = CAMERAS[image.camera]!
  // Small deterministic offsets for the "computed" (SfM-corrected) values.
  const h = hash32('computed', image.id)
  const off = ((h & 0xffff) / 0xffff - 0.5) * 2e-5
  switch (field) {
    case 'id': return image.id
    case 'width': return cam.width
    case 'height': return cam.height
    case 'captured_at': return image.captured_at
    case 'compass_angle': return image.compass_angle
    case 'computed_compass_angle': return Math.round((((image.compass_angle + off * 1e5) % 360) + 360) % 360 * 1e4) / 1e4
    case 'geometry': return point(image.lon, image.lat)
    case 'computed_geometry': {
      let lon = Math.round((image.lon + off) * 1e7) / 1e7
      if (lon > 180) lon -= 360
      if (lon < -180) lon += 360
      return point(lon, Math.round((image.lat - off) * 1e7) / 1e7)
    }
    case 'altitude': return image.altitude
    case 'computed_altitude': return Math.round((image.altitude - 2 + (h >>> 24) / 64) * 100) / 100
    case 'is_pano': return cam.camera_type === 'spherical'
    case 'camera_type': return cam.camera_type
    case 'make': return cam.make
    case 'model': return cam.model
    case 'exif_orientation': return 1
    case 'sequence': return image.sequence
    case 'thumb_256_url': return thumbUrl(ctx, image.id, '256')
    case 'thumb_1024_url': return thumbUrl(ctx, image.id, '1024')
    case 'thumb_2048_url': return thumbUrl(ctx, image.id, '2048')
    case 'thumb_original_url': return thumbUrl(ctx, image.id, 'original')
  }
  return undefined
}

function featureField(f: MapFeature, field: string): unknown {
  switch (field) {
    case 'id': return f.id
    case 'object_value': return f.object_value
    case 'object_type': return f.object_type
    case 'geometry': return point(f.lon, f.lat)
    case 'first_seen_at': return graphTime(f.first_seen_ms)
    case 'last_seen_at': return graphTime(f.last_seen_ms)
    case 'aligned_direction': return f.aligned_direction
    case 'images': return { data: f.images.map((id) => ({ id })) }
  }
  return undefined
}

function detectionField(d: Detection, field: string): unknown {
  switch (field) {
    case 'id': return d.id
    case 'value': return d.value
    case 'geometry': return d.geometry
    case 'created_at': return d.created_at
    case 'image': return { id: d.image }
  }
  return undefined
}

const project = (fields: string[], get: (field: string) => unknown): Record<string, unknown> => {
  const out: Record<string, unknown> = {}
  for (const f of fields) out[f] = get(f)
  return out
}

export const projectImage = (image: Image, fields: string[], ctx: ProjectionContext) => project(fields, (f) => imageField(image, f, ctx))
export const projectFeature = (feature: MapFeature, fields: string[]) => project(fields, (f) => featureField(feature, f))
export const projectDetection = (d: Detection, fields: string[]) => project(fields, (f) => detectionField(d, f))
