// Pillow's BICUBIC resize for 8-bit RGB — re-derived from Pillow 11.3's libImaging/Resample.c
// (precompute_coeffs, normalize_coeffs_8bpc, ImagingResample{Horizontal,Vertical}_8bpc,
// ImagingResampleInner) so that output bytes equal `Image.resize(size, Image.BICUBIC)`.
// Legend: W,H input size · w,h output size · K taps per output sample (ksize) · C=3 channels.
//
// Numerics (what makes it bit-exact):
//  - coefficients are computed in float64 exactly as Pillow does (same operation order, the
//    cubic with a = -0.5, support 2 scaled by the downscale factor, normalised to sum 1),
//    then converted to fixed point with PRECISION_BITS = 22, rounding half away from zero;
//  - each pass accumulates the Int32 sums (exactly, in float64) starting at 1 << 21 (the rounding bias), then
//    clip8(sum >> 22) to 0..255 — the 8-bit rounding and clipping happen after EACH pass;
//  - the horizontal pass runs first (over only the source rows the vertical pass will read),
//    then the vertical pass; a pass whose size does not change is skipped, as in Pillow.
//  - the sums are kept in float64 (see horizontalPass): exact, since all are integers < 2^31.

import { ShapeError } from '../errors.js';
import type { RgbImage } from './rgb.js';

const PRECISION_BITS = 32 - 8 - 2; // 22: 8 bits result, 2 bits headroom for negative lobes
const HALF = 1 << (PRECISION_BITS - 1);
const BICUBIC_SUPPORT = 2.0;

/** Pillow's bicubic_filter with a = -0.5, written in Pillow's operation order (for float64 parity). */
export function bicubicFilter(x: number): number {
  const a = -0.5;
  if (x < 0.0) x = -x;
  if (x < 1.0) return ((a + 2.0) * x - (a + 3.0)) * x * x + 1;
  if (x < 2.0) return (((x - 5) * x + 8) * x - 4) * a;
  return 0.0;
}

/** Fixed-point filter taps for one axis: output sample i reads `count[i]` inputs from `first[i]`. */
export interface AxisCoeffs {
  ksize: number; // K: row length of `k`
  first: Int32Array; // [out] first input index (Pillow's xmin)
  count: Int32Array; // [out] taps used (Pillow's xmax - xmin)
  k: Int32Array; // [out, K] fixed-point weights, 2^22 = 1.0
}

/**
 * Pillow's precompute_coeffs + normalize_coeffs_8bpc for the box [in0, in1) of an axis of
 * `inSize` samples resized to `outSize`. (Pillow passes the box as C floats; we only use
 * integer boxes, which float32 holds exactly.)
 */
export function bicubicCoeffs(inSize: number, in0: number, in1: number, outSize: number): AxisCoeffs {
  const scale = (in1 - in0) / outSize;
  const filterscale = scale < 1.0 ? 1.0 : scale;
  const support = BICUBIC_SUPPORT * filterscale;
  const ksize = Math.ceil(support) * 2 + 1;
  const first = new Int32Array(outSize);
  const count = new Int32Array(outSize);
  const k = new Int32Array(outSize * ksize); // [out, K]
  const w = new Float64Array(ksize);
  const ss = 1.0 / filterscale;
  for (let xx = 0; xx < outSize; xx++) {
    const center = in0 + (xx + 0.5) * scale;
    // (int) casts in C truncate toward zero: Math.trunc, not Math.floor.
    let xmin = Math.trunc(center - support + 0.5);
    if (xmin < 0) xmin = 0;
    let xmax = Math.trunc(center + support + 0.5);
    if (xmax > inSize) xmax = inSize;
    xmax -= xmin;
    let ww = 0.0;
    for (let x = 0; x < xmax; x++) {
      const v = bicubicFilter((x + xmin - center + 0.5) * ss);
      w[x] = v;
      ww += v;
    }
    for (let x = 0; x < xmax; x++) {
      const v = ww !== 0.0 ? w[x] / ww : w[x];
      // normalize_coeffs_8bpc: round half away from zero, then truncate to int.
      k[xx * ksize + x] = v < 0 ? Math.trunc(-0.5 + v * (1 << PRECISION_BITS)) : Math.trunc(0.5 + v * (1 << PRECISION_BITS));
    }
    first[xx] = xmin;
    count[xx] = xmax;
  }
  return { ksize, first, count, k };
}

