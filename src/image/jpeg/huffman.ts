// Huffman tables — mirrors libjpeg-turbo jdhuff.c (jpeg_make_d_derived_tbl, jpeg_huff_decode).
// Canonical codes from the DHT counts; a 9-bit lookup table for short codes, maxcode/valoffset
// for the rest. A bit pattern that is no code (l > 16) consumes 17 bits and decodes as symbol 0,
// as libjpeg does after its "Corrupt JPEG data: bad Huffman code" warning.

import { ImageError } from '../../errors.js';
import type { BitReader } from './bitreader.js';

/** Bits of the direct lookup table (libjpeg's HUFF_LOOKAHEAD is 8; any width gives the same symbols). */
export const LOOKAHEAD = 9;
/** Bits of the combined lookup `fast`: a code AND its extra bits in one step when both fit. */
export const FAST_BITS = 10;

export interface HuffmanTable {
  /** [1 << 9]: (code length << 8) | symbol, or 0 when the code is longer than 9 bits. */
  lookup: Uint16Array;
  /** [18]: largest code of each length (-1 = none); [17] is a sentinel. */
  maxcode: Int32Array;
  /** [17]: symbol index offset per length. */
  valoffset: Int32Array;
  /** [256]: symbols in code order. */
  huffval: Uint8Array;
  /** [1 << FAST_BITS]: for the next FAST_BITS bits, when they hold a whole code of length l AND
   *  its sz extra bits (sz = the symbol for DC, its low nibble for AC; l + sz <= FAST_BITS):
   *  (HUFF_EXTEND of the extra bits << 16) | (symbol << 8) | (l + sz); else 0. The value is 0
   *  exactly when sz = 0 (DC difference 0, AC EOB / ZRL / EOB runs). libjpeg-turbo's jdhuff.c
   *  decodes code and extra bits one after the other; this only merges the two steps, same
   *  result (entropy.ts decodeBlockFast, decodeAcFirstFast). */
  fast: Int32Array;
}

/** Build a table from DHT's 16 counts and symbols; `isDC` checks symbols <= 15 like libjpeg. */
export function buildHuffmanTable(counts: Uint8Array, symbols: Uint8Array, isDC: boolean, label: string): HuffmanTable {
  const huffval = new Uint8Array(256);
  huffval.set(symbols.subarray(0, 256));
  const maxcode = new Int32Array(18).fill(-1);
  const valoffset = new Int32Array(17);
  const lookup = new Uint16Array(1 << LOOKAHEAD);
  let code = 0;
  let k = 0;
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
    if (code > 1 << l)
      throw new ImageError(
        `${label}: JPEG Huffman table is corrupt (over-full at length ${l})`,
        'the file is corrupt (libjpeg: "Bogus Huffman table definition")',
      );
    code <<= 1;
  }
  maxcode[17] = 0xfffff;
  if (isDC) {
    for (let i = 0; i < k; i++) {
      if (huffval[i] > 15)
        throw new ImageError(
          `${label}: JPEG DC Huffman table has symbol ${huffval[i]} > 15`,
          'the file is corrupt (libjpeg: "Bogus Huffman table definition")',
        );
    }
  }
  const fast = new Int32Array(1 << FAST_BITS);
  code = 0;
  k = 0;
  for (let l = 1; l <= FAST_BITS; l++) {
    for (let i = 0; i < counts[l - 1]; i++, k++, code++) {
      const sym = huffval[k];
      const sz = isDC ? sym : sym & 15;
      if (l + sz > FAST_BITS) continue;
      const shift = FAST_BITS - l - sz;
      for (let r = 0; r < 1 << sz; r++) {
        const v = sz ? extend(r, sz) : 0;
        for (let j = 0; j < 1 << shift; j++) fast[(((code << sz) | r) << shift) | j] = (v << 16) | (sym << 8) | (l + sz);
      }
    }
    code <<= 1;
  }
  return { lookup, maxcode, valoffset, huffval, fast };
}

/** ITU T.81 Annex K.3 (K.3.1 DC, K.3.2 AC), the "typical" tables: DHT counts (codes of length
 *  1..16) and symbols, slot 0 = luminance, slot 1 = chrominance. */
const hex = (s: string) => Uint8Array.from(s.match(/../g)!, (b) => parseInt(b, 16));
const ANNEX_K = {
  dc: [
    { counts: hex('00010501010101010100000000000000'), symbols: hex('000102030405060708090a0b') },
    { counts: hex('00030101010101010101010000000000'), symbols: hex('000102030405060708090a0b') },
  ],
  ac: [
    {
      counts: hex('0002010303020403050504040000017d'),
      symbols: hex(
        '01020300041105122131410613516107227114328191a1082342b1c11552d1f02433627282090a161718191a25262728292a3435363738393a434445464748494a' +
          '535455565758595a636465666768696a737475767778797a838485868788898a92939495969798999aa2a3a4a5a6a7a8a9aab2b3b4b5b6b7b8b9bac2c3c4c5c6c7c8c9ca' +
          'd2d3d4d5d6d7d8d9dae1e2e3e4e5e6e7e8e9eaf1f2f3f4f5f6f7f8f9fa',
      ),
    },
    {
      counts: hex('00020102040403040705040400010277'),
      symbols: hex(
        '000102031104052131061241510761711322328108144291a1b1c109233352f0156272d10a162434e125f11718191a262728292a35363738393a434445464748494a' +
          '535455565758595a636465666768696a737475767778797a82838485868788898a92939495969798999aa2a3a4a5a6a7a8a9aab2b3b4b5b6b7b8b9bac2c3c4c5c6c7c8c9ca' +
          'd2d3d4d5d6d7d8d9dae2e3e4e5e6e7e8e9eaf2f3f4f5f6f7f8f9fa',
      ),
    },
  ],
};

/** The table libjpeg-turbo substitutes when a scan names a slot no DHT segment defined
 *  (jdhuff.c jpeg_make_d_derived_tbl -> jstdhuff.c jpeg_std_huff_table, Motion-JPEG style
 *  files): Annex K's table for slots 0 and 1; other slots stay undefined (libjpeg:
 *  JERR_NO_HUFF_TABLE). */
export function standardHuffmanTable(isDC: boolean, slot: number, label: string): HuffmanTable | undefined {
  const t = (isDC ? ANNEX_K.dc : ANNEX_K.ac)[slot];
  return t && buildHuffmanTable(t.counts, t.symbols, isDC, label);
}

/** One symbol. */
export function decodeHuffman(br: BitReader, t: HuffmanTable): number {
  const bits16 = br.peek16();
  const e = t.lookup[bits16 >>> (16 - LOOKAHEAD)];
  if (e !== 0) {
    br.skip(e >> 8);
    return e & 0xff;
  }
  for (let l = LOOKAHEAD + 1; l <= 16; l++) {
    const code = bits16 >>> (16 - l);
    if (code <= t.maxcode[l]) {
      br.skip(l);
      return t.huffval[(code + t.valoffset[l]) & 0xff];
    }
  }
  br.skip(16);
  br.getBits(1);
  return 0;
}

/** HUFF_EXTEND: the s-bit magnitude r as a signed value. */
export function extend(r: number, s: number): number {
  return r < 1 << (s - 1) ? r + (-1 << s) + 1 : r;
}
