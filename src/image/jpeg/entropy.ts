// Entropy decoding of one scan into the coefficient buffers — mirrors libjpeg-turbo jdhuff.c
// (sequential: decode_mcu) and jdphuff.c (progressive: decode_mcu_DC_first, DC_refine,
// AC_first, AC_refine), with restart intervals (process_restart).
// Coefficients are stored in natural (row-major) order as JCOEF (int16: Int16Array wraps the way
// a C short does); DC predictions are C ints (`| 0`).
// Legend: Ss..Se spectral band, Ah/Al successive-approximation bit positions, EOBRUN
// end-of-band run, MCU minimum coded unit.

import { ImageError } from '../../errors.js';
import type { BitReader } from './bitreader.js';
import { decodeHuffman, extend, FAST_BITS, type HuffmanTable, LOOKAHEAD } from './huffman.js';

const FAST_MASK = (1 << FAST_BITS) - 1;

/** jpeg_natural_order: zigzag index -> natural index, plus 16 extra 63s so a corrupt run that
 *  overshoots k = 63 lands on coefficient 63, as in libjpeg. */
export const NATURAL_ORDER = Int32Array.from([
  0,
  1,
  8,
  16,
  9,
  2,
  3,
  10,
  17,
  24,
  32,
  25,
  18,
  11,
  4,
  5,
  12,
  19,
  26,
  33,
  40,
  48,
  41,
  34,
  27,
  20,
  13,
  6,
  7,
  14,
  21,
  28,
  35,
  42,
  49,
  56,
  57,
  50,
  43,
  36,
  29,
  22,
  15,
  23,
  30,
  37,
  44,
  51,
  58,
  59,
  52,
  45,
  38,
  31,
  39,
  46,
  53,
  60,
  61,
  54,
  47,
  55,
  62,
  63,
  ...new Array(16).fill(63),
]);

export interface Component {
  id: number;
  /** Sampling factors. */
  h: number;
  v: number;
  /** Quantization table slot. */
  tq: number;
  /** width_in_blocks / height_in_blocks: blocks covering the component's samples. */
  wib: number;
  hib: number;
  /** Stored blocks per row / column (whole MCUs). */
  bw: number;
  bh: number;
  /** [bh * bw * 64] dequantization-free coefficients, natural order. */
  coefs: Int16Array;
  /** Progressive: [bh * bw] per block, an upper bound of the zigzag index of its last nonzero AC
   *  coefficient (0 = none), kept by the AC scans, so an AC refinement walks a block's band only
   *  up to there (past it every coefficient is zero and takes no correction bit); empty for
   *  sequential frames. Not in libjpeg, which walks the whole band: same bits, same result. */
  lastNz: Uint8Array;
  /** Progressive: coef_bits per zigzag coefficient (-1 = never sent), as libjpeg tracks it. */
  coefBits: Int32Array;
  /** Progressive: coef_bits[1..9] as they were before the component's latest scan (libjpeg's
   *  second half of cinfo->coef_bits; 0 after the file's first scan). Block smoothing uses these
   *  for iMCU rows past lastGoodRow. */
  prevCoefBits: Int32Array;
}

export interface Scan {
  comps: Component[];
  dc: Array<HuffmanTable | undefined>;
  ac: Array<HuffmanTable | undefined>;
  ss: number;
  se: number;
  ah: number;
  al: number;
}

export interface FrameGeometry {
  progressive: boolean;
  mcusX: number;
  mcusY: number;
  restartInterval: number;
  /** jdcoefct.c master->last_good_iMCU_row: the last iMCU row whose MCU started with data left
   *  (set per MCU of every scan, so the last scan decides it). */
  lastGoodRow: number;
}

