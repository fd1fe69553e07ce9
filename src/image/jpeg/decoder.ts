// JPEG -> 8-bit RGB, bit-exact with libjpeg-turbo as Pillow 11.3 drives it (JDCT_ISLOW, fancy
// upsampling, block smoothing on, 8-bit, Huffman; baseline, extended sequential and
// progressive; 1 or 3 components). The stages, one file each:
//   markers (this file) -> entropy.ts (scans -> coefficients) -> [smooth.ts: progressive files
//   with incomplete coefficients] -> idct.ts (coefficients -> component planes) -> upsample.ts
//   (planes -> full-resolution rows) -> color.ts (rows -> RGB). The IDCT, the colour conversion
//   and most Huffman decoding run as the TS definitions or as their WebAssembly SIMD twins
//   (idct-wasm.ts, kernels/jpeg.ts), same bytes; on WebAssembly a one-scan file streams MCU rows
//   through all stages (streamIdct), as libjpeg's decompress_onepass does.
// Legend: W x H image, maxH/maxV largest sampling factors, MCU minimum coded unit,
// dw x dh a component's real samples (ceil(W h / maxH) x ceil(H v / maxV)).

import { ImageError } from '../../errors.js';
import type { RgbImage } from '../rgb.js';
import { BitReader } from './bitreader.js';
import { grayRow, rgbRow, yccH2v2Row, yccToRgbRow } from './color.js';
import { type Component, decodeScan, type FrameGeometry, NATURAL_ORDER, type Scan } from './entropy.js';
import { buildHuffmanTable, type HuffmanTable, standardHuffmanTable } from './huffman.js';
import { idctIslow } from './idct.js';
import { createWasmIdct, type WasmIdct, wasmIdctAvailable, wasmIdctOverhead } from './idct-wasm.js';
import { idctSmoothed, smoothingOk } from './smooth.js';
import { type Plane, upsampleMethod, upsampleRow } from './upsample.js';

/** libjpeg's JPEG_MAX_DIMENSION. */
const MAX_DIMENSION = 65500;
/** libjpeg's D_MAX_BLOCKS_IN_MCU: blocks in one interleaved MCU. */
const MAX_BLOCKS_IN_MCU = 10;

interface FrameComponent extends Component {
  /** Quantization table latched at the component's first scan (jdinput.c latch_quant_tables), natural order. */
  q?: Uint16Array;
}

/** Bytes this decoder allocates for a frame (coefficients, planes, RGB output, row buffers). */
export function exactDecodeBytes(width: number, height: number, sampling: Array<[number, number]>): number {
  const maxH = Math.max(...sampling.map((s) => s[0]));
  const maxV = Math.max(...sampling.map((s) => s[1]));
  const mcusX = Math.ceil(width / (8 * maxH));
  const mcusY = Math.ceil(height / (8 * maxV));
  const mcuBlocks = sampling.reduce((a, [h, v]) => a + h * v, 0);
  // + the WebAssembly instance's fixed area (and Huffman tables) and coefficient blocks (one
  // MCU row); a one-scan file decoded there needs no whole-image coefficients, counted below all
  // the same: they bound its entropy bytes copied into the instance (128 per block) and its
  // planes (rings of a few MCU rows there)
  let total = width * height * 3 + wasmIdctOverhead(mcusX * mcuBlocks, width);
  for (const [h, v] of sampling) {
    const wib = Math.ceil((width * h) / (8 * maxH));
    const hib = Math.ceil((height * v) / (8 * maxV));
    // + lastNz and the entropy bytes copied into a WebAssembly instance (progressive)
    total += mcusX * h * mcusY * v * (64 * 2 + 1 + 32) + wib * hib * 64 + 2 * (wib * 8 + 8) * maxH;
  }
  return total;
}

/** Which kernels run: 'ts' = idct.ts, color.ts and entropy.ts (the readable definitions), or
 *  'wasm' = their WebAssembly SIMD twins (IDCT; upsampling + colour; sequential and progressive
 *  DC / AC refinement Huffman decoding), the default where the engine has SIMD128. Both give the
 *  same bytes (test/image/jpeg-idct-wasm.test.ts). */
