// Encoded bytes -> 8-bit RGB, like Pillow's `Image.open(f).convert('RGB')`.
// Supported: PNG (every colour type and bit depth, interlaced or not), JPEG (baseline and
// progressive, gray or YCbCr), BMP (every variant Pillow opens), GIF (first frame) and WebP
// (lossy / lossless / alpha / animated: first frame). The size guard reads the header and
// rejects an image larger than `maxPixels` BEFORE anything is inflated or allocated.

import { ImageError } from '../errors.js';
import { bmpDecodeBytes, decodeBmp, readBmpHeader } from './decode-bmp.js';
import { decodeGif, gifDecodeBytes, readGifHeader } from './decode-gif.js';
import { checkJpegSupported, decodeJpeg, jpegDecodeBytes, MAX_JPEG_SCANS, readJpegHeader } from './decode-jpeg.js';
import { decodePng, INFLATE_PENDING, pngDecodeBytes, pngExif, readPngHeader } from './decode-png.js';
import { decodeWebp, loadWebpWasm, readWebpHeader, webpDecodeBytes, webpWasmLoaded } from './decode-webp.js';
import { applyOrientation, exifOrientation } from './exif.js';
import { hasInflateSync, type Inflate, inflateAsync } from './inflate.js';
import type { RgbImage } from './rgb.js';

export { MAX_JPEG_SCANS };

/** Pillow's Image.MAX_IMAGE_PIXELS (int(1024 * 1024 * 1024 // 4 // 3)). Pillow only WARNS above it
 *  (and refuses above twice it); we refuse above it. */
export const MAX_IMAGE_PIXELS = 89_478_485;

/**
 * Default `maxDecodeBytes`: 4 GiB. Pixels alone do not bound memory: a 16-bit RGBA PNG costs ~2x
 * the bytes per pixel of an 8-bit RGB one, and the decoder libraries keep their own copies. Each
 * decoder's header-only estimate (`*DecodeBytes`: every buffer summed as if nothing were freed, so
 * an upper bound — measured against peak RSS in docs/image.md) must let every 8-bit RGB image
 * within MAX_IMAGE_PIXELS decode. The largest is an 8-bit RGB PNG at the limit, ~2.27e9 (6 x
 * 268.4e6 inflated + 7 bytes per pixel for pngjs's RGBA and our RGB); a 4:4:4 JPEG at the limit is
 * 1.11e9 with our decoder (src/image/jpeg/: coefficient planes + row buffers; it was 3.79e9 with
 * jpeg-js's per-block arrays, which set this default), a 24-bit BMP 0.30e9. 4 GiB = 4.29e9 covers
 * them all with room; a 9459x9459 16-bit RGBA PNG (5.32e9 from a 696 KB file) is refused.
 * test/image/limits.test.ts checks these shapes.
 */
export const MAX_DECODE_BYTES = 4 * 2 ** 30;

export interface DecodeOptions {
  /** Refuse images with more pixels than this (default MAX_IMAGE_PIXELS). A positive number. */
  maxPixels?: number;
  /** Refuse images whose decoding would allocate more than this many bytes, estimated from the
   *  header before anything is allocated (default MAX_DECODE_BYTES, 4 GiB). A positive number. */
  maxDecodeBytes?: number;
  /** Refuse JPEGs with more scans (SOS markers) than this (default MAX_JPEG_SCANS, 500). A positive integer. */
  maxJpegScans?: number;
  /** Rotate/flip per the EXIF orientation tag (default false: HF/Ovis do not). */
  applyExifOrientation?: boolean;
  /** Name for error messages (a file path). */
  label?: string;
}

const OPTION_KEYS = ['maxPixels', 'maxDecodeBytes', 'maxJpegScans', 'applyExifOrientation', 'label'];

/** What a value is, for an error message: `null`, `a string`, `ArrayBuffer`, `number NaN`. */
function describe(v: unknown): string {
  if (v === null || v === undefined) return String(v);
  if (typeof v === 'number') return `the number ${v}`;
  if (typeof v === 'object') return (v as object).constructor?.name ?? 'an object';
  return `a ${typeof v}`;
}

/** Validate DecodeOptions at the door, every problem at once: a NaN or negative limit would
 *  switch its guard off (`w * h > NaN` is false). */
