// The combined Huffman lookup (src/image/jpeg/huffman.ts `fast`: a code and its extra bits in one
// step) against the canonical decode it shortcuts (jdhuff.c jpeg_huff_decode: the first length l
// whose l-bit prefix is <= maxcode[l], then HUFF_EXTEND of the next sz bits), for every
// FAST_BITS-bit pattern of Annex K's four tables and of seeded random tables (codes of every
// length up to 16, incomplete code spaces, DC sizes up to 11, any AC symbol).
import { describe, expect, it } from 'vitest';
import { buildHuffmanTable, extend, FAST_BITS, type HuffmanTable, standardHuffmanTable } from '../../src/image/jpeg/huffman.js';

/** xorshift32, seeded. */
function rng(seed: number) {
  let s = seed >>> 0 || 1;
  return () => {
    s ^= s << 13;
    s ^= s >>> 17;
    s ^= s << 5;
    return (s >>> 0) / 2 ** 32;
  };
}

/** The expected `fast` entry for the FAST_BITS-bit pattern i, by the canonical decode. */
function expected(t: HuffmanTable, isDC: boolean, i: number): number {
  for (let l = 1; l <= FAST_BITS; l++) {
    const code = i >> (FAST_BITS - l);
    if (code <= t.maxcode[l]) {
      const sym = t.huffval[(code + t.valoffset[l]) & 0xff];
      const sz = isDC ? sym : sym & 15;
      if (l + sz > FAST_BITS) return 0;
      const r = (i >> (FAST_BITS - l - sz)) & ((1 << sz) - 1);
      return ((sz ? extend(r, sz) : 0) << 16) | (sym << 8) | (l + sz);
    }
  }
  return 0; // the code is longer than FAST_BITS (or no code)
}

function randomTable(r: () => number, isDC: boolean): HuffmanTable {
  const counts = new Uint8Array(16);
  let free = 2;
  let total = 0; // codes still available at the current length
  for (let l = 1; l <= 16; l++) {
    const n = Math.min(free - (l < 16 ? 1 : 0), Math.floor(r() * (l < 4 ? 3 : 12)), (isDC ? 12 : 256) - total);
    counts[l - 1] = Math.max(0, n);
    total += counts[l - 1];
    free = (free - counts[l - 1]) * 2;
  }
  const symbols = Uint8Array.from({ length: total }, () => Math.floor(r() * (isDC ? 12 : 256)));
  return buildHuffmanTable(counts, symbols, isDC, 'random');
}

describe('JPEG Huffman: the combined code + extra-bits lookup = the canonical decode', () => {
  const cases: Array<[string, HuffmanTable, boolean]> = [
    ['Annex K DC 0', standardHuffmanTable(true, 0, 'k')!, true],
    ['Annex K DC 1', standardHuffmanTable(true, 1, 'k')!, true],
    ['Annex K AC 0', standardHuffmanTable(false, 0, 'k')!, false],
    ['Annex K AC 1', standardHuffmanTable(false, 1, 'k')!, false],
  ];
  for (let s = 1; s <= 12; s++) {
    const r = rng(s);
    cases.push([`random ${s % 2 ? 'DC' : 'AC'} ${s}`, randomTable(r, s % 2 === 1), s % 2 === 1]);
  }
  it.each(cases)('%s', (_n, t, isDC) => {
    const bad: string[] = [];
    let hits = 0;
    for (let i = 0; i < 1 << FAST_BITS; i++) {
      const want = expected(t, isDC, i);
      if (want !== 0) hits++;
      if (t.fast[i] !== want && bad.length < 5)
        bad.push(`pattern ${i.toString(2).padStart(FAST_BITS, '0')}: fast ${t.fast[i]} expected ${want}`);
    }
    expect(bad).toEqual([]);
    expect(hits).toBeGreaterThan(0);
  });
});
