// WebP -> 8-bit RGB like Pillow 11.3 `Image.open(webp).convert('RGB')` (WebPImagePlugin.py over
// libwebp's WebPAnimDecoder). The codec is libwebp compiled to WebAssembly by @cwasm/webp
// (webp.wasm: exports WebPDecodeRGBA, malloc, free; no JS glue, instantiated synchronously).
//
// What Pillow does, and we do:
//  - every file, still or animated, goes through WebPAnimDecoder: the first frame is decoded
//    as non-premultiplied RGBA into a canvas zeroed to (0, 0, 0, 0); convert('RGB') then DROPS
//    alpha (no compositing), so pixels under alpha 0 keep their stored colour and the canvas
//    outside a smaller first frame is black;
//  - lossy (VP8, fancy upsampling), lossless (VP8L), ALPH alpha: plain libwebp decoding;
//  - animated: the first ANMF frame (x, y, w, h) is cut out of the container, decoded as a
//    still image and placed on the canvas (the first frame is always a key frame: no blend).
// We parse the RIFF container ourselves, so the size guard runs on the header before libwebp
// allocates anything, and a fresh wasm instance is used per image (its memory is freed with it
// and a failed decode cannot leave state behind). Measured difference from Pillow: docs/image.md.

import { ImageError } from '../errors.js';
import { nodeBuiltin } from '../io/builtin.js';
import { DECODE_SLACK, type RgbImage } from './rgb.js';

export interface WebpHeader {
  /** Canvas size: VP8X's, or the bitstream's own for a simple file. */
  width: number;
  height: number;
  animated: boolean;
  /** The first frame: where it goes on the canvas, its size (from its bitstream, as the
   *  demuxer takes it) and the byte range libwebp decodes ([ALPH] + VP8/VP8L chunks). */
  frame: { x: number; y: number; w: number; h: number; start: number; end: number };
}

const u16 = (b: Uint8Array, o: number) => b[o] | (b[o + 1] << 8);
const u24 = (b: Uint8Array, o: number) => b[o] | (b[o + 1] << 8) | (b[o + 2] << 16);
const u32 = (b: Uint8Array, o: number) => (u24(b, o) | (b[o + 3] << 24)) >>> 0;
const fourcc = (b: Uint8Array, o: number) => String.fromCharCode(b[o], b[o + 1], b[o + 2], b[o + 3]);
const MAX_CHUNK_PAYLOAD = 0xfffffff6; // ~0U - CHUNK_HEADER_SIZE - 1
const ALPHA_FLAG = 0x10;
const ANIMATION_FLAG = 0x02;

/** Size from a VP8 / VP8L bitstream header (WebPGetFeatures' checks that matter here). */
function bitstreamSize(b: Uint8Array, tag: string, o: number, n: number): [number, number] | undefined {
  const bits = b[o] | (b[o + 1] << 8) | (b[o + 2] << 16); // VP8 frame tag: key frame, profile, shown, partition size
  if (
    tag === 'VP8 ' &&
    n >= 10 &&
    !(bits & 1) &&
    ((bits >> 1) & 7) <= 3 &&
    (bits >> 4) & 1 &&
    bits >> 5 < n &&
    b[o + 3] === 0x9d &&
    b[o + 4] === 0x01 &&
    b[o + 5] === 0x2a
  ) {
    const w = u16(b, o + 6) & 0x3fff;
    const h = u16(b, o + 8) & 0x3fff;
    return w && h ? [w, h] : undefined;
  }
  if (tag === 'VP8L' && n >= 5 && b[o] === 0x2f && !(b[o + 4] >> 5)) {
    const v = u32(b, o + 1);
    return [(v & 0x3fff) + 1, ((v >>> 14) & 0x3fff) + 1];
  }
  return undefined;
}

/**
 * The container checks of libwebp's WebPDemux (demux.c), which Pillow's WebPAnimDecoder runs
 * on the WHOLE file before decoding anything: the RIFF must be complete, every chunk must fit,
 * 1..7 stray bytes after a chunk are an error, every ANMF frame must be well formed and inside
 * the canvas, a VP8X still must match its canvas. Then only the first frame is decoded.
 */