export type JpegIdct = 'ts' | 'wasm';
export const DEFAULT_JPEG_IDCT: JpegIdct = wasmIdctAvailable() ? 'wasm' : 'ts';

export function decodeJpegExact(bytes: Uint8Array, label: string, idct: JpegIdct = DEFAULT_JPEG_IDCT): RgbImage {
  const qt: Array<Uint16Array | undefined> = [];
  const dcTables: Array<HuffmanTable | undefined> = [];
  const acTables: Array<HuffmanTable | undefined> = [];
  let restartInterval = 0;
  let jfif = false;
  let adobeTransform: number | undefined;
  let frame: { w: number; h: number; progressive: boolean; comps: FrameComponent[]; geo: FrameGeometry } | undefined;
  let scans = 0;
  let streamed: WasmIdct | undefined; // a one-scan file on WebAssembly: IDCT per MCU row, planes filled
  let rgbDone = false; // ... and the RGB made too (streamIdct)
  let refiner: ReturnType<typeof progressiveCoefs>; // a progressive file on WebAssembly: AC refinements there

  const br = new BitReader(bytes, 2, label);
  const corrupt = (what: string) => new ImageError(`${label}: JPEG ${what}`, 'the file is corrupt');
  for (;;) {
    const m = br.nextMarker();
    const at = br.pos;
    br.takeMarker();
    if (m === 0xd9) break; // EOI
    if (m === 0x01 || (m >= 0xd0 && m <= 0xd7)) continue; // TEM, stray RSTn: no length
    if (br.pos + 2 > bytes.length) throw new ImageError(`${label}: JPEG is truncated at byte ${at}`, 'the file is incomplete');
    const len = (bytes[br.pos] << 8) | bytes[br.pos + 1];
    if (len < 2 || br.pos + len > bytes.length)
      throw new ImageError(
        `${label}: JPEG segment 0xFF${m.toString(16).toUpperCase()} at byte ${at} is truncated`,
        'the file is incomplete',
      );
    const seg = bytes.subarray(br.pos + 2, br.pos + len);
    br.pos += len;
    if (m === 0xc0 || m === 0xc1 || m === 0xc2) {
      if (frame) throw corrupt('has two frame headers (SOF)');
      frame = parseFrame(seg, m === 0xc2, label);
    } else if (m === 0xc4) {
      parseDht(seg, dcTables, acTables, label);
    } else if (m === 0xdb) {
      parseDqt(seg, qt, label);
    } else if (m === 0xdd) {
      if (seg.length < 2) throw corrupt('DRI segment is too short');
      restartInterval = (seg[0] << 8) | seg[1];
    } else if (m === 0xda) {
      if (!frame) throw corrupt('has a scan (SOS) before the frame header');
      const scan = parseSos(seg, frame.comps, dcTables, acTables, frame.progressive, label);
      for (const c of scan.comps as FrameComponent[]) {
        if (!c.q) {
          const t = qt[c.tq];
          if (!t) throw corrupt(`component ${c.id} uses quantization table ${c.tq}, which is not defined`);
          c.q = t.slice();
        }
      }
      if (scan.comps.length > 1) {
        const blocks = scan.comps.reduce((a, c) => a + c.h * c.v, 0);
        if (blocks > MAX_BLOCKS_IN_MCU) {
          throw new ImageError(
            `${label}: JPEG interleaved scan has ${blocks} blocks per MCU, more than ${MAX_BLOCKS_IN_MCU}`,
            'libjpeg, and so Pillow, refuses it ("Sampling factors too large for interleaved scan")',
          );
        }
      }
      frame.geo.restartInterval = restartInterval;
      const single = scans === 0 && !frame.progressive && scan.comps.length === frame.comps.length;
      let onMcuRow: ((my: number) => void) | undefined;
      let fastBlocks: Stream['fastBlocks'];
      if (scans === 0) {
        // a one-scan file on WebAssembly decodes each MCU row into the instance's memory and runs
        // the IDCT right after (libjpeg's decompress_onepass); every other file keeps whole-image
        // coefficients for later scans, block smoothing or the TS IDCT
        const s =
          single && idct === 'wasm'
            ? streamIdct(frame.w, frame.h, frame.comps, colorSpace(frame.comps, jfif, adobeTransform), frame.geo.mcusY, {
                bytes,
                start: br.pos,
                scan,
                restartInterval,
              })
            : undefined;
        if (s) ({ wasm: streamed, onMcuRow, rgbDone, fastBlocks } = s);
        else if (frame.progressive && idct === 'wasm') refiner = progressiveCoefs(frame.comps, bytes, br.pos);
        if (!s && !refiner) for (const c of frame.comps) c.coefs = new Int16Array(c.bw * c.bh * 64); // [bh, bw, 64]
      }
      const refineBlocks =
        refiner && scan.ss !== 0 && scan.ah !== 0 && scan.comps.length === 1 && restartInterval === 0 ? refiner.ac(scan) : undefined;
      if (refiner && scan.ss === 0 && restartInterval === 0) fastBlocks = refiner.dc(scan);
      scans++;
      decodeScan(br, frame.geo, scan, scans, label, onMcuRow, fastBlocks, refineBlocks);
      if (single) break; // one-scan file: libjpeg outputs without reading on to EOI
    } else if (m === 0xe0) {
      if (seg.length >= 14 && seg[0] === 0x4a && seg[1] === 0x46 && seg[2] === 0x49 && seg[3] === 0x46 && seg[4] === 0) jfif = true;
    } else if (m === 0xee) {
      if (seg.length >= 12 && String.fromCharCode(...seg.subarray(0, 5)) === 'Adobe') adobeTransform = seg[11];
    } else if ((m >= 0xe1 && m <= 0xef) || m === 0xfe || m === 0xdc || m === 0xcc) {
      // APPn, COM, DNL (ignored by libjpeg too), DAC
    } else {
      throw new ImageError(
        `${label}: JPEG marker 0xFF${m.toString(16).toUpperCase()} at byte ${at} is not supported`,
        'libjpeg, and so Pillow, refuses it ("Unsupported marker type")',
      );
    }
  }
  if (!frame) throw corrupt('has no frame header (SOF)');
  // jdcoefct.c start_output_pass: smooth if progressive and smoothing_ok
  const smooth =
    frame.progressive && smoothingOk(frame.comps) ? { scans, lastGoodRow: frame.geo.lastGoodRow, iMcuRows: frame.geo.mcusY } : undefined;
  if (scans === 0) for (const c of frame.comps) c.coefs = new Int16Array(c.bw * c.bh * 64); // no scan: libjpeg's all-zero coefficients
  if (streamed && rgbDone) return { width: frame.w, height: frame.h, data: streamed.rgb() }; // a view of the instance's memory
  return output(frame.w, frame.h, frame.comps, colorSpace(frame.comps, jfif, adobeTransform), idct, smooth, streamed);
}