/** Pillow's clip8: the 8-bit result of a fixed-point sum (arithmetic shift, then clamp). */
function clip8(ss: number): number {
  const v = ss >> PRECISION_BITS;
  return v < 0 ? 0 : v > 255 ? 255 : v;
}

/** A rectangle of an RGB image (Pillow's crop box: right and bottom exclusive). */
export interface Region {
  left: number;
  top: number;
  width: number;
  height: number;
}

/**
 * Resize an RGB image with Pillow's BICUBIC filter. Equal to
 * `PIL.Image.frombytes('RGB', (W, H), data).resize((width, height), Image.BICUBIC)`.
 */
export function resizeBicubic(img: RgbImage, width: number, height: number): RgbImage {
  return resizeRegionBicubic(img, { left: 0, top: 0, width: img.width, height: img.height }, width, height);
}

/**
 * Resize the crop `r` of `img` — equal to Pillow's `img.crop(box).resize((width, height), BICUBIC)`
 * without materialising the crop (the crop is the resampler's whole input image).
 */
export function resizeRegionBicubic(img: RgbImage, r: Region, width: number, height: number): RgbImage {
  if (!(Number.isInteger(width) && Number.isInteger(height) && width >= 1 && height >= 1)) {
    // Pillow: ValueError "height and width must be > 0"
    throw new ShapeError(`resizeBicubic: output size ${width}x${height} must be integers >= 1 (Pillow: "height and width must be > 0")`);
  }
  if (r.width < 1 || r.height < 1 || r.left < 0 || r.top < 0 || r.left + r.width > img.width || r.top + r.height > img.height) {
    throw new ShapeError(
      `resizeBicubic: region ${r.left},${r.top} ${r.width}x${r.height} is empty or outside the ${img.width}x${img.height} image`,
    );
  }
  if (img.data.length !== img.width * img.height * 3) {
    throw new ShapeError(
      `resizeBicubic: data has ${img.data.length} bytes, expected ${img.width}*${img.height}*3 = ${img.width * img.height * 3}`,
    );
  }
  const needH = width !== r.width;
  const needV = height !== r.height;
  if (!needH && !needV) return copyRegion(img, r); // Pillow returns a copy for an equal size

  const cv = bicubicCoeffs(r.height, 0, r.height, height);
  // Rows [yFirst, yLast) of the crop are the only ones the vertical pass reads.
  const yFirst = cv.first[0];
  const yLast = cv.first[height - 1] + cv.count[height - 1];

  let src = img.data;
  let srcStride = img.width * 3;
  let srcX0 = r.left;
  let srcY0 = r.top;
  let srcW = r.width;
  if (needH) {
    const tempH = needV ? yLast - yFirst : height;
    const y0 = needV ? yFirst : 0;
    const temp = new Uint8Array(width * tempH * 3); // [tempH, w, 3]
    horizontalPass(img.data, img.width * 3, r.left, r.top + y0, r.width, temp, width, tempH);
    src = temp;
    srcStride = width * 3;
    srcX0 = 0;
    srcY0 = -yFirst; // vertical bounds are relative to the crop's row 0
    srcW = width;
    if (!needV) return { width, height, data: temp };
  }
  const out = new Uint8Array(width * height * 3); // [h, w, 3]
  verticalPass(src, srcStride, srcX0, srcY0, srcW, cv, out, height);
  return { width, height, data: out };
}

function copyRegion(img: RgbImage, r: Region): RgbImage {
  const out = new Uint8Array(r.width * r.height * 3);
  for (let y = 0; y < r.height; y++) {
    const s = ((r.top + y) * img.width + r.left) * 3;
    out.set(img.data.subarray(s, s + r.width * 3), y * r.width * 3);
  }
  return { width: r.width, height: r.height, data: out };
}

/**
 * ImagingResampleHorizontal_8bpc: `rows` rows starting at source row `y0`, columns
 * [x0, x0+inW) resized to `outW`. Hot loop: running sums in registers, two rows at a time.
 * Speed note: the fixed-point weights are held in a Float64Array and summed as doubles. Every
 * product (|byte * weight| < 2^31) and every partial sum is an integer far below 2^53, so the
 * sums are exactly Pillow's Int32 sums; V8 runs this ~1.5x faster than `(s + p * w) | 0`.
 */
