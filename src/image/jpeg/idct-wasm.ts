// The islow IDCT on WebAssembly SIMD (kernels/jpeg.ts, embedded bytes in generated/jpeg-wasm.ts):
// the fast twin of idct.ts (idctIslow, the readable definition), same values bit for bit
// (test/image/jpeg-idct-wasm.test.ts). Each decode gets its own instance and memory, so nothing
// outlives the image and no file is read (Node, Deno, Bun, browsers). Where the engine has no
// SIMD128, wasmIdctAvailable() is false and the decoder uses idctIslow.
// Memory layout (bytes): [0, 768) kernel scratch | [768, 1024) quant table, int32 [64] |
// [1024, 1024 + 128 bw) one row of coefficient blocks, int16 [bw, 64] | the component planes.

import { JPEG_WASM } from './generated/jpeg-wasm.js';

interface JpegExports { idct_islow_row(coef: number, q: number, out: number, stride: number, n: number, scratch: number): void }

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

export function wasmIdctAvailable(): boolean { return jpegModule() !== null; }

const SCRATCH = 0, QUANT = 768, COEFS = 1024;

/** Bytes an instance needs besides the planes: fixed area + one block row of `maxBw` blocks, rounded to whole pages. */
export function wasmIdctOverhead(maxBw: number): number { return COEFS + maxBw * 128 + 65536; }

export interface WasmIdct {
  /** One plane of `bytes` bytes, a view into the instance's memory (zeroed). */
  plane(i: number): Uint8Array;
  /** IDCT blocks [by, 0..wib) of a component (coefs [bh, bw, 64]) into plane i, rows `stride` apart. */
  blockRow(coefs: Int16Array, bw: number, wib: number, by: number, q: Int32Array, i: number, stride: number): void;
}

/** A fresh instance whose memory holds planes of the given sizes; undefined without SIMD128. */
export function createWasmIdct(planeBytes: number[], maxBw: number): WasmIdct | undefined {
  const mod = jpegModule();
  if (!mod) return undefined;
  const offsets: number[] = [];
  let end = COEFS + maxBw * 128;
  for (const n of planeBytes) { end = (end + 15) & ~15; offsets.push(end); end += n; }
  const pages = Math.ceil(end / 65536) || 1;
  const memory = new WebAssembly.Memory({ initial: pages, maximum: pages }); // the module declares a maximum, so must the import
  const k = new WebAssembly.Instance(mod, { env: { memory } }).exports as unknown as JpegExports;
  const buf = memory.buffer; // the memory never grows, so views stay valid
  const quant = new Int32Array(buf, QUANT, 64);
  const coefRow = new Int16Array(buf, COEFS, maxBw * 64);
  let lastQ: Int32Array | undefined;
  return {
    plane: (i) => new Uint8Array(buf, offsets[i], planeBytes[i]),
    blockRow(coefs, bw, wib, by, q, i, stride) {
      if (q !== lastQ) { quant.set(q); lastQ = q; }
      coefRow.set(coefs.subarray(by * bw * 64, (by * bw + wib) * 64));
      k.idct_islow_row(COEFS, QUANT, offsets[i] + by * 8 * stride, stride, wib, SCRATCH);
    },
  };
}
