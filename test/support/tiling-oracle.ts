/**
 * @module
 * What a set of cells must be for a box, checked exactly and independently of the product: plain
 * comparisons on the numbers, no import from shared/tiling, so a bug in its antimeridian split,
 * its point test or its cuts cannot agree with itself here.
 *
 * Coverage is checked exactly, not by sampling: every cell edge is a line of a grid over the box;
 * the box is covered iff every grid line, every crossing of two lines and a point inside every
 * piece between them lies in some cell (cells are closed boxes whose edges are grid lines, so a
 * cell holding a point inside a piece holds the whole piece). A gap of any width that holds a
 * float (a coordinate some feature could have) leaves a probed point uncovered.
 */
import { expect } from 'vitest'

/** `[west, south, east, north]` in degrees; `west > east` crosses the antimeridian. */
type Bbox = [number, number, number, number]
/** One upstream request: a box. */
interface Cell {
  bbox: Bbox
}

/** Area of a non-crossing box in square degrees. */
export function areaOf([w, s, e, n]: Bbox): number {
  return (e - w) * (n - s)
}

/** The box as non-crossing parts: itself, or (west > east) west…180 and −180…east. */
function partsOf([w, s, e, n]: Bbox): Bbox[] {
  return w <= e ? [[w, s, e, n]] : [[w, s, 180, n], [-180, s, e, n]]
}

/** Whether the closed box `outer` holds the closed box `inner` (both non-crossing). */
function holds(outer: Bbox, inner: Bbox): boolean {
  return inner[0] >= outer[0] && inner[2] <= outer[2] && inner[1] >= outer[1] && inner[3] <= outer[3]
}

/** Whether the point lies in the closed, non-crossing box. */
function holdsPoint([w, s, e, n]: Bbox, x: number, y: number): boolean {
  return x >= w && x <= e && y >= s && y <= n
}

/** The distinct values from `lo` to `hi` among `cuts`, and the midpoint between each two neighbours. */
function probes(lo: number, hi: number, cuts: number[]): number[] {
  const lines = [...new Set([lo, hi, ...cuts.filter((v) => v > lo && v < hi)])].sort((a, b) => a - b)
  const out: number[] = []
  lines.forEach((v, i) => {
    out.push(v)
    const next = lines[i + 1]
    if (next !== undefined) out.push(v + (next - v) / 2)
  })
  return out
}

/**
 * Cover invariants: every cell is a non-crossing box inside one antimeridian part of `b`, no two
 * cells are the same request, no cell has zero width (or height) unless its part has, and every
 * point of `b`, edges included, lies in some cell.
 */
export function expectCovers(b: Bbox, cells: Cell[]): void {
  expect(cells.length).toBeGreaterThan(0)
  const parts = partsOf(b)
  expect(new Set(cells.map((c) => c.bbox.join(','))).size, 'a cell repeated').toBe(cells.length)
  for (const { bbox } of cells) {
    const [w, s, e, n] = bbox
    expect(w <= e && s <= n, `cell ${bbox} crosses or is upside down`).toBe(true)
    const part = parts.find((p) => holds(p, bbox))
    expect(part, `cell ${bbox} outside ${b}`).toBeDefined()
    if (part![0] !== part![2]) expect(e, `cell ${bbox} has no width`).toBeGreaterThan(w)
    if (part![1] !== part![3]) expect(n, `cell ${bbox} has no height`).toBeGreaterThan(s)
  }
  for (const part of parts) {
    const mine = cells.filter((c) => holds(part, c.bbox))
    const xs = probes(part[0], part[2], mine.flatMap((c) => [c.bbox[0], c.bbox[2]]))
    const ys = probes(part[1], part[3], mine.flatMap((c) => [c.bbox[1], c.bbox[3]]))
    for (const x of xs) {
      for (const y of ys) {
        if (!mine.some((c) => holdsPoint(c.bbox, x, y))) expect.fail(`point ${x},${y} of ${b} is in no cell`)
      }
    }
  }
}

/**
 * Split invariants: the children cover the parent exactly (see {@link expectCovers}) and no two
 * overlap: they may share an edge, never an area.
 */
export function expectPartition(parent: Bbox, children: Cell[]): void {
  expectCovers(parent, children)
  children.forEach((a, i) => {
    for (const c of children.slice(i + 1)) {
      const overlap = Math.max(a.bbox[0], c.bbox[0]) < Math.min(a.bbox[2], c.bbox[2]) && Math.max(a.bbox[1], c.bbox[1]) < Math.min(a.bbox[3], c.bbox[3])
      if (overlap) expect.fail(`cells ${a.bbox} and ${c.bbox} overlap`)
    }
  })
}