/** Decode scan number `scanNumber` (1-based, libjpeg's input_scan_number); on return `br` is at
 *  the end of the scan's data. With `onMcuRow`, each component's `coefs` holds one MCU row only
 *  (its v block rows; one block row in a one-component scan), zeroed, and onMcuRow(my) is called
 *  after MCU row my is decoded (libjpeg's decompress_onepass: the IDCT runs per iMCU row).
 *  `fastBlocks` (sequential and progressive DC scans without restarts): decodes blocks b..total)
 *  of MCU row my (MCU b / blocks per MCU, its block b % that) as decodeBlockFast (or
 *  decodeDcFirstFast / decodeDcRefineFast) would while the next block's bytes lie before `end`,
 *  returns the first block not decoded (idct-wasm.ts huffRun, dcRun).
 *  `refineBlocks` (one-component AC refinements without restarts): blocks block..block+n) of
 *  component c as this loop and decodeAcRefineFast would do them while each decoded block's
 *  bytes lie before `end`; eob.v = EOBRUN in and out; returns the blocks done (idct-wasm.ts acRefine). */
export function decodeScan(
  br: BitReader,
  f: FrameGeometry,
  s: Scan,
  scanNumber: number,
  label: string,
  onMcuRow?: (my: number) => void,
  fastBlocks?: (br: BitReader, pred: Int32Array, b: number, total: number, end: number, my: number) => number,
  refineBlocks?: (br: BitReader, c: Component, block: number, n: number, end: number, eob: { v: number }) => number,
): void {
  const comps = s.comps;
  const n = comps.length;
  if (f.progressive) checkProgression(s, scanNumber, label);
  // per-scan state (start_pass_huff_decoder / start_pass_phuff_decoder)
  const pred = new Int32Array(n);
  let eobrun = 0;
  let restartsToGo = f.restartInterval;
  let nextRestart = 0;
  br.insufficient = false;

  const kind = !f.progressive ? 'seq' : s.ss === 0 ? (s.ah === 0 ? 'dcFirst' : 'dcRefine') : s.ah === 0 ? 'acFirst' : 'acRefine';
  const p1 = 1 << s.al;
  const m1 = -1 << s.al;

  // jdhuff.c decode_mcu's fast path: a block whose every possible byte lies before the next
  // marker is decoded by decodeBlockFast (sequential) or decodeDcFirstFast / decodeAcFirstFast /
  // decodeAcRefineFast (progressive): same results, bit buffer in locals, no marker checks
  let safeEnd = br.markerFreeEnd();
  // bytes one block may take (MAX_BLOCK_BYTES; a DC first block at most 31 bits, a DC refinement
  // block 1 bit, + the bit buffer's read-ahead, every byte possibly stuffed)
  const maxBytes = kind === 'dcRefine' ? 16 : kind === 'dcFirst' ? 24 : MAX_BLOCK_BYTES;

  /** One block of component ci (index in the scan) at coefficient offset o. */
  const block = (ci: number, blk: Int16Array, o: number): void => {
    if (br.marker === 0 && br.pos + maxBytes < safeEnd) {
      if (kind === 'seq') decodeBlockFast(br, s.dc[ci]!, s.ac[ci]!, pred, ci, blk, o);
      else if (kind === 'acFirst') {
        if (eobrun > 0) eobrun--;
        else eobrun = decodeAcFirstFast(br, s.ac[ci]!, s.ss, s.se, p1, blk, o, comps[ci].lastNz);
      } else if (kind === 'acRefine') eobrun = decodeAcRefineFast(br, s.ac[ci]!, s.ss, s.se, p1, m1, blk, o, eobrun, comps[ci].lastNz);
      else if (kind === 'dcFirst') decodeDcFirstFast(br, s.dc[ci]!, pred, ci, s.al, blk, o);
      else decodeDcRefineFast(br, p1, blk, o);
      return;
    }
    if (kind === 'seq') {
      const dc = s.dc[ci]!;
      const ac = s.ac[ci]!;
      let t = decodeHuffman(br, dc);
      if (t) t = extend(br.getBits(t), t);
      pred[ci] = (pred[ci] + t) | 0;
      blk[o] = pred[ci];
      for (let k = 1; k < 64; k++) {
        const rs = decodeHuffman(br, ac);
        const r = rs >> 4;
        const sz = rs & 15;
        if (sz) {
          k += r;
          blk[o + NATURAL_ORDER[k]] = extend(br.getBits(sz), sz);
        } else {
          if (r !== 15) break;
          k += 15;
        }
      }
    } else if (kind === 'dcFirst') {
      let t = decodeHuffman(br, s.dc[ci]!);
      if (t) t = extend(br.getBits(t), t);
      pred[ci] = (pred[ci] + t) | 0;
      blk[o] = pred[ci] << s.al;
    } else if (kind === 'dcRefine') {
      if (br.getBit()) blk[o] |= p1;
    } else if (kind === 'acFirst') {
      if (eobrun > 0) {
        eobrun--;
        return;
      }
      const ac = s.ac[ci]!;
      for (let k = s.ss; k <= s.se; k++) {
        const rs = decodeHuffman(br, ac);
        const r = rs >> 4;
        const sz = rs & 15;
        if (sz) {
          k += r;
          blk[o + NATURAL_ORDER[k]] = extend(br.getBits(sz), sz) * p1;
          if (k > comps[ci].lastNz[o >> 6]) comps[ci].lastNz[o >> 6] = k;
        } else if (r === 15) {
          k += 15;
        } else {
          eobrun = 1 << r;
          if (r) eobrun += br.getBits(r);
          eobrun--;
          break;
        }
      }
    } else {
      // AC refinement: new coefficients are +-1 << Al; already-nonzero ones on the way get a
      // correction bit each (jdphuff.c decode_mcu_AC_refine)
      const ac = s.ac[ci]!;
      let k = s.ss;
      if (eobrun === 0) {
        for (; k <= s.se; k++) {
          const rs = decodeHuffman(br, ac);
          let r = rs >> 4;
          let sz = rs & 15;
          if (sz) {
            // libjpeg warns if sz != 1 and carries on
            sz = br.getBit() ? p1 : m1;
          } else if (r !== 15) {
            eobrun = 1 << r;
            if (r) eobrun += br.getBits(r);
            break;
          }
          do {
            const pos = o + NATURAL_ORDER[k];
            const c = blk[pos];
            if (c !== 0) {
              if (br.getBit() && (c & p1) === 0) blk[pos] = c >= 0 ? c + p1 : c + m1;
            } else if (--r < 0) break;
            k++;
          } while (k <= s.se);
          if (sz) {
            blk[o + NATURAL_ORDER[k]] = sz;
            if (k > comps[ci].lastNz[o >> 6]) comps[ci].lastNz[o >> 6] = k;
          }
        }
      }
      if (eobrun > 0) {
        for (; k <= s.se; k++) {
          const pos = o + NATURAL_ORDER[k];
          const c = blk[pos];
          if (c !== 0 && br.getBit() && (c & p1) === 0) blk[pos] = c >= 0 ? c + p1 : c + m1;
        }
        eobrun--;
      }
    }
  };

  const single = n === 1;
  const mcusX = single ? comps[0].wib : f.mcusX;
  const mcusY = single ? comps[0].hib : f.mcusY;
  const rowsPerIMcu = single ? comps[0].v : 1;
  if ((kind === 'seq' || kind === 'dcFirst' || kind === 'dcRefine') && !f.restartInterval) {
    // A sequential or progressive DC scan without restarts (most files): the loop below without
    // its per-MCU machinery; the blocks of an MCU listed once (component, offset from the MCU's
    // first block). Same order, same calls, same state as the loop below.
    const bc: number[] = [];
    const bo: number[] = [];
    comps.forEach((c, ci) => {
      for (let by = 0; by < (single ? 1 : c.v); by++) {
        for (let bx = 0; bx < (single ? 1 : c.h); bx++) {
          bc.push(ci);
          bo.push((by * c.bw + bx) * 64);
        }
      }
    });
    const nb = bc.length;
    const end = safeEnd;
    const total = mcusX * nb; // blocks in an MCU row
    for (let my = 0; my < mcusY; my++) {
      const row = onMcuRow ? 0 : my; // MCU row in `coefs`
      if (!br.insufficient) f.lastGoodRow = Math.floor(my / rowsPerIMcu);
      for (let b = 0; b < total; b++) {
        const mx = Math.floor(b / nb);
        const j = b - mx * nb;
        if (j === 0 && br.insufficient) break; // checked before each MCU
        const ci = bc[j];
        const c = comps[ci];
        const o = single ? (row * c.bw + mx) * 64 : (row * c.v * c.bw + mx * c.h) * 64 + bo[j];
        if (br.marker === 0 && br.pos + maxBytes < end) {
          const next = fastBlocks ? fastBlocks(br, pred, b, total, end, my) : b;
          if (next > b) b = next - 1;
          else if (kind === 'dcFirst') decodeDcFirstFast(br, s.dc[ci]!, pred, ci, s.al, c.coefs, o);
          else if (kind === 'dcRefine') decodeDcRefineFast(br, p1, c.coefs, o);
          else decodeBlockFast(br, s.dc[ci]!, s.ac[ci]!, pred, ci, c.coefs, o);
        } else block(ci, c.coefs, o);
      }
      onMcuRow?.(my);
    }
    br.discardBits();
    return;
  }
  if (single && (kind === 'acFirst' || kind === 'acRefine') && !f.restartInterval && !onMcuRow) {
    // A progressive AC scan of one component without restarts (most of a progressive file's
    // blocks): the loop below without its per-MCU machinery, blocks inside an EOB run that need
    // no bits skipped here (an AC first block always; a refinement block whose coefficients in
    // the band are all zero, lastNz < Ss). Same order, same calls, same state as the loop below.
    const c = comps[0];
    const ac = s.ac[0]!;
    const blk = c.coefs;
    const lastNz = c.lastNz;
    const first = kind === 'acFirst';
    const eob = { v: 0 };
    for (let my = 0; my < mcusY && !br.insufficient; my++) {
      f.lastGoodRow = Math.floor(my / rowsPerIMcu);
      for (let mx = 0, o = my * c.bw * 64; mx < mcusX; mx++, o += 64) {
        if (eobrun > 0 && (first || lastNz[o >> 6] < s.ss)) eobrun--;
        else if (br.marker === 0 && br.pos + MAX_BLOCK_BYTES < safeEnd) {
          if (first) eobrun = decodeAcFirstFast(br, ac, s.ss, s.se, p1, blk, o, lastNz);
          else {
            if (refineBlocks) {
              eob.v = eobrun;
              const done = refineBlocks(br, c, o >> 6, mcusX - mx, safeEnd, eob);
              if (done > 0) {
                eobrun = eob.v;
                mx += done - 1;
                o += (done - 1) * 64;
                continue;
              }
            }
            eobrun = decodeAcRefineFast(br, ac, s.ss, s.se, p1, m1, blk, o, eobrun, lastNz);
          }
        } else {
          block(0, blk, o);
          if (br.insufficient) break; // the rest of the scan keeps its coefficients
        }
      }
    }
    br.discardBits();
    return;
  }
  for (let my = 0; my < mcusY; my++) {
    const row = onMcuRow ? 0 : my; // MCU row in `coefs`
    for (let mx = 0; mx < mcusX; mx++) {
      // jdcoefct.c consume_data/decompress_onepass, before decode_mcu (and so before its restart)
      if (!br.insufficient) f.lastGoodRow = Math.floor(my / rowsPerIMcu);
      if (f.restartInterval) {
        if (restartsToGo === 0) {
          // process_restart: drop the leftover bits, read RSTn, reset the predictions
          br.discardBits();
          br.readRestart(nextRestart);
          nextRestart = (nextRestart + 1) & 7;
          pred.fill(0);
          eobrun = 0;
          restartsToGo = f.restartInterval;
          if (br.marker === 0) br.insufficient = false;
          safeEnd = br.markerFreeEnd();
        }
      }
      // out of data: leave the rest of the restart interval as it is (zeros, or earlier scans')
      if (!br.insufficient) {
        for (let ci = 0; ci < n; ci++) {
          const c = comps[ci];
          if (single) block(0, c.coefs, (row * c.bw + mx) * 64);
          else {
            for (let by = 0; by < c.v; by++) {
              for (let bx = 0; bx < c.h; bx++) block(ci, c.coefs, ((row * c.v + by) * c.bw + mx * c.h + bx) * 64);
            }
          }
        }
      }
      if (f.restartInterval) restartsToGo--;
    }
    onMcuRow?.(my);
  }
  br.discardBits();
}

