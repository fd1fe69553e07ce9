// Images arrive inside the JSON as data: URLs (the server fetches nothing). Checked at the door,
// before the request queues, naming the request part: the URL's syntax and base64 (400), the
// format from the bytes' magic (415 when not one the decoders read), and the format's header
// (dimensions, the pixel limit; 400 when corrupt). Decoding the pixels is left to the runner, so
// a queued request holds only its compressed bytes.

import { Buffer } from 'node:buffer';
import { ImageError } from '../errors.js';
import { readBmpHeader } from '../image/decode-bmp.js';
import { readGifHeader } from '../image/decode-gif.js';
import { checkJpegSupported, readJpegHeader } from '../image/decode-jpeg.js';
import { readPngHeader } from '../image/decode-png.js';
import { readWebpHeader } from '../image/decode-webp.js';
import { MAX_IMAGE_PIXELS, SUPPORTED_FORMATS, sniffFormat } from '../image/index.js';
import { badField, HttpError } from './errors.js';

const BASE64 = /^[A-Za-z0-9+/\-_]*={0,2}$/;

/** `data:image/png;base64,....` -> the image's bytes, checked as above. `param` names the part. */
export function imageFromDataUrl(url: unknown, param: string): Uint8Array {
  if (typeof url !== 'string') throw badField(param, `expected a data: URL string, got ${url === null ? 'null' : typeof url}`);
  if (/^https?:/i.test(url)) {
    throw new HttpError(
      400,
      `${param}: the server fetches nothing: send the image as a data: URL (data:image/png;base64,...)`,
      'remote_image_url',
      param,
    );
  }
  const m = /^data:([^,;]*)((?:;[^,;]*)*),/i.exec(url.slice(0, 256));
  if (!m)
    throw badField(param, `expected a data: URL (data:image/png;base64,...), got '${url.slice(0, 40)}${url.length > 40 ? '...' : ''}'`);
  const mediaType = m[1].trim().toLowerCase();
  if (!m[2].toLowerCase().split(';').includes('base64'))
    throw badField(param, 'the data: URL must be base64-encoded (data:image/png;base64,...)');
  if (mediaType && !mediaType.startsWith('image/')) {
    throw new HttpError(
      415,
      `${param}: media type '${mediaType}' is not an image; supported: ${SUPPORTED_FORMATS}`,
      'unsupported_image',
      param,
    );
  }
  const payload = url.slice(m[0].length);
  if (payload.length === 0) throw badField(param, 'the data: URL holds no data');
  if (payload.length % 4 === 1 || !BASE64.test(payload)) throw badField(param, "the data: URL's payload is not valid base64");
  const bytes = new Uint8Array(Buffer.from(payload, payload.includes('-') || payload.includes('_') ? 'base64url' : 'base64'));
  checkImageHeader(bytes, param);
  return bytes;
}

/** The format and header checks (nothing decoded): 415 for a format we do not read, 400 for a
 *  header that is corrupt or over the pixel limit. */
export function checkImageHeader(bytes: Uint8Array, param: string): void {
  const format = sniffFormat(bytes);
  try {
    let w: number;
    let h: number;
    if (format === 'png') ({ width: w, height: h } = readPngHeader(bytes, param));
    else if (format === 'jpeg') {
      const hd = readJpegHeader(bytes, param);
      checkJpegSupported(hd, param);
      ({ width: w, height: h } = hd);
    } else if (format === 'bmp') ({ width: w, height: h } = readBmpHeader(bytes, param));
    else if (format === 'gif') ({ width: w, height: h } = readGifHeader(bytes, param));
    else if (format === 'webp') ({ width: w, height: h } = readWebpHeader(bytes, param));
    else {
      const what = format === 'unknown' ? 'not a recognised image' : `a ${format} image`;
      throw new HttpError(415, `${param}: ${what}; supported: ${SUPPORTED_FORMATS}`, 'unsupported_image', param);
    }
    if (w * h > MAX_IMAGE_PIXELS) {
      throw new HttpError(400, `${param}: ${w}x${h} = ${w * h} pixels exceeds the limit of ${MAX_IMAGE_PIXELS}`, 'invalid_image', param);
    }
  } catch (e) {
    // the header readers' messages start with the label we gave them (the part's path)
    if (e instanceof ImageError) throw new HttpError(400, e.message, 'invalid_image', param);
    throw e;
  }
}
