// The islow IDCT on WebAssembly SIMD (kernels/jpeg.ts, embedded bytes in generated/jpeg-wasm.ts):
// the fast twin of idct.ts (idctIslow, the readable definition), same values bit for bit
// (test/image/jpeg-idct-wasm.test.ts). Each decode gets its own instance and memory, so nothing
// outlives the image and no file is read (Node, Deno, Bun, browsers). Where the engine has no
// SIMD128, wasmIdctAvailable() is false and the decoder uses idctIslow.
// Memory layout (bytes): [0, 768) kernel scratch | [768, 1792) 4 quant tables, int32 [4, 64] |
// [2048, 2048 + 128 n) n coefficient blocks, int16 [n, 64] (one block row copied in, one MCU
// row the entropy decoder writes straight into, or a progressive file's whole image: `coefs()`)
// | one RGB row, [W, 3] | the component planes (or rings of MCU rows) | the RGB output [H, W, 3]
// when asked for | the Huffman area: bit state, NATURAL_ORDER, block descriptors, 8 tables, the
// entropy data. With the planes in its memory, the same instance also runs the fused 4:2:0
// upsampling + colour conversion (the twin of color.ts yccH2v2Row), the full-size (4:4:4, RGB,
// gray) conversions (yccToRgbRow, rgbRow, grayRow) and the Huffman decoding (entropy.ts
// decodeBlockFast, decodeDcFirstFast / decodeDcRefineFast, decodeAcRefineFast).

import { JPEG_WASM } from './generated/jpeg-wasm.js';

interface JpegExports {
  idct_islow_row(coef: number, q: number, out: number, stride: number, n: number, scratch: number, clear: number): void;
  ycc_h2v2_row(yRow: number, cb0: number, cb1: number, cr0: number, cr1: number, dw: number, w: number, out: number): void;
  ycc_row(y: number, cb: number, cr: number, w: number, out: number): void;
  rgb_row(r: number, g: number, b: number, w: number, out: number): void;
  gray_row(g: number, w: number, out: number): void;
  huff_seq(st: number, data: number, end: number, desc: number, nb: number, b: number, total: number, order: number): number;
  huff_dc(
    st: number,
    data: number,
    end: number,
    desc: number,
    nb: number,
    b: number,
    total: number,
    my: number,
    al: number,
    refine: number,
    room: number,
  ): number;
  huff_ac_refine(
    st: number,
    data: number,
    end: number,
    t: number,
    ss: number,
    se: number,
    p1: number,
    blk: number,
    n: number,
    lastNz: number,
    order: number,
  ): number;
}

/** What huffTables copies per table (huffman.ts HuffmanTable's arrays). */
interface HuffArrays {
  fast: Int32Array;
  lookup: Uint16Array;
  maxcode: Int32Array;
  valoffset: Int32Array;
  huffval: Uint8Array;
}
/** kernels/jpeg.ts HUFF_TABLE_BYTES and its layout; the Huffman area: state, order, 10 block descriptors, 8 tables, then the data. */
const HUFF_TABLE = 5632;
const HUFF_FIXED = 32 + 320 + 320 + 8 * HUFF_TABLE;

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

const SCRATCH = 0;
const QUANT = 768;
const COEFS = 2048;