function horizontalPass(
  src: Uint8Array,
  stride: number,
  x0: number,
  y0: number,
  inW: number,
  out: Uint8Array,
  outW: number,
  rows: number,
): void {
  const { ksize, first, count, k } = bicubicCoeffs(inW, 0, inW, outW);
  const kf = Float64Array.from(k); // [outW, K] same integers as k
  const offs = new Int32Array(outW); // byte offset of each output pixel's first tap in a row
  for (let xx = 0; xx < outW; xx++) offs[xx] = (x0 + first[xx]) * 3;
  const rowBytes = outW * 3;
  // Two source rows per sweep share each weight load (~15% faster); an odd last row re-reads
  // itself as the "second" row and that result is not stored.
  for (let yy = 0; yy < rows; yy += 2) {
    const two = yy + 1 < rows;
    const rowA = (y0 + yy) * stride;
    const rowB = two ? rowA + stride : rowA;
    let o = yy * rowBytes;
    for (let xx = 0; xx < outW; xx++, o += 3) {
      let kp = xx * ksize;
      const end = kp + count[xx];
      let p = rowA + offs[xx];
      let q = rowB + offs[xx];
      let a0 = HALF;
      let a1 = HALF;
      let a2 = HALF;
      let b0 = HALF;
      let b1 = HALF;
      let b2 = HALF;
      for (; kp < end; kp++, p += 3, q += 3) {
        const w = kf[kp];
        a0 += src[p] * w;
        a1 += src[p + 1] * w;
        a2 += src[p + 2] * w;
        b0 += src[q] * w;
        b1 += src[q + 1] * w;
        b2 += src[q + 2] * w;
      }
      out[o] = clip8(a0);
      out[o + 1] = clip8(a1);
      out[o + 2] = clip8(a2);
      if (two) {
        out[o + rowBytes] = clip8(b0);
        out[o + rowBytes + 1] = clip8(b1);
        out[o + rowBytes + 2] = clip8(b2);
      }
    }
  }
}

/**
 * ImagingResampleVertical_8bpc: output row yy = sum over taps of source rows. Six running sums
 * (two RGB pixels) stay in registers while the taps walk down the rows — about 2x faster in V8
 * than accumulating whole rows in an array. Same integer sums as Pillow (exact in float64).
 */
function verticalPass(
  src: Uint8Array,
  stride: number,
  x0: number,
  y0: number,
  inW: number,
  cv: AxisCoeffs,
  out: Uint8Array,
  outH: number,
): void {
  const { ksize, first, count } = cv;
  const kf = Float64Array.from(cv.k); // [outH, K]
  const rowLen = inW * 3;
  for (let yy = 0; yy < outH; yy++) {
    const n = count[yy];
    const kb = yy * ksize;
    const rb = (y0 + first[yy]) * stride + x0 * 3; // first tap row, first byte of the region
    const o = yy * rowLen;
    let i = 0;
    for (; i + 6 <= rowLen; i += 6) {
      let s0 = HALF;
      let s1 = HALF;
      let s2 = HALF;
      let s3 = HALF;
      let s4 = HALF;
      let s5 = HALF;
      let p = rb + i;
      for (let t = 0; t < n; t++, p += stride) {
        const w = kf[kb + t];
        s0 += src[p] * w;
        s1 += src[p + 1] * w;
        s2 += src[p + 2] * w;
        s3 += src[p + 3] * w;
        s4 += src[p + 4] * w;
        s5 += src[p + 5] * w;
      }
      out[o + i] = clip8(s0);
      out[o + i + 1] = clip8(s1);
      out[o + i + 2] = clip8(s2);
      out[o + i + 3] = clip8(s3);
      out[o + i + 4] = clip8(s4);
      out[o + i + 5] = clip8(s5);
    }
    for (; i < rowLen; i++) {
      // the odd last pixel
      let s0 = HALF;
      let p = rb + i;
      for (let t = 0; t < n; t++, p += stride) s0 += src[p] * kf[kb + t];
      out[o + i] = clip8(s0);
    }
  }
}
