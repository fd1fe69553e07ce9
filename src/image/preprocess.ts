// Image -> pixel_values, as Ovis1.6 computes it: `preprocess_image` in AIDC-AI/Ovis (commit
// 831b595, ovis/model/visual_tokenizer/base_visual_tokenizer.py) driving transformers 4.57
// SiglipImageProcessor (models/siglip/image_processing_siglip.py + image_transforms.py).
// Shapes: n crops · S image side (384) · pixel_values [n, 3, S, S] float32, channels first.
//
// Per crop (the global image first when the grid has more than one cell):
//   1. target size keeping aspect, long side S, short side pyInt(short / long * S);
//   2. the processor's resize: PIL Image.resize(target, BICUBIC) on the 8-bit RGB crop;
//   3. rescale: float64(x) * (1/255) stored as float32; normalise: (x - 0.5) / 0.5 in float32;
//   4. pad: centred in a zero [3, S, S] canvas, offset (S - len) // 2 on the short axis.
// Step 3 is a 256-entry lookup table: the value depends only on the byte.

import { CONFIG_LIMITS } from '../config/limits.js';
import { ImageError, InputError } from '../errors.js';
import { type DecodeOptions, decodeImage } from './decode.js';
import {
  type Box,
  chooseGrid,
  DEFAULT_COVERING_THRESHOLD,
  DEFAULT_IMAGE_SIZE,
  DEFAULT_MAX_PARTITION,
  type Grid,
  partition,
} from './partition.js';
import { buildPlaceholders } from './placeholders.js';
import { resizeRegionBicubic } from './resize.js';
import { checkRgbImage, type RgbImage } from './rgb.js';

export interface PreprocessOptions {
  /** Ovis max_partition (default 9). */
  maxPartition?: number;
  /** Ovis covering_threshold (default 0.9). */
  coveringThreshold?: number;
  /** image_processor.size (default 384). */
  imageSize?: number;
  /** Decode guard (default Pillow's MAX_IMAGE_PIXELS, 89478485). */
  maxPixels?: number;
  /** Decode memory budget in bytes, estimated from the header (default MAX_DECODE_BYTES, 4 GiB). */
  maxDecodeBytes?: number;
  /** Decode guard on JPEG scans (default MAX_JPEG_SCANS, 500). */
  maxJpegScans?: number;
  /** Apply EXIF orientation when decoding (default false, like HF/Ovis). */
  applyExifOrientation?: boolean;
  /** Name used in error messages (e.g. the file path). */
  label?: string;
}

export interface Preprocessed {
  /** [n, 3, S, S] float32, the `pixel_values` stage. */
  pixelValues: Float32Array;
  n: number;
  grid: Grid;
  /** Indicator / atom ids for this image (buildPlaceholders(grid)). */
  placeholders: number[];
  /** Crop boxes in pixel_values order ([0, 0, W, H] first when n > 1). */
  boxes: Box[];
}

/** Python's int() on a float: truncation toward zero. */
export function pyInt(x: number): number {
  return Math.trunc(x);
}

/** SiglipImageProcessor defaults (google/siglip-so400m-patch14-384 preprocessor_config.json). */
const RESCALE_FACTOR = 1 / 255; // 0.00392156862745098
const IMAGE_MEAN = 0.5;
const IMAGE_STD = 0.5;

/** byte -> normalised float32: rescale in float64 then cast (image_transforms.rescale), normalise in float32. */
export const NORMALIZE_LUT: Float32Array = (() => {
  const lut = new Float32Array(256);
  for (let v = 0; v < 256; v++) {
    const rescaled = Math.fround(v * RESCALE_FACTOR); // float64 multiply, .astype(float32)
    // f32 - f32 computed exactly in float64 then rounded once = IEEE float32 subtraction
    lut[v] = Math.fround(Math.fround(rescaled - IMAGE_MEAN) / IMAGE_STD);
  }
  return lut;
})();

/**
 * Ovis's `_preprocess` target size for a w x h crop (the processor's `size` argument):
 * square -> S x S; else the long side S and the short side pyInt(short / long * S).
 */
export function targetSize(w: number, h: number, side: number): [width: number, height: number] {
  if (w === h) return [side, side];
  if (w > h) return [side, pyInt((h / w) * side)];
  return [pyInt((w / h) * side), side];
}

/** Preprocess one image (encoded PNG/JPEG bytes or decoded RGB) into Ovis1.6 pixel_values. */
export function preprocessImage(input: Uint8Array | RgbImage, opts: PreprocessOptions = {}): Preprocessed {
  const label = opts.label ?? 'image';
  const maxPartition = opts.maxPartition ?? DEFAULT_MAX_PARTITION;
  const threshold = opts.coveringThreshold ?? DEFAULT_COVERING_THRESHOLD;
  const side = opts.imageSize ?? DEFAULT_IMAGE_SIZE;
  // bounded like config.json's image_size (config/limits.ts): each crop allocates 3 x side^2 floats
  if (!Number.isInteger(side) || side < 1 || side > CONFIG_LIMITS.imageSize) {
    throw new InputError(
      `${label}: imageSize = ${side}: expected an integer in [1, ${CONFIG_LIMITS.imageSize}]`,
      'SigLIP in Ovis1.6 uses 384',
    );
  }
  let img: RgbImage;
  if (input instanceof Uint8Array) {
    const dopts: DecodeOptions = {
      label,
      maxPixels: opts.maxPixels,
      maxDecodeBytes: opts.maxDecodeBytes,
      maxJpegScans: opts.maxJpegScans,
      applyExifOrientation: opts.applyExifOrientation,
    };
    img = decodeImage(input, dopts);
  } else {
    checkRgbImage(input, label);
    img = input;
  }
  const { width: W, height: H } = img;

  const grid = chooseGrid(W, H, maxPartition, threshold, side);
  const boxes = partition(W, H, grid);
  if (boxes.length > 1) boxes.unshift([0, 0, W, H]); // the global view goes first

  const n = boxes.length;
  const plane = side * side;
  const pixelValues = new Float32Array(n * 3 * plane); // [n, 3, S, S], zero = the padding
  for (let i = 0; i < n; i++) {
    const crop = resizeCrop(img, boxes[i], side, label);
    writeNormalizedPadded(crop, pixelValues.subarray(i * 3 * plane, (i + 1) * 3 * plane), side);
  }
  return { pixelValues, n, grid, placeholders: buildPlaceholders(grid), boxes };
}