/** Upper bound of the entropy bytes one block takes: DC and 63 AC symbols of at most 16 code +
 *  15 value bits (2016 bits, 252 bytes), every byte possibly a stuffed 0xFF 0x00 pair, plus
 *  the up to 4 bytes the bit buffer reads ahead. */
const MAX_BLOCK_BYTES = 512 + 8;

/**
 * One sequential block, as `block` decodes it in decodeScan (jdhuff.c decode_mcu_fast: the bit
 * buffer in locals, no marker checks, no padding), for data known to hold no marker before the
 * block's last possible byte (decodeScan checks markerFreeEnd). Same tables, same results,
 * including the bad-code case (17 bits, symbol 0). Coefficients land in blk[o..o+64).
 */
function decodeBlockFast(
  br: BitReader,
  dc: HuffmanTable,
  ac: HuffmanTable,
  pred: Int32Array,
  ci: number,
  blk: Int16Array,
  o: number,
): void {
  const d = br.data;
  let buf = br.buf;
  let bits = br.bits;
  let pos = br.pos;
  // DC: size category, then the extra bits of the difference (HUFF_EXTEND)
  if (bits < 16)
    while (bits <= 24) {
      const c = d[pos++];
      if (c === 0xff) pos++;
      buf = (buf << 8) | c;
      bits += 8;
    }
  // code + extra bits in one lookup when they fit in FAST_BITS (huffman.ts `fast`)
  let f = dc.fast[(buf >>> (bits - FAST_BITS)) & FAST_MASK];
  let t = 0;
  let sym: number;
  if (f !== 0) {
    bits -= f & 0xff;
    t = f >> 16;
  } else {
    const e = dc.lookup[(buf >>> (bits - LOOKAHEAD)) & 511];
    if (e !== 0) {
      bits -= e >> 8;
      sym = e & 0xff;
    } else {
      let l = LOOKAHEAD + 1;
      while (l <= 16 && ((buf >>> (bits - l)) & ((1 << l) - 1)) > dc.maxcode[l]) l++;
      if (l <= 16) {
        sym = dc.huffval[(((buf >>> (bits - l)) & ((1 << l) - 1)) + dc.valoffset[l]) & 0xff];
        bits -= l;
      } else {
        bits -= 16;
        if (bits < 1)
          while (bits <= 24) {
            const c = d[pos++];
            if (c === 0xff) pos++;
            buf = (buf << 8) | c;
            bits += 8;
          }
        bits -= 1;
        sym = 0;
      }
    }
    if (sym) {
      if (bits < sym)
        while (bits <= 24) {
          const c = d[pos++];
          if (c === 0xff) pos++;
          buf = (buf << 8) | c;
          bits += 8;
        }
      bits -= sym;
      const r = (buf >>> bits) & ((1 << sym) - 1);
      t = r < 1 << (sym - 1) ? r + (-1 << sym) + 1 : r;
    }
  }
  pred[ci] = (pred[ci] + t) | 0;
  blk[o] = pred[ci];
  // AC: (run, size) symbols in zigzag order until EOB or k = 63
  for (let k = 1; k < 64; k++) {
    if (bits < 16)
      while (bits <= 24) {
        const c = d[pos++];
        if (c === 0xff) pos++;
        buf = (buf << 8) | c;
        bits += 8;
      }
    f = ac.fast[(buf >>> (bits - FAST_BITS)) & FAST_MASK];
    if (f !== 0) {
      bits -= f & 0xff;
      const v = f >> 16;
      if (v !== 0) {
        k += (f >> 12) & 15;
        blk[o + NATURAL_ORDER[k]] = v;
        continue;
      }
      if ((f & 0xf000) !== 0xf000) break; // EOB (sz = 0, run != 15)
      k += 15; // ZRL
      continue;
    }
    const e = ac.lookup[(buf >>> (bits - LOOKAHEAD)) & 511];
    if (e !== 0) {
      bits -= e >> 8;
      sym = e & 0xff;
    } else {
      let l = LOOKAHEAD + 1;
      while (l <= 16 && ((buf >>> (bits - l)) & ((1 << l) - 1)) > ac.maxcode[l]) l++;
      if (l <= 16) {
        sym = ac.huffval[(((buf >>> (bits - l)) & ((1 << l) - 1)) + ac.valoffset[l]) & 0xff];
        bits -= l;
      } else {
        bits -= 16;
        if (bits < 1)
          while (bits <= 24) {
            const c = d[pos++];
            if (c === 0xff) pos++;
            buf = (buf << 8) | c;
            bits += 8;
          }
        bits -= 1;
        sym = 0;
      }
    }
    const run = sym >> 4;
    const sz = sym & 15;
    if (sz) {
      k += run;
      if (bits < sz)
        while (bits <= 24) {
          const c = d[pos++];
          if (c === 0xff) pos++;
          buf = (buf << 8) | c;
          bits += 8;
        }
      bits -= sz;
      const r = (buf >>> bits) & ((1 << sz) - 1);
      blk[o + NATURAL_ORDER[k]] = r < 1 << (sz - 1) ? r + (-1 << sz) + 1 : r;
    } else {
      if (run !== 15) break;
      k += 15;
    }
  }
  br.buf = buf;
  br.bits = bits;
  br.pos = pos;
}

