// bench:image — Ovis1.6 preprocessing of a 4000x3000 photo-like image (max_partition 9:
// grid 3x3 + global view = 10 crops) in ovis-ts vs Pillow + numpy (and Pillow + HF's
// SiglipImageProcessor when transformers is importable), same machine, same run.
// Each side runs in its own process so peak memory (max RSS) is its own; both read the same raw
// RGB bytes, and the pixel_values hashes are compared (they must be equal).
//
// Usage: npm run bench:image        (builds, then: node bench/image.mjs [--reps N])
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..');
const W = 4000, H = 3000, MAX_PARTITION = 9;
const reps = Number(process.argv[process.argv.indexOf('--reps') + 1]) || 5;

/** Photo-like content: smooth shading, soft shapes, sharp edges and sensor-like noise. */
function photoLike(w, h) {
  const data = new Uint8Array(w * h * 3);
  let s = 0x12345678;
  const rnd = () => { s ^= s << 13; s ^= s >>> 17; s ^= s << 5; return (s >>> 0) / 2 ** 32; };
  for (let y = 0; y < h; y++) {
    for (let x = 0; x < w; x++) {
      const u = x / w, v = y / h;
      const sky = v < 0.4 + 0.05 * Math.sin(u * 9);
      const disc = (x - 2600) ** 2 + (y - 1400) ** 2 < 500 ** 2;
      let r, g, b;
      if (disc) { r = 200 + 40 * u; g = 60 + 50 * v; b = 40; }
      else if (sky) { r = 90 + 60 * v; g = 140 + 60 * v; b = 220 - 30 * v; }
      else { r = 70 + 50 * Math.sin(u * 40) * Math.cos(v * 30); g = 110 + 40 * Math.cos(u * 25 + v * 7); b = 50 + 30 * v; }
      const n = (rnd() - 0.5) * 12;
      const o = (y * w + x) * 3;
      data[o] = Math.max(0, Math.min(255, r + n));
      data[o + 1] = Math.max(0, Math.min(255, g + n));
      data[o + 2] = Math.max(0, Math.min(255, b + n));
    }
  }
  return data;
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
  for (let i = 0; i < reps + 1; i++) { // first run = JIT warm-up, not timed
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
  if (!existsSync(join(ROOT, 'dist/image/index.js'))) throw new Error('dist/ missing: run `npm run bench:image` (it builds first)');
  const dir = mkdtempSync(join(tmpdir(), 'ovis-bench-image-'));
  try {
    process.stderr.write(`[bench:image] generating a ${W}x${H} photo-like image...\n`);
    const raw = join(dir, 'img.rgb');
    writeFileSync(raw, photoLike(W, H));
    const rows = [];
    process.stderr.write(`[bench:image] ovis-ts (${reps} timed runs after 1 warm-up)...\n`);
    const ts = spawnSync(process.execPath, [fileURLToPath(import.meta.url), '--child', raw, '--reps', String(reps)], { encoding: 'utf8' });
    if (ts.status !== 0) throw new Error(`ovis-ts child failed:\n${ts.stderr}`);
    const [tMed, tMin, tPeak, tRss, tHash, n, grid] = ts.stdout.trim().split(' ');
    rows.push({ impl: `ovis-ts (Node ${process.versions.node})`, med: +tMed, min: +tMin, peak: +tPeak, rss: +tRss, hash: tHash });
    const py = findPython();
    if (!py) {
      process.stderr.write('[bench:image] no Python with Pillow + numpy found (reference/.venv or python3): Pillow columns skipped\n');
    } else {
      for (const hf of py.hf ? [false, true] : [false]) {
        process.stderr.write(`[bench:image] Pillow ${py.pil} + ${hf ? 'HF SiglipImageProcessor' : 'numpy'}...\n`);
        const r = spawnSync(py.py, ['-c', PY, raw, String(W), String(H), String(MAX_PARTITION), String(reps), hf ? '1' : '0'], { encoding: 'utf8' });
        if (r.status !== 0) { process.stderr.write(`[bench:image] python failed:\n${r.stderr}\n`); continue; }
        const [med, min, peak, rss, hash] = r.stdout.trim().split(/\s+/);
        rows.push({ impl: `Pillow ${py.pil} + ${hf ? 'HF processor' : 'numpy'}`, med: +med, min: +min, peak: +peak, rss: +rss, hash });
      }
    }
    const base = rows.find((r) => r.impl.includes('numpy'));
    console.log(`\nOvis1.6 preprocess, ${W}x${H} RGB, max_partition ${MAX_PARTITION} -> grid ${grid}, ${n} crops of 3x384x384 (median of ${reps})\n`);
    console.log('| implementation | median s | min s | peak +MB | max RSS MB | vs Pillow+numpy | pixel_values |');
    console.log('|---|---:|---:|---:|---:|---:|---|');
    for (const r of rows) {
      const ratio = base ? (r.med / base.med).toFixed(2) + 'x' : 'n/a';
      const same = r === rows[0] ? `sha ${r.hash.slice(0, 12)}` : r.hash === rows[0].hash ? 'identical' : 'DIFFERENT';
      console.log(`| ${r.impl} | ${r.med.toFixed(3)} | ${r.min.toFixed(3)} | ${r.peak.toFixed(0)} | ${r.rss.toFixed(0)} | ${ratio} | ${same} |`);
    }
    if (base) {
      const ratio = rows[0].med / base.med;
      console.log(`\novis-ts / Pillow+numpy = ${ratio.toFixed(2)}x (target <= 2x): ${ratio <= 2 ? 'OK' : 'SLOWER THAN TARGET'}`);
    }
    console.log('peak +MB = growth of max RSS during the timed runs (the image itself is excluded).');
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

main().catch((e) => { console.error(e); process.exitCode = 1; });
