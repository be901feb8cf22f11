/**
 * @module
 * Ground truth for the end-to-end tests, read from the stand-in's own world module: the same seeded
 * world the stand-in serves, built here in Node. Never from the product's answers or helpers, so a
 * wrong answer cannot agree with itself.
 */
import { CAMERAS, getWorld } from '../stand-in/src/world'
import { detectionsOfFeature, detectionsOfImage } from '../stand-in/src/detections'
import { projectDetection, projectFeature } from '../stand-in/src/fields'
import { lonLatToTile, pointInBBox, type BBox } from '../stand-in/src/geo'
import { tokenHash } from '../stand-in/src/stats'

export { tokenHash }

/** Width and height of an image, from its camera. */
export function imageSize(id: string): { width: number; height: number } {
  const image = getWorld().imageById.get(id)
  if (!image) throw new Error(`truth: no image ${id} in the world`)
  const { width, height } = CAMERAS[image.camera]!
  return { width, height }
}

/** A sequence's image ids in upstream order. */
export function sequenceImageIds(id: string): string[] {
  const seq = getWorld().sequenceById.get(id)
  if (!seq) throw new Error(`truth: no sequence ${id} in the world`)
  return [...seq.imageIds]
}

/** A map feature as the upstream answers it with `fields` (`id` always included). */
export function featureTruth(id: string, fields: readonly string[]): Record<string, unknown> {
  const feature = getWorld().featureById.get(id)
  if (!feature) throw new Error(`truth: no map feature ${id} in the world`)
  return projectFeature(feature, ['id', ...fields])
}

/** Every detection of an image, as the upstream answers them with `fields` (`id` first). */
export function imageDetectionsTruth(id: string, fields: readonly string[] = ['id', 'value', 'geometry', 'image', 'created_at']): Record<string, unknown>[] {
  const world = getWorld()
  const image = world.imageById.get(id)
  if (!image) throw new Error(`truth: no image ${id} in the world`)
  return detectionsOfImage(world, image).map((d) => projectDetection(d, ['id', ...fields]))
}

/** Every detection of a map feature (one per image it is seen in), with every field. */
export function featureDetectionsTruth(id: string): Array<{ id: string; value: string; geometry: string; image: string }> {
  const world = getWorld()
  const feature = world.featureById.get(id)
  if (!feature) throw new Error(`truth: no map feature ${id} in the world`)
  return detectionsOfFeature(world, feature).map((d) => ({ id: d.id, value: d.value, geometry: d.geometry, image: d.image }))
}

/** A map feature of the world seen in at least `n` images, other than those in `except`. */
export function featureSeenIn(n: number, except: readonly string[] = []): string {
  const f = getWorld().features.find((x) => x.images.length >= n && !except.includes(x.id))
  if (!f) throw new Error(`truth: no feature seen in ${n} images`)
  return f.id
}

/** An image of the world with at least `n` detections, other than those in `except`. */
export function imageWithDetections(n: number, except: readonly string[] = []): string {
  for (const image of getWorld().imageById.values()) {
    if (!image.special && image.slots >= n && !except.includes(image.id)) return image.id
  }
  throw new Error(`truth: no image with ${n} detections`)
}

/** The stand-in's rule for "in the box" (edges included, antimeridian aware). */
export function inBoxTruth([lon, lat]: readonly number[], bbox: readonly number[]): boolean {
  return pointInBBox(lon!, lat!, bbox as BBox)
}

/** Number of z18 tiles covering a box that does not cross the antimeridian (the FAQ's method). */
export function z18TileCount([w, s, e, n]: readonly number[]): number {
  const [x0, y0] = lonLatToTile(w!, n!, 18)
  const [x1, y1] = lonLatToTile(e!, s!, 18)
  return (x1 - x0 + 1) * (y1 - y0 + 1)
}