export function readWebpHeader(bytes: Uint8Array, label: string): WebpHeader {
  const fail = (what: string, hint = 'the file is truncated or corrupt (Pillow: "could not create decoder object")'): never => {
    throw new ImageError(`${label}: WebP ${what}`, hint);
  };
  if (bytes.length < 20 || fourcc(bytes, 0) !== 'RIFF' || fourcc(bytes, 8) !== 'WEBP')
    fail('header is not RIFF....WEBP', 'not a WebP file');
  const riffSize = u32(bytes, 4);
  if (riffSize < 8 || riffSize > MAX_CHUNK_PAYLOAD) fail(`RIFF size ${riffSize} is invalid`);
  const end = 8 + riffSize; // bytes past the RIFF chunk are ignored
  if (end > bytes.length) fail(`RIFF says ${end} bytes, the file has ${bytes.length}`);

  /** Chunk header at o: [fourcc, payload start, payload size, padded end]; the padded payload must fit. */
  const chunkAt = (o: number): [string, number, number, number] => {
    if (o + 8 > end) fail(`chunk header at byte ${o} runs past the end`);
    const n = u32(bytes, o + 4);
    const padded = n + (n & 1);
    if (n > MAX_CHUNK_PAYLOAD || padded > end - o - 8)
      fail(`chunk '${fourcc(bytes, o)}' at byte ${o} claims ${n} bytes, only ${end - o - 8} remain`);
    return [fourcc(bytes, o), o + 8, n, o + 8 + padded];
  };
  /** After a chunk: at the RIFF end, or at least a chunk header left (else "need more data"). */
  const after = (o: number) => {
    if (o !== end && end - o < 8) fail(`has ${end - o} stray bytes at its end`);
    return o;
  };
  interface Stored {
    alpha?: [number, number];
    image?: [number, number];
    w: number;
    h: number;
    next: number;
  }
  /** demux.c StoreFrame: at most one ALPH and one VP8/VP8L chunk, stopping at anything else. */
  const storeFrame = (o: number): Stored => {
    const st: Stored = { w: 0, h: 0, next: o };
    while (o < end) {
      const [tag, p, n, next] = chunkAt(o);
      if (tag === 'ALPH' && !st.alpha) {
        st.alpha = [o, next];
      } else if ((tag === 'VP8 ' || tag === 'VP8L') && !st.image) {
        const size = bitstreamSize(bytes, tag, p, n);
        if (!size) fail(`'${tag}' chunk at byte ${o} has no valid ${tag.trim()} header`);
        [st.w, st.h] = size!;
        st.image = [o, next];
      } else {
        break;
      }
      o = after(next);
    }
    st.next = o;
    return st;
  };

  const first = fourcc(bytes, 12);
  if (first === 'VP8 ' || first === 'VP8L' || first === 'ALPH') {
    const st = storeFrame(12);
    if (!st.image) fail('has no VP8/VP8L image chunk');
    const s = st.alpha && st.alpha[0] < st.image![0] ? st.alpha[0] : st.image![0];
    return { width: st.w, height: st.h, animated: false, frame: { x: 0, y: 0, w: st.w, h: st.h, start: s, end: st.image![1] } };
  }
  if (first !== 'VP8X') fail(`first chunk is '${first}', expected 'VP8 ', 'VP8L' or 'VP8X'`);
  const [, vp, vn, vnext] = chunkAt(12);
  if (vn < 10) fail(`VP8X chunk is ${vn} bytes, expected 10`);
  const flags = bytes[vp];
  if (flags & ~0x3e) fail(`VP8X flags 0x${flags.toString(16)} set reserved bits`);
  const width = u24(bytes, vp + 4) + 1;
  const height = u24(bytes, vp + 7) + 1;
  if (width * height >= 2 ** 32) fail(`canvas ${width}x${height} is too large`);
  const animated = (flags & ANIMATION_FLAG) !== 0;
  type F = { x: number; y: number; st: Stored };
  const frames: F[] = [];
  let o = vnext;
  let animChunks = 0;
  if (end - o < 8) fail('has no chunk after VP8X');
  while (o < end) {
    const [tag, p, n, next] = chunkAt(o);
    if (tag === 'VP8X') fail('has a second VP8X chunk');
    if (tag === 'ALPH' || tag === 'VP8 ' || tag === 'VP8L') {
      if (frames.length) fail('has image data after its first frame');
      const st = storeFrame(o);
      if (!(flags & ALPHA_FLAG)) st.alpha = undefined; // the demuxer ignores ALPH without the VP8X alpha flag
      frames.push({ x: 0, y: 0, st });
      o = after(st.next);
      continue;
    }
    if (tag === 'ANIM') {
      if (n + (n & 1) < 6) fail('ANIM chunk is too short');
      animChunks++;
    }
    if (tag === 'ANMF') {
      if (animChunks === 0) fail(`ANMF chunk at byte ${o} comes before any ANIM chunk`);
      if (n + (n & 1) < 16) fail(`ANMF chunk at byte ${o} is ${n} bytes, expected at least 16`);
      const x = u24(bytes, p) * 2;
      const y = u24(bytes, p + 3) * 2;
      if ((u24(bytes, p + 6) + 1) * (u24(bytes, p + 9) + 1) >= 2 ** 32) fail(`ANMF frame at byte ${o} is too large`);
      const st = storeFrame(p + 16);
      if (st.next > next) fail(`ANMF chunk at byte ${o} is shorter than the frame data it holds`);
      if (animated && (st.alpha || st.image)) {
        if (!st.image) fail(`animation frame ${frames.length + 1} has no VP8/VP8L data`);
        frames.push({ x, y, st });
      }
      o = after(st.next);
      continue;
    }
    o = after(next);
  }
  if (frames.length === 0) fail('has no image');
  for (const [i, f] of frames.entries()) {
    const { st } = f;
    if (!st.image) fail(`frame ${i + 1} has no VP8/VP8L data`);
    if (st.alpha && st.alpha[0] > st.image![0]) fail(`frame ${i + 1} has its ALPH chunk after the image data`);
    if (animated ? f.x + st.w > width || f.y + st.h > height : st.w !== width || st.h !== height) {
      fail(`frame ${i + 1} (${st.w}x${st.h} at ${f.x},${f.y}) does not fit the ${width}x${height} canvas`);
    }
  }
  const { x, y, st } = frames[0];
  return { width, height, animated, frame: { x, y, w: st.w, h: st.h, start: st.alpha ? st.alpha[0] : st.image![0], end: st.image![1] } };
}

