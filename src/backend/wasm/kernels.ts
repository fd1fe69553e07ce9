// The embedded kernel modules: decode, feature detection, compilation, and the typed
// export surface of each module (kernels/gemm.ts, kernels/gemv.ts, kernels/ops.ts).
//
// Which build is live is decided here, once, and reported by `kernelInfo()`; tests assert
// it so a silent fallback can never make them vacuous. There is no scalar fallback: an
// engine without WebAssembly SIMD gets a BackendError, not a slow path.

import { BackendError } from '../../errors.js';
import { EMBEDDED_KERNELS, type KernelGroup as EmbeddedGroup, type KernelVariant } from './generated/kernels-wasm.js';

export type { KernelVariant };
/** The groups this backend instantiates. ('quant', kernels/quant.ts, is embedded and tested on its
 *  own in test/quant/kernels.test.ts until the backend wires the quantized Linear.) */
export type KernelGroup = Exclude<EmbeddedGroup, 'quant'>;

/** Pointer arguments are byte offsets into one shared memory (u32; passed as JS numbers). */
export interface GemmExports {
  gemm(M: number, N: number, K: number, a: number, lda: number, bKind: number, w: number, ldb: number,
    c: number, ldc: number, n0: number, n1: number, scratch: number): void;
  gemm_scratch_bytes(): number;
  /** gemm with blocking kc (>= 1), mc (multiple of 4), nc (multiple of 8); values do not depend on it. */
  gemm_blocked(M: number, N: number, K: number, a: number, lda: number, bKind: number, w: number, ldb: number,
    c: number, ldc: number, n0: number, n1: number, scratch: number, kc: number, mc: number, nc: number): void;
  gemm_blocked_scratch_bytes(kc: number, mc: number, nc: number): number;
  add_bias(M: number, c: number, ldc: number, b: number, n0: number, n1: number): void;
  peak_madd(iters: number, x: number, m: number, k: number): number;
}
export interface GemvExports {
  deinterleave8(x: number, K: number, xd: number): void;
  gemv_bf16(K: number, x: number, xd: number, w: number, y: number, n0: number, n1: number): void;
  gemv_f32(K: number, x: number, w: number, y: number, n0: number, n1: number): void;
  read_stream(p: number, bytes: number): number;
}
export interface OpsExports {
  dot(a: number, b: number, n: number): number;
  widen_bf16(src: number, dst: number, n: number): void;
  unfold_patches(px: number, C: number, S: number, P: number, y: number, r0: number, r1: number): void;
  softmax_rows(x: number, y: number, rows: number, n: number): void;
  layer_norm_rows(x: number, y: number, rows: number, n: number, w: number, b: number, eps: number): void;
  rms_norm_rows(x: number, y: number, rows: number, n: number, w: number, eps: number, offset: number): void;
  gelu_tanh(x: number, y: number, i0: number, i1: number): void;
  gated(g: number, u: number, y: number, act: number, i0: number, i1: number): void;
  add(a: number, b: number, y: number, i0: number, i1: number): void;
  scale(x: number, y: number, s: number, i0: number, i1: number): void;
  softcap(x: number, y: number, c: number, i0: number, i1: number): void;
  rope(x: number, nHeads: number, hd: number, cos: number, sin: number, t0: number, t1: number): void;
  attention_scratch_bytes(Tk: number, Dh: number, G: number): number;
  attention(q: number, k: number, v: number, o: number, Tq: number, Tk: number, Nq: number, Nkv: number,
    Dh: number, scale: number, causal: number, qPos0: number, kPos0: number, window: number, cap: number,
    r0: number, r1: number, scratch: number): void;
  attention_blocked_scratch_bytes(Tk: number): number;
  attention_blocked(q: number, k: number, v: number, o: number, Tq: number, Tk: number, Nq: number, Nkv: number,
    Dh: number, scale: number, causal: number, qPos0: number, kPos0: number, window: number, cap: number,
    t0: number, t1: number, scratch: number): void;
  ATT_QB: WebAssembly.Global;
}
export interface KernelExports { gemm: GemmExports; gemv: GemvExports; ops: OpsExports }

/** bKind values of gemm() (kernels/gemm.ts). */
export const B_F32_NK = 0, B_BF16_NK = 1, B_F32_KN = 2, B_BF16_KN = 3;