/** The symbol of the next code for the fast decoders when the combined lookup missed: the
 *  9-bit lookup, else the canonical search (codes of 10..16 bits), else a bad code (17 bits,
 *  symbol 0), as decodeHuffman. br.buf holds at least 16 bits; no marker checks (the caller
 *  made sure none is near). */
function fastSymbol(br: BitReader, t: HuffmanTable): number {
  const buf = br.buf;
  let bits = br.bits;
  const e = t.lookup[(buf >>> (bits - LOOKAHEAD)) & 511];
  if (e !== 0) {
    br.bits = bits - (e >> 8);
    return e & 0xff;
  }
  let l = LOOKAHEAD + 1;
  while (l <= 16 && ((buf >>> (bits - l)) & ((1 << l) - 1)) > t.maxcode[l]) l++;
  if (l <= 16) {
    br.bits = bits - l;
    return t.huffval[(((buf >>> (bits - l)) & ((1 << l) - 1)) + t.valoffset[l]) & 0xff];
  }
  bits -= 16;
  if (bits < 1) {
    const d = br.data;
    let b = buf;
    let pos = br.pos;
    while (bits <= 24) {
      const c = d[pos++];
      if (c === 0xff) pos++;
      b = (b << 8) | c;
      bits += 8;
    }
    br.buf = b;
    br.pos = pos;
  }
  br.bits = bits - 1;
  return 0;
}

