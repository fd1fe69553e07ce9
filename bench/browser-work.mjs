// The measurements of bench/browser.mjs, written once and run in both places: in Node (given
// dist/index.js) and in a Chromium tab's module worker (bench/browser-worker.js, given
// dist/browser.js). Same code, same shapes, same timing rules:
//   gemm:  linear 729x1152x4304 (SigLIP fc1; f32 and bf16 weights), one warm-up call then the
//          median of `reps` of the kernel time (backend.kernelMs, as bench/kernels.mjs), and the
//          same-run SIMD128 mul+add ceiling (peak_madd) -> GFLOP/s and % of ceiling;
//   tiny:  the tiny checkpoint by URL (HttpSource), one image + prompt, `maxNew` greedy tokens,
//          a fresh prefill per rep; decode tokens/s (the generator's own timing), best of reps;
//   load:  open + load a checkpoint by URL (the largest-checkpoint probe): seconds, bytes read,
//          wasm memory held.

/** Shared with bench/kernels.mjs: a seeded generator of values in [-0.5, 0.5). */
export function rng(seed) {
  let s = seed >>> 0;
  return () => {
    s = (s + 0x6d2b79f5) >>> 0;
    let t = s;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 2 ** 32 - 0.5;
  };
}
export const randF32 = (r, n) => {
  const a = new Float32Array(n);
  for (let i = 0; i < n; i++) a[i] = r();
  return a;
};
/** bf16 bits of random values in [-0.05, 0.05) without building an f32 copy of huge weights. */
export const randBf16 = (r, n) => {
  const a = new Uint16Array(n);
  const f = new Float32Array(1);
  const u = new Uint32Array(f.buffer);
  for (let i = 0; i < n; i++) {
    f[0] = r() * 0.1;
    a[i] = u[0] >>> 16;
  }
  return a;
};
export const median = (xs) => {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)];
};

/** GEMM GFLOP/s (kernel time) of linear 729x1152x4304, f32 and bf16 weights, and the ceiling. */
export async function gemm(api, { threads, reps = 4 }) {
  const be = await api.createBackend('wasm', { threads });
  try {
    for (let i = 0; i < 40; i++) be.measurePeakGflops(2e5); // tier-up first (see bench/kernels.mjs)
    const ceiling = Math.max(be.measurePeakGflops(2e7), be.measurePeakGflops(2e7));
    const r = rng(1);
    const M = 729;
    const K = 1152;
    const N = 4304;
    const x = { shape: [M, K], data: randF32(r, M * K) };
    const out = { threads, ceiling, rows: [] };
    for (const dtype of ['F32', 'BF16']) {
      const w = be.loadWeight(`g-${dtype}`, dtype, [N, K], dtype === 'F32' ? randF32(r, N * K) : randBf16(r, N * K));
      be.linear(x, w); // warm-up
      const ks = [];
      for (let i = 0; i < reps; i++) {
        const k0 = be.kernelMs;
        be.linear(x, w);
        ks.push(be.kernelMs - k0);
      }
      const gflops = (2 * M * N * K) / (median(ks) / 1e3) / 1e9;
      out.rows.push({ dtype, shape: `${M}x${K}x${N}`, gflops, ofCeiling: gflops / ceiling });
    }
    return out;
  } finally {
    be.dispose();
  }
}

/** Decode tokens/s of the tiny checkpoint at `url` (best of `reps`), and its greedy ids. */
export async function tiny(
  api,
  { url, threads, imageUrl, prompt = 'Describe the image in detail.', maxNew = 64, maxPartition = 9, reps = 3 },
) {
  const runner = await api.OvisRunner.load(new api.HttpSource(url), { backend: 'wasm', threads });
  try {
    const rgb = await api.decodeImageAsync(new Uint8Array(await (await fetch(imageUrl)).arrayBuffer()));
    let best = 0;
    let ids;
    let prefillMs = Infinity;
    for (let i = 0; i < reps; i++) {
      runner.resetConversation();
      const it = runner.chat(
        [
          {
            role: 'user',
            content: [
              { type: 'image', image: rgb },
              { type: 'text', text: prompt },
            ],
          },
        ],
        { maxNewTokens: maxNew, maxPartition },
      );
      let r;
      while (!(r = await it.next()).done);
      best = Math.max(best, r.value.timings.tokensPerSecond);
      prefillMs = Math.min(prefillMs, r.value.timings.prefillMs);
      ids = r.value.ids;
    }
    return { threads, tokensPerSecond: best, prefillMs, ids };
  } finally {
    runner.dispose();
  }
}

/** Load a checkpoint by URL: seconds, bytes read, requests, wasm memory held; with `imageUrl`,
 *  then one answer (one crop: maxPartition 1, `maxNew` tokens) with its timings; then dispose. */
export async function load(api, { url, threads = 1, imageUrl, maxNew = 8 }) {
  const src = new api.HttpSource(url);
  const t0 = performance.now();
  const runner = await api.OvisRunner.load(src, { backend: 'wasm', threads });
  try {
    const seconds = (performance.now() - t0) / 1e3;
    const out = { seconds, bytesRead: src.bytesRead, requests: src.requests };
    if (imageUrl) {
      const rgb = await api.decodeImageAsync(new Uint8Array(await (await fetch(imageUrl)).arrayBuffer()));
      const t1 = performance.now();
      const it = runner.chat(
        [
          {
            role: 'user',
            content: [
              { type: 'image', image: rgb },
              { type: 'text', text: 'Describe the image.' },
            ],
          },
        ],
        {
          maxNewTokens: maxNew,
          maxPartition: 1,
        },
      );
      let r;
      while (!(r = await it.next()).done);
      out.answer = {
        ids: r.value.ids,
        promptTokens: r.value.promptTokens,
        seconds: (performance.now() - t1) / 1e3,
        timings: r.value.timings,
      };
    }
    const mems = runner.model.backend.info().memories;
    out.memories = mems.length;
    out.wasmBytes = mems.reduce((s, m) => s + m.byteLength, 0);
    return out;
  } finally {
    runner.dispose();
  }
}

/** How many 4 GiB shared wasm32 memories this engine lets one thread create (untouched: address
 *  space only, no RAM), up to `max`; the message of the error that stopped it. */
export function memoryCeiling(_api, { max = 64 } = {}) {
  const held = [];
  let error = null;
  try {
    while (held.length < max) held.push(new WebAssembly.Memory({ initial: 65536, maximum: 65536, shared: true }));
  } catch (e) {
    error = String(e?.message ?? e);
  }
  const n = held.length;
  held.length = 0;
  return { memories: n, error };
}
