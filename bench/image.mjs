// bench:image — two benchmarks on a 4000x3000 photo-like image, same machine, same run:
//  1. Ovis1.6 preprocessing (max_partition 9: grid 3x3 + global view = 10 crops) in ovis-ts vs
//     Pillow + numpy (and Pillow + HF's SiglipImageProcessor when transformers is importable).
//     Each side runs in its own process so peak memory (max RSS) is its own; both read the same
//     raw RGB bytes, and the pixel_values hashes are compared (they must be equal).
//  2. JPEG decoding of the same image: baseline 4:2:0 and 4:4:4 written by the small encoder
//     below (no Python needed), plus Pillow-written baseline and progressive 4:2:0 when Python
//     with Pillow is found; ovis-ts (src/image/jpeg/) vs jpeg-js (if installed) vs Pillow, each
//     in its own process, and ours must equal Pillow's RGB (sha256).
//  3. PNG decoding of the same image (written by Pillow, and by our encoder): ovis-ts with
//     node:zlib's inflate (decodeImage) vs the browser's path (node:zlib hidden, inflate by the
//     platform's DecompressionStream: decodeImageAsync) vs Pillow, RGB compared likewise.
//
// Usage: npm run bench:image        (builds, then: node bench/image.mjs [--reps N] [--only preprocess|jpeg|png])
//        node bench/image.mjs --save DIR   writes the bench-encoder JPEGs to DIR (for node --cpu-prof) and exits
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..');
const W = 4000;
const H = 3000;
const MAX_PARTITION = 9;
const reps = Number(process.argv[process.argv.indexOf('--reps') + 1]) || 5;
const only = process.argv.includes('--only') ? process.argv[process.argv.indexOf('--only') + 1] : undefined;

/** Photo-like content: smooth shading, soft shapes, sharp edges and sensor-like noise. */
function photoLike(w, h) {
  const data = new Uint8Array(w * h * 3);
  let s = 0x12345678;
  const rnd = () => {
    s ^= s << 13;
    s ^= s >>> 17;
    s ^= s << 5;
    return (s >>> 0) / 2 ** 32;
  };
  for (let y = 0; y < h; y++) {
    for (let x = 0; x < w; x++) {
      const u = x / w;
      const v = y / h;
      const sky = v < 0.4 + 0.05 * Math.sin(u * 9);
      const disc = (x - 2600) ** 2 + (y - 1400) ** 2 < 500 ** 2;
      let r;
      let g;
      let b;
      if (disc) {
        r = 200 + 40 * u;
        g = 60 + 50 * v;
        b = 40;
      } else if (sky) {
        r = 90 + 60 * v;
        g = 140 + 60 * v;
        b = 220 - 30 * v;
      } else {
        r = 70 + 50 * Math.sin(u * 40) * Math.cos(v * 30);
        g = 110 + 40 * Math.cos(u * 25 + v * 7);
        b = 50 + 30 * v;
      }
      const n = (rnd() - 0.5) * 12;
      const o = (y * w + x) * 3;
      data[o] = Math.max(0, Math.min(255, r + n));
      data[o + 1] = Math.max(0, Math.min(255, g + n));
      data[o + 2] = Math.max(0, Math.min(255, b + n));
    }
  }
  return data;
}

// ---- a small baseline JPEG encoder (standard Annex K tables), for the decode benchmark ----------