/** jdphuff.c decode_mcu_DC_first for one block, bit buffer in locals (see decodeBlockFast). */
function decodeDcFirstFast(br: BitReader, dc: HuffmanTable, pred: Int32Array, ci: number, al: number, blk: Int16Array, o: number): void {
  const d = br.data;
  let buf = br.buf;
  let bits = br.bits;
  let pos = br.pos;
  if (bits < 16)
    while (bits <= 24) {
      const c = d[pos++];
      if (c === 0xff) pos++;
      buf = (buf << 8) | c;
      bits += 8;
    }
  const f = dc.fast[(buf >>> (bits - FAST_BITS)) & FAST_MASK];
  let t = 0;
  if (f !== 0) {
    bits -= f & 0xff;
    t = f >> 16;
  } else {
    br.buf = buf;
    br.bits = bits;
    br.pos = pos;
    const sz = fastSymbol(br, dc);
    buf = br.buf;
    bits = br.bits;
    pos = br.pos;
    if (sz) {
      if (bits < sz)
        while (bits <= 24) {
          const c = d[pos++];
          if (c === 0xff) pos++;
          buf = (buf << 8) | c;
          bits += 8;
        }
      bits -= sz;
      t = extend((buf >>> bits) & ((1 << sz) - 1), sz);
    }
  }
  pred[ci] = (pred[ci] + t) | 0;
  blk[o] = pred[ci] << al;
  br.buf = buf;
  br.bits = bits;
  br.pos = pos;
}

