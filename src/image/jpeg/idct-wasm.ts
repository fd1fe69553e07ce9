// The islow IDCT on WebAssembly SIMD (kernels/jpeg.ts, embedded bytes in generated/jpeg-wasm.ts):
// the fast twin of idct.ts (idctIslow, the readable definition), same values bit for bit
// (test/image/jpeg-idct-wasm.test.ts). Each decode gets its own instance and memory, so nothing
// outlives the image and no file is read (Node, Deno, Bun, browsers). Where the engine has no
// SIMD128, wasmIdctAvailable() is false and the decoder uses idctIslow.
// Memory layout (bytes): [0, 768) kernel scratch | [768, 1792) 4 quant tables, int32 [4, 64] |
// [2048, 2048 + 128 n) n coefficient blocks, int16 [n, 64] (one block row copied in, or one MCU
// row the entropy decoder writes straight into: `coefs()`) | one RGB row, [W, 3] | the component planes. With the planes in its memory, the same instance also runs the fused
// 4:2:0 upsampling + colour conversion (the twin of color.ts yccH2v2Row) and the full-size
// (4:4:4, RGB, gray) conversions (yccToRgbRow, rgbRow, grayRow).

import { JPEG_WASM } from './generated/jpeg-wasm.js';

interface JpegExports {
  idct_islow_row(coef: number, q: number, out: number, stride: number, n: number, scratch: number): void;
  ycc_h2v2_row(yRow: number, cb: number, cr: number, stride: number, dw: number, dh: number, y: number, w: number, out: number): void;
  ycc_row(y: number, cb: number, cr: number, w: number, out: number): void;
  rgb_row(r: number, g: number, b: number, w: number, out: number): void;
  gray_row(g: number, w: number, out: number): void;
}

let compiled: WebAssembly.Module | null | undefined;

/** The compiled module, or null where WebAssembly SIMD128 is missing (compiled once, on first use). */
function jpegModule(): WebAssembly.Module | null {
  if (compiled === undefined) {
    compiled = null;
    if (typeof WebAssembly === 'object') {
      // atob exists in Node >= 16, Deno, Bun and browsers; no Buffer, no file access
      const bin = atob(JPEG_WASM.base64);
      const bytes = new Uint8Array(bin.length);
      for (let i = 0; i < bin.length; i++) bytes[i] = bin.charCodeAt(i);
      if (WebAssembly.validate(bytes)) compiled = new WebAssembly.Module(bytes);
    }
  }
  return compiled;
}

export function wasmIdctAvailable(): boolean {
  return jpegModule() !== null;
}

const SCRATCH = 0,
  QUANT = 768,
  COEFS = 2048;

/** Bytes an instance needs besides the planes: fixed area, `blocks` coefficient blocks, one RGB row of `w` pixels, page rounding. */
export function wasmIdctOverhead(blocks: number, w: number): number {
  return COEFS + blocks * 128 + w * 3 + 64 + 65536;
}

export interface WasmIdct {
  /** One plane of `bytes` bytes, a view into the instance's memory (zeroed). */
  plane(i: number): Uint8Array;
  /** IDCT blocks [by, 0..wib) of a component (coefs [bh, bw, 64]) into plane i, rows `stride` apart. */
  blockRow(coefs: Int16Array, bw: number, wib: number, by: number, q: Int32Array, i: number, stride: number): void;
  /** The instance's coefficient blocks, int16 [blocks, 64], zeroed: the entropy decoder writes one MCU row here. */
  coefs(): Int16Array;
  /** Quant table `slot` (0..3) = q (int32 [64], natural order), for idctInPlace. */
  setQuant(slot: number, q: Int32Array): void;
  /** IDCT the `wib` blocks starting at block `first` of coefs() with quant table `slot` into
   *  plane i at block row `by` (rows `stride` apart); no copy. */
  idctInPlace(first: number, wib: number, slot: number, i: number, by: number, stride: number): void;
  /** Rows 0..h) of a 4:2:0 image from planes 0 (Y), 1 (Cb), 2 (Cr) -> RGB [h, w, 3] into out (color.ts yccH2v2Row's twin). */
  yccH2v2(w: number, h: number, yStride: number, cStride: number, dw: number, dh: number, out: Uint8Array): void;
  /** Rows 0..h) of full-size planes (rows strides[i] apart) -> RGB [h, w, 3] into out: 'ycc' planes
   *  0, 1, 2 (color.ts yccToRgbRow's twin), 'rgb' stored as is (rgbRow's), 'gray' plane 0 (grayRow's). */
  fullsize(space: 'gray' | 'ycc' | 'rgb', w: number, h: number, strides: number[], out: Uint8Array): void;
}

