/**
 * @module
 * Bbox → cells → every map feature in the box despite the upstream's silent 2000 cap.
 */
export { FLOOR_ZOOM, UPSTREAM_CAP, type Bbox, type Cell, type Tile } from './types'
export { bboxArea, bboxError, bboxWidth, inBbox, intersectBbox, sameBbox, splitAtAntimeridian } from './bbox'
export { MAX_LAT, latToTileY, lonToTileX, pointToTile, tileChildren, tileRange, tileToBbox } from './tile-math'
export { fixedZ18Tiles, planCells, splitCell, type PlanOptions } from './plan-cells'
export { splitDense, type DenseSplitOptions } from './dense-split'
export {
  DENSE_SHARE,
  dedupeById,
  orderIds,
  judgeCell,
  sweepBbox,
  SweepBudgetError,
  type CellOutcome,
  type JudgeOptions,
  type PointFeature,
  type SweepOptions,
  type SweepResult,
} from './sweep'