const ZIGZAG = [
  0, 1, 8, 16, 9, 2, 3, 10, 17, 24, 32, 25, 18, 11, 4, 5, 12, 19, 26, 33, 40, 48, 41, 34, 27, 20, 13, 6, 7, 14, 21, 28, 35, 42, 49, 56, 57,
  50, 43, 36, 29, 22, 15, 23, 30, 37, 44, 51, 58, 59, 52, 45, 38, 31, 39, 46, 53, 60, 61, 54, 47, 55, 62, 63,
];
/** ITU T.81 Annex K: quantization tables (natural order) and the typical Huffman tables. */
const Q_LUMA = [
  16, 11, 10, 16, 24, 40, 51, 61, 12, 12, 14, 19, 26, 58, 60, 55, 14, 13, 16, 24, 40, 57, 69, 56, 14, 17, 22, 29, 51, 87, 80, 62, 18, 22,
  37, 56, 68, 109, 103, 77, 24, 35, 55, 64, 81, 104, 113, 92, 49, 64, 78, 87, 103, 121, 120, 101, 72, 92, 95, 98, 112, 100, 103, 99,
];
const Q_CHROMA = [
  17,
  18,
  24,
  47,
  99,
  99,
  99,
  99,
  18,
  21,
  26,
  66,
  99,
  99,
  99,
  99,
  24,
  26,
  56,
  99,
  99,
  99,
  99,
  99,
  47,
  66,
  99,
  99,
  99,
  99,
  99,
  99,
  ...new Array(32).fill(99),
];
const hex = (s) => s.match(/../g).map((b) => parseInt(b, 16));
const HUFF = {
  dcLuma: { counts: [0, 1, 5, 1, 1, 1, 1, 1, 1, 0, 0, 0, 0, 0, 0, 0], syms: [0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11] },
  dcChroma: { counts: [0, 3, 1, 1, 1, 1, 1, 1, 1, 1, 1, 0, 0, 0, 0, 0], syms: [0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11] },
  acLuma: {
    counts: [0, 2, 1, 3, 3, 2, 4, 3, 5, 5, 4, 4, 0, 0, 1, 0x7d],
    syms: hex(
      '01020300041105122131410613516107227114328191a1082342b1c11552d1f02433627282090a161718191a25262728292a3435363738393a434445464748494a' +
        '535455565758595a636465666768696a737475767778797a838485868788898a92939495969798999aa2a3a4a5a6a7a8a9aab2b3b4b5b6b7b8b9bac2c3c4c5c6c7c8c9ca' +
        'd2d3d4d5d6d7d8d9dae1e2e3e4e5e6e7e8e9eaf1f2f3f4f5f6f7f8f9fa',
    ),
  },
  acChroma: {
    counts: [0, 2, 1, 2, 4, 4, 3, 4, 7, 5, 4, 4, 0, 1, 2, 0x77],
    syms: hex(
      '000102031104052131061241510761711322328108144291a1b1c109233352f0156272d10a162434e125f11718191a262728292a35363738393a434445464748494a' +
        '535455565758595a636465666768696a737475767778797a82838485868788898a92939495969798999aa2a3a4a5a6a7a8a9aab2b3b4b5b6b7b8b9bac2c3c4c5c6c7c8c9ca' +
        'd2d3d4d5d6d7d8d9dae2e3e4e5e6e7e8e9eaf2f3f4f5f6f7f8f9fa',
    ),
  },
};

/** Canonical codes: symbol -> (code << 8 | length). */
function huffCodes({ counts, syms }) {
  const codes = new Int32Array(256);
  let code = 0;
  let k = 0;
  for (let l = 1; l <= 16; l++, code <<= 1) for (let i = 0; i < counts[l - 1]; i++) codes[syms[k++]] = (code++ << 8) | l;
  return codes;
}