/**
 * A progressive file on WebAssembly: the whole-image coefficients and lastNz live in an instance's
 * memory (each component's `coefs` / `lastNz` a view), with the entropy data from the first scan
 * (at most 32 bytes a block: a real photo's whole progressive file takes ~5), so its AC
 * refinement scans run there (kernels/jpeg.ts huff_ac_refine, the twin of decodeAcRefineFast).
 * Returns, per scan, its refineBlocks for decodeScan; undefined without SIMD128.
 */
function progressiveCoefs(comps: FrameComponent[], bytes: Uint8Array, start: number) {
  const total = comps.reduce((a, c) => a + c.bw * c.bh, 0);
  const dataBytes = Math.min(bytes.length - start, total * 32 + 1024);
  const wasm = createWasmIdct([total], total, 0, 0, dataBytes);
  if (!wasm) return undefined;
  const first = new Map<Component, number>(); // each component's first block
  let n = 0;
  for (const c of comps) {
    c.coefs = wasm.coefs().subarray(n * 64, (n + c.bw * c.bh) * 64); // [bh, bw, 64]
    c.lastNz = wasm.plane(0).subarray(n, n + c.bw * c.bh);
    first.set(c, n);
    n += c.bw * c.bh;
  }
  const data = bytes.subarray(start, start + dataBytes);
  return {
    /** An AC refinement scan's refineBlocks. */
    ac(scan: Scan) {
      wasm.huffScan(data, [scan.ac[0]!], [], NATURAL_ORDER);
      const p1 = 1 << scan.al;
      return (br: BitReader, c: Component, block: number, n: number, end: number, eob: { v: number }) =>
        wasm.acRefine(br, start, end, scan.ss, scan.se, p1, first.get(c)! + block, n, eob);
    },
    /** A DC scan's fastBlocks: the blocks of an MCU in decodeScan's order (as streamIdct lists them). */
    dc(scan: Scan) {
      const refine = scan.ah !== 0;
      const tables: HuffmanTable[] = [];
      const slot = (t: HuffmanTable | undefined) => (!t ? 0 : tables.includes(t) ? tables.indexOf(t) : tables.push(t) - 1);
      const single = scan.comps.length === 1;
      const blocks = scan.comps.flatMap((c, ci) =>
        Array.from({ length: single ? 1 : c.v * c.h }, (_, i) => {
          const by = single ? 0 : Math.floor(i / c.h);
          const bx = single ? 0 : i % c.h;
          const f = first.get(c)! + by * c.bw + bx;
          return { ci, dc: refine ? 0 : slot(scan.dc[ci]), ac: 0, first: f, step: single ? 1 : c.h, row: single ? c.bw : c.v * c.bw };
        }),
      );
      wasm.huffScan(data, tables, blocks, NATURAL_ORDER);
      const room = refine ? 16 : 24; // decodeScan's bytes a DC block may take
      return (br: BitReader, pred: Int32Array, b: number, total: number, end: number, my: number) =>
        wasm.dcRun(br, start, end, pred, b, total, my, scan.al, refine, room);
    },
  };
}

