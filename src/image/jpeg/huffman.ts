// Huffman tables — mirrors libjpeg-turbo jdhuff.c (jpeg_make_d_derived_tbl, jpeg_huff_decode).
// Canonical codes from the DHT counts; a 9-bit lookup table for short codes, maxcode/valoffset
// for the rest. A bit pattern that is no code (l > 16) consumes 17 bits and decodes as symbol 0,
// as libjpeg does after its "Corrupt JPEG data: bad Huffman code" warning.

import { ImageError } from '../../errors.js';
import type { BitReader } from './bitreader.js';

const LOOKAHEAD = 9;

export interface HuffmanTable {
  /** [1 << 9]: (code length << 8) | symbol, or 0 when the code is longer than 9 bits. */
  lookup: Uint16Array;
  /** [18]: largest code of each length (-1 = none); [17] is a sentinel. */
  maxcode: Int32Array;
  /** [17]: symbol index offset per length. */
  valoffset: Int32Array;
  /** [256]: symbols in code order. */
  huffval: Uint8Array;
}

/** Build a table from DHT's 16 counts and symbols; `isDC` checks symbols <= 15 like libjpeg. */
export function buildHuffmanTable(counts: Uint8Array, symbols: Uint8Array, isDC: boolean, label: string): HuffmanTable {
  const huffval = new Uint8Array(256);
  huffval.set(symbols.subarray(0, 256));
  const maxcode = new Int32Array(18).fill(-1);
  const valoffset = new Int32Array(17);
  const lookup = new Uint16Array(1 << LOOKAHEAD);
  let code = 0, k = 0;
  for (let l = 1; l <= 16; l++) {
    const n = counts[l - 1];
    if (n) {
      valoffset[l] = k - code;
      for (let i = 0; i < n; i++, k++, code++) {
        if (l <= LOOKAHEAD) {
          const shift = LOOKAHEAD - l;
          for (let j = 0; j < 1 << shift; j++) lookup[(code << shift) | j] = (l << 8) | huffval[k];
        }
      }
      maxcode[l] = code - 1;
    }
    // libjpeg: "code >= 1 << si" means the counts over-fill the code space
    if (code > 1 << l) throw new ImageError(`${label}: JPEG Huffman table is corrupt (over-full at length ${l})`, 'the file is corrupt (libjpeg: "Bogus Huffman table definition")');
    code <<= 1;
  }
  maxcode[17] = 0xfffff;
  if (isDC) {
    for (let i = 0; i < k; i++) {
      if (huffval[i] > 15) throw new ImageError(`${label}: JPEG DC Huffman table has symbol ${huffval[i]} > 15`, 'the file is corrupt (libjpeg: "Bogus Huffman table definition")');
    }
  }
  return { lookup, maxcode, valoffset, huffval };
}

/** One symbol. */
export function decodeHuffman(br: BitReader, t: HuffmanTable): number {
  const bits16 = br.peek16();
  const e = t.lookup[bits16 >>> (16 - LOOKAHEAD)];
  if (e !== 0) { br.skip(e >> 8); return e & 0xff; }
  for (let l = LOOKAHEAD + 1; l <= 16; l++) {
    const code = bits16 >>> (16 - l);
    if (code <= t.maxcode[l]) { br.skip(l); return t.huffval[(code + t.valoffset[l]) & 0xff]; }
  }
  br.skip(16);
  br.getBits(1);
  return 0;
}

/** HUFF_EXTEND: the s-bit magnitude r as a signed value. */
export function extend(r: number, s: number): number {
  return r < 1 << (s - 1) ? r + (-1 << s) + 1 : r;
}