/** A fresh instance whose memory holds planes of the given sizes and `blocks` coefficient blocks; undefined without SIMD128. */
export function createWasmIdct(planeBytes: number[], blocks: number, w = 0): WasmIdct | undefined {
  const mod = jpegModule();
  if (!mod) return undefined;
  const offsets: number[] = [];
  const rgbRow = COEFS + blocks * 128;
  let end = rgbRow + w * 3 + 16;
  for (const n of planeBytes) {
    end = (end + 15) & ~15;
    offsets.push(end);
    end += n;
  }
  const pages = Math.ceil(end / 65536) || 1;
  const memory = new WebAssembly.Memory({ initial: pages, maximum: pages }); // the module declares a maximum, so must the import
  const k = new WebAssembly.Instance(mod, { env: { memory } }).exports as unknown as JpegExports;
  const buf = memory.buffer; // the memory never grows, so views stay valid
  const quant = new Int32Array(buf, QUANT, 64);
  const coefRow = new Int16Array(buf, COEFS, blocks * 64);
  let lastQ: Int32Array | undefined;
  return {
    plane: (i) => new Uint8Array(buf, offsets[i], planeBytes[i]),
    blockRow(coefs, bw, wib, by, q, i, stride) {
      if (q !== lastQ) {
        quant.set(q);
        lastQ = q;
      }
      coefRow.set(coefs.subarray(by * bw * 64, (by * bw + wib) * 64));
      k.idct_islow_row(COEFS, QUANT, offsets[i] + by * 8 * stride, stride, wib, SCRATCH);
    },
    coefs: () => coefRow,
    setQuant(slot, q) {
      new Int32Array(buf, QUANT + 256 * slot, 64).set(q);
      lastQ = undefined; // slot 0 is blockRow's
    },
    idctInPlace(first, wib, slot, i, by, stride) {
      k.idct_islow_row(COEFS + first * 128, QUANT + 256 * slot, offsets[i] + by * 8 * stride, stride, wib, SCRATCH);
    },
    yccH2v2(w, h, yStride, cStride, dw, dh, out) {
      const row = new Uint8Array(buf, rgbRow, w * 3);
      for (let y = 0; y < h; y++) {
        k.ycc_h2v2_row(offsets[0] + y * yStride, offsets[1], offsets[2], cStride, dw, dh, y, w, rgbRow);
        out.set(row, y * w * 3);
      }
    },
    fullsize(space, w, h, strides, out) {
      const row = new Uint8Array(buf, rgbRow, w * 3);
      for (let y = 0; y < h; y++) {
        if (space === 'gray') k.gray_row(offsets[0] + y * strides[0], w, rgbRow);
        else if (space === 'ycc')
          k.ycc_row(offsets[0] + y * strides[0], offsets[1] + y * strides[1], offsets[2] + y * strides[2], w, rgbRow);
        else k.rgb_row(offsets[0] + y * strides[0], offsets[1] + y * strides[1], offsets[2] + y * strides[2], w, rgbRow);
        out.set(row, y * w * 3);
      }
    },
  };
}
