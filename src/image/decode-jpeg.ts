// JPEG -> 8-bit RGB, bit-exact with Pillow 11.3 (libjpeg-turbo): src/image/jpeg/,
// every file it accepts, progressive block smoothing included; docs/image.md §4.
//
// We parse the marker segments ourselves up to the frame header (SOF) to apply the pixel guard
// and the memory estimate before the decoder allocates, and to reject what it cannot decode with
// a clear reason (arithmetic coding, lossless, 12-bit, CMYK/YCCK, scan-count bombs).

import { ImageError } from '../errors.js';
import { decodeJpegExact, exactDecodeBytes } from './jpeg/decoder.js';
import { DECODE_SLACK, type RgbImage } from './rgb.js';

export interface JpegHeader {
  width: number;
  height: number;
  components: number;
  precision: number;
  progressive: boolean;
  /** Adobe APP14 transform flag (0 = RGB/CMYK as stored, 1 = YCbCr, 2 = YCCK), if present. */
  adobeTransform?: number;
  jfif: boolean;
  componentIds: number[];
  /** Sampling factors [h, v] per component, in frame order. */
  sampling: Array<[number, number]>;
  /** SOS markers in the file (counted up to maxScans + 1: past that the count stops). */
  scans: number;
  /** Byte offset of a second frame header (SOF), if the walk met one. */
  secondSof?: number;
  /** APP1 "Exif\0\0" payload (TIFF header onward), if present. */
  exif?: Uint8Array;
}

const SOF_NAMES: Record<number, string> = {
  0xc0: 'baseline',
  0xc1: 'extended sequential',
  0xc2: 'progressive',
  0xc3: 'lossless',
  0xc5: 'differential sequential',
  0xc6: 'differential progressive',
  0xc7: 'differential lossless',
  0xc9: 'arithmetic sequential',
  0xca: 'arithmetic progressive',
  0xcb: 'arithmetic lossless',
  0xcd: 'differential arithmetic sequential',
  0xce: 'differential arithmetic progressive',
  0xcf: 'differential arithmetic lossless',
};

/** libjpeg-turbo's suggested progressive scan limit (tjbench -limitscans and its fuzzers set
 *  TJPARAM_SCANLIMIT to 500). A progressive encoder writes ~10 scans (cjpeg's script: 10 for
 *  YCbCr, 6 for gray); even one band per coefficient per component is 3 x 64 = 192. A decoder
 *  walks EVERY block of the scan's component(s) once per scan (libjpeg too), so the scan count
 *  multiplies the decode time: 4000 empty end-of-block scans over an 8192x8192 frame take minutes. */
export const MAX_JPEG_SCANS = 500;

/** Walk the marker segments from SOI to the first SOF; throws ImageError on anything malformed.
 *  Then count the scans (SOS markers) up to `maxScans + 1`, without decoding them. */
