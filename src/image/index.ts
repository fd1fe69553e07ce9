// Image pipeline: bytes -> RGB (decode, like PIL convert('RGB')) -> Ovis1.6 grid + crops ->
// Pillow-exact bicubic resize -> normalised, padded pixel_values [n, 3, 384, 384].

export {
  type DecodeOptions,
  decodeImage,
  decodeImageAsync,
  MAX_DECODE_BYTES,
  MAX_IMAGE_PIXELS,
  MAX_JPEG_SCANS,
  SUPPORTED_FORMATS,
  sniffFormat,
} from './decode.js';
export { applyOrientation, exifOrientation } from './exif.js';
export {
  type Box,
  chooseGrid,
  coveringArea,
  DEFAULT_COVERING_THRESHOLD,
  DEFAULT_IMAGE_SIZE,
  DEFAULT_MAX_PARTITION,
  type Grid,
  type GridCandidate,
  partition,
  rankGrids,
} from './partition.js';
export { buildPlaceholders } from './placeholders.js';
export {
  NORMALIZE_LUT,
  type Preprocessed,
  type PreprocessOptions,
  preprocessImage,
  preprocessImages,
  pyInt,
  targetSize,
} from './preprocess.js';
export { bicubicCoeffs, bicubicFilter, resizeBicubic, resizeRegionBicubic } from './resize.js';
export type { RgbImage } from './rgb.js';
