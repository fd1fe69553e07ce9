// Encoded bytes -> 8-bit RGB, like Pillow's `Image.open(f).convert('RGB')`.
// Supported: PNG (every colour type and bit depth, interlaced or not), JPEG (baseline and
// progressive, gray or YCbCr), BMP (every variant Pillow opens), GIF (first frame) and WebP
// (lossy / lossless / alpha / animated: first frame). The size guard reads the header and
// rejects an image larger than `maxPixels` BEFORE anything is inflated or allocated.

import { ImageError } from '../errors.js';
import { decodeBmp, readBmpHeader } from './decode-bmp.js';
import { decodeGif, readGifHeader } from './decode-gif.js';
import { decodeJpeg, readJpegHeader } from './decode-jpeg.js';
import { decodePng, pngExif, readPngHeader } from './decode-png.js';
import { decodeWebp, readWebpHeader } from './decode-webp.js';
import { applyOrientation, exifOrientation } from './exif.js';
import type { RgbImage } from './rgb.js';

/** Pillow's Image.MAX_IMAGE_PIXELS (int(1024 * 1024 * 1024 // 4 // 3)). Pillow only WARNS above it
 *  (and refuses above twice it); we refuse above it. */
export const MAX_IMAGE_PIXELS = 89_478_485;

export interface DecodeOptions {
  /** Refuse images with more pixels than this (default MAX_IMAGE_PIXELS). */
  maxPixels?: number;
  /** Rotate/flip per the EXIF orientation tag (default false: HF/Ovis do not). */
  applyExifOrientation?: boolean;
  /** Name for error messages (a file path). */
  label?: string;
}

export const SUPPORTED_FORMATS = 'PNG, JPEG (baseline/progressive), BMP, GIF (first frame), WebP (first frame)';

/** Recognise the format from its magic bytes; names common unsupported ones. */
export function sniffFormat(b: Uint8Array): 'png' | 'jpeg' | 'bmp' | 'gif' | 'webp' | string {
  const ascii = (o: number, n: number) => String.fromCharCode(...b.subarray(o, o + n));
  if (b.length >= 8 && b[0] === 0x89 && ascii(1, 3) === 'PNG') return 'png';
  if (b.length >= 3 && b[0] === 0xff && b[1] === 0xd8 && b[2] === 0xff) return 'jpeg';
  if (ascii(0, 4) === 'GIF8') return 'gif';
  if (ascii(0, 2) === 'BM') return 'bmp';
  if (ascii(0, 4) === 'RIFF' && ascii(8, 4) === 'WEBP') return 'webp';
  if (ascii(0, 4) === 'II*\0' || ascii(0, 4) === 'MM\0*') return 'TIFF';
  if (ascii(4, 4) === 'ftyp') return `ISO media (${ascii(8, 4).trim()}: HEIC/AVIF?)`;
  if (b[0] === 0 && b[1] === 0 && b[2] === 1 && b[3] === 0) return 'ICO';
  if (ascii(0, 2) === 'P6' || ascii(0, 2) === 'P5') return 'PPM/PGM';
  return 'unknown';
}

export function decodeImage(bytes: Uint8Array, opts: DecodeOptions = {}): RgbImage {
  const label = opts.label ?? 'image';
  const maxPixels = opts.maxPixels ?? MAX_IMAGE_PIXELS;
  if (!(bytes instanceof Uint8Array)) throw new ImageError(`${label}: expected the file's bytes as a Uint8Array`);
  if (bytes.length === 0) throw new ImageError(`${label}: the file is empty (0 bytes)`, `expected ${SUPPORTED_FORMATS}`);
  const format = sniffFormat(bytes);
  const guard = (w: number, h: number) => {
    if (w * h > maxPixels) {
      throw new ImageError(`${label}: ${w}x${h} = ${w * h} pixels exceeds the limit of ${maxPixels} (checked from the header, nothing decoded)`,
        'a decompression bomb, or a genuinely huge image: downscale it, or raise maxPixels');
    }
  };
  let img: RgbImage;
  let exif: Uint8Array | undefined;
  if (format === 'png') {
    const h = readPngHeader(bytes, label);
    guard(h.width, h.height);
    img = decodePng(bytes, h, label);
    if (opts.applyExifOrientation) exif = pngExif(bytes);
  } else if (format === 'jpeg') {
    const h = readJpegHeader(bytes, label);
    guard(h.width, h.height);
    img = decodeJpeg(bytes, h, label);
    exif = h.exif;
  } else if (format === 'bmp') {
    const h = readBmpHeader(bytes, label);
    guard(h.width, h.height);
    img = decodeBmp(bytes, h, label);
  } else if (format === 'gif') {
    const h = readGifHeader(bytes, label);
    guard(h.width, h.height);
    img = decodeGif(bytes, h, label);
  } else if (format === 'webp') {
    const h = readWebpHeader(bytes, label);
    guard(h.width, h.height);
    img = decodeWebp(bytes, h, label);
  } else {
    throw new ImageError(
      format === 'unknown' ? `${label}: not a recognised image (first bytes ${hex(bytes.subarray(0, 8))})` : `${label}: ${format} images are not supported`,
      `supported formats: ${SUPPORTED_FORMATS}; convert the image (e.g. to PNG) first`);
  }
  return opts.applyExifOrientation ? applyOrientation(img, exifOrientation(exif)) : img;
}

const hex = (b: Uint8Array) => Array.from(b, (x) => x.toString(16).padStart(2, '0')).join(' ');