// ---- the wasm codec -------------------------------------------------------------------------

interface WebpExports {
  memory: WebAssembly.Memory;
  malloc(n: number): number;
  free(p: number): void;
  WebPDecodeRGBA(data: number, size: number, width: number, height: number): number;
}

const WASM_PAGE = 65536;
/** Fixed part of the wasm memory budget: the module's initial 2 pages, libwebp's Huffman tables
 *  (~20 KB per Huffman group of a lossless image; encoders write at most a few hundred), VP8's
 *  per-row caches, and malloc's slack. */
const WEBP_WASM_FIXED = 64 << 20;

/**
 * Bytes the wasm instance may grow to for this frame (fw x fh, `frameBytes` of bitstream), and so
 * the memory maximum we compile into the module: libwebp cannot malloc past it, it returns NULL
 * and we throw. libwebp 1.x: the file copy; the RGBA output (4 per pixel); VP8L's ARGB pixels plus
 * 16 cache rows and 16 top rows (4 per pixel + 128 per column) — or, for a lossy frame with
 * VP8L-coded alpha, the same buffer for the alpha stream; the alpha plane (1 per pixel).
 */
export function webpWasmBytes(fw: number, fh: number, frameBytes: number): number {
  return WEBP_WASM_FIXED + frameBytes + fw * fh * 9 + fw * 128;
}

/** Upper bound of the bytes decodeWebp allocates: the wasm memory (capped, see webpWasmBytes),
 *  the RGBA copy out of it, the RGB canvas, and DECODE_SLACK. */
export function webpDecodeBytes(h: WebpHeader): number {
  const f = h.frame;
  return webpWasmBytes(f.w, f.h, f.end - f.start) + f.w * f.h * 4 + h.width * h.height * 3 + DECODE_SLACK;
}

let wasmBytes: Uint8Array | undefined;
const WEBP_WASM = '@cwasm/webp/webp.wasm';

/** True once webp.wasm's bytes are in hand (read from disk or fetched). */
export function webpWasmLoaded(): boolean {
  return wasmBytes !== undefined;
}

