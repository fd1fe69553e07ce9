// Ovis1.6 high-resolution partitioning — mirrors `preprocess_image`'s nested `_partition`,
// `_covering_area` and `_get_best_grid` in AIDC-AI/Ovis (commit 831b595)
// ovis/model/visual_tokenizer/base_visual_tokenizer.py.
// A grid is [rows, cols]; a box is Pillow's crop box [left, top, right, bottom] (right/bottom
// exclusive). All arithmetic is float64 in the same order as the Python, so ratios and the
// threshold comparison agree bit for bit.

import { InputError } from '../errors.js';

export type Grid = [rows: number, cols: number];
export type Box = [left: number, top: number, right: number, bottom: number];

/** Ovis's defaults (preprocess_image signature). */
export const DEFAULT_MAX_PARTITION = 9;
export const DEFAULT_COVERING_THRESHOLD = 0.9;
/** SigLIP's input side: image_processor.size = {height: 384, width: 384}. */
export const DEFAULT_IMAGE_SIZE = 384;
/** The largest max_partition accepted. Candidate grids grow as N log N and crops with N; 64 crops
 *  are already ~12,600 visual tokens, past the 8192-token multimodal_max_length of both releases,
 *  so a larger value can only hang on grid enumeration or fail later on the context length. */
export const MAX_MAX_PARTITION = 64;

/**
 * Equal integer cells, row-major; the last row / column takes the remainder
 * (row_height = h // rows, col_width = w // cols).
 */
export function partition(width: number, height: number, grid: Grid): Box[] {
  const [rows, cols] = grid;
  const rowHeight = Math.floor(height / rows);
  const colWidth = Math.floor(width / cols);
  const boxes: Box[] = [];
  for (let r = 0; r < rows; r++) {
    for (let c = 0; c < cols; c++) {
      const left = c * colWidth;
      const top = r * rowHeight;
      const right = c === cols - 1 ? width : (c + 1) * colWidth;
      const bottom = r === rows - 1 ? height : (r + 1) * rowHeight;
      boxes.push([left, top, right, bottom]);
    }
  }
  return boxes;
}

/**
 * The area of a cell that survives resizing it into a side x side square: the long side is
 * capped at `side` and the short side scaled with it (Python: h = h / w * side, a float).
 */
export function coveringArea(box: Box, side: number): number {
  const bw = box[2] - box[0];
  const bh = box[3] - box[1];
  let w = Math.max(bw, bh);
  let h = Math.min(bw, bh);
  if (w > side) {
    h = (h / w) * side;
    w = side;
  }
  return w * h;
}

export interface GridCandidate {
  grid: Grid;
  ratio: number;
  good: boolean;
}

/**
 * Every candidate grid (rows-major from (1,1), rows*cols <= maxPartition) with its covering
 * ratio = sum of cell covering areas / image area, and whether it beats the threshold.
 */
export function rankGrids(
  width: number,
  height: number,
  maxPartition: number,
  coveringThreshold = DEFAULT_COVERING_THRESHOLD,
  side = DEFAULT_IMAGE_SIZE,
): GridCandidate[] {
  checkPartitionArgs(width, height, maxPartition, coveringThreshold);
  const area = width * height;
  const out: GridCandidate[] = [];
  for (let i = 1; i <= maxPartition; i++) {
    for (let j = 1; j <= maxPartition; j++) {
      if (i * j > maxPartition) continue;
      const grid: Grid = [i, j];
      let sum = 0; // Python's sum() adds left to right from int 0
      for (const b of partition(width, height, grid)) sum += coveringArea(b, side);
      const ratio = sum / area;
      out.push({ grid, ratio, good: ratio > coveringThreshold });
    }
  }
  return out;
}

/**
 * Ovis's `_get_best_grid`. If some grid covers more than `coveringThreshold`: the good grid
 * with the fewest cells, ties -> the larger ratio. Otherwise the largest ratio, ties -> fewer
 * cells. Python's sort is stable, so remaining ties go to the earliest candidate; a strict
 * "better than" scan in candidate order reproduces that.
 */
export function chooseGrid(
  width: number,
  height: number,
  maxPartition: number,
  coveringThreshold = DEFAULT_COVERING_THRESHOLD,
  side = DEFAULT_IMAGE_SIZE,
): Grid {
  const all = rankGrids(width, height, maxPartition, coveringThreshold, side);
  const cells = (c: GridCandidate) => c.grid[0] * c.grid[1];
  const good = all.filter((c) => c.good);
  let best: GridCandidate;
  if (good.length > 0) {
    best = good[0];
    for (const c of good) {
      if (cells(c) < cells(best) || (cells(c) === cells(best) && c.ratio > best.ratio)) best = c;
    }
  } else {
    best = all[0];
    for (const c of all) {
      if (c.ratio > best.ratio || (c.ratio === best.ratio && cells(c) < cells(best))) best = c;
    }
  }
  return [best.grid[0], best.grid[1]];
}

function checkPartitionArgs(width: number, height: number, maxPartition: number, coveringThreshold: number): void {
  if (!Number.isInteger(width) || !Number.isInteger(height) || width < 1 || height < 1) {
    throw new InputError(`image size ${width}x${height}: width and height must be integers >= 1`);
  }
  if (!Number.isInteger(maxPartition) || maxPartition < 1 || maxPartition > MAX_MAX_PARTITION) {
    throw new InputError(
      `maxPartition = ${maxPartition}: expected an integer in [1, ${MAX_MAX_PARTITION}]`,
      'Ovis1.6 uses max_partition = 9',
    );
  }
  if (!Number.isFinite(coveringThreshold)) {
    throw new InputError(`coveringThreshold = ${coveringThreshold}: expected a finite number`, 'Ovis1.6 uses covering_threshold = 0.9');
  }
}