/** Baseline JPEG of 8-bit RGB [h, w, 3]: JFIF YCbCr, 4:2:0 (`sub` '420') or 4:4:4, libjpeg quality scaling. */
function encodeJpeg(rgb, w, h, { sub = '420', quality = 85 } = {}) {
  const scale = quality < 50 ? 5000 / quality : 200 - 2 * quality;
  const qt = [Q_LUMA, Q_CHROMA].map((t) => t.map((v) => Math.min(255, Math.max(1, Math.floor((v * scale + 50) / 100)))));
  const f = sub === '420' ? 2 : 1; // luma factor
  const mcusX = Math.ceil(w / (8 * f));
  const mcusY = Math.ceil(h / (8 * f));
  // planes padded to whole MCUs by edge replication; chroma averaged over f x f
  const pw = mcusX * 8 * f;
  const ph = mcusY * 8 * f;
  const cw = pw / f;
  const ch = ph / f;
  const Y = new Float32Array(pw * ph);
  const Cb = new Float32Array(cw * ch);
  const Cr = new Float32Array(cw * ch);
  for (let y = 0; y < ph; y++) {
    const sy = Math.min(y, h - 1);
    for (let x = 0; x < pw; x++) {
      const o = (sy * w + Math.min(x, w - 1)) * 3;
      const r = rgb[o];
      const g = rgb[o + 1];
      const b = rgb[o + 2];
      Y[y * pw + x] = 0.299 * r + 0.587 * g + 0.114 * b - 128;
      const c = ((y / f) | 0) * cw + ((x / f) | 0);
      const n = f * f;
      Cb[c] += (-0.168736 * r - 0.331264 * g + 0.5 * b) / n;
      Cr[c] += (0.5 * r - 0.418688 * g - 0.081312 * b) / n;
    }
  }
  const C8 = Float64Array.from({ length: 64 }, (_, i) => {
    const k = i >> 3;
    const n = i & 7;
    return (k ? 1 : Math.SQRT1_2) * 0.5 * Math.cos(((2 * n + 1) * k * Math.PI) / 16);
  });
  let out = new Uint8Array(1 << 20);
  let len = 0;
  let acc = 0;
  let nb = 0;
  const byte = (b) => {
    if (len === out.length) {
      const o = new Uint8Array(out.length * 2);
      o.set(out);
      out = o;
    }
    out[len++] = b;
  };
  const put = (code, l) => {
    acc = (acc << l) | code;
    nb += l;
    while (nb >= 8) {
      const b = (acc >>> (nb - 8)) & 255;
      byte(b);
      if (b === 255) byte(0);
      nb -= 8;
    }
    acc &= (1 << nb) - 1;
  };
  const codes = Object.fromEntries(Object.entries(HUFF).map(([k, t]) => [k, huffCodes(t)]));
  const tmp = new Float64Array(64);
  const coef = new Int32Array(64);
  const block = (plane, stride, bx, by, q, dc, ac, pred) => {
    for (let u = 0; u < 8; u++) {
      // rows: tmp = C8 · block
      for (let x = 0; x < 8; x++) {
        let s = 0;
        for (let n = 0; n < 8; n++) s += C8[u * 8 + n] * plane[(by * 8 + n) * stride + bx * 8 + x];
        tmp[u * 8 + x] = s;
      }
    }
    for (let u = 0; u < 8; u++)
      for (let v = 0; v < 8; v++) {
        // then · C8ᵀ, quantize
        let s = 0;
        for (let n = 0; n < 8; n++) s += tmp[u * 8 + n] * C8[v * 8 + n];
        coef[u * 8 + v] = Math.round(s / q[u * 8 + v]);
      }
    const mag = (v) => {
      const a = Math.abs(v);
      let s = 0;
      while (a >> s) s++;
      return [s, v >= 0 ? v : v + (1 << s) - 1];
    };
    let [s, m] = mag(coef[0] - pred);
    put(dc[s] >> 8, dc[s] & 255);
    if (s) put(m, s);
    let run = 0;
    for (let k = 1; k < 64; k++) {
      const c = coef[ZIGZAG[k]];
      if (c === 0) {
        run++;
        continue;
      }
      while (run > 15) {
        put(ac[0xf0] >> 8, ac[0xf0] & 255);
        run -= 16;
      }
      [s, m] = mag(c);
      const sym = (run << 4) | s;
      put(ac[sym] >> 8, ac[sym] & 255);
      put(m, s);
      run = 0;
    }
    if (run) put(ac[0] >> 8, ac[0] & 255);
    return coef[0];
  };
  const seg = (marker, body) => {
    byte(0xff);
    byte(marker);
    byte((body.length + 2) >> 8);
    byte((body.length + 2) & 255);
    for (const b of body) byte(b);
  };
  byte(0xff);
  byte(0xd8);
  seg(0xe0, [0x4a, 0x46, 0x49, 0x46, 0, 1, 1, 0, 0, 1, 0, 1, 0, 0]);
  seg(0xdb, [0, ...ZIGZAG.map((z) => qt[0][z]), 1, ...ZIGZAG.map((z) => qt[1][z])]);
  seg(0xc0, [8, h >> 8, h & 255, w >> 8, w & 255, 3, 1, (f << 4) | f, 0, 2, 0x11, 1, 3, 0x11, 1]);
  seg(0xc4, [
    0x00,
    ...HUFF.dcLuma.counts,
    ...HUFF.dcLuma.syms,
    0x10,
    ...HUFF.acLuma.counts,
    ...HUFF.acLuma.syms,
    0x01,
    ...HUFF.dcChroma.counts,
    ...HUFF.dcChroma.syms,
    0x11,
    ...HUFF.acChroma.counts,
    ...HUFF.acChroma.syms,
  ]);
  seg(0xda, [3, 1, 0x00, 2, 0x11, 3, 0x11, 0, 63, 0]);
  const q0 = Float64Array.from(qt[0]);
  const q1 = Float64Array.from(qt[1]);
  let pY = 0;
  let pCb = 0;
  let pCr = 0;
  for (let my = 0; my < mcusY; my++) {
    for (let mx = 0; mx < mcusX; mx++) {
      for (let v = 0; v < f; v++) for (let u = 0; u < f; u++) pY = block(Y, pw, mx * f + u, my * f + v, q0, codes.dcLuma, codes.acLuma, pY);
      pCb = block(Cb, cw, mx, my, q1, codes.dcChroma, codes.acChroma, pCb);
      pCr = block(Cr, cw, mx, my, q1, codes.dcChroma, codes.acChroma, pCr);
    }
  }
  if (nb) put((1 << (8 - nb)) - 1, 8 - nb);
  byte(0xff);
  byte(0xd9);
  return out.subarray(0, len);
}

