/**
 * @module
 * Web-mercator tile math (tilebelt formulas), written here to keep `shared/` dependency-free.
 */
import type { Bbox, Tile } from './types'

const R2D = 180 / Math.PI
const D2R = Math.PI / 180

/** Longitude of the west edge of tile column `x` at zoom `z` (`x` may be fractional). */
export function tileXToLon(x: number, z: number): number {
  return (x / Math.pow(2, z)) * 360 - 180
}

/** Latitude of the north edge of tile row `y` at zoom `z`. */
export function tileYToLat(y: number, z: number): number {
  // Same expression as @mapbox/tilebelt so neighbouring tiles share bit-identical edges
  // (doubling x/y and z divides exactly, so parent and child edges agree too).
  const n = Math.PI - (2 * Math.PI * y) / Math.pow(2, z)
  return R2D * Math.atan(0.5 * (Math.exp(n) - Math.exp(-n)))
}

/** Latitude of the top edge of tile row 0: web mercator's limit (≈ 85.0511287798). */
export const MAX_LAT = tileYToLat(0, 0)

/**
 * Bounds of a tile as `[west, south, east, north]`.
 * @example tileToBbox([0, 0, 1]) // [-180, 0, 0, 85.0511287798066]
 */
export function tileToBbox(t: Tile): Bbox {
  const [x, y, z] = t
  return [tileXToLon(x, z), tileYToLat(y + 1, z), tileXToLon(x + 1, z), tileYToLat(y, z)]
}

/**
 * The 4 tiles one zoom deeper: NW, NE, SW, SE.
 * @example tileChildren([0, 0, 0]) // [[0,0,1],[1,0,1],[0,1,1],[1,1,1]]
 */
export function tileChildren(t: Tile): Tile[] {
  const [x, y, z] = t
  return [
    [2 * x, 2 * y, z + 1],
    [2 * x + 1, 2 * y, z + 1],
    [2 * x, 2 * y + 1, z + 1],
    [2 * x + 1, 2 * y + 1, z + 1],
  ]
}

/** Fractional tile x of a longitude at zoom z (not clamped). */
export function lonToTileX(lon: number, z: number): number {
  return ((lon + 180) / 360) * Math.pow(2, z)
}

/** Fractional tile y of a latitude at zoom z (latitude clamped to ±MAX_LAT). */
export function latToTileY(lat: number, z: number): number {
  const clamped = Math.max(-MAX_LAT, Math.min(MAX_LAT, lat))
  const sin = Math.sin(clamped * D2R)
  return (0.5 - (0.25 * Math.log((1 + sin) / (1 - sin))) / Math.PI) * Math.pow(2, z)
}

/** The tile containing a point; points on the east edge (lon 180) / south edge stay in range. */
export function pointToTile(lon: number, lat: number, z: number): Tile {
  const max = Math.pow(2, z) - 1
  const x = Math.min(max, Math.max(0, Math.floor(lonToTileX(lon, z))))
  const y = Math.min(max, Math.max(0, Math.floor(latToTileY(lat, z))))
  return [x, y, z]
}