/** Fetch webp.wasm in a browser: from `url`, else where an import map puts
 *  '@cwasm/webp/webp.wasm', else next to this package as the repository lays it out
 *  (<package>/node_modules/@cwasm/webp/webp.wasm; a Worker has no import map). In Node, Deno
 *  and Bun it is read from disk on first use instead. */
export async function loadWebpWasm(url?: string): Promise<void> {
  if (wasmBytes) return;
  if (nodeBuiltin('node:fs')) return; // read synchronously on first use
  let where = url;
  try {
    if (!where) {
      try {
        where = import.meta.resolve(WEBP_WASM);
      } catch {
        /* no import map here */
      }
      if (!where || where.startsWith(WEBP_WASM)) where = new URL(`../../node_modules/${WEBP_WASM}`, import.meta.url).href;
    }
    const r = await fetch(where);
    if (!r.ok) throw new Error(`HTTP ${r.status}`);
    wasmBytes = new Uint8Array(await r.arrayBuffer());
  } catch (e) {
    throw new ImageError(
      `WebP decoder (${where ?? WEBP_WASM}) could not be fetched: ${(e as Error).message}`,
      `map '${WEBP_WASM}' in the page's import map (examples/browser/index.html does)`,
    );
  }
}
/** Compiled modules by memory maximum (pages); a few sizes at most in practice. */
const compiled = new Map<number, WebAssembly.Module>();

/**
 * The module with a memory maximum of `maxPages`: webp.wasm declares its memory with no maximum
 * (it may grow to 4 GiB), so we rewrite the limits of its memory section (id 5: count, flags,
 * min, max as LEB128). Rounded up to 16 MiB so nearby sizes share a compiled module.
 */
export function moduleWithMaxMemory(maxPages: number): WebAssembly.Module {
  maxPages = Math.min(65536, Math.ceil(maxPages / 256) * 256);
  let m = compiled.get(maxPages);
  if (m) return m;
  if (!wasmBytes) {
    // Node, Deno, Bun: read it next to the package (synchronously: decodeImage is synchronous)
    const fs = nodeBuiltin<typeof import('node:fs')>('node:fs');
    const mod = nodeBuiltin<typeof import('node:module')>('node:module');
    if (!fs || !mod) {
      throw new ImageError(
        'WebP decoder (@cwasm/webp/webp.wasm) is not loaded: this runtime cannot read it from disk',
        'in a browser, decode images with `await decodeImageAsync(bytes)`, which fetches it once',
      );
    }
    try {
      wasmBytes = fs.readFileSync(mod.createRequire(import.meta.url).resolve(WEBP_WASM));
    } catch (e) {
      throw new ImageError(
        `WebP decoder (${WEBP_WASM}) could not be loaded: ${(e as Error).message}`,
        'reinstall the package dependencies (npm ci)',
      );
    }
  }
  m = new WebAssembly.Module(setMemoryMax(wasmBytes, maxPages) as Uint8Array<ArrayBuffer>);
  if (compiled.size >= 8) compiled.delete(compiled.keys().next().value!);
  compiled.set(maxPages, m);
  return m;
}

const mib = (n: number) => `${(n / 2 ** 20).toFixed(0)} MiB`;

function leb(b: Uint8Array, o: number): [value: number, length: number] {
  let v = 0;
  let n = 0;
  let shift = 1;
  for (;;) {
    const x = b[o + n++];
    v += (x & 0x7f) * shift;
    if (!(x & 0x80)) return [v, n];
    shift *= 128;
  }
}
function lebBytes(v: number): number[] {
  const out: number[] = [];
  do {
    let x = v % 128;
    v = Math.floor(v / 128);
    if (v) x |= 0x80;
    out.push(x);
  } while (v);
  return out;
}

