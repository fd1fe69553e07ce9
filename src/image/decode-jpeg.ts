// JPEG -> 8-bit RGB, bit-exact with Pillow 11.3 (libjpeg-turbo): src/image/jpeg/ (issue 14).
// One case still goes to jpeg-js (pure JS, NOT exact): a progressive file whose coefficients are
// incomplete after its last scan, which libjpeg-turbo block-smooths (jdcoefct.c); docs/image.md §4.
//
// We parse the marker segments ourselves up to the frame header (SOF) to apply the pixel guard
// before jpeg-js allocates, to reject what jpeg-js cannot decode with a clear reason
// (arithmetic coding, lossless, 12-bit, CMYK/YCCK), and to pick the colour transform the way
// libjpeg does (Adobe APP14 transform flag; otherwise YCbCr for 3 components).

import jpeg from 'jpeg-js';
import { ImageError } from '../errors.js';
import { decodeJpegExact, exactDecodeBytes, JpegNotExact } from './jpeg/decoder.js';
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
  0xc0: 'baseline', 0xc1: 'extended sequential', 0xc2: 'progressive', 0xc3: 'lossless',
  0xc5: 'differential sequential', 0xc6: 'differential progressive', 0xc7: 'differential lossless',
  0xc9: 'arithmetic sequential', 0xca: 'arithmetic progressive', 0xcb: 'arithmetic lossless',
  0xcd: 'differential arithmetic sequential', 0xce: 'differential arithmetic progressive',
  0xcf: 'differential arithmetic lossless',
};

/** libjpeg-turbo's suggested progressive scan limit (tjbench -limitscans and its fuzzers set
 *  TJPARAM_SCANLIMIT to 500). A progressive encoder writes ~10 scans (cjpeg's script: 10 for
 *  YCbCr, 6 for gray); even one band per coefficient per component is 3 x 64 = 192. jpeg-js
 *  walks EVERY block of the component(s) once per scan, so the scan count multiplies the decode
 *  time: 4000 empty end-of-block scans over an 8192x8192 frame took minutes. */
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
      throw new ImageError(`${label}: JPEG truncated at byte ${o} of ${bytes.length} before the frame header (SOF)`, 'the file is incomplete');
    }
    if (bytes[o] !== 0xff) throw new ImageError(`${label}: JPEG marker expected at byte ${o}, found 0x${bytes[o].toString(16)}`, 'the file is corrupt');
    const marker = bytes[o + 1];
    if (marker === 0xd9 || marker === 0xda) {
      throw new ImageError(`${label}: JPEG has no frame header (SOF) before ${marker === 0xd9 ? 'EOI' : 'SOS'}`, 'the file is corrupt');
    }
    if (marker === 0x01 || (marker >= 0xd0 && marker <= 0xd7)) { o += 2; continue; } // no length
    const len = (bytes[o + 2] << 8) | bytes[o + 3];
    if (len < 2 || o + 2 + len > bytes.length) {
      throw new ImageError(`${label}: JPEG segment 0xFF${marker.toString(16).toUpperCase()} at byte ${o} claims ${len} bytes, ${bytes.length - o - 2} remain`,
        'the file is truncated or corrupt');
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
      if (seg.length < 6 + 3 * components) throw new ImageError(`${label}: JPEG frame header too short for ${components} components`, 'the file is corrupt');
      const componentIds = Array.from({ length: components }, (_, i) => seg[6 + 3 * i]);
      if (marker !== 0xc0 && marker !== 0xc1 && marker !== 0xc2) {
        throw new ImageError(`${label}: ${SOF_NAMES[marker]} JPEG (SOF 0xFF${marker.toString(16).toUpperCase()}) is not supported`,
          'supported: baseline and progressive Huffman JPEG; re-encode the image (e.g. as PNG)');
      }
      const sampling = Array.from({ length: components }, (_, i): [number, number] => [seg[7 + 3 * i] >> 4, seg[7 + 3 * i] & 15]);
      const { scans, secondSof } = countScans(bytes, o + 2 + len, maxScans);
      return { width, height, components, precision, progressive: marker === 0xc2, adobeTransform, jfif, componentIds, sampling, scans, secondSof, exif };
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
    if (m === 0x00 || m === 0xff || m === 0x01 || (m >= 0xd0 && m <= 0xd7)) { o += m === 0xff ? 1 : 2; continue; }
    if (m === 0xd9 || o + 4 > bytes.length) break;
    const len = (bytes[o + 2] << 8) | bytes[o + 3];
    if (len < 2) break;
    if (m === 0xda) scans++;
    if (m >= 0xc0 && m <= 0xcf && m !== 0xc4 && m !== 0xc8 && m !== 0xcc) return { scans, secondSof: o };
    o += 2 + len;
  }
  return { scans };
}