// ---- JPEG decode timing: one child per implementation --------------------------------------------

const PY_JPEG = `
import sys, time, hashlib, io
from PIL import Image
reps = int(sys.argv[1])
for path in sys.argv[2:]:
    b = open(path, 'rb').read()
    times = []
    for i in range(reps + 1):
        t = time.perf_counter(); im = Image.open(io.BytesIO(b)); im.load(); dt = time.perf_counter() - t
        if i: times.append(dt)
    times.sort()
    print(times[len(times) // 2] * 1000, times[0] * 1000, hashlib.sha256(im.convert('RGB').tobytes()).hexdigest())
`;

/** Child: decode each file reps + 1 times with `impl` (first = warm-up); prints median/min ms and the RGB sha256 per file. */
async function jpegChild(impl, files) {
  let decode;
  if (impl === 'ovis-ts') {
    const { decodeImage } = await import(join(ROOT, 'dist/image/index.js'));
    decode = (b) => decodeImage(b, { label: 'bench' }).data;
  } else if (impl === 'ovis-ts-stream') {
    // what a browser runs: no node:zlib, so PNG data is inflated by DecompressionStream
    const real = process.getBuiltinModule;
    process.getBuiltinModule = (id) => (id === 'node:zlib' || id === 'zlib' ? undefined : real(id));
    const { decodeImageAsync } = await import(join(ROOT, 'dist/image/index.js'));
    decode = async (b) => (await decodeImageAsync(b, { label: 'bench' })).data;
  } else {
    const jpeg = (await import('jpeg-js')).default;
    decode = (b) => jpeg.decode(b, { useTArray: true, formatAsRGBA: false, maxMemoryUsageInMB: 4096, maxResolutionInMP: 200 }).data;
  }
  for (const f of files) {
    const b = new Uint8Array(readFileSync(f));
    const times = [];
    let rgb;
    for (let i = 0; i < reps + 1; i++) {
      const t = performance.now();
      rgb = await decode(b);
      if (i > 0) times.push(performance.now() - t);
    }
    times.sort((a, c) => a - c);
    process.stdout.write(`${times[times.length >> 1]} ${times[0]} ${createHash('sha256').update(rgb).digest('hex')}\n`);
  }
}