/** Several images for one prompt: pixel_values concatenated in order, one grid/placeholders each. */
export function preprocessImages(
  inputs: Array<Uint8Array | RgbImage>,
  opts: PreprocessOptions = {},
): { pixelValues: Float32Array; n: number; images: Preprocessed[] } {
  const images = inputs.map((x, i) => preprocessImage(x, { ...opts, label: opts.label ? `${opts.label}[${i}]` : `image ${i}` }));
  const n = images.reduce((a, p) => a + p.n, 0);
  const pixelValues = new Float32Array(images.reduce((a, p) => a + p.pixelValues.length, 0)); // [n, 3, S, S]
  let o = 0;
  for (const p of images) {
    pixelValues.set(p.pixelValues, o);
    o += p.pixelValues.length;
  }
  return { pixelValues, n, images };
}

/**
 * Steps 1-2 for one crop box, including the processor's channel-format guess (below).
 *
 * HF quirk (transformers 4.57 image_utils.infer_channel_dimension_format): the processor gets
 * the crop as a [h, w, 3] uint8 array and guesses its layout from the shape: if h is 1 or 3 it
 * decides the array is CHANNELS-FIRST. Then
 *   - h == 3: the array is read as (C=3, H=w, W=3), i.e. a w-tall, 3-wide RGB image whose pixel
 *     (y=x, x=c) has channel k = crop[row k][col x][channel c]; THAT image is resized to the
 *     target size and normalised normally. We reproduce it (bit-exact with HF).
 *   - h == 1: the array becomes one channel and normalisation fails (ValueError "mean must have
 *     1 elements"), or the resize already failed on a 0-px side; HF cannot preprocess it.
 */
function resizeCrop(img: RgbImage, box: Box, side: number, label: string): RgbImage {
  const [left, top, right, bottom] = box;
  const w = right - left;
  const h = bottom - top;
  const [tw, th] = targetSize(w, h, side);
  if (tw < 1 || th < 1 || w < 1 || h < 1) {
    throw new ImageError(
      `${label}: crop ${w}x${h} (box ${box.join(',')}) of the ${img.width}x${img.height} image resizes to ${tw}x${th}: ` +
        `a side of 0 px (Ovis1.6's reference preprocessing fails here too: Pillow "height and width must be > 0")`,
      'the aspect ratio is beyond 384:1; pad or crop the image first',
    );
  }
  if (h === 1) {
    throw new ImageError(
      `${label}: crop ${w}x${h} (box ${box.join(',')}) is 1 px tall: the reference (transformers SiglipImageProcessor) ` +
        `takes a [1, w, 3] array for channels-first and fails ("mean must have 1 elements")`,
      'images (and crops) 1 px tall cannot be preprocessed by Ovis1.6; pad the image to at least 2 px',
    );
  }
  if (h === 3) {
    const q = channelsFirstQuirkImage(img, box); // [w, 3, 3] read as a w x 3 RGB image
    return resizeRegionBicubic(q, { left: 0, top: 0, width: q.width, height: q.height }, tw, th);
  }
  return resizeRegionBicubic(img, { left, top, width: w, height: h }, tw, th);
}

/** The image HF actually resizes for a 3-px-tall crop: width 3, height w, channel k = crop row k. */
function channelsFirstQuirkImage(img: RgbImage, box: Box): RgbImage {
  const [left, top, right] = box;
  const w = right - left;
  const data = new Uint8Array(w * 3 * 3); // [w, 3, 3]
  for (let x = 0; x < w; x++) {
    for (let c = 0; c < 3; c++) {
      for (let k = 0; k < 3; k++) data[(x * 3 + c) * 3 + k] = img.data[((top + k) * img.width + left + x) * 3 + c];
    }
  }
  return { width: 3, height: w, data };
}

/** Steps 3-4: HWC bytes -> normalised CHW floats centred in the zeroed [3, S, S] `out`. */
function writeNormalizedPadded(crop: RgbImage, out: Float32Array, side: number): void {
  const { width: w, height: h, data } = crop;
  const offX = w < side ? Math.floor((side - w) / 2) : 0; // Ovis pads the short axis only
  const offY = h < side ? Math.floor((side - h) / 2) : 0;
  const plane = side * side;
  const lut = NORMALIZE_LUT;
  for (let y = 0; y < h; y++) {
    let p = y * w * 3;
    const o = (y + offY) * side + offX;
    for (let x = 0; x < w; x++, p += 3) {
      out[o + x] = lut[data[p]];
      out[plane + o + x] = lut[data[p + 1]];
      out[2 * plane + o + x] = lut[data[p + 2]];
    }
  }
}
