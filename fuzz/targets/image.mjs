// Targets `image-png`, `image-jpeg`, `image-bmp`, `image-gif`, `image-webp`: decodeImage on a
// mutated file, then preprocessImage on the result (random max_partition 1..9).
// Seeds: every fixture of the format under reference/fixtures/{images,image,image-formats}
// (valid ones and the *_error ones, which sit next to interesting paths).
// Mutators (chunk / segment / marker aware, CRCs recomputed unless the edit is the CRC):
//   PNG  IHDR width/height/bit depth/colour type/interlace, chunks dropped/duplicated/swapped/
//        unknown, PLTE/tRNS sizes, IDAT re-deflated with bad filter bytes, short or long rows and
//        a zlib bomb (the rows x 1000), bad CRCs;
//   JPEG SOF precision/size/component count/sampling/tables, DHT counts, DQT ids, SOS components/
//        spectral ranges/approximation, DRI, segments dropped/duplicated, entropy bytes, RST
//        markers, hundreds of extra scans;
//   BMP  width/height (negative, huge), planes, bits, compression, colours used, data offset,
//        header size, bit masks, RLE escapes (huge deltas, absolute runs past the row, EOB);
//   GIF  screen and frame geometry, colour-table flags and sizes, interlace, LZW minimum code size,
//        sub-block lengths, transparency, trailer;
//   WebP RIFF size, chunk sizes, VP8X canvas, VP8/VP8L dimensions and scale, ANMF geometry, ALPH.
// plus generic byte edits and truncation. GARBAGE: a seed that decodes, cut inside its
// compressed pixel data (not just its trailer), accepted anyway; or an accepted image whose
// data length is not width x height x 3, or non-finite pixel_values.

import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { deflateSync, inflateSync } from 'node:zlib';
import { crc32 as pngCrc32 } from '../../dist/image/decode-png.js';
import { concat, mutateBytes, put16be, put16le, put32be, put32le, u16le, u32be, u32le } from '../mutate.mjs';

/** The decode budget given to every case, and with it the RSS ceiling in run.mjs. */
export const MAX_DECODE_BYTES = 512 * 2 ** 20;

const EXT = { png: ['.png'], jpeg: ['.jpg', '.jpeg'], bmp: ['.bmp'], gif: ['.gif'], webp: ['.webp'] };
const DIRS = [
  'reference/fixtures/images',
  'reference/fixtures/image/png',
  'reference/fixtures/image/jpeg',
  'reference/fixtures/image/exif',
  'reference/fixtures/image-formats/bmp',
  'reference/fixtures/image-formats/gif',
  'reference/fixtures/image-formats/webp',
];

// ---------------------------------------------------------------------------------------------
// CRC-32 of PNG chunks: the decoder's own (dist/ is built before any fuzz run)
const crc32 = (b) => pngCrc32(b, 0, b.length);

