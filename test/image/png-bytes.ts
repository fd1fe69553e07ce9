// Hand-built PNG bytes for the guard tests: chunks with valid CRCs around any IHDR/IDAT, so a
// test can claim sizes, depths and data the decoder must refuse.

import { PNG_SIGNATURE } from '../../src/image/decode-png.js';
import { pngChunk } from '../../src/image/encode-png.js';

/** A PNG with this IHDR and IDAT (the IDAT need not match the header: that is what is tested). */
export function png(
  w: number,
  h: number,
  idat: Uint8Array,
  opts: { colorType?: number; depth?: number; interlace?: number } = {},
): Uint8Array {
  const ihdr = new Uint8Array(13);
  const dv = new DataView(ihdr.buffer);
  dv.setUint32(0, w);
  dv.setUint32(4, h);
  ihdr.set([opts.depth ?? 8, opts.colorType ?? 2, 0, 0, opts.interlace ?? 0], 8);
  const parts = [PNG_SIGNATURE, pngChunk('IHDR', ihdr), pngChunk('IDAT', idat), pngChunk('IEND', new Uint8Array(0))];
  const out = new Uint8Array(parts.reduce((a, p) => a + p.length, 0));
  let o = 0;
  for (const p of parts) {
    out.set(p, o);
    o += p.length;
  }
  return out;
}