/** The output paths that need no row buffers: 'h2v2' = 4:2:0 YCbCr (h2v2 fancy upsampling fused
 *  with the colour conversion), 'full' = every component full size (4:4:4, RGB, gray); else
 *  undefined (upsampled row by row). */
function fusedPath(w: number, comps: Component[], space: 'gray' | 'ycc' | 'rgb'): 'h2v2' | 'full' | undefined {
  const maxH = Math.max(...comps.map((c) => c.h));
  const maxV = Math.max(...comps.map((c) => c.v));
  const m = comps.map((c) => upsampleMethod(c.h, c.v, maxH, maxV, Math.ceil((w * c.h) / maxH)));
  if (space === 'ycc' && m[0] === 'fullsize' && m[1] === 'h2v2Fancy' && m[2] === 'h2v2Fancy' && comps[1].wib === comps[2].wib)
    return 'h2v2';
  return m.every((x) => x === 'fullsize') ? 'full' : undefined;
}

interface Stream {
  wasm: WasmIdct;
  /** IDCT of MCU row my (and, on a fused path, the RGB rows that are complete). */
  onMcuRow: (my: number) => void;
  /** The RGB is in wasm.rgb() once the last MCU row is done (a fused path). */
  rgbDone: boolean;
  /** Sequential Huffman decoding in the instance (decodeScan's fastBlocks), for scans without restarts. */
  fastBlocks?: (br: BitReader, pred: Int32Array, b: number, total: number, end: number, my: number) => number;
}

/**
 * A one-scan file on WebAssembly, libjpeg's decompress_onepass: a fresh instance holding one MCU
 * row of coefficients (each component's `coefs` a view of its part, zeroed after each row), the
 * component planes and, on a fused output path, the RGB output. onMcuRow(my) runs the IDCT of
 * MCU row my; on a fused path the planes are rings of a few MCU rows (4:2:0: 2 of Y, 3 of chroma,
 * the rows above and below that fancy upsampling reads; full size: 1) and the RGB rows are made
 * as soon as their samples exist (4:2:0 one MCU row behind), straight into the output area, so
 * no plane is kept whole and the RGB is not copied. Undefined without SIMD128.
 */
