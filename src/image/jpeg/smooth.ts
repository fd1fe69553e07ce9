// Inter-block smoothing of progressive JPEGs — mirrors libjpeg-turbo 3.1 jdcoefct.c
// (smoothing_ok, decompress_smooth_data), on because Pillow leaves do_block_smoothing TRUE.
// When a progressive file ends with some of the first 9 AC coefficients (zigzag 1..9) not known
// to full precision, libjpeg estimates each such coefficient that is still zero from the DC
// values of the block and its 24 neighbours (a 5x5 window), then runs the normal IDCT on the
// estimate. If no AC coefficient of 1..9 was ever sent for a component, its DC is re-estimated
// too (a Gaussian-like kernel) along with AC03, AC12, AC21, AC30.
// Legend: DCrc = quantized DC of the block at window row r, column c (DC01..DC25 row-major,
// DC13 the block itself); Qrc = quantizer of the coefficient at row r, column c; Al = the
// coefficient's coef_bits (bits still unknown; -1 = never sent).
// Numerics: libjpeg computes in JLONG (64-bit); every value here stays below 2^50, exact in
// float64, and the divisions are exact integer floor divisions (idiv). The estimate is stored
// into a JCOEF (Int16Array wraps as C's casts do).

import type { Component } from './entropy.js';
import { idctIslow } from './idct.js';

/** Natural-order positions of zigzag coefficients 1..9 (Q01, Q10, Q20, Q11, Q02, Q03, Q12, Q21, Q30). */
const Q01_POS = 1;
const Q10_POS = 8;
const Q20_POS = 16;
const Q11_POS = 9;
const Q02_POS = 2;
const Q03_POS = 3;
const Q12_POS = 10;
const Q21_POS = 17;
const Q30_POS = 24;

export interface SmoothComponent extends Component {
  /** Quantization table latched at the component's first scan, natural order. */
  q?: Uint16Array;
}

/** smoothing_ok, after the last scan: does libjpeg smooth this frame? */
export function smoothingOk(comps: SmoothComponent[]): boolean {
  let useful = false;
  for (const c of comps) {
    const q = c.q;
    if (!q) return false;
    // DC and the first 9 AC quantizers must be nonzero (they divide)
    for (const k of [0, Q01_POS, Q10_POS, Q20_POS, Q11_POS, Q02_POS, Q03_POS, Q12_POS, Q21_POS, Q30_POS]) if (q[k] === 0) return false;
    if (c.coefBits[0] < 0) return false; // DC at least partly known
    for (let k = 1; k < 10; k++) if (c.coefBits[k] !== 0) useful = true;
  }
  return useful;
}

/** floor(a / b) for integers 0 <= a < 2^53, 0 < b: exact where a float64 quotient may round up. */
function idiv(a: number, b: number): number {
  let d = Math.floor(a / b);
  if (d * b > a) d--;
  else if ((d + 1) * b <= a) d++;
  return d;
}

/** One estimate, as libjpeg rounds it: (Q*128 + |num|) / (Q*256) in integers, capped below 2^Al
 *  when Al > 0, with num's sign. */
function estimate(num: number, qk: number, al: number): number {
  let pred = idiv(qk * 128 + Math.abs(num), qk * 256);
  if (al > 0 && pred >= 1 << al) pred = (1 << al) - 1;
  return num >= 0 ? pred : -pred;
}

/**
 * decompress_smooth_data for one component: IDCT every block (by < hib, bx < wib) after
 * smoothing, into `out` (row stride `stride`). `iMcuRows` is the frame's total_iMCU_rows,
 * `scans` the number of scans read, `lastGoodRow` master->last_good_iMCU_row.
 */