async function jpegBench(dir, rgb, py) {
  const files = [];
  const add = (name, bytes) => {
    const f = join(dir, name);
    writeFileSync(f, bytes);
    files.push({ name, f, size: bytes.length });
  };
  process.stderr.write('[bench:image] encoding the test JPEGs...\n');
  add('baseline 4:2:0 q85 (bench encoder)', encodeJpeg(rgb, W, H, { sub: '420', quality: 85 }));
  add('baseline 4:4:4 q85 (bench encoder)', encodeJpeg(rgb, W, H, { sub: '444', quality: 85 }));
  if (py) {
    const raw = join(dir, 'img.rgb');
    for (const [name, prog] of [
      ['pillow-baseline-420.jpg', 'False'],
      ['pillow-progressive-420.jpg', 'True'],
    ]) {
      const r = spawnSync(py.py, [
        '-c',
        `import sys; from PIL import Image; Image.frombytes('RGB', (${W}, ${H}), open(sys.argv[1], 'rb').read()).save(sys.argv[2], quality=85, subsampling=2, progressive=${prog})`,
        raw,
        join(dir, name),
      ]);
      if (r.status === 0)
        files.push({
          name: `${prog === 'True' ? 'progressive' : 'baseline'} 4:2:0 q85 (Pillow ${py.pil})`,
          f: join(dir, name),
          size: readFileSync(join(dir, name)).length,
        });
    }
  }
  const run = (impl) => {
    process.stderr.write(`[bench:image] JPEG decode: ${impl}...\n`);
    return decodeRuns(impl, files);
  };

  const ours = run('ovis-ts');
  let hasJpegJs = true;
  try {
    await import('jpeg-js');
  } catch {
    hasJpegJs = false;
  }
  const jj = hasJpegJs ? run('jpeg-js') : undefined;
  let pil;
  if (py) {
    process.stderr.write('[bench:image] JPEG decode: Pillow...\n');
    const r = spawnSync(py.py, ['-c', PY_JPEG, String(reps), ...files.map((x) => x.f)], { encoding: 'utf8' });
    if (r.status === 0)
      pil = r.stdout
        .trim()
        .split('\n')
        .map((l) => l.split(' '));
  }
  const ms = (row) => (row ? `${(+row[0]).toFixed(0)} (${(+row[1]).toFixed(0)})` : 'n/a');
  console.log(`\nJPEG decode to RGB, ${W}x${H}, median (min) ms of ${reps} after 1 warm-up, each implementation in its own process\n`);
  console.log(
    `| file | bytes | ovis-ts | jpeg-js${hasJpegJs ? '' : ' (not installed)'} | Pillow${py ? ` ${py.pil}` : ' (no Python)'} | ovis-ts / Pillow | ovis-ts RGB vs Pillow |`,
  );
  console.log('|---|---:|---:|---:|---:|---:|---|');
  files.forEach((x, i) => {
    const o = ours?.[i];
    const j = jj?.[i];
    const p = pil?.[i];
    const ratio = o && p ? `${(+o[0] / +p[0]).toFixed(2)}x` : 'n/a';
    const same = o && p ? (o[2] === p[2] ? 'identical' : 'DIFFERENT') : 'n/a';
    console.log(`| ${x.name} | ${x.size} | ${ms(o)} | ${ms(j)} | ${ms(p)} | ${ratio} | ${same} |`);
  });
}