function streamIdct(
  w: number,
  h: number,
  comps: FrameComponent[],
  space: 'gray' | 'ycc' | 'rgb',
  mcusY: number,
  entropy: { bytes: Uint8Array; start: number; scan: Scan; restartInterval: number },
): Stream | undefined {
  const path = fusedPath(w, comps, space);
  // an MCU row is v block rows of each component, or one block row in a one-component scan
  const rows = comps.length === 1 ? [1] : comps.map((c) => c.v);
  // plane rows kept: a ring of MCU rows on a fused path, else the whole plane
  const ring = comps.map((c, i) => (path === 'h2v2' ? (i === 0 ? 2 : 3) * 8 * rows[i] : path === 'full' ? 8 * rows[i] : c.hib * 8));
  // the Huffman decoding runs in the instance too (scans without restarts): the scan's entropy
  // bytes are copied in, at most 128 per block (the whole-image coefficients' budget, which
  // exactDecodeBytes counts and a one-scan file no longer allocates); a denser scan (no real
  // photo is) continues in decodeBlockFast past that point
  const { bytes, start, scan } = entropy;
  const huff = entropy.restartInterval === 0;
  const scanBlocks = comps.reduce((a, c) => a + c.bw * c.bh, 0);
  const dataBytes = huff ? Math.min(bytes.length - start, scanBlocks * 128 + 1024) : 0;
  const wasm = createWasmIdct(
    comps.map((c, i) => c.wib * 8 * ring[i]),
    comps.reduce((a, c) => a + c.v * c.bw, 0),
    w,
    path ? w * h * 3 : 0,
    dataBytes,
  );
  if (!wasm) return undefined;
  const all = wasm.coefs();
  const first: number[] = []; // block index of each component's part
  let n = 0;
  comps.forEach((c, i) => {
    first.push(n);
    c.coefs = all.subarray(n * 64, (n + c.v * c.bw) * 64); // [v, bw, 64]
    n += c.v * c.bw;
    wasm.setQuant(i, Int32Array.from(c.q!)); // latched at this scan, which names every component
  });
  const strides = comps.map((c) => c.wib * 8);
  const yRows = 8 * rows[0]; // image rows per MCU row
  const onMcuRow = (my: number) => {
    comps.forEach((c, i) => {
      for (let by = 0; by < rows[i]; by++) {
        const gy = my * rows[i] + by;
        const b = first[i] + by * c.bw;
        // the IDCT zeroes the blocks it reads; the entropy decoder also wrote the MCUs' blocks
        // past the image (columns wib..bw, rows from hib), zeroed here
        if (gy < c.hib) {
          wasm.idctInPlace(b, c.wib, i, i, gy % (ring[i] / 8), strides[i]);
          if (c.bw > c.wib) all.fill(0, (b + c.wib) * 64, (b + c.bw) * 64);
        } else all.fill(0, b * 64, (b + c.bw) * 64);
      }
    });
    if (path === 'full') wasm.fullsizeRows(space, my * yRows, Math.min(h, (my + 1) * yRows), w, strides, ring[0]);
    else if (path === 'h2v2') {
      // rows of MCU row my - 1: their far chroma rows reach into row my; the last row at the end
      const dw = Math.ceil(w / 2);
      const dh = Math.ceil(h / 2);
      const row420 = (m: number) =>
        wasm.yccH2v2Rows(m * yRows, Math.min(h, (m + 1) * yRows), w, strides[0], strides[1], dw, dh, ring[0], ring[1]);
      if (my > 0) row420(my - 1);
      if (my === mcusY - 1) row420(my);
    }
  };
  let fastBlocks: Stream['fastBlocks'];
  if (huff) {
    // the blocks of an MCU in decodeScan's order: scan components, then rows, then columns
    const tables: HuffmanTable[] = [];
    const slot = (t: HuffmanTable) => (tables.includes(t) ? tables.indexOf(t) : tables.push(t) - 1);
    const blocks: Array<{ ci: number; dc: number; ac: number; first: number; step: number }> = [];
    const single = scan.comps.length === 1;
    scan.comps.forEach((c, ci) => {
      const fc = first[comps.indexOf(c as FrameComponent)];
      for (let by = 0; by < (single ? 1 : c.v); by++) {
        for (let bx = 0; bx < (single ? 1 : c.h); bx++)
          blocks.push({ ci, dc: slot(scan.dc[ci]!), ac: slot(scan.ac[ci]!), first: fc + by * c.bw + bx, step: single ? 1 : c.h });
      }
    });
    wasm.huffScan(bytes.subarray(start, start + dataBytes), tables, blocks, NATURAL_ORDER);
    fastBlocks = (br, pred, b, total, end) => wasm.huffRun(br, start, end, pred, b, total);
  }
  return { wasm, onMcuRow, rgbDone: path !== undefined, fastBlocks };
}

