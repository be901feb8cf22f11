/**
 * @module
 * Geometry helpers of the sandbox: bounding boxes (with antimeridian crossing) and Web Mercator
 * (slippy map) tile math. Pure.
 */

/** [west, south, east, north] in degrees; west > east means the box crosses the antimeridian. */
export type BBox = [number, number, number, number]

/** Tile x/y of the point at zoom z (the tile whose closed-open range holds it). */
export function lonLatToTile(lon: number, lat: number, z: number): [number, number] {
  const n = 2 ** z
  const latRad = (lat * Math.PI) / 180
  const x = Math.floor(((lon + 180) / 360) * n)
  const y = Math.floor(((1 - Math.log(Math.tan(latRad) + 1 / Math.cos(latRad)) / Math.PI) / 2) * n)
  return [Math.min(Math.max(x, 0), n - 1), Math.min(Math.max(y, 0), n - 1)]
}

/** Bounds of tile (x, y, z) as [west, south, east, north] degrees. */
export function tileBounds(x: number, y: number, z: number): BBox {
  const n = 2 ** z
  const lon = (tx: number) => (tx / n) * 360 - 180
  const lat = (ty: number) => (Math.atan(Math.sinh(Math.PI * (1 - (2 * ty) / n))) * 180) / Math.PI
  return [lon(x), lat(y + 1), lon(x + 1), lat(y)]
}

/**
 * Whether a point lies in the box, edges included. `west > east` crosses the antimeridian.
 * Longitudes 180 and -180 are the same meridian: a point on it is in any box touching either.
 */
export function pointInBBox(lon: number, lat: number, [w, s, e, n]: BBox): boolean {
  if (!(lat >= s && lat <= n)) return false
  if (lon === 180 || lon === -180) return inLon(180, w, e) || inLon(-180, w, e)
  return inLon(lon, w, e)
}

// A plain function, not a closure per call: the stand-in tests every feature of the world per request.
function inLon(l: number, w: number, e: number): boolean {
  return w <= e ? l >= w && l <= e : l >= w || l <= e
}

/**
 * Parses `w,s,e,n`; null when it is not four finite numbers with lon in [-180, 180],
 * lat in [-90, 90] and south ≤ north.
 */
export function parseBBox(raw: string | undefined | null): BBox | null {
  if (typeof raw !== 'string') return null
  const parts = raw.split(',')
  if (parts.length !== 4) return null
  const nums = parts.map((p) => (p.trim() === '' ? NaN : Number(p.trim())))
  if (!nums.every(Number.isFinite)) return null
  const [w, s, e, n] = nums as BBox
  if (w < -180 || w > 180 || e < -180 || e > 180) return null
  if (s < -90 || s > 90 || n < -90 || n > 90 || s > n) return null
  return [w, s, e, n]
}

/** Great-circle-ish distance proxy in degrees (equirectangular, antimeridian aware). */
export function degDistance(lon1: number, lat1: number, lon2: number, lat2: number): number {
  let dx = Math.abs(lon1 - lon2)
  if (dx > 180) dx = 360 - dx
  dx *= Math.cos((((lat1 + lat2) / 2) * Math.PI) / 180)
  const dy = lat1 - lat2
  return Math.sqrt(dx * dx + dy * dy)
}