// ---------------------------------------------------------------------------------------------
// PNG
function pngChunks(b) {
  const out = [];
  let o = 8;
  while (o + 12 <= b.length) {
    const len = u32be(b, o);
    if (o + 12 + len > b.length) break;
    out.push({ type: String.fromCharCode(...b.subarray(o + 4, o + 8)), data: b.slice(o + 8, o + 8 + len), end: o + 8 + len });
    o += 12 + len;
  }
  return out;
}
function pngChunk(type, data, badCrc = false) {
  const c = new Uint8Array(12 + data.length);
  put32be(c, 0, data.length);
  for (let i = 0; i < 4; i++) c[4 + i] = type.charCodeAt(i);
  c.set(data, 8);
  put32be(c, 8 + data.length, badCrc ? crc32(c.subarray(4, 8 + data.length)) ^ 1 : crc32(c.subarray(4, 8 + data.length)));
  return c;
}
function pngBuild(chunks) {
  return concat([Uint8Array.of(0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a), ...chunks.map((c) => pngChunk(c.type, c.data, c.badCrc))]);
}
function mutatePng(rng, b, recipe) {
  let ch = pngChunks(b);
  if (!ch.length) return mutateBytes(rng, b, recipe);
  const op = rng.weighted([
    [4, 'ihdr'],
    [2, 'chunks'],
    [3, 'idat'],
    [1, 'plte'],
    [1, 'crc'],
  ]);
  const ihdr = ch.find((c) => c.type === 'IHDR');
  if (op === 'ihdr' && ihdr && ihdr.data.length >= 13) {
    const f = rng.pick(['width', 'height', 'depth', 'color', 'interlace', 'method']);
    const d = ihdr.data;
    if (f === 'width' || f === 'height') {
      const v = rng.pick([0, 1, 2, 3, 7, 8, 9, 255, 9459, 9460, 30000, 65535, 65536, 1e6, 0x7fffffff, 0x80000000, 0xffffffff]);
      put32be(d, f === 'width' ? 0 : 4, v);
      recipe.push(`IHDR ${f} = ${v}`);
    } else if (f === 'depth') {
      d[8] = rng.pick([0, 1, 2, 3, 4, 5, 8, 16, 32, 255]);
      recipe.push(`IHDR bit depth = ${d[8]}`);
    } else if (f === 'color') {
      d[9] = rng.pick([0, 1, 2, 3, 4, 5, 6, 7, 255]);
      recipe.push(`IHDR colour type = ${d[9]}`);
    } else if (f === 'interlace') {
      d[12] = rng.pick([0, 1, 2, 255]);
      recipe.push(`IHDR interlace = ${d[12]}`);
    } else {
      const k = rng.pick([10, 11]);
      d[k] = rng.pick([1, 255]);
      recipe.push(`IHDR byte ${k} = ${d[k]}`);
    }
  } else if (op === 'chunks') {
    const i = rng.int(ch.length);
    const j = rng.int(ch.length);
    const k = rng.int(4);
    if (k === 0) {
      recipe.push(`drop chunk ${ch[i].type}`);
      ch.splice(i, 1);
    } else if (k === 1) {
      recipe.push(`duplicate chunk ${ch[i].type}`);
      ch.splice(i, 0, { ...ch[i], data: ch[i].data.slice() });
    } else if (k === 2) {
      recipe.push(`swap chunks ${ch[i].type} and ${ch[j].type}`);
      [ch[i], ch[j]] = [ch[j], ch[i]];
    } else {
      const t = rng.pick(['abCD', 'ABCD', 'iCCP', 'eXIf', 'sBIT', 'acTL', 'fdAT', 'IEND', 'IHDR', 'tRNS', 'PLTE']);
      recipe.push(`insert chunk ${t} before ${ch[i].type}`);
      ch.splice(i, 0, { type: t, data: rng.bytes(rng.pick([0, 1, 6, 13, 300])) });
    }
  } else if (op === 'idat') {
    const idats = ch.filter((c) => c.type === 'IDAT');
    let raw;
    try {
      raw = inflateSync(concat(idats.map((c) => c.data)));
    } catch {
      return mutateBytes(rng, b, recipe);
    }
    let r = new Uint8Array(raw);
    const k = rng.int(5);
    if (k === 0) {
      const n = rng.small(8);
      for (let t = 0; t < n; t++) r[rng.int(r.length || 1)] = rng.pick([5, 6, 127, 255, 4]);
      recipe.push(`raw rows: ${n} byte(s) set to bad filter values`);
    } else if (k === 1) {
      const cut = rng.int(r.length);
      r = r.slice(0, cut);
      recipe.push(`raw rows cut to ${cut} of ${raw.length} bytes (re-deflated)`);
    } else if (k === 2) {
      const n = rng.pick([1, 100, 1000]);
      r = concat([r, new Uint8Array(Math.min(64e6, r.length * n + 7))]);
      recipe.push(`raw rows + ${Math.min(64e6, r.length * n + 7)} zero bytes (zlib bomb x${n})`);
    } else if (k === 3) {
      for (let t = rng.small(16); t > 0; t--) r[rng.int(r.length || 1)] = rng.int(256);
      recipe.push('raw rows: random bytes');
    } else {
      recipe.push('IDAT split in 1-byte chunks');
    }
    const z = deflateSync(r, { level: 1 });
    const first = ch.findIndex((c) => c.type === 'IDAT');
    ch = ch.filter((c) => c.type !== 'IDAT');
    const parts = k === 4 ? Array.from(z.subarray(0, 200), (x) => Uint8Array.of(x)).concat([z.subarray(200)]) : [z];
    ch.splice(first < 0 ? 1 : first, 0, ...parts.map((d) => ({ type: 'IDAT', data: new Uint8Array(d) })));
  } else if (op === 'plte') {
    const t = rng.pick(['PLTE', 'tRNS']);
    const i = ch.findIndex((c) => c.type === t);
    const len = rng.pick([0, 1, 2, 3, 4, 300, 768, 769, 771, 1024]);
    const data = rng.bytes(len);
    if (i >= 0) ch[i].data = data;
    else ch.splice(1, 0, { type: t, data });
    recipe.push(`${t} ${i >= 0 ? 'resized' : 'added'} to ${len} bytes`);
  } else {
    const i = rng.int(ch.length);
    ch[i].badCrc = true;
    recipe.push(`bad CRC on ${ch[i].type}`);
  }
  return pngBuild(ch);
}
function pngDataEnd(b) {
  const ch = pngChunks(b);
  let e = 0;
  for (const c of ch) if (c.type === 'IDAT') e = c.end;
  return e;
}