/** jdapimin.c default_decompress_parms: gray, YCbCr or RGB. */
function colorSpace(comps: Component[], jfif: boolean, adobe: number | undefined): 'gray' | 'ycc' | 'rgb' {
  if (comps.length === 1) return 'gray';
  if (jfif) return 'ycc';
  if (adobe !== undefined) return adobe === 0 ? 'rgb' : 'ycc';
  return comps[0].id === 82 && comps[1].id === 71 && comps[2].id === 66 ? 'rgb' : 'ycc';
}

function parseFrame(seg: Uint8Array, progressive: boolean, label: string) {
  const p = seg[0];
  const h = (seg[1] << 8) | seg[2];
  const w = (seg[3] << 8) | seg[4];
  const n = seg[5];
  if (p !== 8) throw new ImageError(`${label}: ${p}-bit JPEG is not supported (8-bit only)`);
  if (w > MAX_DIMENSION || h > MAX_DIMENSION) {
    throw new ImageError(
      `${label}: JPEG is ${w}x${h}, libjpeg's limit is ${MAX_DIMENSION} pixels a side`,
      'libjpeg, and so Pillow, refuses it ("Maximum supported image dimension is 65500 pixels")',
    );
  }
  if (n !== 1 && n !== 3) throw new ImageError(`${label}: JPEG with ${n} components is not supported (1 = gray, 3 = YCbCr/RGB)`);
  if (seg.length < 6 + 3 * n) throw new ImageError(`${label}: JPEG frame header too short for ${n} components`, 'the file is corrupt');
  const raw = Array.from({ length: n }, (_, i) => ({
    id: seg[6 + 3 * i],
    h: seg[7 + 3 * i] >> 4,
    v: seg[7 + 3 * i] & 15,
    tq: seg[8 + 3 * i],
  }));
  const maxH = Math.max(...raw.map((c) => c.h));
  const maxV = Math.max(...raw.map((c) => c.v));
  const mcusX = Math.ceil(w / (8 * maxH));
  const mcusY = Math.ceil(h / (8 * maxV));
  const comps: FrameComponent[] = raw.map((c) => {
    const bw = mcusX * c.h;
    const bh = mcusY * c.v;
    return {
      ...c,
      bw,
      bh,
      wib: Math.ceil((w * c.h) / (8 * maxH)),
      hib: Math.ceil((h * c.v) / (8 * maxV)),
      coefs: new Int16Array(0), // allocated at the first scan (or never: decodeJpegExact)
      lastNz: new Uint8Array(progressive ? bw * bh : 0),
      coefBits: new Int32Array(64).fill(-1),
      prevCoefBits: new Int32Array(64),
    };
  });
  return { w, h, progressive, comps, geo: { progressive, mcusX, mcusY, restartInterval: 0, lastGoodRow: 0 } };
}

function parseDht(seg: Uint8Array, dc: Array<HuffmanTable | undefined>, ac: Array<HuffmanTable | undefined>, label: string): void {
  let o = 0;
  while (o < seg.length) {
    if (o + 17 > seg.length) throw new ImageError(`${label}: JPEG Huffman table segment is truncated`, 'the file is corrupt');
    const tc = seg[o] >> 4;
    const th = seg[o] & 15;
    const counts = seg.subarray(o + 1, o + 17);
    const total = counts.reduce((a, b) => a + b, 0);
    if (total > 256 || o + 17 + total > seg.length)
      throw new ImageError(
        `${label}: JPEG Huffman table is corrupt (${total} symbols)`,
        'the file is corrupt (libjpeg: "Bogus Huffman table definition")',
      );
    if (th > 3 || tc > 1) throw new ImageError(`${label}: JPEG Huffman table class/slot ${tc}/${th} is invalid`, 'the file is corrupt');
    const t = buildHuffmanTable(counts, seg.subarray(o + 17, o + 17 + total), tc === 0, label);
    (tc === 0 ? dc : ac)[th] = t;
    o += 17 + total;
  }
}

