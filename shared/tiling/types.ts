/**
 * @module
 * Shared shapes and constants of the tiling sweep (bbox → cells → complete feature list).
 */

/** WGS84 degrees. `west > east` means the box crosses the antimeridian. */
export type Bbox = [west: number, south: number, east: number, north: number]

/** Web-mercator (XYZ / slippy map) tile: x grows east, y grows south. Only the FAQ baseline uses tiles. */
export type Tile = [x: number, y: number, z: number]

/**
 * One upstream request: a box inside one antimeridian half of the requested box, of any shape
 * (the upstream's `bbox` is any box, not only a tile). Never crosses the antimeridian.
 */
export interface Cell {
  bbox: Bbox
}

/** The upstream `GET /map_features?bbox=` answers at most this many features and cuts silently. */
export const UPSTREAM_CAP = 2000

/**
 * Shortest cell side still cut in two: the width of a z22 web-mercator tile (360 / 2^22 ≈ 8.6e-5°,
 * about 9.5 m at the equator; the sweep used to stop at z22). More than 2000 map features in a
 * cell that small is not a real street (many features share one coordinate), and each further cut
 * costs requests for nothing. A cell still cut with no side longer than this is reported
 * (`saturated`), never dropped.
 */
export const MIN_CELL_DEG = 360 / 2 ** 22