export function readJpegHeader(bytes: Uint8Array, label: string, maxScans = MAX_JPEG_SCANS): JpegHeader {
  if (bytes.length < 4 || bytes[0] !== 0xff || bytes[1] !== 0xd8) throw new ImageError(`${label}: not a JPEG (no SOI marker)`);
  let o = 2;
  let adobeTransform: number | undefined;
  let jfif = false;
  let exif: Uint8Array | undefined;
  for (;;) {
    // skip fill bytes (0xFF padding) before a marker
    while (o < bytes.length && bytes[o] === 0xff && bytes[o + 1] === 0xff) o++;
    if (o + 4 > bytes.length) {
      throw new ImageError(
        `${label}: JPEG truncated at byte ${o} of ${bytes.length} before the frame header (SOF)`,
        'the file is incomplete',
      );
    }
    if (bytes[o] !== 0xff)
      throw new ImageError(`${label}: JPEG marker expected at byte ${o}, found 0x${bytes[o].toString(16)}`, 'the file is corrupt');
    const marker = bytes[o + 1];
    if (marker === 0xd9 || marker === 0xda) {
      throw new ImageError(`${label}: JPEG has no frame header (SOF) before ${marker === 0xd9 ? 'EOI' : 'SOS'}`, 'the file is corrupt');
    }
    if (marker === 0x01 || (marker >= 0xd0 && marker <= 0xd7)) {
      o += 2;
      continue;
    } // no length
    const len = (bytes[o + 2] << 8) | bytes[o + 3];
    if (len < 2 || o + 2 + len > bytes.length) {
      throw new ImageError(
        `${label}: JPEG segment 0xFF${marker.toString(16).toUpperCase()} at byte ${o} claims ${len} bytes, ${bytes.length - o - 2} remain`,
        'the file is truncated or corrupt',
      );
    }
    const seg = bytes.subarray(o + 4, o + 2 + len);
    if (marker === 0xe0 && seg.length >= 5 && String.fromCharCode(...seg.subarray(0, 4)) === 'JFIF') jfif = true;
    if (marker === 0xe1 && seg.length > 6 && String.fromCharCode(...seg.subarray(0, 4)) === 'Exif' && seg[4] === 0 && seg[5] === 0) {
      exif ??= seg.subarray(6);
    }
    if (marker === 0xee && seg.length >= 12 && String.fromCharCode(...seg.subarray(0, 5)) === 'Adobe') adobeTransform = seg[11];
    if (marker >= 0xc0 && marker <= 0xcf && marker !== 0xc4 && marker !== 0xc8 && marker !== 0xcc) {
      if (seg.length < 6) throw new ImageError(`${label}: JPEG frame header is ${seg.length} bytes, expected >= 6`, 'the file is corrupt');
      const precision = seg[0];
      const height = (seg[1] << 8) | seg[2];
      const width = (seg[3] << 8) | seg[4];
      const components = seg[5];
      if (seg.length < 6 + 3 * components)
        throw new ImageError(`${label}: JPEG frame header too short for ${components} components`, 'the file is corrupt');
      const componentIds = Array.from({ length: components }, (_, i) => seg[6 + 3 * i]);
      if (marker !== 0xc0 && marker !== 0xc1 && marker !== 0xc2) {
        throw new ImageError(
          `${label}: ${SOF_NAMES[marker]} JPEG (SOF 0xFF${marker.toString(16).toUpperCase()}) is not supported`,
          'supported: baseline and progressive Huffman JPEG; re-encode the image (e.g. as PNG)',
        );
      }
      const sampling = Array.from({ length: components }, (_, i): [number, number] => [seg[7 + 3 * i] >> 4, seg[7 + 3 * i] & 15]);
      const { scans, secondSof } = countScans(bytes, o + 2 + len, maxScans);
      return {
        width,
        height,
        components,
        precision,
        progressive: marker === 0xc2,
        adobeTransform,
        jfif,
        componentIds,
        sampling,
        scans,
        secondSof,
        exif,
      };
    }
    o += 2 + len;
  }
}

/**
 * SOS markers from byte `o` on, stopping at EOI, at the end of the data, at anything that is not
 * a well-formed segment (the decoder reports those), at a second frame header, or once `stop` is
 * passed. Entropy-coded data
 * is skipped with indexOf: inside it 0xFF is followed by 0x00 (stuffing), RSTn or more 0xFF fill.
 */
function countScans(bytes: Uint8Array, o: number, stop: number): { scans: number; secondSof?: number } {
  let scans = 0;
  while (scans <= stop) {
    o = bytes.indexOf(0xff, o);
    if (o < 0 || o + 1 >= bytes.length) break;
    const m = bytes[o + 1];
    if (m === 0x00 || m === 0xff || m === 0x01 || (m >= 0xd0 && m <= 0xd7)) {
      o += m === 0xff ? 1 : 2;
      continue;
    }
    if (m === 0xd9 || o + 4 > bytes.length) break;
    const len = (bytes[o + 2] << 8) | bytes[o + 3];
    if (len < 2) break;
    if (m === 0xda) scans++;
    if (m >= 0xc0 && m <= 0xcf && m !== 0xc4 && m !== 0xc8 && m !== 0xcc) return { scans, secondSof: o };
    o += 2 + len;
  }
  return { scans };
}