function parseDqt(seg: Uint8Array, qt: Array<Uint16Array | undefined>, label: string): void {
  let o = 0;
  while (o < seg.length) {
    const pq = seg[o] >> 4;
    const tq = seg[o] & 15;
    if (tq > 3) throw new ImageError(`${label}: JPEG quantization table slot ${tq} is invalid`, 'the file is corrupt');
    const size = pq ? 128 : 64;
    if (o + 1 + size > seg.length) throw new ImageError(`${label}: JPEG quantization table segment is truncated`, 'the file is corrupt');
    const t = new Uint16Array(64); // natural order
    for (let k = 0; k < 64; k++) t[NATURAL_ORDER[k]] = pq ? (seg[o + 1 + 2 * k] << 8) | seg[o + 2 + 2 * k] : seg[o + 1 + k];
    qt[tq] = t;
    o += 1 + size;
  }
}

function parseSos(
  seg: Uint8Array,
  comps: Component[],
  dc: Array<HuffmanTable | undefined>,
  ac: Array<HuffmanTable | undefined>,
  progressive: boolean,
  label: string,
): Scan {
  const n = seg[0];
  if (n < 1 || n > 4 || seg.length !== 4 + 2 * n)
    throw new ImageError(`${label}: JPEG scan header is corrupt (${n} components, ${seg.length} bytes)`, 'the file is corrupt');
  const scan: Scan = {
    comps: [],
    dc: [],
    ac: [],
    ss: seg[1 + 2 * n],
    se: seg[2 + 2 * n],
    ah: seg[3 + 2 * n] >> 4,
    al: seg[3 + 2 * n] & 15,
  };
  for (let i = 0; i < n; i++) {
    const id = seg[1 + 2 * i];
    const td = seg[2 + 2 * i] >> 4;
    const ta = seg[2 + 2 * i] & 15;
    const c = comps.find((x) => x.id === id);
    if (!c || scan.comps.includes(c))
      throw new ImageError(
        `${label}: JPEG scan names component id ${id}, ${c ? 'twice' : 'which the frame does not have'}`,
        'the file is corrupt',
      );
    scan.comps.push(c);
    // which tables the scan needs: sequential both; progressive DC-first the DC one, AC scans the AC one
    const needDc = !progressive || (scan.ss === 0 && scan.ah === 0);
    const needAc = !progressive || scan.ss !== 0;
    // no DHT for the slot (Motion-JPEG style): the standard table, stored in the slot as
    // jstdhuff.c jpeg_std_huff_table stores it
    if (needDc && !dc[td]) dc[td] = standardHuffmanTable(true, td, label);
    if (needAc && !ac[ta]) ac[ta] = standardHuffmanTable(false, ta, label);
    if ((needDc && !dc[td]) || (needAc && !ac[ta])) {
      const slot = needDc && !dc[td] ? td : ta;
      throw new ImageError(
        `${label}: JPEG scan uses Huffman table ${needDc && !dc[td] ? 'DC' : 'AC'} ${slot}, which no DHT segment defines`,
        `the file is corrupt (libjpeg, and so Pillow, refuses it: "Huffman table 0x${slot.toString(16).padStart(2, '0')} was not defined"; only slots 0 and 1 have standard tables)`,
      );
    }
    scan.dc.push(dc[td]);
    scan.ac.push(ac[ta]);
  }
  return scan;
}