function checkOptions(opts: unknown): Required<Omit<DecodeOptions, 'label'>> & { label: string } {
  if (opts === undefined) opts = {};
  if (typeof opts !== 'object' || opts === null || Array.isArray(opts)) {
    throw new ImageError(`decodeImage: options must be an object, got ${describe(opts)}`, 'pass {} or leave the argument out');
  }
  const o = opts as Record<string, unknown>;
  const label = typeof o.label === 'string' ? o.label : 'image';
  const problems: string[] = [];
  if (o.label !== undefined && typeof o.label !== 'string') problems.push(`label: expected a string, got ${describe(o.label)}`);
  const limit = (key: string, def: number, integer: boolean): number => {
    const v = o[key];
    if (v === undefined) return def;
    if (typeof v !== 'number' || !Number.isFinite(v) || v <= 0 || (integer && !Number.isInteger(v))) {
      problems.push(`${key}: expected a positive finite ${integer ? 'integer' : 'number'}, got ${describe(v)}`);
    }
    return v as number;
  };
  const maxPixels = limit('maxPixels', MAX_IMAGE_PIXELS, false);
  const maxDecodeBytes = limit('maxDecodeBytes', MAX_DECODE_BYTES, false);
  const maxJpegScans = limit('maxJpegScans', MAX_JPEG_SCANS, true);
  if (o.applyExifOrientation !== undefined && typeof o.applyExifOrientation !== 'boolean') {
    problems.push(`applyExifOrientation: expected a boolean, got ${describe(o.applyExifOrientation)}`);
  }
  for (const k of Object.keys(o))
    if (!OPTION_KEYS.includes(k)) problems.push(`${k}: not a decode option (known: ${OPTION_KEYS.join(', ')})`);
  if (problems.length) {
    throw new ImageError(
      `${label}: invalid decode options:\n  - ${problems.join('\n  - ')}`,
      'a limit switched off by NaN or a negative number would let a decompression bomb through; to raise one, give a larger finite number',
    );
  }
  return { label, maxPixels, maxDecodeBytes, maxJpegScans, applyExifOrientation: o.applyExifOrientation === true };
}

export const SUPPORTED_FORMATS = 'PNG, JPEG (baseline/progressive), BMP, GIF (first frame), WebP (first frame)';

/** Recognise the format from its magic bytes; names common unsupported ones. */
export function sniffFormat(b: Uint8Array): 'png' | 'jpeg' | 'bmp' | 'gif' | 'webp' | string {
  if (!(b instanceof Uint8Array)) throw new ImageError(`sniffFormat: expected the file's bytes as a Uint8Array, got ${describe(b)}`);
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
  return decodeWith(bytes, opts);
}

/**
 * decodeImage for every runtime, browsers included: a PNG's image data is inflated by the
 * platform's DecompressionStream where there is no node:zlib (after every header check and
 * limit passed, exactly as decodeImage would), and WebP's decoder (webp.wasm) is fetched once
 * by URL where it cannot be read from disk. The pixels are decodeImage's.
 */
export async function decodeImageAsync(bytes: Uint8Array, opts: DecodeOptions = {}): Promise<RgbImage> {
  const format = bytes instanceof Uint8Array ? sniffFormat(bytes) : 'unknown';
  if (format === 'webp' && !webpWasmLoaded()) await loadWebpWasm();
  if (format !== 'png' || hasInflateSync()) return decodeWith(bytes, opts);
  let pending: { data: Uint8Array; max: number } | undefined;
  try {
    return decodeWith(bytes, opts, (data, max) => {
      pending = { data, max };
      throw INFLATE_PENDING;
    });
  } catch (e) {
    if (e !== INFLATE_PENDING || !pending) throw e;
  }
  let inflated: Uint8Array | Error;
  try {
    inflated = await inflateAsync(pending.data, pending.max);
  } catch (e) {
    inflated = e as Error;
  }
  return decodeWith(bytes, opts, () => {
    if (inflated instanceof Error) throw inflated;
    return inflated;
  });
}