// ---------------------------------------------------------------------------------------------
// JPEG
function jpegSegments(b) {
  const segs = [];
  let o = 2;
  while (o + 4 <= b.length) {
    if (b[o] !== 0xff) {
      o++;
      continue;
    }
    const m = b[o + 1];
    if (m === 0xd9) {
      segs.push({ m, at: o, len: 0 });
      break;
    }
    if (m === 0xff || (m >= 0xd0 && m <= 0xd7) || m === 0x00) {
      o++;
      continue;
    }
    const len = (b[o + 2] << 8) | b[o + 3];
    segs.push({ m, at: o, len });
    o += 2 + len;
    if (m === 0xda) {
      while (o + 1 < b.length && !(b[o] === 0xff && b[o + 1] !== 0 && !(b[o + 1] >= 0xd0 && b[o + 1] <= 0xd7))) o++;
    }
  }
  return segs;
}
function mutateJpeg(rng, b, recipe) {
  const segs = jpegSegments(b);
  const out = b.slice();
  const find = (pred) => {
    const s = segs.filter(pred);
    return s.length ? rng.pick(s) : null;
  };
  const op = rng.weighted([
    [3, 'sof'],
    [2, 'dht'],
    [1, 'dqt'],
    [2, 'sos'],
    [1, 'dri'],
    [2, 'seg'],
    [2, 'entropy'],
    [1, 'scans'],
  ]);
  if (op === 'sof') {
    const s = find((x) => x.m >= 0xc0 && x.m <= 0xcf && x.m !== 0xc4 && x.m !== 0xc8 && x.m !== 0xcc);
    if (!s) return mutateBytes(rng, b, recipe);
    const p = s.at + 4;
    const f = rng.int(6);
    if (f === 0) {
      out[p] = rng.pick([0, 1, 8, 12, 16, 255]);
      recipe.push(`SOF precision = ${out[p]}`);
    } else if (f === 1 || f === 2) {
      const v = rng.pick([0, 1, 7, 8, 9, 16, 17, 255, 9459, 16384, 32767, 65535]);
      put16be(out, p + (f === 1 ? 1 : 3), v);
      recipe.push(`SOF ${f === 1 ? 'height' : 'width'} = ${v}`);
    } else if (f === 3) {
      out[p + 5] = rng.pick([0, 1, 2, 3, 4, 5, 255]);
      recipe.push(`SOF component count = ${out[p + 5]}`);
    } else if (f === 4) {
      const c = rng.int(Math.max(1, out[p + 5]));
      out[p + 7 + 3 * c] = rng.int(256);
      recipe.push(`SOF component ${c} sampling = 0x${(out[p + 7 + 3 * c] ?? 0).toString(16)}`);
    } else {
      const c = rng.int(Math.max(1, out[p + 5]));
      out[p + 8 + 3 * c] = rng.pick([1, 3, 4, 255]);
      recipe.push(`SOF component ${c} quant table = ${out[p + 8 + 3 * c]}`);
    }
    if (rng.bool(0.2)) {
      out[s.at + 1] = rng.pick([0xc0, 0xc1, 0xc2, 0xc3, 0xc5, 0xc9, 0xcb]);
      recipe.push(`SOF marker = 0x${out[s.at + 1].toString(16)}`);
    }
  } else if (op === 'dht') {
    const s = find((x) => x.m === 0xc4);
    if (!s) return mutateBytes(rng, b, recipe);
    const p = s.at + 4;
    if (rng.bool(0.3)) {
      out[p] = rng.pick([0x00, 0x01, 0x10, 0x11, 0x04, 0x20, 0xff]);
      recipe.push(`DHT class/id = 0x${out[p].toString(16)}`);
    } else {
      const i = rng.int(16);
      out[p + 1 + i] = rng.pick([0, 1, 2, 16, 100, 255]);
      recipe.push(`DHT count[${i + 1}] = ${out[p + 1 + i]}`);
    }
  } else if (op === 'dqt') {
    const s = find((x) => x.m === 0xdb);
    if (!s) return mutateBytes(rng, b, recipe);
    out[s.at + 4] = rng.pick([0x00, 0x10, 0x04, 0x13, 0xff]);
    recipe.push(`DQT precision/id = 0x${out[s.at + 4].toString(16)}`);
  } else if (op === 'sos') {
    const s = find((x) => x.m === 0xda);
    if (!s) return mutateBytes(rng, b, recipe);
    const p = s.at + 4;
    const n = out[p];
    const f = rng.int(5);
    if (f === 0) {
      out[p] = rng.pick([0, 1, 2, 3, 4, 5, 255]);
      recipe.push(`SOS component count = ${out[p]}`);
    } else if (f === 1) {
      const c = rng.int(Math.max(1, n));
      out[p + 1 + 2 * c] = rng.pick([0, 1, 2, 3, 4, 255]);
      recipe.push(`SOS component ${c} id = ${out[p + 1 + 2 * c]}`);
    } else if (f === 2) {
      const c = rng.int(Math.max(1, n));
      out[p + 2 + 2 * c] = rng.pick([0x00, 0x11, 0x44, 0xff, 0x23]);
      recipe.push(`SOS component ${c} tables = 0x${(out[p + 2 + 2 * c] ?? 0).toString(16)}`);
    } else if (f === 3) {
      const q = p + 1 + 2 * n;
      out[q] = rng.pick([0, 1, 63, 64, 255]);
      out[q + 1] = rng.pick([0, 1, 5, 63, 64, 255]);
      recipe.push(`SOS Ss=${out[q]} Se=${out[q + 1]}`);
      if (q + 1 >= out.length) return b;
    } else {
      const q = p + 3 + 2 * n;
      out[q] = rng.pick([0x00, 0x01, 0x10, 0x0d, 0xff, 0x1f]);
      recipe.push(`SOS Ah/Al = 0x${(out[q] ?? 0).toString(16)}`);
    }
  } else if (op === 'dri') {
    const v = rng.pick([0, 1, 2, 65535]);
    const dri = Uint8Array.of(0xff, 0xdd, 0, 4, v >> 8, v & 0xff);
    const sos = segs.find((x) => x.m === 0xda);
    const at = sos ? sos.at : 2;
    recipe.push(`insert DRI ${v} before offset ${at}`);
    return concat([b.subarray(0, at), dri, b.subarray(at)]);
  } else if (op === 'seg') {
    const s = segs.length ? rng.pick(segs) : null;
    if (!s) return mutateBytes(rng, b, recipe);
    const end = s.at + 2 + s.len;
    const k = rng.int(3);
    if (k === 0) {
      recipe.push(`drop segment 0x${s.m.toString(16)} at ${s.at}`);
      return concat([b.subarray(0, s.at), b.subarray(end)]);
    }
    if (k === 1) {
      recipe.push(`duplicate segment 0x${s.m.toString(16)} at ${s.at}`);
      return concat([b.subarray(0, end), b.subarray(s.at, end), b.subarray(end)]);
    }
    const v = rng.pick([0, 1, 2, 3, 0xffff, s.len + 1, s.len - 1]);
    put16be(out, s.at + 2, v);
    recipe.push(`segment 0x${s.m.toString(16)} length = ${v}`);
  } else if (op === 'entropy') {
    const sos = segs.filter((x) => x.m === 0xda);
    if (!sos.length) return mutateBytes(rng, b, recipe);
    const s = rng.pick(sos);
    const start = s.at + 2 + s.len;
    const stop = b.length - 2;
    if (stop <= start) return mutateBytes(rng, b, recipe);
    const at = start + rng.int(stop - start);
    const k = rng.int(3);
    if (k === 0) {
      for (let t = rng.small(8); t > 0; t--) out[start + rng.int(stop - start)] = rng.int(256);
      recipe.push(`entropy bytes randomised after ${start}`);
    } else if (k === 1) {
      recipe.push(`insert RST${at % 8} at ${at}`);
      return concat([b.subarray(0, at), Uint8Array.of(0xff, 0xd0 + (at % 8)), b.subarray(at)]);
    } else {
      const m = rng.pick([0xd8, 0xd9, 0xc4, 0xda, 0xff, 0x01]);
      recipe.push(`insert marker FF${m.toString(16)} at ${at}`);
      return concat([b.subarray(0, at), Uint8Array.of(0xff, m), b.subarray(at)]);
    }
  } else {
    const s = segs.filter((x) => x.m === 0xda).pop();
    if (!s) return mutateBytes(rng, b, recipe);
    const end = segs.find((x) => x.m === 0xd9)?.at ?? b.length;
    const n = rng.pick([2, 50, 499, 501, 2000]);
    const scan = b.subarray(s.at, end);
    recipe.push(`repeat the last scan ${n} times`);
    return concat([b.subarray(0, end), ...Array.from({ length: n }, () => scan), b.subarray(end)]);
  }
  return out;
}
function jpegDataEnd(b) {
  const s = jpegSegments(b);
  const eoi = s.find((x) => x.m === 0xd9);
  return eoi ? eoi.at : 0;
}