/** jdphuff.c decode_mcu_DC_refine for one block: one bit. */
function decodeDcRefineFast(br: BitReader, p1: number, blk: Int16Array, o: number): void {
  let bits = br.bits;
  if (bits < 1) {
    const d = br.data;
    let buf = br.buf;
    let pos = br.pos;
    while (bits <= 24) {
      const c = d[pos++];
      if (c === 0xff) pos++;
      buf = (buf << 8) | c;
      bits += 8;
    }
    br.buf = buf;
    br.pos = pos;
  }
  bits--;
  br.bits = bits;
  if ((br.buf >>> bits) & 1) blk[o] |= p1;
}

/** jdphuff.c decode_mcu_AC_first for one block that starts no inside an EOB run (the caller
 *  counts those down), bit buffer in locals; returns the new EOB run. */
function decodeAcFirstFast(
  br: BitReader,
  ac: HuffmanTable,
  ss: number,
  se: number,
  p1: number,
  blk: Int16Array,
  o: number,
  lastNz: Uint8Array,
): number {
  const d = br.data;
  let buf = br.buf;
  let bits = br.bits;
  let pos = br.pos;
  let eobrun = 0;
  let last = lastNz[o >> 6];
  for (let k = ss; k <= se; k++) {
    if (bits < 16)
      while (bits <= 24) {
        const c = d[pos++];
        if (c === 0xff) pos++;
        buf = (buf << 8) | c;
        bits += 8;
      }
    const f = ac.fast[(buf >>> (bits - FAST_BITS)) & FAST_MASK];
    let sym: number;
    if (f !== 0) {
      bits -= f & 0xff;
      const v = f >> 16;
      if (v !== 0) {
        k += (f >> 12) & 15;
        blk[o + NATURAL_ORDER[k]] = v * p1;
        last = k;
        continue;
      }
      sym = (f >> 8) & 0xff;
    } else {
      br.buf = buf;
      br.bits = bits;
      br.pos = pos;
      sym = fastSymbol(br, ac);
      buf = br.buf;
      bits = br.bits;
      pos = br.pos;
      const sz = sym & 15;
      if (sz) {
        k += sym >> 4;
        if (bits < sz)
          while (bits <= 24) {
            const c = d[pos++];
            if (c === 0xff) pos++;
            buf = (buf << 8) | c;
            bits += 8;
          }
        bits -= sz;
        blk[o + NATURAL_ORDER[k]] = extend((buf >>> bits) & ((1 << sz) - 1), sz) * p1;
        last = k;
        continue;
      }
    }
    const r = sym >> 4;
    if (r === 15) {
      k += 15;
      continue;
    } // ZRL
    eobrun = 1 << r; // EOBr: this block and 2^r + extra bits - 1 more end here
    if (r) {
      if (bits < r)
        while (bits <= 24) {
          const c = d[pos++];
          if (c === 0xff) pos++;
          buf = (buf << 8) | c;
          bits += 8;
        }
      bits -= r;
      eobrun += (buf >>> bits) & ((1 << r) - 1);
    }
    eobrun--;
    break;
  }
  if (last > lastNz[o >> 6]) lastNz[o >> 6] = last; // k only grows in a block: the last write is the largest
  br.buf = buf;
  br.bits = bits;
  br.pos = pos;
  return eobrun;
}