const PY = `
import sys, time, hashlib, resource
import numpy as np
from PIL import Image
raw_path, w, h, mp, reps, use_hf = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4]), int(sys.argv[5]), sys.argv[6] == '1'
img = Image.frombytes('RGB', (w, h), open(raw_path, 'rb').read())
side = 384
if use_hf:
    from transformers import SiglipImageProcessor
    proc = SiglipImageProcessor(size={'height': side, 'width': side}, resample=3, rescale_factor=1/255,
                                image_mean=[0.5]*3, image_std=[0.5]*3)
def grid_of(w, h):  # Ovis _get_best_grid
    def part(g):
        rh, cw = h // g[0], w // g[1]
        return [(c*cw, r*rh, w if c == g[1]-1 else (c+1)*cw, h if r == g[0]-1 else (r+1)*rh) for r in range(g[0]) for c in range(g[1])]
    def area(l, t, r, b):
        a, c = max(r-l, b-t), min(r-l, b-t)
        if a > side: c = c / a * side; a = side
        return a * c
    allg = []
    for i in range(1, mp+1):
        for j in range(1, mp+1):
            if i*j <= mp: allg.append(((i, j), sum(area(*p) for p in part((i, j))) / (w*h)))
    good = [g for g in allg if g[1] > 0.9]
    g = sorted(good, key=lambda x: (x[0][0]*x[0][1], -x[1]))[0][0] if good else sorted(allg, key=lambda x: (-x[1], x[0][0]*x[0][1]))[0][0]
    return g, part(g)
def one(crop):
    cw, ch = crop.size
    if cw == ch: nw = nh = side
    elif cw > ch: nw, nh = side, int(ch / cw * side)
    else: nw, nh = int(cw / ch * side), side
    if use_hf:
        x = proc.preprocess(crop, size={'height': nh, 'width': nw}, return_tensors='np')['pixel_values'][0]
    else:
        a = np.asarray(crop.resize((nw, nh), Image.Resampling.BICUBIC))
        x = ((a.astype(np.float64) * (1/255)).astype(np.float32) - np.float32(0.5)) / np.float32(0.5)
        x = x.transpose(2, 0, 1)
    out = np.zeros((3, side, side), np.float32)
    oy, ox = (side - nh) // 2, (side - nw) // 2
    out[:, oy:oy+nh, ox:ox+nw] = x
    return out
def run():
    g, boxes = grid_of(w, h)
    crops = [img.crop(b) for b in boxes]
    if len(crops) > 1: crops.insert(0, img)
    return np.stack([one(c) for c in crops])
rss0 = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
times = []
for _ in range(reps):
    t = time.perf_counter(); pv = run(); times.append(time.perf_counter() - t)
rss1 = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
print(sorted(times)[len(times)//2], min(times), (rss1 - rss0) / 1024, rss1 / 1024, hashlib.sha256(pv.astype('<f4').tobytes()).hexdigest())
`;

async function child(rawPath) {
  const { preprocessImage } = await import(join(ROOT, 'dist/image/index.js'));
  const img = { width: W, height: H, data: new Uint8Array(readFileSync(rawPath)) };
  const rss0 = process.resourceUsage().maxRSS / 1024;
  const times = [];
  let pv;
  for (let i = 0; i < reps + 1; i++) {
    // first run = JIT warm-up, not timed
    const t = performance.now();
    pv = preprocessImage(img, { maxPartition: MAX_PARTITION });
    if (i > 0) times.push((performance.now() - t) / 1000);
  }
  const rss1 = process.resourceUsage().maxRSS / 1024;
  times.sort((a, b) => a - b);
  const hash = createHash('sha256').update(new Uint8Array(pv.pixelValues.buffer)).digest('hex');
  process.stdout.write(`${times[times.length >> 1]} ${times[0]} ${rss1 - rss0} ${rss1} ${hash} ${pv.n} ${pv.grid.join('x')}\n`);
}

function findPython() {
  for (const py of [join(ROOT, 'reference/.venv/bin/python'), 'python3']) {
    const r = spawnSync(py, ['-c', 'import PIL, numpy; print(PIL.__version__)'], { encoding: 'utf8' });
    if (r.status === 0) {
      const hf = spawnSync(py, ['-c', 'import transformers'], { encoding: 'utf8' }).status === 0;
      return { py, pil: r.stdout.trim(), hf };
    }
  }
  return undefined;
}

