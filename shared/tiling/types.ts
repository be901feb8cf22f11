/**
 * @module
 * Shared shapes and constants of the tiling sweep (bbox → cells → complete feature list).
 */

/** WGS84 degrees. `west > east` means the box crosses the antimeridian. */
export type Bbox = [west: number, south: number, east: number, north: number]

/** Web-mercator (XYZ / slippy map) tile: x grows east, y grows south. */
export type Tile = [x: number, y: number, z: number]

/** One upstream request: a tile and its bounds clipped to the requested (non-crossing) box. */
export interface Cell {
  tile: Tile
  /** tile bounds ∩ the requested box; never crosses the antimeridian. */
  bbox: Bbox
}

/** The upstream `GET /map_features?bbox=` answers at most this many features and cuts silently. */
export const UPSTREAM_CAP = 2000

/**
 * Deepest zoom we split to. A z22 tile is ~9.5 m wide at the equator: more than 2000 map
 * features in it is not a real street (it means many features share one coordinate), and each
 * extra level costs requests for nothing. A saturated floor cell is reported, never dropped.
 */
export const FLOOR_ZOOM = 22