/** IDCT every block to a component plane, then upsample and convert row by row. */
function output(
  w: number,
  h: number,
  comps: FrameComponent[],
  space: 'gray' | 'ycc' | 'rgb',
  idct: JpegIdct,
  smooth?: { scans: number; lastGoodRow: number; iMcuRows: number },
  streamed?: WasmIdct,
): RgbImage {
  const maxH = Math.max(...comps.map((c) => c.h));
  const maxV = Math.max(...comps.map((c) => c.v));
  const zeroQ = new Uint16Array(64);
  // the planes live in the WebAssembly IDCT's memory when it runs (not for block smoothing)
  const wasm =
    streamed ??
    (idct === 'wasm' && !smooth
      ? createWasmIdct(
          comps.map((c) => c.wib * 8 * c.hib * 8),
          Math.max(...comps.map((c) => c.bw)),
          w,
        )
      : undefined);
  if (idct === 'wasm' && !smooth && !wasm)
    throw new Error('JPEG: the WebAssembly IDCT was requested, but this engine has no WebAssembly SIMD128');
  const planes: Plane[] = comps.map((c, ci) => {
    const stride = c.wib * 8;
    const data = wasm ? wasm.plane(ci) : new Uint8Array(stride * c.hib * 8); // [hib * 8, wib * 8]
    const q = Int32Array.from(c.q ?? zeroQ); // a component no scan reached: libjpeg's all-zero multipliers
    if (streamed) {
      // done per MCU row while decoding
    } else if (smooth) idctSmoothed(c, q, smooth.iMcuRows, smooth.scans, smooth.lastGoodRow, data, stride);
    else if (wasm) {
      for (let by = 0; by < c.hib; by++) wasm.blockRow(c.coefs, c.bw, c.wib, by, q, ci, stride);
    } else {
      const coefs = c.coefs;
      for (let by = 0; by < c.hib; by++) {
        for (let bx = 0, co = by * c.bw * 64, oo = by * 8 * stride; bx < c.wib; bx++, co += 64, oo += 8)
          idctIslow(coefs, co, q, data, oo, stride);
      }
    }
    const dw = Math.ceil((w * c.h) / maxH);
    const dh = Math.ceil((h * c.v) / maxV);
    const method = upsampleMethod(c.h, c.v, maxH, maxV, dw);
    if (!method) {
      throw new ImageError(
        `JPEG sampling factors ${comps.map((x) => `${x.h}x${x.v}`).join(', ')}: component ${c.id} is not an integer fraction of ${maxH}x${maxV}`,
        'libjpeg, and so Pillow, refuses it ("Fractional sampling not implemented yet")',
      );
    }
    return { data, stride, dw, dh, hx: maxH / c.h, vx: maxV / c.v, method };
  });
  const out = new Uint8Array(w * h * 3); // [H, W, 3]
  const [Y, cb, cr] = planes;
  if (
    space === 'ycc' &&
    Y.method === 'fullsize' &&
    cb.method === 'h2v2Fancy' &&
    cr.method === 'h2v2Fancy' &&
    cb.stride === cr.stride &&
    cb.dh === cr.dh
  ) {
    // 4:2:0, the usual case: upsampling fused with the colour conversion, no row buffers
    if (wasm) {
      wasm.yccH2v2(w, h, Y.stride, cb.stride, cb.dw, cb.dh, out);
      return { width: w, height: h, data: out };
    }
    for (let y = 0; y < h; y++) yccH2v2Row(Y.data, y * Y.stride, cb.data, cr.data, cb.stride, cb.dw, cb.dh, y, w, out, y * w * 3);
    return { width: w, height: h, data: out };
  }
  if (wasm && planes.every((p) => p.method === 'fullsize')) {
    // 4:4:4, RGB or gray on WebAssembly: straight from the planes
    wasm.fullsize(
      space,
      w,
      h,
      planes.map((p) => p.stride),
      out,
    );
    return { width: w, height: h, data: out };
  }
  if (space === 'ycc' && Y.method === 'fullsize' && cb.method === 'fullsize' && cr.method === 'fullsize') {
    // 4:4:4: the planes are the rows
    for (let y = 0; y < h; y++) yccToRgbRow(Y.data, cb.data, cr.data, w, out, y * w * 3, y * Y.stride, y * cb.stride, y * cr.stride);
    return { width: w, height: h, data: out };
  }
  const rows = planes.map((p) => new Uint8Array(Math.max(w, 2 * p.dw, p.dw * p.hx)));
  for (let y = 0; y < h; y++) {
    for (let i = 0; i < planes.length; i++) upsampleRow(planes[i], y, rows[i]);
    if (space === 'gray') grayRow(rows[0], w, out, y * w * 3);
    else if (space === 'ycc') yccToRgbRow(rows[0], rows[1], rows[2], w, out, y * w * 3);
    else rgbRow(rows[0], rows[1], rows[2], w, out, y * w * 3);
  }
  return { width: w, height: h, data: out };
}
