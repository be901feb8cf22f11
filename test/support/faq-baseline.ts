/**
 * @module
 * The Mapillary FAQ's way of asking for a box's map features, as a baseline the tiling tests count
 * requests against: every z18 tile covering the box, one request each, empty or not. The product
 * never asks by tiles (shared/tiling plans cells of the box's own shape); the bench runs the same
 * method against the stand-in with @mapbox/tile-cover (bench/run.mjs).
 */
import { bboxError, latToTileY, lonToTileX, splitAtAntimeridian, tileToBbox, type Bbox, type Cell, type Tile } from '../../shared/tiling'

/** A cell of the FAQ baseline: a web-mercator tile clipped to the box. */
export interface TileCell extends Cell {
  tile: Tile
}

/**
 * Inclusive tile ranges covering a non-crossing box at zoom z. Computed from the box's corners
 * and widened by one where float rounding could put an edge on the wrong side of a tile line;
 * each tile is clipped to the box and the empty ones dropped, so a spare tile costs nothing.
 */
function tileRange([w, s, e, n]: Bbox, z: number): { minX: number; maxX: number; minY: number; maxY: number } {
  const max = Math.pow(2, z) - 1
  const clamp = (v: number) => Math.min(max, Math.max(0, v))
  return {
    minX: clamp(Math.floor(lonToTileX(w, z)) - 1),
    maxX: clamp(Math.floor(lonToTileX(e, z)) + 1),
    minY: clamp(Math.floor(latToTileY(n, z)) - 1),
    maxY: clamp(Math.floor(latToTileY(s, z)) + 1),
  }
}

/** Intersection of two non-crossing boxes, or `null` when they do not meet (touching counts). */
function intersect(a: Bbox, b: Bbox): Bbox | null {
  const w = Math.max(a[0], b[0])
  const s = Math.max(a[1], b[1])
  const e = Math.min(a[2], b[2])
  const n = Math.min(a[3], b[3])
  return w > e || s > n ? null : [w, s, e, n]
}

/**
 * Every z18 tile covering the box, clipped to it (a zero-width clip is kept only where the box
 * itself has zero width). Throws `RangeError` for an invalid box.
 * @example fixedZ18Tiles([-79.54, 8.94, -79.52, 8.96]).length // 256 (16 × 16)
 */
export function fixedZ18Tiles(b: Bbox): TileCell[] {
  const why = bboxError(b)
  if (why) throw new RangeError(`invalid bbox [${b.join(',')}]: ${why}`)
  const z = 18
  return splitAtAntimeridian(b).flatMap((half) => {
    const r = tileRange(half, z)
    const cells: TileCell[] = []
    for (let y = r.minY; y <= r.maxY; y++) {
      for (let x = r.minX; x <= r.maxX; x++) {
        const tile: Tile = [x, y, z]
        const bbox = intersect(tileToBbox(tile), half)
        if (!bbox) continue
        if (half[0] !== half[2] && bbox[0] === bbox[2]) continue
        if (half[1] !== half[3] && bbox[1] === bbox[3]) continue
        cells.push({ tile, bbox })
      }
    }
    return cells
  })
}