/** Check what jpeg-js can decode faithfully and in bounded time; called after the pixel guard,
 *  before the memory estimate (which trusts the sampling factors). */
export function checkJpegSupported(h: JpegHeader, label: string, maxScans = MAX_JPEG_SCANS): void {
  if (h.width === 0 || h.height === 0) {
    throw new ImageError(`${label}: JPEG frame says ${h.width}x${h.height}` + (h.height === 0 ? ' (height deferred to a DNL marker, not supported)' : ''),
      'an image needs at least 1x1 pixels');
  }
  if (h.precision !== 8) throw new ImageError(`${label}: ${h.precision}-bit JPEG is not supported (8-bit only)`);
  if (h.components === 4) {
    throw new ImageError(`${label}: CMYK/YCCK JPEG (4 components) is not supported`,
      "Pillow opens it as mode CMYK and converts with its own formula; convert it to RGB first (e.g. PIL: Image.open(p).convert('RGB').save('x.png'))");
  }
  if (h.components !== 1 && h.components !== 3) {
    throw new ImageError(`${label}: JPEG with ${h.components} components is not supported (1 = gray, 3 = YCbCr/RGB)`);
  }
  // libjpeg refuses factors outside 1..4 (JERR_BAD_SAMPLING, "Bogus sampling factors"), so Pillow
  // does too; jpeg-js would take up to 15x15 and pad every MCU to that many blocks.
  const bad = h.sampling.findIndex(([sh, sv]) => sh < 1 || sh > 4 || sv < 1 || sv > 4);
  if (bad >= 0) {
    throw new ImageError(`${label}: JPEG component ${bad + 1} has sampling factors ${h.sampling[bad].join('x')}, expected 1..4 each`,
      'the file is corrupt (libjpeg, and so Pillow, refuses it: "Bogus sampling factors")');
  }
  if (h.secondSof !== undefined) {
    // jpeg-js would allocate the second frame's blocks (its size unchecked by our guards) before
    // failing with "only single frame JPEGs supported"; libjpeg fails too (JERR_SOF_DUPLICATE)
    throw new ImageError(`${label}: JPEG has a second frame header (SOF) at byte ${h.secondSof}`,
      'the file is corrupt (libjpeg, and so Pillow, refuses it: "Invalid JPEG file structure: two SOF markers")');
  }
  if (h.scans > maxScans) {
    throw new ImageError(`${label}: JPEG has more than ${maxScans} scans (counted ${h.scans} SOS markers before stopping; ` +
      `a progressive JPEG normally has ~10), refused before decoding`,
      `each scan re-walks every block of the ${h.width}x${h.height} frame, so thousands of scans take minutes: a decoding-time bomb, ` +
      'or raise maxJpegScans (libjpeg-turbo suggests 500)');
  }
}

/** V8's cost of one jpeg-js coefficient block, `new Int32Array(64)` held in a row array: 256 bytes
 *  of data plus the JSTypedArray, JSArrayBuffer and backing-store records. Measured: 652 bytes per
 *  block for 10^6 blocks (RSS delta, Node 20); 700 leaves margin. */
const JPEG_BLOCK_BYTES = 700;
/** One jpeg-js output line (`new Uint8Array(samplesPerLine)`): its bytes plus ~300 bytes of objects. */
const JPEG_LINE_OVERHEAD = 400;

/**
 * Upper bound of the bytes jpeg-js allocates for this frame, from the header alone (jpeg-js
 * decoder.js 0.4.4, followed allocation by allocation, nothing assumed freed):
 *  - a copy of the file (`new Uint8Array(jpegData)`);
 *  - per component, (mcusPerLine * h) x (mcusPerColumn * v) coefficient blocks — the whole
 *    image's coefficients, kept until the end (progressive needs them; baseline too in jpeg-js);
 *  - per component, 8 * blocksPerColumn output lines of blocksPerLine * 8 bytes;
 *  - getData's interleaved buffer (w * h * components) and the RGB result (w * h * 3);
 *  - DECODE_SLACK.
 */