function decodeWith(bytes: Uint8Array, opts: DecodeOptions, inflate?: Inflate): RgbImage {
  const { label, maxPixels, maxDecodeBytes, maxJpegScans, applyExifOrientation } = checkOptions(opts);
  if (!(bytes instanceof Uint8Array)) {
    throw new ImageError(
      `${label}: expected the file's bytes as a Uint8Array, got ${describe(bytes)}`,
      (bytes as unknown) instanceof ArrayBuffer
        ? 'wrap it: new Uint8Array(buffer)'
        : 'read the file first, e.g. new Uint8Array(readFileSync(path))',
    );
  }
  if (bytes.length === 0) throw new ImageError(`${label}: the file is empty (0 bytes)`, `expected ${SUPPORTED_FORMATS}`);
  const format = sniffFormat(bytes);
  const guard = (w: number, h: number) => {
    if (w * h > maxPixels) {
      throw new ImageError(
        `${label}: ${w}x${h} = ${w * h} pixels exceeds the limit of ${maxPixels} (checked from the header, nothing decoded)`,
        'a decompression bomb, or a genuinely huge image: downscale it, or raise maxPixels',
      );
    }
  };
  /** The byte budget, on the decoder's header-only estimate of what it will allocate. */
  const budget = (what: string, estimate: number) => {
    if (estimate > maxDecodeBytes) {
      throw new ImageError(
        `${label}: decoding this ${what} would allocate up to ${gb(estimate)} (estimated from the header, nothing decoded), ` +
          `above the limit of ${gb(maxDecodeBytes)} (maxDecodeBytes = ${maxDecodeBytes})`,
        "deep samples (16-bit), alpha and the decoder libraries' own copies multiply the bytes per pixel: " +
          'convert it to 8-bit RGB or downscale it, or raise maxDecodeBytes',
      );
    }
  };
  let img: RgbImage;
  let exif: Uint8Array | undefined;
  if (format === 'png') {
    const h = readPngHeader(bytes, label);
    guard(h.width, h.height);
    const kind = ['gray', '', 'RGB', 'palette', 'gray+alpha', '', 'RGBA'][h.colorType];
    budget(`${h.width}x${h.height} ${h.bitDepth}-bit ${kind}${h.interlace ? ' interlaced' : ''} PNG`, pngDecodeBytes(h, bytes.length));
    img = decodePng(bytes, h, label, inflate);
    if (applyExifOrientation) exif = pngExif(bytes);
  } else if (format === 'jpeg') {
    const h = readJpegHeader(bytes, label, maxJpegScans);
    guard(h.width, h.height);
    checkJpegSupported(h, label, maxJpegScans); // sampling factors and scans, before the estimate trusts them
    budget(
      `${h.width}x${h.height} ${h.components}-component JPEG (sampling ${h.sampling.map((s) => s.join('x')).join(', ')})`,
      jpegDecodeBytes(h, bytes.length),
    );
    img = decodeJpeg(bytes, h, label, maxJpegScans);
    exif = h.exif;
  } else if (format === 'bmp') {
    const h = readBmpHeader(bytes, label);
    guard(h.width, h.height);
    budget(`${h.width}x${h.height} ${h.bits}-bit BMP`, bmpDecodeBytes(h));
    img = decodeBmp(bytes, h, label);
  } else if (format === 'gif') {
    const h = readGifHeader(bytes, label);
    guard(h.width, h.height);
    budget(`${h.width}x${h.height} GIF`, gifDecodeBytes(h));
    img = decodeGif(bytes, h, label);
  } else if (format === 'webp') {
    const h = readWebpHeader(bytes, label);
    guard(h.width, h.height);
    budget(`${h.width}x${h.height} WebP (first frame ${h.frame.w}x${h.frame.h})`, webpDecodeBytes(h));
    img = decodeWebp(bytes, h, label);
  } else {
    throw new ImageError(
      format === 'unknown'
        ? `${label}: not a recognised image (first bytes ${hex(bytes.subarray(0, 8))})`
        : `${label}: ${format} images are not supported`,
      `supported formats: ${SUPPORTED_FORMATS}; convert the image (e.g. to PNG) first`,
    );
  }
  return applyExifOrientation ? applyOrientation(img, exifOrientation(exif)) : img;
}

/** Bytes for a message: "2.41 GB (2410000000 bytes)". */
const gb = (n: number) => `${(n / 1e9).toFixed(2)} GB (${Math.round(n)} bytes)`;
const hex = (b: Uint8Array) => Array.from(b, (x) => x.toString(16).padStart(2, '0')).join(' ');