// ---------------------------------------------------------------------------------------------
// BMP
function mutateBmp(rng, b, recipe) {
  if (b.length < 30) return mutateBytes(rng, b, recipe);
  const out = b.slice();
  const hsize = u32le(b, 14);
  const core = hsize === 12;
  const op = rng.weighted([
    [3, 'dims'],
    [2, 'bits'],
    [2, 'comp'],
    [1, 'colors'],
    [1, 'offset'],
    [1, 'hsize'],
    [1, 'masks'],
    [2, 'rle'],
  ]);
  if (op === 'dims') {
    const v = rng.pick([0, 1, -1, 2, 3, -3, 9459, 30000, 65535, 0x7fffffff, -0x80000000, 1e6, -1e6]);
    const f = rng.bool() ? 'width' : 'height';
    if (core) put16le(out, f === 'width' ? 18 : 20, v & 0xffff);
    else put32le(out, f === 'width' ? 18 : 22, v >>> 0);
    recipe.push(`${f} = ${v}${core ? ' (u16, core header)' : ''}`);
  } else if (op === 'bits') {
    const v = rng.pick([0, 1, 2, 3, 4, 8, 15, 16, 24, 32, 48, 64, 0xffff]);
    put16le(out, core ? 24 : 28, v);
    recipe.push(`bits per pixel = ${v}`);
    if (rng.bool(0.3)) {
      put16le(out, core ? 22 : 26, rng.pick([0, 2, 0xffff]));
      recipe.push(`planes = ${u16le(out, core ? 22 : 26)}`);
    }
  } else if (op === 'comp' && !core) {
    const v = rng.pick([0, 1, 2, 3, 4, 5, 6, 11, 0xffffffff]);
    put32le(out, 30, v);
    recipe.push(`compression = ${v}`);
  } else if (op === 'colors' && !core) {
    const v = rng.pick([0, 1, 2, 15, 16, 256, 257, 1 << 20, 0x7fffffff, 0xffffffff]);
    put32le(out, rng.bool() ? 46 : 50, v);
    recipe.push(`colours used/important = ${v}`);
  } else if (op === 'offset') {
    const v = rng.pick([0, 1, 14, 26, 54, 118, b.length, b.length + 1, b.length - 1, 0x7fffffff, 0xffffffff]);
    put32le(out, 10, v >>> 0);
    recipe.push(`pixel data offset = ${v}`);
  } else if (op === 'hsize') {
    const v = rng.pick([0, 12, 16, 40, 52, 56, 64, 108, 124, 125, 0xffffffff]);
    put32le(out, 14, v >>> 0);
    recipe.push(`DIB header size = ${v}`);
  } else if (op === 'masks' && !core && b.length >= 70) {
    const i = rng.int(4);
    const v = rng.pick([0, 1, 0xff, 0xff00, 0xff0000, 0xff000000, 0xffffffff, 0x0f0f0f0f, 0x80000001, 0x7c00]);
    put32le(out, 54 + 4 * i, v >>> 0);
    recipe.push(`bit mask ${i} = 0x${v.toString(16)}`);
  } else if (op === 'rle') {
    const off = u32le(b, 10);
    if (off >= b.length - 4) return mutateBytes(rng, b, recipe);
    const at = off + rng.int(b.length - off - 2);
    const esc = rng.pick([
      [0, 0],
      [0, 1],
      [0, 2, 255, 255],
      [0, 2, 0, 200],
      [0, 255],
      [0, 3, 1, 2, 3, 0],
      [255, 7],
      [0, 2],
    ]);
    recipe.push(`RLE bytes [${esc}] written at ${at}${!core && [1, 2].includes(u32le(b, 30)) ? '' : ' (not an RLE file)'}`);
    out.set(esc.slice(0, b.length - at), at);
  } else return mutateBytes(rng, b, recipe);
  return out;
}
function bmpDataEnd(b) {
  if (b.length < 30) return 0;
  const hsize = u32le(b, 14);
  if (hsize === 12) return b.length; // core header: the stride is checked through the generic rule below
  const comp = u32le(b, 30);
  const w = Math.abs(u32le(b, 18) | 0);
  const bits = u16le(b, 28);
  if (comp === 1 || comp === 2) return 0; // RLE: Pillow itself accepts a cut RLE stream (checked: rle4_topdown cut at 145 of 156), so no GARBAGE rule
  return b.length - (((w * bits + 31) >>> 5) << 2); // missing more than the last row's stride
}