/** webp.wasm with its one memory's limits set to (min, maxPages). */
function setMemoryMax(wasm: Uint8Array, maxPages: number): Uint8Array {
  const broken = (why: string): never => {
    throw new ImageError(`WebP decoder (webp.wasm): ${why}`, 'reinstall the package dependencies (npm ci)');
  };
  let o = 8; // magic + version
  while (o < wasm.length) {
    const id = wasm[o];
    const [size, n] = leb(wasm, o + 1);
    const start = o + 1 + n;
    if (id === 5) {
      let p = start;
      const [count, c] = leb(wasm, p);
      p += c;
      if (count !== 1) broken(`${count} memories, expected 1`);
      const flags = wasm[p++];
      if (flags & ~1) broken(`memory flags 0x${flags.toString(16)} (shared or 64-bit) unexpected`);
      const [min, cm] = leb(wasm, p);
      p += cm;
      if (flags & 1) p += leb(wasm, p)[1];
      const payload = [1, 1, ...lebBytes(min), ...lebBytes(Math.max(min, maxPages)), ...wasm.subarray(p, start + size)];
      const head = [5, ...lebBytes(payload.length)];
      const out = new Uint8Array(o + head.length + payload.length + wasm.length - start - size);
      out.set(wasm.subarray(0, o));
      out.set(head, o);
      out.set(payload, o + head.length);
      out.set(wasm.subarray(start + size), o + head.length + payload.length);
      return out;
    }
    o = start + size;
  }
  return broken('no memory section');
}

function codec(maxBytes: number): WebpExports {
  const stub = () => {
    throw new Error('WASI call from the WebP decoder');
  };
  const inst = new WebAssembly.Instance(moduleWithMaxMemory(Math.ceil(maxBytes / WASM_PAGE)), {
    wasi_snapshot_preview1: { fd_close: stub, fd_seek: stub, fd_write: stub },
  });
  return inst.exports as unknown as WebpExports;
}

/** libwebp's WebPDecodeRGBA on a still WebP file: [w, h, RGBA bytes]. `maxBytes` caps its memory. */
function decodeStill(file: Uint8Array, maxBytes: number, label: string): [number, number, Uint8Array] {
  const wasm = codec(maxBytes);
  let out = 0;
  try {
    const inp = wasm.malloc(file.length);
    const dims = wasm.malloc(8);
    if (!inp || !dims) throw new Error('out of wasm memory');
    new Uint8Array(wasm.memory.buffer).set(file, inp);
    out = wasm.WebPDecodeRGBA(inp, file.length, dims, dims + 4);
    const dv = new DataView(wasm.memory.buffer);
    const w = dv.getUint32(dims, true);
    const h = dv.getUint32(dims + 4, true);
    if (!out) {
      // NULL is corrupt data, or a malloc refused at the memory maximum: say which is likely
      const used = wasm.memory.buffer.byteLength;
      const cap = Math.ceil(maxBytes / WASM_PAGE) * WASM_PAGE;
      throw new Error(
        `WebPDecodeRGBA returned NULL; wasm memory ${mib(used)} of at most ${mib(cap)}` +
          (used + (16 << 20) > cap ? ', nearly all used: the frame needs more memory than its size explains (huge Huffman tables?)' : ''),
      );
    }
    return [w, h, new Uint8Array(wasm.memory.buffer, out, w * h * 4).slice()];
  } catch (e) {
    throw new ImageError(
      `${label}: WebP data could not be decoded (libwebp: ${(e as Error).message})`,
      'the file is truncated or corrupt (Pillow fails too)',
    );
  }
}

/** Decode a WebP whose header has already passed the pixel guard. */
export function decodeWebp(bytes: Uint8Array, h: WebpHeader, label: string): RgbImage {
  const f = h.frame;
  // exactly the bytes WebPAnimDecoder hands WebPDecode: [ALPH ...] VP8/VP8L, no RIFF around them
  const [w, ht, rgba] = decodeStill(bytes.subarray(f.start, f.end), webpWasmBytes(f.w, f.h, f.end - f.start), label);
  if (w !== f.w || ht !== f.h)
    throw new ImageError(`${label}: WebP frame decoded to ${w}x${ht}, expected ${f.w}x${f.h}`, 'the file is corrupt');
  const rgb = new Uint8Array(h.width * h.height * 3); // [H, W, 3]; zero: the canvas is cleared to transparent black
  for (let y = 0; y < ht; y++) {
    for (let x = 0, j = y * w * 4, i = ((f.y + y) * h.width + f.x) * 3; x < w; x++, j += 4, i += 3) {
      rgb[i] = rgba[j];
      rgb[i + 1] = rgba[j + 1];
      rgb[i + 2] = rgba[j + 2];
    }
  }
  return { width: h.width, height: h.height, data: rgb };
}
