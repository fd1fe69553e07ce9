// Chroma upsampling, one output row at a time — mirrors libjpeg-turbo jdsample.c with
// do_fancy_upsampling on (Pillow's default; jdmaster.c use_merged_upsample() returns FALSE when
// fancy upsampling is on, so jdmerge.c is never used). Per component, from its sampling
// factors (h, v) against the frame's maximum (maxH, maxV), as jinit_upsampler chooses:
//   same size                  -> copy                     (fullsize_upsample)
//   2h x 1v, width > 2         -> triangular, horizontal   (h2v1_fancy_upsample)
//   1h x 2v                    -> triangular, vertical     (h1v2_fancy_upsample)
//   2h x 2v, width > 2         -> triangular, both         (h2v2_fancy_upsample)
//   other integer ratios       -> replication              (h2v1/h2v2_upsample, int_upsample)
//   non-integer ratios         -> refused, like libjpeg ("Fractional sampling not implemented yet")
// The rows above the first and below the last real row are copies of them (jdmainct.c context
// rows), so a neighbour row index is clamped to 0..dh-1; columns use the special first/last
// column formulas. Legend: dw x dh = the component's real samples (downsampled_width/height),
// `stride` its plane's row length.

export type UpsampleMethod = 'fullsize' | 'h2v1Fancy' | 'h1v2Fancy' | 'h2v2Fancy' | 'replicate';

export function upsampleMethod(h: number, v: number, maxH: number, maxV: number, dw: number): UpsampleMethod | undefined {
  if (h === maxH && v === maxV) return 'fullsize';
  if (h * 2 === maxH && v === maxV) return dw > 2 ? 'h2v1Fancy' : 'replicate';
  if (h === maxH && v * 2 === maxV) return 'h1v2Fancy';
  if (h * 2 === maxH && v * 2 === maxV) return dw > 2 ? 'h2v2Fancy' : 'replicate';
  if (maxH % h === 0 && maxV % v === 0) return 'replicate';
  return undefined;
}

export interface Plane {
  data: Uint8Array;
  stride: number;
  dw: number;
  dh: number;
  /** Expansion factors maxH / h, maxV / v. */
  hx: number;
  vx: number;
  method: UpsampleMethod;
}

/** Output row y (full resolution) of plane p into out[0 .. 2 * dw) (>= the image width). */
export function upsampleRow(p: Plane, y: number, out: Uint8Array): void {
  const { data, stride, dw, dh } = p;
  switch (p.method) {
    case 'fullsize':
      out.set(data.subarray(y * stride, y * stride + dw));
      return;
    case 'replicate': {
      const row = Math.floor(y / p.vx) * stride;
      const hx = p.hx;
      for (let x = 0, o = 0; x < dw; x++) {
        const s = data[row + x];
        for (let k = 0; k < hx; k++) out[o++] = s;
      }
      return;
    }
    case 'h2v1Fancy': {
      // out[2i] = (3 in[i] + in[i-1] + 1) >> 2, out[2i+1] = (3 in[i] + in[i+1] + 2) >> 2
      const r = y * stride;
      let cur = data[r];
      out[0] = cur;
      out[1] = (cur * 3 + data[r + 1] + 2) >> 2;
      for (let i = 1; i < dw - 1; i++) {
        cur = data[r + i] * 3;
        out[2 * i] = (cur + data[r + i - 1] + 1) >> 2;
        out[2 * i + 1] = (cur + data[r + i + 1] + 2) >> 2;
      }
      cur = data[r + dw - 1];
      out[2 * dw - 2] = (cur * 3 + data[r + dw - 2] + 1) >> 2;
      out[2 * dw - 1] = cur;
      return;
    }
    case 'h1v2Fancy': {
      // 3/4 of the nearer input row + 1/4 of the next nearest; bias 1 above, 2 below
      const k = y >> 1;
      const below = y & 1;
      const n = below ? Math.min(k + 1, dh - 1) : Math.max(k - 1, 0);
      const r0 = k * stride;
      const r1 = n * stride;
      const bias = below ? 2 : 1;
      for (let x = 0; x < dw; x++) out[x] = (data[r0 + x] * 3 + data[r1 + x] + bias) >> 2;
      return;
    }
    case 'h2v2Fancy': {
      // column sums 3 * near row + far row, then 3:1 horizontally, /16 with biases 8 and 7
      const k = y >> 1;
      const below = y & 1;
      const n = below ? Math.min(k + 1, dh - 1) : Math.max(k - 1, 0);
      const r0 = k * stride;
      const r1 = n * stride;
      let last: number;
      let cur = data[r0] * 3 + data[r1];
      let next = data[r0 + 1] * 3 + data[r1 + 1];
      out[0] = (cur * 4 + 8) >> 4;
      out[1] = (cur * 3 + next + 7) >> 4;
      last = cur;
      cur = next;
      for (let i = 1; i < dw - 1; i++) {
        next = data[r0 + i + 1] * 3 + data[r1 + i + 1];
        out[2 * i] = (cur * 3 + last + 8) >> 4;
        out[2 * i + 1] = (cur * 3 + next + 7) >> 4;
        last = cur;
        cur = next;
      }
      out[2 * dw - 2] = (cur * 3 + last + 8) >> 4;
      out[2 * dw - 1] = (cur * 4 + 7) >> 4;
      return;
    }
  }
}