// ---------------------------------------------------------------------------------------------
// GIF
function gifLayout(b) {
  if (b.length < 13) return null;
  let o = 13;
  const lay = { gct: b[10] & 0x80 ? 3 << ((b[10] & 7) + 1) : 0, exts: [], image: null };
  o += lay.gct;
  while (o < b.length) {
    if (b[o] === 0x21) {
      const at = o;
      o += 2;
      while (o < b.length && b[o] !== 0) o += b[o] + 1;
      o++;
      lay.exts.push({ at, label: b[at + 1] });
    } else if (b[o] === 0x2c) {
      if (o + 10 > b.length) return lay;
      const at = o;
      const packed = b[o + 9];
      o += 10 + (packed & 0x80 ? 3 << ((packed & 7) + 1) : 0);
      const lzw = o;
      o++;
      const blocks = [];
      while (o < b.length && b[o] !== 0) {
        blocks.push(o);
        o += b[o] + 1;
      }
      lay.image = { at, lzw, blocks, end: o };
      return lay;
    } else return lay;
  }
  return lay;
}
function mutateGif(rng, b, recipe) {
  const lay = gifLayout(b);
  if (!lay) return mutateBytes(rng, b, recipe);
  const out = b.slice();
  const op = rng.weighted([
    [2, 'screen'],
    [3, 'frame'],
    [1, 'flags'],
    [2, 'lzw'],
    [2, 'blocks'],
    [1, 'gce'],
    [1, 'trailer'],
  ]);
  const im = lay.image;
  const dim = () => rng.pick([0, 1, 2, 255, 256, 9459, 32767, 65535]);
  if (op === 'screen') {
    const k = rng.pick([6, 8]);
    const v = dim();
    put16le(out, k, v);
    recipe.push(`screen ${k === 6 ? 'width' : 'height'} = ${v}`);
  } else if (op === 'frame' && im) {
    const k = rng.int(4);
    const v = dim();
    put16le(out, im.at + 1 + 2 * k, v);
    recipe.push(`frame ${['left', 'top', 'width', 'height'][k]} = ${v}`);
  } else if (op === 'flags') {
    const local = im && rng.bool();
    const at = local ? im.at + 9 : 10;
    out[at] = rng.pick([0x00, 0x80, 0x87, 0x40, 0xc7, 0xff, 0x47]);
    recipe.push(`${local ? 'frame' : 'screen'} flags = 0x${out[at].toString(16)}`);
  } else if (op === 'lzw' && im) {
    out[im.lzw] = rng.pick([0, 1, 2, 3, 7, 8, 11, 12, 13, 255]);
    recipe.push(`LZW minimum code size = ${out[im.lzw]}`);
  } else if (op === 'blocks' && im && im.blocks.length) {
    const k = rng.int(3);
    const p = rng.pick(im.blocks);
    if (k === 0) {
      out[p] = rng.pick([0, 1, 254, 255]);
      recipe.push(`sub-block length at ${p} = ${out[p]}`);
    } else if (k === 1) {
      for (let t = rng.small(8); t > 0; t--) {
        const q = p + 1 + rng.int(Math.max(1, Math.min(255, b.length - p - 1)));
        if (q < out.length) out[q] = rng.int(256);
      }
      recipe.push(`LZW bytes randomised in block at ${p}`);
    } else {
      const code = rng.pick([
        [0xff, 0xff],
        [0x00, 0x00],
        [0xfe, 0x0f],
      ]);
      if (p + 3 < out.length) out.set(code, p + 1);
      recipe.push(`LZW codes [${code}] at ${p + 1}`);
    }
  } else if (op === 'gce') {
    const g = lay.exts.find((e) => e.label === 0xf9);
    if (g) {
      out[g.at + 6] = rng.int(256);
      out[g.at + 3] |= 1;
      recipe.push(`transparent index = ${out[g.at + 6]}`);
    } else if (im) {
      recipe.push('insert GCE with transparency index 255');
      return concat([b.subarray(0, im.at), Uint8Array.of(0x21, 0xf9, 4, 1, 0, 0, 255, 0), b.subarray(im.at)]);
    }
  } else if (op === 'trailer') {
    recipe.push('drop the trailer byte');
    return b.slice(0, b.length - 1);
  } else return mutateBytes(rng, b, recipe);
  return out;
}
function gifDataEnd(b) {
  const l = gifLayout(b);
  return l?.image ? l.image.end : 0;
}