export function jpegDecodeBytes(h: JpegHeader, fileBytes: number): number {
  const exact = exactDecodeBytes(h.width, h.height, h.sampling) + DECODE_SLACK;
  // a progressive file may still end up with jpeg-js (block smoothing, see decodeJpeg)
  return h.progressive ? Math.max(exact, jpegJsDecodeBytes(h, fileBytes)) : exact;
}

function jpegJsDecodeBytes(h: JpegHeader, fileBytes: number): number {
  const maxH = Math.max(...h.sampling.map((s) => s[0])), maxV = Math.max(...h.sampling.map((s) => s[1]));
  const mcusPerLine = Math.ceil(h.width / 8 / maxH), mcusPerColumn = Math.ceil(h.height / 8 / maxV);
  let total = fileBytes + h.width * h.height * (h.components + 3) + DECODE_SLACK;
  for (const [sh, sv] of h.sampling) {
    total += mcusPerLine * sh * mcusPerColumn * sv * JPEG_BLOCK_BYTES;
    const blocksPerLine = Math.ceil((Math.ceil(h.width / 8) * sh) / maxH);
    const blocksPerColumn = Math.ceil((Math.ceil(h.height / 8) * sv) / maxV);
    total += 8 * blocksPerColumn * (blocksPerLine * 8 + JPEG_LINE_OVERHEAD);
  }
  return total;
}

/** Decode a JPEG whose header has already passed the pixel guard. */
export function decodeJpeg(bytes: Uint8Array, header: JpegHeader, label: string, maxScans = MAX_JPEG_SCANS): RgbImage {
  checkJpegSupported(header, label, maxScans);
  if (!hasEoi(bytes)) {
    // Pillow raises "image file is truncated" for a cut-off scan; jpeg-js would return the
    // missing blocks as gray without complaint.
    throw new ImageError(`${label}: JPEG is truncated (no EOI marker at the end of the data)`, 'the file is incomplete');
  }
  try {
    return decodeJpegExact(bytes, label);
  } catch (e) {
    if (!(e instanceof JpegNotExact)) throw e;
  }
  // Fallback, not bit-exact: a progressive file whose coefficients are incomplete after its
  // last scan, which libjpeg-turbo block-smooths (not implemented in src/image/jpeg/).
  // libjpeg's rule (jdapimin.c): JFIF means YCbCr; else the Adobe transform flag if present;
  // else 3 components are YCbCr unless the component ids spell 'R','G','B'.
  let colorTransform = true;
  if (header.components === 3 && !header.jfif) {
    if (header.adobeTransform !== undefined) colorTransform = header.adobeTransform !== 0;
    else if (header.componentIds.join() === '82,71,66') colorTransform = false;
  }
  const pixels = header.width * header.height;
  let out: { width: number; height: number; data: Uint8Array };
  try {
    out = jpeg.decode(bytes, {
      useTArray: true, formatAsRGBA: false, colorTransform, tolerantDecoding: true,
      maxResolutionInMP: Math.ceil(pixels / 1e6) + 1,
      // jpeg-js's own tally (256 bytes a block, lines, tables, output) stays below our estimate,
      // which decode.ts has already held to maxDecodeBytes; 64 MiB covers redefined tables
      maxMemoryUsageInMB: Math.ceil(jpegDecodeBytes(header, bytes.length) / (1 << 20)) + 64,
    }) as unknown as { width: number; height: number; data: Uint8Array };
  } catch (e) {
    throw new ImageError(`${label}: JPEG data is corrupt (jpeg-js: ${(e as Error).message})`, 'the file is damaged or truncated');
  }
  if (out.width !== header.width || out.height !== header.height || out.data.length !== pixels * 3) {
    throw new ImageError(`${label}: JPEG decoded to ${out.width}x${out.height}, header says ${header.width}x${header.height}`);
  }
  return { width: out.width, height: out.height, data: out.data };
}

/** An EOI marker (FF D9) within the last bytes of the file (trailing garbage tolerated). */
function hasEoi(bytes: Uint8Array): boolean {
  const stop = Math.max(2, bytes.length - 4096);
  for (let i = bytes.length - 2; i >= stop; i--) if (bytes[i] === 0xff && bytes[i + 1] === 0xd9) return true;
  return false;
}