/** Check what src/image/jpeg/ decodes, in bounded time; called after the pixel guard, before the
 *  memory estimate (which trusts the sampling factors). */
export function checkJpegSupported(h: JpegHeader, label: string, maxScans = MAX_JPEG_SCANS): void {
  if (h.width === 0 || h.height === 0) {
    throw new ImageError(
      `${label}: JPEG frame says ${h.width}x${h.height}` + (h.height === 0 ? ' (height deferred to a DNL marker, not supported)' : ''),
      'an image needs at least 1x1 pixels',
    );
  }
  if (h.precision !== 8) throw new ImageError(`${label}: ${h.precision}-bit JPEG is not supported (8-bit only)`);
  if (h.components === 4) {
    throw new ImageError(
      `${label}: CMYK/YCCK JPEG (4 components) is not supported`,
      "Pillow opens it as mode CMYK and converts with its own formula; convert it to RGB first (e.g. PIL: Image.open(p).convert('RGB').save('x.png'))",
    );
  }
  if (h.components !== 1 && h.components !== 3) {
    throw new ImageError(`${label}: JPEG with ${h.components} components is not supported (1 = gray, 3 = YCbCr/RGB)`);
  }
  // libjpeg refuses factors outside 1..4 (JERR_BAD_SAMPLING, "Bogus sampling factors"), so Pillow
  // does too.
  const bad = h.sampling.findIndex(([sh, sv]) => sh < 1 || sh > 4 || sv < 1 || sv > 4);
  if (bad >= 0) {
    throw new ImageError(
      `${label}: JPEG component ${bad + 1} has sampling factors ${h.sampling[bad].join('x')}, expected 1..4 each`,
      'the file is corrupt (libjpeg, and so Pillow, refuses it: "Bogus sampling factors")',
    );
  }
  if (h.secondSof !== undefined) {
    // refused before decoding anything; libjpeg fails too (JERR_SOF_DUPLICATE)
    throw new ImageError(
      `${label}: JPEG has a second frame header (SOF) at byte ${h.secondSof}`,
      'the file is corrupt (libjpeg, and so Pillow, refuses it: "Invalid JPEG file structure: two SOF markers")',
    );
  }
  if (h.scans > maxScans) {
    throw new ImageError(
      `${label}: JPEG has more than ${maxScans} scans (counted ${h.scans} SOS markers before stopping; ` +
        `a progressive JPEG normally has ~10), refused before decoding`,
      `each scan re-walks every block of the ${h.width}x${h.height} frame, so thousands of scans take minutes: a decoding-time bomb, ` +
        'or raise maxJpegScans (libjpeg-turbo suggests 500)',
    );
  }
}

/** Upper bound of the bytes src/image/jpeg/ allocates for this frame, from the header alone
 *  (jpeg/decoder.ts exactDecodeBytes: coefficients, planes, RGB output, row buffers) plus
 *  DECODE_SLACK; the file itself is not copied. */
export function jpegDecodeBytes(h: JpegHeader, _fileBytes: number): number {
  return exactDecodeBytes(h.width, h.height, h.sampling) + DECODE_SLACK;
}

/** Decode a JPEG whose header has already passed the pixel guard. */
export function decodeJpeg(bytes: Uint8Array, header: JpegHeader, label: string, maxScans = MAX_JPEG_SCANS): RgbImage {
  checkJpegSupported(header, label, maxScans);
  if (!hasEoi(bytes)) {
    // Pillow raises "image file is truncated" for a cut-off scan (libjpeg suspends waiting for
    // more data); checked up front so the decoder never has to guess.
    throw new ImageError(`${label}: JPEG is truncated (no EOI marker at the end of the data)`, 'the file is incomplete');
  }
  return decodeJpegExact(bytes, label);
}

/** An EOI marker (FF D9) within the last bytes of the file (trailing garbage tolerated). */
function hasEoi(bytes: Uint8Array): boolean {
  const stop = Math.max(2, bytes.length - 4096);
  for (let i = bytes.length - 2; i >= stop; i--) if (bytes[i] === 0xff && bytes[i + 1] === 0xd9) return true;
  return false;
}