/** jdphuff.c decode_mcu_AC_refine for one block, bit buffer in locals; `eobrun` on entry, the new
 *  EOB run returned (the same steps as the careful path in decodeScan). */
function decodeAcRefineFast(
  br: BitReader,
  ac: HuffmanTable,
  ss: number,
  se: number,
  p1: number,
  m1: number,
  blk: Int16Array,
  o: number,
  eobrun: number,
  lastNz: Uint8Array,
): number {
  const d = br.data;
  let buf = br.buf;
  let bits = br.bits;
  let pos = br.pos;
  let k = ss;
  let last = lastNz[o >> 6];
  if (eobrun === 0) {
    for (; k <= se; k++) {
      if (bits < 16)
        while (bits <= 24) {
          const c = d[pos++];
          if (c === 0xff) pos++;
          buf = (buf << 8) | c;
          bits += 8;
        }
      const f = ac.fast[(buf >>> (bits - FAST_BITS)) & FAST_MASK];
      let sym: number;
      let s = 0;
      if (f !== 0 && (f & 0xe00) === 0) {
        // size 0 or 1: the combined entry's extra bit is the sign bit
        bits -= f & 0xff;
        sym = (f >> 8) & 0xff;
        if (f >> 16) s = f > 0 ? p1 : m1;
      } else {
        br.buf = buf;
        br.bits = bits;
        br.pos = pos;
        sym = fastSymbol(br, ac);
        buf = br.buf;
        bits = br.bits;
        pos = br.pos;
        if (sym & 15) {
          // libjpeg warns if the size is not 1, and reads one bit
          if (bits < 1)
            while (bits <= 24) {
              const c = d[pos++];
              if (c === 0xff) pos++;
              buf = (buf << 8) | c;
              bits += 8;
            }
          bits--;
          s = (buf >>> bits) & 1 ? p1 : m1;
        }
      }
      let r = sym >> 4;
      if (!(sym & 15) && r !== 15) {
        eobrun = 1 << r;
        if (r) {
          if (bits < r)
            while (bits <= 24) {
              const c = d[pos++];
              if (c === 0xff) pos++;
              buf = (buf << 8) | c;
              bits += 8;
            }
          bits -= r;
          eobrun += (buf >>> bits) & ((1 << r) - 1);
        }
        break;
      }
      // skip r zero coefficients, correcting the nonzero ones on the way
      do {
        const at = o + NATURAL_ORDER[k];
        const c = blk[at];
        if (c !== 0) {
          if (bits < 1)
            while (bits <= 24) {
              const c = d[pos++];
              if (c === 0xff) pos++;
              buf = (buf << 8) | c;
              bits += 8;
            }
          bits--;
          if ((buf >>> bits) & 1 && (c & p1) === 0) blk[at] = c >= 0 ? c + p1 : c + m1;
        } else if (--r < 0) break;
        k++;
      } while (k <= se);
      if (s) {
        blk[o + NATURAL_ORDER[k]] = s;
        if (k > last) last = k;
      }
    }
    lastNz[o >> 6] = last;
  }
  if (eobrun > 0) {
    // past `last` every coefficient is zero: no correction bits there
    for (const end = last < se ? last : se; k <= end; k++) {
      const at = o + NATURAL_ORDER[k];
      const c = blk[at];
      if (c !== 0) {
        if (bits < 1)
          while (bits <= 24) {
            const c = d[pos++];
            if (c === 0xff) pos++;
            buf = (buf << 8) | c;
            bits += 8;
          }
        bits--;
        if ((buf >>> bits) & 1 && (c & p1) === 0) blk[at] = c >= 0 ? c + p1 : c + m1;
      }
    }
    eobrun--;
  }
  br.buf = buf;
  br.bits = bits;
  br.pos = pos;
  return eobrun;
}

/** jdphuff.c start_pass_phuff_decoder: refuse an impossible band, track coef_bits (a mismatch
 *  is only a warning in libjpeg). */
function checkProgression(s: Scan, scanNumber: number, label: string): void {
  const dcBand = s.ss === 0;
  let bad = false;
  if (dcBand) {
    if (s.se !== 0) bad = true;
  } else {
    if (s.ss > s.se || s.se > 63) bad = true;
    if (s.comps.length !== 1) bad = true;
  }
  if (s.ah !== 0 && s.al !== s.ah - 1) bad = true;
  if (s.al > 13) bad = true;
  if (bad) {
    throw new ImageError(
      `${label}: JPEG progressive scan has an invalid band (Ss=${s.ss}, Se=${s.se}, Ah=${s.ah}, Al=${s.al})`,
      'the file is corrupt (libjpeg, and so Pillow, refuses it: "Invalid progressive parameters")',
    );
  }
  for (const c of s.comps) {
    for (let k = Math.min(s.ss, 1); k <= Math.max(s.se, 9); k++) c.prevCoefBits[k] = scanNumber > 1 ? c.coefBits[k] : 0;
    for (let k = s.ss; k <= s.se; k++) c.coefBits[k] = s.al;
  }
}
