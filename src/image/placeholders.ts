// Image placeholder ids for a grid — mirrors Ovis's `construct_image_placeholders`
// (AIDC-AI/Ovis 831b595, base_visual_tokenizer.py). Each ATOM stands for one crop's visual
// tokens, in crop order (global view first when there is more than one crop):
//   [I0, ATOM, I1] + (rows*cols > 1 ? rows of ATOM joined by I2, rows joined by I3 : []) + [I4]

import { IMAGE_ATOM_ID, IMAGE_INDICATOR_IDS } from '../constants.js';
import { InputError } from '../errors.js';
import type { Grid } from './partition.js';

export function buildPlaceholders(grid: Grid): number[] {
  const [rows, cols] = grid;
  if (!Number.isInteger(rows) || !Number.isInteger(cols) || rows < 1 || cols < 1) {
    throw new InputError(`buildPlaceholders: grid [${rows}, ${cols}] must be two integers >= 1`);
  }
  const [i0, i1, i2, i3, i4] = IMAGE_INDICATOR_IDS;
  const ids: number[] = [i0, IMAGE_ATOM_ID, i1]; // the global view (or the only crop)
  if (rows * cols > 1) {
    for (let r = 0; r < rows; r++) {
      for (let c = 0; c < cols; c++) {
        ids.push(IMAGE_ATOM_ID);
        if (c < cols - 1) ids.push(i2); // between columns
      }
      if (r < rows - 1) ids.push(i3); // between rows
    }
  }
  ids.push(i4);
  return ids;
}