async function main() {
  if (process.argv[2] === '--child') return child(process.argv[3]);
  if (process.argv[2] === '--jpeg-child')
    return jpegChild(
      process.argv[3],
      process.argv.slice(4).filter((a, i, all) => a !== '--reps' && all[i - 1] !== '--reps'),
    );
  if (process.argv[2] === '--save') {
    const rgb = photoLike(W, H);
    for (const sub of ['420', '444'])
      writeFileSync(join(process.argv[3], `bench-${W}x${H}-${sub}.jpg`), encodeJpeg(rgb, W, H, { sub, quality: 85 }));
    return;
  }
  if (!existsSync(join(ROOT, 'dist/image/index.js'))) throw new Error('dist/ missing: run `npm run bench:image` (it builds first)');
  const dir = mkdtempSync(join(tmpdir(), 'ovis-bench-image-'));
  try {
    process.stderr.write(`[bench:image] generating a ${W}x${H} photo-like image...\n`);
    const raw = join(dir, 'img.rgb');
    const rgb = photoLike(W, H);
    writeFileSync(raw, rgb);
    const py = findPython();
    if (!py)
      process.stderr.write('[bench:image] no Python with Pillow + numpy found (reference/.venv or python3): Pillow columns skipped\n');
    if (only !== 'jpeg') preprocessBench(raw, py);
    if (only === undefined || only === 'jpeg') await jpegBench(dir, rgb, py);
    if (only === undefined || only === 'png') await pngBench(dir, rgb, py);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/** Runs `--jpeg-child impl` (any format decodeImage reads) over files; rows of [median, min, sha256]. */
function decodeRuns(impl, files) {
  const r = spawnSync(
    process.execPath,
    [fileURLToPath(import.meta.url), '--jpeg-child', impl, '--reps', String(reps), ...files.map((x) => x.f)],
    { encoding: 'utf8' },
  );
  if (r.status !== 0) {
    process.stderr.write(`[bench:image] ${impl} failed: ${r.stderr.split('\n').slice(0, 3).join(' ')}\n`);
    return undefined;
  }
  return r.stdout
    .trim()
    .split('\n')
    .map((l) => l.split(' '));
}

async function pngBench(dir, rgb, py) {
  const { encodeRgbPng } = await import(join(ROOT, 'dist/image/encode-png.js'));
  const { deflateSync } = await import('node:zlib');
  const files = [];
  const add = (name, f) => files.push({ name, f, size: readFileSync(f).length });
  writeFileSync(join(dir, 'ours.png'), encodeRgbPng(W, H, rgb, deflateSync));
  add('RGB, filter None (our encoder)', join(dir, 'ours.png'));
  if (py) {
    const r = spawnSync(py.py, [
      '-c',
      `import sys; from PIL import Image; Image.frombytes('RGB', (${W}, ${H}), open(sys.argv[1], 'rb').read()).save(sys.argv[2])`,
      join(dir, 'img.rgb'),
      join(dir, 'pillow.png'),
    ]);
    if (r.status === 0) add(`RGB, adaptive filters (Pillow ${py.pil})`, join(dir, 'pillow.png'));
  }
  process.stderr.write('[bench:image] PNG decode: ovis-ts (node:zlib), ovis-ts (DecompressionStream), Pillow...\n');
  const zlib = decodeRuns('ovis-ts', files);
  const stream = decodeRuns('ovis-ts-stream', files);
  const pil = py ? spawnSync(py.py, ['-c', PY_JPEG, String(reps), ...files.map((x) => x.f)], { encoding: 'utf8' }) : undefined;
  const p =
    pil?.status === 0
      ? pil.stdout
          .trim()
          .split('\n')
          .map((l) => l.split(' '))
      : undefined;
  const ms = (row) => (row ? `${(+row[0]).toFixed(0)} (${(+row[1]).toFixed(0)})` : 'n/a');
  const ratio = (a, b) => (a && b ? `${(+a[0] / +b[0]).toFixed(2)}x` : 'n/a');
  console.log(`\nPNG decode to RGB, ${W}x${H}, median (min) ms of ${reps} after 1 warm-up, each column in its own process\n`);
  console.log(
    '| file | bytes | ovis-ts, node:zlib | ovis-ts, DecompressionStream | Pillow | stream / zlib | zlib / Pillow | RGB vs Pillow |',
  );
  console.log('|---|---:|---:|---:|---:|---:|---:|---|');
  files.forEach((x, i) => {
    const a = zlib?.[i];
    const b = stream?.[i];
    const c = p?.[i];
    const same = a && b && c ? (a[2] === c[2] && b[2] === c[2] ? 'identical (both paths)' : 'DIFFERENT') : 'n/a';
    console.log(`| ${x.name} | ${x.size} | ${ms(a)} | ${ms(b)} | ${ms(c)} | ${ratio(b, a)} | ${ratio(a, c)} | ${same} |`);
  });
}

function preprocessBench(raw, py) {
  const rows = [];
  process.stderr.write(`[bench:image] ovis-ts (${reps} timed runs after 1 warm-up)...\n`);
  const ts = spawnSync(process.execPath, [fileURLToPath(import.meta.url), '--child', raw, '--reps', String(reps)], { encoding: 'utf8' });
  if (ts.status !== 0) throw new Error(`ovis-ts child failed:\n${ts.stderr}`);
  const [tMed, tMin, tPeak, tRss, tHash, n, grid] = ts.stdout.trim().split(' ');
  rows.push({ impl: `ovis-ts (Node ${process.versions.node})`, med: +tMed, min: +tMin, peak: +tPeak, rss: +tRss, hash: tHash });
  if (py) {
    for (const hf of py.hf ? [false, true] : [false]) {
      process.stderr.write(`[bench:image] Pillow ${py.pil} + ${hf ? 'HF SiglipImageProcessor' : 'numpy'}...\n`);
      const r = spawnSync(py.py, ['-c', PY, raw, String(W), String(H), String(MAX_PARTITION), String(reps), hf ? '1' : '0'], {
        encoding: 'utf8',
      });
      if (r.status !== 0) {
        process.stderr.write(`[bench:image] python failed:\n${r.stderr}\n`);
        continue;
      }
      const [med, min, peak, rss, hash] = r.stdout.trim().split(/\s+/);
      rows.push({ impl: `Pillow ${py.pil} + ${hf ? 'HF processor' : 'numpy'}`, med: +med, min: +min, peak: +peak, rss: +rss, hash });
    }
  }
  const base = rows.find((r) => r.impl.includes('numpy'));
  console.log(
    `\nOvis1.6 preprocess, ${W}x${H} RGB, max_partition ${MAX_PARTITION} -> grid ${grid}, ${n} crops of 3x384x384 (median of ${reps})\n`,
  );
  console.log('| implementation | median s | min s | peak +MB | max RSS MB | vs Pillow+numpy | pixel_values |');
  console.log('|---|---:|---:|---:|---:|---:|---|');
  for (const r of rows) {
    const ratio = base ? (r.med / base.med).toFixed(2) + 'x' : 'n/a';
    const same = r === rows[0] ? `sha ${r.hash.slice(0, 12)}` : r.hash === rows[0].hash ? 'identical' : 'DIFFERENT';
    console.log(
      `| ${r.impl} | ${r.med.toFixed(3)} | ${r.min.toFixed(3)} | ${r.peak.toFixed(0)} | ${r.rss.toFixed(0)} | ${ratio} | ${same} |`,
    );
  }
  if (base) {
    const ratio = rows[0].med / base.med;
    console.log(`\novis-ts / Pillow+numpy = ${ratio.toFixed(2)}x (target <= 2x): ${ratio <= 2 ? 'OK' : 'SLOWER THAN TARGET'}`);
  }
  console.log('peak +MB = growth of max RSS during the timed runs (the image itself is excluded).');
}

main().catch((e) => {
  console.error(e);
  process.exitCode = 1;
});