export function idctSmoothed(
  c: SmoothComponent,
  q: Int32Array,
  iMcuRows: number,
  scans: number,
  lastGoodRow: number,
  out: Uint8Array,
  stride: number,
): void {
  const coefs = c.coefs;
  const rowLen = c.bw * 64;
  const v = c.v;
  const ws = new Int16Array(64); // libjpeg's coef->workspace: the block being estimated
  // smoothing_ok's latches: coef_bits, and the bits before each component's latest scan
  const bitsNow = Int32Array.from(c.coefBits.subarray(0, 10));
  const bitsPrev = Int32Array.from(c.prevCoefBits.subarray(0, 10), (b) => (scans > 1 ? b : -1));
  const Q00 = q[0];
  const Q01 = q[Q01_POS];
  const Q10 = q[Q10_POS];
  const Q20 = q[Q20_POS];
  const Q11 = q[Q11_POS];
  const Q02 = q[Q02_POS];
  const Q03 = q[Q03_POS];
  const Q12 = q[Q12_POS];
  const Q21 = q[Q21_POS];
  const Q30 = q[Q30_POS];
  const last = c.wib - 1; // last_block_column
  for (let r = 0; r < iMcuRows; r++) {
    // an iMCU row past the last good one (the last scan ran out of data there) uses the older bits
    const bits = r > lastGoodRow ? bitsPrev : bitsNow;
    let changeDc = true; // DC interpolation only if no AC coefficient 1..9 has any data
    for (let k = 1; k < 10; k++) if (bits[k] !== -1) changeDc = false;
    // block rows in this iMCU row; libjpeg counts the image's block rows as blockRows * iMcuRows
    // and numbers rows blockRows apart, which differs from the true count in the last iMCU row
    // (kept: it only decides which neighbours exist)
    let blockRows = v;
    if (r === iMcuRows - 1) blockRows = c.hib % v || v;
    const imageBlockRows = blockRows * iMcuRows;
    for (let br = 0; br < blockRows; br++) {
      const ibr = r * blockRows + br; // image_block_row
      const cur = (r * v + br) * rowLen; // this block row in the coefficient buffer
      const prev = ibr > 0 ? cur - rowLen : cur;
      const prev2 = ibr > 1 ? cur - 2 * rowLen : prev;
      const next = ibr < imageBlockRows - 1 ? cur + rowLen : cur;
      const next2 = ibr < imageBlockRows - 2 ? cur + 2 * rowLen : next;
      // the 5x5 DC window as a sliding register; all 25 set so narrow images work
      let DC01 = coefs[prev2];
      let DC02 = DC01;
      let DC03 = DC01;
      let DC04 = DC01;
      let DC05 = DC01;
      let DC06 = coefs[prev];
      let DC07 = DC06;
      let DC08 = DC06;
      let DC09 = DC06;
      let DC10 = DC06;
      let DC11 = coefs[cur];
      let DC12 = DC11;
      let DC13 = DC11;
      let DC14 = DC11;
      let DC15 = DC11;
      let DC16 = coefs[next];
      let DC17 = DC16;
      let DC18 = DC16;
      let DC19 = DC16;
      let DC20 = DC16;
      let DC21 = coefs[next2];
      let DC22 = DC21;
      let DC23 = DC21;
      let DC24 = DC21;
      let DC25 = DC21;
      for (let bx = 0; bx <= last; bx++) {
        const o = bx * 64;
        ws.set(coefs.subarray(cur + o, cur + o + 64));
        if (bx === 0 && bx < last) {
          DC04 = DC05 = coefs[prev2 + 64];
          DC09 = DC10 = coefs[prev + 64];
          DC14 = DC15 = coefs[cur + 64];
          DC19 = DC20 = coefs[next + 64];
          DC24 = DC25 = coefs[next2 + 64];
        }
        if (bx + 1 < last) {
          DC05 = coefs[prev2 + o + 128];
          DC10 = coefs[prev + o + 128];
          DC15 = coefs[cur + o + 128];
          DC20 = coefs[next + o + 128];
          DC25 = coefs[next2 + o + 128];
        }
        // each estimate only where the coefficient is still zero and not known to full precision
        let al: number;
        if ((al = bits[1]) !== 0 && ws[Q01_POS] === 0) {
          // AC01
          ws[Q01_POS] = estimate(
            Q00 *
              (changeDc
                ? -DC01 -
                  DC02 +
                  DC04 +
                  DC05 -
                  3 * DC06 +
                  13 * DC07 -
                  13 * DC09 +
                  3 * DC10 -
                  3 * DC11 +
                  38 * DC12 -
                  38 * DC14 +
                  3 * DC15 -
                  3 * DC16 +
                  13 * DC17 -
                  13 * DC19 +
                  3 * DC20 -
                  DC21 -
                  DC22 +
                  DC24 +
                  DC25
                : -7 * DC11 + 50 * DC12 - 50 * DC14 + 7 * DC15),
            Q01,
            al,
          );
        }
        if ((al = bits[2]) !== 0 && ws[Q10_POS] === 0) {
          // AC10
          ws[Q10_POS] = estimate(
            Q00 *
              (changeDc
                ? -DC01 -
                  3 * DC02 -
                  3 * DC03 -
                  3 * DC04 -
                  DC05 -
                  DC06 +
                  13 * DC07 +
                  38 * DC08 +
                  13 * DC09 -
                  DC10 +
                  DC16 -
                  13 * DC17 -
                  38 * DC18 -
                  13 * DC19 +
                  DC20 +
                  DC21 +
                  3 * DC22 +
                  3 * DC23 +
                  3 * DC24 +
                  DC25
                : -7 * DC03 + 50 * DC08 - 50 * DC18 + 7 * DC23),
            Q10,
            al,
          );
        }
        if ((al = bits[3]) !== 0 && ws[Q20_POS] === 0) {
          // AC20
          ws[Q20_POS] = estimate(
            Q00 *
              (changeDc
                ? DC03 + 2 * DC07 + 7 * DC08 + 2 * DC09 - 5 * DC12 - 14 * DC13 - 5 * DC14 + 2 * DC17 + 7 * DC18 + 2 * DC19 + DC23
                : -DC03 + 13 * DC08 - 24 * DC13 + 13 * DC18 - DC23),
            Q20,
            al,
          );
        }
        if ((al = bits[4]) !== 0 && ws[Q11_POS] === 0) {
          // AC11
          ws[Q11_POS] = estimate(
            Q00 *
              (changeDc
                ? -DC01 + DC05 + 9 * DC07 - 9 * DC09 - 9 * DC17 + 9 * DC19 + DC21 - DC25
                : DC10 + DC16 - 10 * DC17 + 10 * DC19 - DC02 - DC20 + DC22 - DC24 + DC04 - DC06 + 10 * DC07 - 10 * DC09),
            Q11,
            al,
          );
        }
        if ((al = bits[5]) !== 0 && ws[Q02_POS] === 0) {
          // AC02
          ws[Q02_POS] = estimate(
            Q00 *
              (changeDc
                ? 2 * DC07 - 5 * DC08 + 2 * DC09 + DC11 + 7 * DC12 - 14 * DC13 + 7 * DC14 + DC15 + 2 * DC17 - 5 * DC18 + 2 * DC19
                : -DC11 + 13 * DC12 - 24 * DC13 + 13 * DC14 - DC15),
            Q02,
            al,
          );
        }
        if (changeDc) {
          if ((al = bits[6]) !== 0 && ws[Q03_POS] === 0) {
            // AC03
            ws[Q03_POS] = estimate(Q00 * (DC07 - DC09 + 2 * DC12 - 2 * DC14 + DC17 - DC19), Q03, al);
          }
          if ((al = bits[7]) !== 0 && ws[Q12_POS] === 0) {
            // AC12
            ws[Q12_POS] = estimate(Q00 * (DC07 - 3 * DC08 + DC09 - DC17 + 3 * DC18 - DC19), Q12, al);
          }
          if ((al = bits[8]) !== 0 && ws[Q21_POS] === 0) {
            // AC21
            ws[Q21_POS] = estimate(Q00 * (DC07 - DC09 - 3 * DC12 + 3 * DC14 + DC17 - DC19), Q21, al);
          }
          if ((al = bits[9]) !== 0 && ws[Q30_POS] === 0) {
            // AC30
            ws[Q30_POS] = estimate(Q00 * (DC07 + 2 * DC08 + DC09 - DC17 - 2 * DC18 - DC19), Q30, al);
          }
          // DC: always re-estimated (no cap: coef_bits[0] is not consulted)
          ws[0] = estimate(
            Q00 *
              (-2 * DC01 -
                6 * DC02 -
                8 * DC03 -
                6 * DC04 -
                2 * DC05 -
                6 * DC06 +
                6 * DC07 +
                42 * DC08 +
                6 * DC09 -
                6 * DC10 -
                8 * DC11 +
                42 * DC12 +
                152 * DC13 +
                42 * DC14 -
                8 * DC15 -
                6 * DC16 +
                6 * DC17 +
                42 * DC18 +
                6 * DC19 -
                6 * DC20 -
                2 * DC21 -
                6 * DC22 -
                8 * DC23 -
                6 * DC24 -
                2 * DC25),
            Q00,
            0,
          );
        }
        idctIslow(ws, 0, q, out, (r * v + br) * 8 * stride + bx * 8, stride);
        // slide the window one column right
        DC01 = DC02;
        DC02 = DC03;
        DC03 = DC04;
        DC04 = DC05;
        DC06 = DC07;
        DC07 = DC08;
        DC08 = DC09;
        DC09 = DC10;
        DC11 = DC12;
        DC12 = DC13;
        DC13 = DC14;
        DC14 = DC15;
        DC16 = DC17;
        DC17 = DC18;
        DC18 = DC19;
        DC19 = DC20;
        DC21 = DC22;
        DC22 = DC23;
        DC23 = DC24;
        DC24 = DC25;
      }
    }
  }
}