/** Bytes an instance needs besides the planes, the RGB output and the entropy data: fixed area, `blocks` coefficient blocks, one RGB row of `w` pixels, the Huffman area, page rounding. */
export function wasmIdctOverhead(blocks: number, w: number): number {
  return COEFS + blocks * 128 + w * 3 + 64 + HUFF_FIXED + 65536;
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
   *  plane i at block row `by` (rows `stride` apart), no copy; the blocks are zeroed once read. */
  idctInPlace(first: number, wib: number, slot: number, i: number, by: number, stride: number): void;
  /** Rows 0..h) of a 4:2:0 image from planes 0 (Y), 1 (Cb), 2 (Cr) -> RGB [h, w, 3] into out (color.ts yccH2v2Row's twin). */
  yccH2v2(w: number, h: number, yStride: number, cStride: number, dw: number, dh: number, out: Uint8Array): void;
  /** Rows y0..y1) of a 4:2:0 image, the planes as rings: image row y of plane 0 is its row
   *  y % yRing, chroma row k of planes 1 and 2 their row k % cRing -> RGB rows into `out`
   *  ([h, w, 3]), or with no `out` into rgb(). */
  yccH2v2Rows(
    y0: number,
    y1: number,
    w: number,
    yStride: number,
    cStride: number,
    dw: number,
    dh: number,
    yRing: number,
    cRing: number,
    out?: Uint8Array,
  ): void;
  /** Rows 0..h) of full-size planes (rows strides[i] apart) -> RGB [h, w, 3] into out: 'ycc' planes
   *  0, 1, 2 (color.ts yccToRgbRow's twin), 'rgb' stored as is (rgbRow's), 'gray' plane 0 (grayRow's). */
  fullsize(space: 'gray' | 'ycc' | 'rgb', w: number, h: number, strides: number[], out: Uint8Array): void;
  /** Rows y0..y1) of full-size planes, image row y at plane row y % ring -> RGB rows into `out`, or with no `out` into rgb(). */
  fullsizeRows(space: 'gray' | 'ycc' | 'rgb', y0: number, y1: number, w: number, strides: number[], ring: number, out?: Uint8Array): void;
  /** The RGB output area ([h, w, 3], `rgbBytes` at creation), a view into the instance's memory. */
  rgb(): Uint8Array;
  /** Sequential Huffman decoding in the instance (kernels/jpeg.ts huff_seq, the twin of
   *  entropy.ts decodeBlockFast), for one scan: `data` (at most `dataBytes` at creation) = the
   *  file from the scan's first entropy byte; tables (<= 8); blocks of an MCU (<= 10): component,
   *  table indices, first block in coefs(), blocks from one MCU to the next; order = NATURAL_ORDER. */
  huffScan(
    data: Uint8Array,
    tables: HuffArrays[],
    blocks: Array<{ ci: number; dc: number; ac: number; first: number; step: number; row?: number }>,
    order: Int32Array,
  ): void;
  /** Progressive DC scans in the instance (kernels/jpeg.ts huff_dc, the twin of decodeDcFirstFast /
   *  decodeDcRefineFast): blocks b..total) of MCU row my (huffScan's blocks, `row` blocks from
   *  one MCU row to the next) while pos + room < end; as huffRun otherwise. */
  dcRun(
    br: { buf: number; bits: number; pos: number },
    base: number,
    end: number,
    pred: Int32Array,
    b: number,
    total: number,
    my: number,
    al: number,
    refine: boolean,
    room: number,
  ): number;
  /** Decode blocks b..total) of an MCU row while the next block's bytes lie before `end` (file
   *  offsets; `base` = the file offset of huffScan's data[0]); bit state and DC predictions from
   *  and back to br / pred; returns the first block not decoded. */
  huffRun(br: { buf: number; bits: number; pos: number }, base: number, end: number, pred: Int32Array, b: number, total: number): number;
  /** Progressive AC refinement in the instance (kernels/jpeg.ts huff_ac_refine, the twin of
   *  entropy.ts decodeAcRefineFast): data / table as huffScan's (tables[0] = the scan's AC
   *  table); blocks first..first+n) of coefs(), their lastNz bytes in plane(0) from the same
   *  index; eob.v = EOBRUN in and out; returns the blocks done. */
  acRefine(
    br: { buf: number; bits: number; pos: number },
    base: number,
    end: number,
    ss: number,
    se: number,
    p1: number,
    first: number,
    n: number,
    eob: { v: number },
  ): number;
}

/** A fresh instance whose memory holds planes of the given sizes, `blocks` coefficient blocks
 *  and an RGB output area of `rgbBytes`; undefined without SIMD128. */