// ---------------------------------------------------------------------------------------------
// WebP
function riffChunks(b) {
  const out = [];
  let o = 12;
  while (o + 8 <= b.length) {
    const size = u32le(b, o + 4);
    out.push({ fourcc: String.fromCharCode(...b.subarray(o, o + 4)), at: o, size });
    o += 8 + size + (size & 1);
  }
  return out;
}
function mutateWebp(rng, b, recipe) {
  const ch = riffChunks(b);
  const out = b.slice();
  const op = rng.weighted([
    [1, 'riff'],
    [2, 'size'],
    [2, 'vp8x'],
    [2, 'vp8'],
    [2, 'vp8l'],
    [2, 'anmf'],
    [1, 'drop'],
    [1, 'dup'],
  ]);
  const get = (t) => ch.filter((c) => c.fourcc === t);
  const u24 = (o, v) => {
    out[o] = v;
    out[o + 1] = v >>> 8;
    out[o + 2] = v >>> 16;
  };
  if (op === 'riff') {
    const v = rng.pick([0, 4, 12, b.length, b.length - 7, b.length + 1, 0xffffffff]);
    put32le(out, 4, v >>> 0);
    recipe.push(`RIFF size = ${v}`);
  } else if (op === 'size' && ch.length) {
    const c = rng.pick(ch);
    const v = rng.pick([0, 1, 9, c.size - 1, c.size + 1, c.size + 2, 0x7fffffff, 0xffffffff]);
    put32le(out, c.at + 4, v >>> 0);
    recipe.push(`${c.fourcc} chunk size = ${v}`);
  } else if (op === 'vp8x' && get('VP8X').length) {
    const c = get('VP8X')[0];
    const k = rng.int(3);
    if (k === 2) {
      out[c.at + 8] = rng.int(256);
      recipe.push(`VP8X flags = 0x${out[c.at + 8].toString(16)}`);
    } else {
      const v = rng.pick([0, 1, 16383, 16384, 65535, 0xffffff]);
      u24(c.at + 12 + 3 * k, v);
      recipe.push(`VP8X canvas ${k ? 'height' : 'width'}-1 = ${v}`);
    }
  } else if (op === 'vp8' && get('VP8 ').length) {
    const c = rng.pick(get('VP8 '));
    const k = rng.int(3);
    if (k === 2) {
      out[c.at + 8] = rng.int(256);
      recipe.push(`VP8 frame tag byte = ${out[c.at + 8]}`);
    } else {
      const v = rng.pick([0, 1, 0x3fff, 0x4000 | 5, 0xc000 | 100, 0xffff]);
      put16le(out, c.at + 14 + 2 * k, v);
      recipe.push(`VP8 ${k ? 'height' : 'width'} field = 0x${v.toString(16)}`);
    }
  } else if (op === 'vp8l' && get('VP8L').length) {
    const c = rng.pick(get('VP8L'));
    const v = rng.u32();
    put32le(out, c.at + 9, rng.bool() ? v : v | 0x3fff);
    recipe.push(`VP8L size/flags word = 0x${u32le(out, c.at + 9).toString(16)}`);
    if (rng.bool(0.2)) {
      out[c.at + 8] = rng.pick([0x2f, 0x2e, 0]);
      recipe.push(`VP8L signature = ${out[c.at + 8]}`);
    }
  } else if (op === 'anmf' && get('ANMF').length) {
    const c = rng.pick(get('ANMF'));
    const k = rng.int(4);
    const v = rng.pick([0, 1, 100, 0x7fff, 0xffffff]);
    u24(c.at + 8 + 3 * k, v);
    recipe.push(`ANMF ${['x/2', 'y/2', 'width-1', 'height-1'][k]} = ${v}`);
  } else if (op === 'drop' && ch.length) {
    const c = rng.pick(ch);
    const end = Math.min(b.length, c.at + 8 + c.size + (c.size & 1));
    recipe.push(`drop chunk ${c.fourcc}`);
    return concat([b.subarray(0, c.at), b.subarray(end)]);
  } else if (op === 'dup' && ch.length) {
    const c = rng.pick(ch);
    const end = Math.min(b.length, c.at + 8 + c.size + (c.size & 1));
    recipe.push(`duplicate chunk ${c.fourcc}`);
    return concat([b.subarray(0, end), b.subarray(c.at, end), b.subarray(end)]);
  } else return mutateBytes(rng, b, recipe);
  return out;
}
function webpDataEnd(b) {
  const ch = riffChunks(b);
  const img = ch.find((c) => c.fourcc === 'VP8 ' || c.fourcc === 'VP8L' || c.fourcc === 'ANMF');
  return img ? Math.min(b.length, img.at + 8 + img.size) : 0;
}

