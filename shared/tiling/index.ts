/**
 * @module
 * Bbox → cells → every map feature in the box despite the upstream's silent 2000 cap.
 */
export { MIN_CELL_DEG, UPSTREAM_CAP, type Bbox, type Cell, type Tile } from './types'
export { bboxArea, bboxError, bboxWidth, inBbox, sameBbox, splitAtAntimeridian } from './bbox'
export { MAX_LAT, latToTileY, lonToTileX, pointToTile, tileChildren, tileToBbox } from './tile-math'
export { planCells, startCellCount, type PlanOptions } from './plan-cells'
export { inCell, longAxis, splitCell, type SamplePoint, type SplitOptions } from './split-cell'
export { splitDense, type DenseSplitOptions } from './dense-split'
export { DENSE_SHARE, orderIds, judgeCell, type CellOutcome, type JudgeOptions, type PointFeature } from './sweep'