export function createWasmIdct(planeBytes: number[], blocks: number, w = 0, rgbBytes = 0, dataBytes = 0): WasmIdct | undefined {
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
  const rgbOut = (end + 15) & ~15;
  end = rgbOut + rgbBytes;
  const huff = (end + 15) & ~15; // state | order | descriptors | tables | data
  end = huff + HUFF_FIXED + dataBytes; // the Huffman area always: a few pages
  const hOrder = huff + 32;
  const hDesc = huff + 352;
  const hTables = huff + 672;
  const hData = huff + HUFF_FIXED;
  let nb = 0;
  let dataLen = 0;
  const pages = Math.ceil(end / 65536) || 1;
  const memory = new WebAssembly.Memory({ initial: pages, maximum: pages }); // the module declares a maximum, so must the import
  const k = new WebAssembly.Instance(mod, { env: { memory } }).exports as unknown as JpegExports;
  const buf = memory.buffer; // the memory never grows, so views stay valid
  const quant = new Int32Array(buf, QUANT, 64);
  const coefRow = new Int16Array(buf, COEFS, blocks * 64);
  let lastQ: Int32Array | undefined;
  /** Where row y's RGB goes: straight into the output area, or the row buffer (then copied to out). */
  const dst = (y: number, w: number, out: Uint8Array | undefined) => (out ? rgbRow : rgbOut + y * w * 3);
  const self: WasmIdct = {
    plane: (i) => new Uint8Array(buf, offsets[i], planeBytes[i]),
    blockRow(coefs, bw, wib, by, q, i, stride) {
      if (q !== lastQ) {
        quant.set(q);
        lastQ = q;
      }
      coefRow.set(coefs.subarray(by * bw * 64, (by * bw + wib) * 64));
      k.idct_islow_row(COEFS, QUANT, offsets[i] + by * 8 * stride, stride, wib, SCRATCH, 0);
    },
    coefs: () => coefRow,
    setQuant(slot, q) {
      new Int32Array(buf, QUANT + 256 * slot, 64).set(q);
      lastQ = undefined; // slot 0 is blockRow's
    },
    idctInPlace(first, wib, slot, i, by, stride) {
      k.idct_islow_row(COEFS + first * 128, QUANT + 256 * slot, offsets[i] + by * 8 * stride, stride, wib, SCRATCH, 1);
    },
    yccH2v2(w, h, yStride, cStride, dw, dh, out) {
      self.yccH2v2Rows(0, h, w, yStride, cStride, dw, dh, h, dh, out);
    },
    yccH2v2Rows(y0, y1, w, yStride, cStride, dw, dh, yRing, cRing, out) {
      const row = new Uint8Array(buf, rgbRow, w * 3);
      for (let y = y0; y < y1; y++) {
        // the near chroma row k and the far one: color.ts yccH2v2Row
        const kk = y >> 1;
        const n = y & 1 ? Math.min(kk + 1, dh - 1) : Math.max(kk - 1, 0);
        const near = (kk % cRing) * cStride;
        const far = (n % cRing) * cStride;
        const o = dst(y, w, out);
        k.ycc_h2v2_row(
          offsets[0] + (y % yRing) * yStride,
          offsets[1] + near,
          offsets[1] + far,
          offsets[2] + near,
          offsets[2] + far,
          dw,
          w,
          o,
        );
        if (out) out.set(row, y * w * 3);
      }
    },
    fullsize(space, w, h, strides, out) {
      self.fullsizeRows(space, 0, h, w, strides, h, out);
    },
    fullsizeRows(space, y0, y1, w, strides, ring, out) {
      const row = new Uint8Array(buf, rgbRow, w * 3);
      for (let y = y0; y < y1; y++) {
        const r = y % ring;
        const o = dst(y, w, out);
        if (space === 'gray') k.gray_row(offsets[0] + r * strides[0], w, o);
        else if (space === 'ycc') k.ycc_row(offsets[0] + r * strides[0], offsets[1] + r * strides[1], offsets[2] + r * strides[2], w, o);
        else k.rgb_row(offsets[0] + r * strides[0], offsets[1] + r * strides[1], offsets[2] + r * strides[2], w, o);
        if (out) out.set(row, y * w * 3);
      }
    },
    rgb: () => new Uint8Array(buf, rgbOut, rgbBytes),
    huffScan(data, tables, blocks, order) {
      dataLen = Math.min(data.length, dataBytes);
      new Uint8Array(buf, hData, dataLen).set(data.subarray(0, dataLen));
      tables.forEach((t, i) => {
        const a = hTables + i * HUFF_TABLE;
        new Int32Array(buf, a, 1024).set(t.fast);
        new Uint16Array(buf, a + 4096, 512).set(t.lookup);
        new Int32Array(buf, a + 5120, 18).set(t.maxcode);
        new Int32Array(buf, a + 5248, 17).set(t.valoffset);
        new Uint8Array(buf, a + 5376, 256).set(t.huffval);
      });
      const d = new Int32Array(buf, hDesc, 80);
      blocks.forEach((x, j) =>
        d.set(
          [x.ci, hTables + x.dc * HUFF_TABLE, hTables + x.ac * HUFF_TABLE, COEFS + x.first * 128, x.step * 128, (x.row ?? 0) * 128],
          j * 8,
        ),
      );
      new Int32Array(buf, hOrder, 80).set(order.subarray(0, 80));
      nb = blocks.length;
    },
    dcRun(br, base, end, pred, b, total, my, al, refine, room) {
      const st = new Int32Array(buf, huff, 8);
      st[0] = br.buf;
      st[1] = br.bits;
      st[2] = br.pos - base;
      st.set(pred.subarray(0, 4), 4);
      const next = k.huff_dc(huff, hData, Math.min(end - base, dataLen), hDesc, nb, b, total, my, al, refine ? 1 : 0, room);
      br.buf = st[0];
      br.bits = st[1];
      br.pos = st[2] + base;
      pred.set(st.subarray(4, 4 + pred.length));
      return next;
    },
    acRefine(br, base, end, ss, se, p1, first, n, eob) {
      const st = new Int32Array(buf, huff, 8);
      st[0] = br.buf;
      st[1] = br.bits;
      st[2] = br.pos - base;
      st[3] = eob.v;
      const done = k.huff_ac_refine(
        huff,
        hData,
        Math.min(end - base, dataLen),
        hTables,
        ss,
        se,
        p1,
        COEFS + first * 128,
        n,
        offsets[0] + first,
        hOrder,
      );
      br.buf = st[0];
      br.bits = st[1];
      br.pos = st[2] + base;
      eob.v = st[3];
      return done;
    },
    huffRun(br, base, end, pred, b, total) {
      const st = new Int32Array(buf, huff, 8);
      st[0] = br.buf;
      st[1] = br.bits;
      st[2] = br.pos - base;
      st.set(pred.subarray(0, 4), 4);
      const next = k.huff_seq(huff, hData, Math.min(end - base, dataLen), hDesc, nb, b, total, hOrder);
      br.buf = st[0];
      br.bits = st[1];
      br.pos = st[2] + base;
      pred.set(st.subarray(4, 4 + pred.length));
      return next;
    },
  };
  return self;
}