const FORMATS = {
  png: { mutate: mutatePng, dataEnd: pngDataEnd, margin: 16 },
  jpeg: { mutate: mutateJpeg, dataEnd: jpegDataEnd, margin: 16 },
  bmp: { mutate: mutateBmp, dataEnd: bmpDataEnd, margin: 1 },
  gif: { mutate: mutateGif, dataEnd: gifDataEnd, margin: 8 },
  webp: { mutate: mutateWebp, dataEnd: webpDataEnd, margin: 16 },
};

export function forTarget(name) {
  const fmt = name.slice('image-'.length);
  const F = FORMATS[fmt];
  return {
    name,
    async setup({ lib, root }) {
      const seeds = [];
      for (const d of DIRS) {
        const dir = join(root, d);
        if (!existsSync(dir)) continue;
        for (const f of readdirSync(dir).sort()) {
          if (!EXT[fmt].some((e) => f.toLowerCase().endsWith(e))) continue;
          const bytes = new Uint8Array(readFileSync(join(dir, f)));
          if (bytes.length > 300_000) continue; // keep cases fast: large.png is 0.7 MB
          let decodes = false;
          try {
            lib.decodeImage(bytes, { maxDecodeBytes: MAX_DECODE_BYTES });
            decodes = true;
          } catch {
            /* an *_error fixture */
          }
          seeds.push({ file: `${d}/${f}`, bytes, decodes, dataEnd: decodes ? F.dataEnd(bytes) : 0 });
        }
      }
      if (!seeds.length) throw new Error(`no ${fmt} seeds found`);
      return { seeds };
    },
    generate(rng, { seeds }) {
      const seed = rng.pick(seeds);
      const recipe = [`seed ${seed.file}`];
      let bytes;
      let cutInsideData = false;
      const mode = rng.weighted([
        [6, 'format'],
        [3, 'bytes'],
        [1, 'truncate'],
        [1, 'both'],
      ]);
      if (mode === 'truncate' && seed.decodes && seed.dataEnd > 0) {
        const cut = rng.int(seed.dataEnd + 32);
        bytes = seed.bytes.slice(0, cut);
        cutInsideData = cut < seed.dataEnd - F.margin;
        recipe.push(`truncate to ${cut} bytes (pixel data ends at ${seed.dataEnd})`);
      } else {
        bytes = seed.bytes;
        const n = mode === 'bytes' ? rng.small(6) : rng.small(3);
        for (let k = 0; k < n; k++)
          bytes =
            mode === 'bytes'
              ? mutateBytes(
                  rng,
                  bytes,
                  recipe,
                  seeds.map((s) => s.bytes),
                )
              : F.mutate(rng, bytes, recipe);
        if (mode === 'both') bytes = mutateBytes(rng, bytes, recipe);
      }
      const maxPartition = rng.pick([1, 1, 2, 4, 9]);
      const exif = rng.bool(0.2);
      if (exif) recipe.push('applyExifOrientation');
      recipe.push(`maxPartition ${maxPartition}`);
      return { recipe, bytes, cutInsideData, maxPartition, exif, files: { [`case.${fmt === 'jpeg' ? 'jpg' : fmt}`]: bytes } };
    },
    async run(kase, _state, lib) {
      const img = lib.decodeImage(kase.bytes, { label: 'fuzz', maxDecodeBytes: MAX_DECODE_BYTES, applyExifOrientation: kase.exif });
      if (kase.cutInsideData)
        return { outcome: 'garbage', message: `truncated inside the pixel data but decoded as ${img.width}x${img.height}` };
      if (!(img.width > 0 && img.height > 0 && img.data.length === img.width * img.height * 3)) {
        return { outcome: 'garbage', message: `decoded ${img.width}x${img.height} with ${img.data.length} bytes` };
      }
      const p = lib.preprocessImage(img, { maxPartition: kase.maxPartition, label: 'fuzz' });
      for (let i = 0; i < p.pixelValues.length; i += 97)
        if (!Number.isFinite(p.pixelValues[i])) return { outcome: 'garbage', message: `pixel_values[${i}] = ${p.pixelValues[i]}` };
      return { outcome: 'ok' };
    },
  };
}
