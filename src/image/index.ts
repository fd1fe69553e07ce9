// Image pipeline: bytes -> RGB (decode, like PIL convert('RGB')) -> Ovis1.6 grid + crops ->
// Pillow-exact bicubic resize -> normalised, padded pixel_values [n, 3, 384, 384].
export type { RgbImage } from './rgb.js';
export { decodeImage, decodeImageAsync, sniffFormat, MAX_IMAGE_PIXELS, MAX_DECODE_BYTES, MAX_JPEG_SCANS, SUPPORTED_FORMATS, type DecodeOptions } from './decode.js';
export { resizeBicubic, resizeRegionBicubic, bicubicCoeffs, bicubicFilter } from './resize.js';
export {
  chooseGrid, partition, rankGrids, coveringArea,
  DEFAULT_MAX_PARTITION, DEFAULT_COVERING_THRESHOLD, DEFAULT_IMAGE_SIZE,
  type Grid, type Box, type GridCandidate,
} from './partition.js';
export { buildPlaceholders } from './placeholders.js';
export {
  preprocessImage, preprocessImages, targetSize, pyInt, NORMALIZE_LUT,
  type Preprocessed, type PreprocessOptions,
} from './preprocess.js';
export { exifOrientation, applyOrientation } from './exif.js';