export const GROUPS: readonly KernelGroup[] = ['gemm', 'gemv', 'ops'];

/** WebAssembly page size and the wasm32 limit: 65536 pages = 4 GiB per memory. */
export const PAGE = 65536;
export const MAX_PAGES = 65536;

function decodeBase64(b64: string): Uint8Array<ArrayBuffer> {
  // atob exists in Node >= 16, Deno, Bun and browsers; no Buffer, no file access.
  const bin = atob(b64);
  const out = new Uint8Array(bin.length);
  for (let i = 0; i < bin.length; i++) out[i] = bin.charCodeAt(i);
  return out;
}

export interface KernelInfo {
  /** The live build: 'simd' (SIMD128, mul+add, the default) or 'relaxed' (relaxed_madd). */
  variant: KernelVariant;
  /** Whether this engine validates the relaxed-SIMD build (Node 20 needs a V8 flag). */
  relaxedAvailable: boolean;
  /** binaryen level of each group and the module sizes. */
  groups: { group: KernelGroup; opt: string; bytes: number; sha256: string }[];
}

export interface CompiledKernels {
  info: KernelInfo;
  bytes: Record<KernelGroup, Uint8Array<ArrayBuffer>>;
  modules: Record<KernelGroup, WebAssembly.Module>;
}

const cache = new Map<KernelVariant, CompiledKernels>();

/** Decode + validate + compile the requested build. `relaxed: true` is honoured only where
 *  the engine validates relaxed SIMD; otherwise it throws (no silent downgrade). */
export function loadKernels(variant: KernelVariant = 'simd'): CompiledKernels {
  const hit = cache.get(variant);
  if (hit) return hit;
  const pick = (v: KernelVariant) => GROUPS.map((g) => {
    const e = EMBEDDED_KERNELS.find((k) => k.variant === v && k.group === g);
    if (!e) throw new BackendError(`embedded kernels: module '${g}' (${v}) missing`, 'the build is incomplete: in an ovis-ts clone run `npm run build`; an installed package: reinstall ovis-ts');
    return e;
  });
  const relaxedBytes = pick('relaxed').map((e) => decodeBase64(e.base64));
  const relaxedAvailable = relaxedBytes.every((b) => WebAssembly.validate(b));
  const entries = pick(variant);
  const bytesList = variant === 'relaxed' ? relaxedBytes : entries.map((e) => decodeBase64(e.base64));
  bytesList.forEach((b, i) => {
    if (!WebAssembly.validate(b)) {
      throw new BackendError(
        `kernels: this engine does not validate the '${variant}' build of '${entries[i].group}'`,
        variant === 'relaxed'
          ? 'relaxed SIMD needs Deno/Bun or `node --experimental-wasm-relaxed-simd`; use the default build'
          : 'WebAssembly SIMD128 and threads (shared memory) are required: Node >= 20, Deno, Bun, or a current browser',
      );
    }
  });
  const bytes = {} as Record<KernelGroup, Uint8Array<ArrayBuffer>>;
  const modules = {} as Record<KernelGroup, WebAssembly.Module>;
  GROUPS.forEach((g, i) => {
    bytes[g] = bytesList[i];
    modules[g] = new WebAssembly.Module(bytesList[i]);
  });
  const out: CompiledKernels = {
    info: { variant, relaxedAvailable, groups: entries.map((e) => ({ group: e.group as KernelGroup, opt: e.opt, bytes: e.bytes, sha256: e.sha256 })) },
    bytes,
    modules,
  };
  cache.set(variant, out);
  return out;
}

/** Whether the relaxed-SIMD build validates on this engine (without compiling it). */
export function relaxedSimdAvailable(): boolean {
  return EMBEDDED_KERNELS.filter((k) => k.variant === 'relaxed').every((k) => WebAssembly.validate(decodeBase64(k.base64)));
}

/** Instantiate all groups against one shared memory (main thread or a worker). */
export function instantiate(k: CompiledKernels, memory: WebAssembly.Memory): KernelExports {
  const imports = { env: { memory } };
  return {
    gemm: new WebAssembly.Instance(k.modules.gemm, imports).exports as unknown as GemmExports,
    gemv: new WebAssembly.Instance(k.modules.gemv, imports).exports as unknown as GemvExports,
    ops: new WebAssembly.Instance(k.modules.ops, imports).exports as unknown as OpsExports,
  };
}
