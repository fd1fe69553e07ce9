// The kernel table: every function of the kernel modules (kernels/*.ts, AssemblyScript) that
// the backend calls, with its parameters written as in its AssemblyScript signature. It is the
// ONE list of kernels:
//   - kernels.ts binds it to each memory's instances (`mem.k.name(...)`, typed positionally
//     from the parameter list: a wrong argument count is a type error);
//   - pool.ts numbers the workers' jobs by it and sends it to the workers (no second list);
//   - call sites name their arguments (jobs.ts `part`/`tasks`, `mem.call`): a missing,
//     misspelt or extra name is a type error, and the positions come from here.
// test/kernels/kernel-table.test.ts holds it equal to the AssemblyScript sources (names, types,
// order, result) and to the compiled modules (arity), and every exported function of a backend
// module must be listed here.
//
// Per kernel:
//   group     the module that exports it (kernels/<group>.ts)
//   args      'name: type' per parameter, in signature order (types: i32, f32, usize = pointer)
//   returns   the result type ('void' when none)
//   range     [lo, hi]: the two parameters taking the [lo, hi) range of rows / columns /
//             elements / tasks that a job splits across threads (jobs.ts `tasks`)
//   perThread the parameter that takes each thread's own scratch in such a job
//
// Adding a kernel: export it from kernels/<group>.ts and add one entry below; nothing else
// lists kernels (docs/kernels.md "Adding a kernel").

import { BackendError } from '../../errors.js';
import type { KernelGroup } from './generated/kernels-wasm.js';

interface KernelSpec {
  readonly group: KernelGroup;
  readonly args: readonly `${string}: ${'i32' | 'f32' | 'usize'}`[];
  readonly returns: 'void' | 'i32' | 'f32';
  readonly range?: readonly [string, string];
  readonly perThread?: string;
}

export const KERNELS = {
  // ---- kernels/gemm.ts ----------------------------------------------------------------------
  gemm_blocked_scratch_bytes: { group: 'gemm', args: ['KC: i32', 'MC: i32', 'NC: i32'], returns: 'i32' },
  gemm_scratch_bytes: { group: 'gemm', args: [], returns: 'i32' },
  gemm: {
    group: 'gemm',
    returns: 'void',
    range: ['n0', 'n1'],
    perThread: 'scratch',
    args: [
      'M: i32',
      'N: i32',
      'K: i32',
      'a: usize',
      'lda: i32',
      'bKind: i32',
      'w: usize',
      'ldb: i32',
      'c: usize',
      'ldc: i32',
      'n0: i32',
      'n1: i32',
      'scratch: usize',
    ],
  },
  gemm_blocked: {
    group: 'gemm',
    returns: 'void',
    range: ['n0', 'n1'],
    perThread: 'scratch',
    args: [
      'M: i32',
      'N: i32',
      'K: i32',
      'a: usize',
      'lda: i32',
      'bKind: i32',
      'w: usize',
      'ldb: i32',
      'c: usize',
      'ldc: i32',
      'n0: i32',
      'n1: i32',
      'scratch: usize',
      'KC: i32',
      'MC: i32',
      'NC: i32',
    ],
  },
  add_bias: {
    group: 'gemm',
    returns: 'void',
    range: ['n0', 'n1'],
    args: ['M: i32', 'c: usize', 'ldc: i32', 'b: usize', 'n0: i32', 'n1: i32'],
  },
  peak_madd: { group: 'gemm', returns: 'f32', args: ['iters: i32', 'x: f32', 'm: f32', 'k: f32'] },
  // ---- kernels/gemv.ts ----------------------------------------------------------------------
  deinterleave8: { group: 'gemv', returns: 'void', args: ['x: usize', 'K: i32', 'xd: usize'] },
  gemv_bf16: {
    group: 'gemv',
    returns: 'void',
    range: ['n0', 'n1'],
    args: ['K: i32', 'x: usize', 'xd: usize', 'w: usize', 'y: usize', 'n0: i32', 'n1: i32'],
  },
  gemv_f32: {
    group: 'gemv',
    returns: 'void',
    range: ['n0', 'n1'],
    args: ['K: i32', 'x: usize', 'w: usize', 'y: usize', 'n0: i32', 'n1: i32'],
  },
  read_stream: { group: 'gemv', returns: 'i32', args: ['p: usize', 'bytes: usize'] },
  // ---- kernels/ops.ts -----------------------------------------------------------------------
  dot: { group: 'ops', returns: 'f32', args: ['a: usize', 'b: usize', 'n: i32'] },
  widen_bf16: { group: 'ops', returns: 'void', args: ['src: usize', 'dst: usize', 'n: i32'] },
  softmax_rows: { group: 'ops', returns: 'void', args: ['x: usize', 'y: usize', 'rows: i32', 'n: i32'] },
  layer_norm_rows: {
    group: 'ops',
    returns: 'void',
    args: ['x: usize', 'y: usize', 'rows: i32', 'n: i32', 'w: usize', 'b: usize', 'eps: f32'],
  },
  rms_norm_rows: {
    group: 'ops',
    returns: 'void',
    args: ['x: usize', 'y: usize', 'rows: i32', 'n: i32', 'w: usize', 'eps: f32', 'offset: f32'],
  },
  gelu_tanh: { group: 'ops', returns: 'void', range: ['i0', 'i1'], args: ['x: usize', 'y: usize', 'i0: i32', 'i1: i32'] },
  gated: {
    group: 'ops',
    returns: 'void',
    range: ['i0', 'i1'],
    args: ['g: usize', 'u: usize', 'y: usize', 'act: i32', 'i0: i32', 'i1: i32'],
  },
  add: { group: 'ops', returns: 'void', range: ['i0', 'i1'], args: ['a: usize', 'b: usize', 'y: usize', 'i0: i32', 'i1: i32'] },
  unfold_patches: {
    group: 'ops',
    returns: 'void',
    range: ['r0', 'r1'],
    args: ['px: usize', 'C: i32', 'S: i32', 'P: i32', 'y: usize', 'r0: i32', 'r1: i32'],
  },
  scale: { group: 'ops', returns: 'void', range: ['i0', 'i1'], args: ['x: usize', 'y: usize', 's: f32', 'i0: i32', 'i1: i32'] },
  softcap: { group: 'ops', returns: 'void', range: ['i0', 'i1'], args: ['x: usize', 'y: usize', 'c: f32', 'i0: i32', 'i1: i32'] },
  rope: {
    group: 'ops',
    returns: 'void',
    range: ['t0', 't1'],
    args: ['x: usize', 'nHeads: i32', 'hd: i32', 'cos: usize', 'sin: usize', 't0: i32', 't1: i32'],
  },
  attention_decode_scratch_bytes: { group: 'ops', returns: 'i32', args: ['Tq: i32', 'Tk: i32', 'Nq: i32', 'Dh: i32'] },
  attention_decode_scores: {
    group: 'ops',
    returns: 'void',
    range: ['j0', 'j1'],
    args: [
      'q: usize',
      'k: usize',
      's: usize',
      'Tq: i32',
      'Tk: i32',
      'Nq: i32',
      'Nkv: i32',
      'Dh: i32',
      'scl: f32',
      'causal: i32',
      'qPos0: i32',
      'kPos0: i32',
      'window: i32',
      'j0: i32',
      'j1: i32',
    ],
  },
  attention_decode_softmax: {
    group: 'ops',
    returns: 'void',
    range: ['r0', 'r1'],
    args: [
      's: usize',
      'Tq: i32',
      'Tk: i32',
      'Nq: i32',
      'causal: i32',
      'qPos0: i32',
      'kPos0: i32',
      'window: i32',
      'cap: f32',
      'r0: i32',
      'r1: i32',
    ],
  },
  attention_decode_pv: {
    group: 'ops',
    returns: 'void',
    range: ['b0', 'b1'],
    args: [
      'v: usize',
      's: usize',
      'Tq: i32',
      'Tk: i32',
      'Nq: i32',
      'Nkv: i32',
      'Dh: i32',
      'causal: i32',
      'qPos0: i32',
      'kPos0: i32',
      'window: i32',
      'b0: i32',
      'b1: i32',
    ],
  },
  attention_decode_combine: {
    group: 'ops',
    returns: 'void',
    args: ['s: usize', 'o: usize', 'Tq: i32', 'Tk: i32', 'Nq: i32', 'Dh: i32', 'causal: i32', 'qPos0: i32', 'kPos0: i32', 'window: i32'],
  },
  attention_blocked_scratch_bytes: { group: 'ops', returns: 'i32', args: ['Tk: i32'] },
  attention_blocked: {
    group: 'ops',
    returns: 'void',
    range: ['t0', 't1'],
    perThread: 'scratch',
    args: [
      'q: usize',
      'k: usize',
      'v: usize',
      'o: usize',
      'Tq: i32',
      'Tk: i32',
      'Nq: i32',
      'Nkv: i32',
      'Dh: i32',
      'scl: f32',
      'causal: i32',
      'qPos0: i32',
      'kPos0: i32',
      'window: i32',
      'cap: f32',
      't0: i32',
      't1: i32',
      'scratch: usize',
    ],
  },
  // ---- kernels/quant.ts (GPTQ int4/int8 Linear; docs/quantization.md) ---------------------------
  group_sums: { group: 'quant', returns: 'void', args: ['bits: i32', 'K: i32', 'gs: i32', 'x: usize', 'xs: usize', 'xq: usize'] },
  gemv_q: {
    group: 'quant',
    returns: 'void',
    range: ['n0', 'n1'],
    args: [
      'bits: i32',
      'K: i32',
      'N: i32',
      'gs: i32',
      'x: usize',
      'xs: usize',
      'qp: usize',
      'sz: usize',
      'y: usize',
      'ab: usize',
      'n0: i32',
      'n1: i32',
    ],
  },
  dequant_cols: {
    group: 'quant',
    returns: 'void',
    args: ['bits: i32', 'K: i32', 'N: i32', 'gs: i32', 'qp: usize', 'sz: usize', 'n0: i32', 'nb: i32', 'dst: usize'],
  },
  gemm_q_scratch_bytes: { group: 'quant', returns: 'i32', args: ['K: i32', 'KC: i32', 'MC: i32', 'NC: i32'] },
  gemm_q: {
    group: 'quant',
    returns: 'void',
    range: ['n0', 'n1'],
    perThread: 'scratch',
    args: [
      'bits: i32',
      'M: i32',
      'K: i32',
      'N: i32',
      'gs: i32',
      'x: usize',
      'qp: usize',
      'sz: usize',
      'c: usize',
      'n0: i32',
      'n1: i32',
      'scratch: usize',
      'KC: i32',
      'MC: i32',
      'NC: i32',
    ],
  },
  quant_rows_i16: { group: 'quant', returns: 'void', args: ['M: i32', 'K: i32', 'x: usize', 'xq: usize', 'ldq: i32', 'ax: usize'] },
  gemm_q_dot_scratch_bytes: { group: 'quant', returns: 'i32', args: [] },
  dot_block_sums: { group: 'quant', returns: 'void', args: ['K: i32', 'gs: i32', 'xq: usize', 'bsum: usize'] },
  dot_pair_order: { group: 'quant', returns: 'void', args: ['bits: i32', 'K: i32', 'xq: usize', 'xr: usize'] },
  gemv_q_dot: {
    group: 'quant',
    returns: 'void',
    range: ['n0', 'n1'],
    args: [
      'bits: i32',
      'K: i32',
      'N: i32',
      'gs: i32',
      'xr: usize',
      'ax: usize',
      'bsum: usize',
      'qp: usize',
      'sz: usize',
      'y: usize',
      'n0: i32',
      'n1: i32',
    ],
  },
  quant_blocks_i8: {
    group: 'quant',
    returns: 'void',
    args: ['bits: i32', 'K: i32', 'gs: i32', 'x: usize', 'xr16: usize', 'xr8: usize', 'axb: usize', 'xg: usize'],
  },
  gemv_q_dot8: {
    group: 'quant',
    returns: 'void',
    range: ['n0', 'n1'],
    args: [
      'bits: i32',
      'K: i32',
      'N: i32',
      'gs: i32',
      'xr16: usize',
      'xr8: usize',
      'axb: usize',
      'xg: usize',
      'qp: usize',
      'sz: usize',
      'y: usize',
      'n0: i32',
      'n1: i32',
    ],
  },
  // linearQuantMany: several matrices of one x in one range job (a table of 6-word entries)
  gemv_q_many: {
    group: 'quant',
    returns: 'void',
    range: ['n0', 'n1'],
    args: ['bits: i32', 'K: i32', 'gs: i32', 'x: usize', 'xs: usize', 'table: usize', 'count: i32', 'n0: i32', 'n1: i32'],
  },
  gemv_q_dot_many: {
    group: 'quant',
    returns: 'void',
    range: ['n0', 'n1'],
    args: ['bits: i32', 'K: i32', 'gs: i32', 'xr: usize', 'ax: usize', 'bsum: usize', 'table: usize', 'count: i32', 'n0: i32', 'n1: i32'],
  },
  gemv_q_dot8_many: {
    group: 'quant',
    returns: 'void',
    range: ['n0', 'n1'],
    args: [
      'bits: i32',
      'K: i32',
      'gs: i32',
      'xr16: usize',
      'xr8: usize',
      'axb: usize',
      'xg: usize',
      'table: usize',
      'count: i32',
      'n0: i32',
      'n1: i32',
    ],
  },
  quant_rows_i8: {
    group: 'quant',
    returns: 'void',
    args: [
      'bits: i32',
      'M: i32',
      'Mp: i32',
      'K: i32',
      'gs: i32',
      'B: i32',
      'G: i32',
      'x: usize',
      'xr16: usize',
      'xr8: usize',
      'axb: usize',
      'xg: usize',
    ],
  },
  gemm_q_dot8: {
    group: 'quant',
    returns: 'void',
    range: ['n0', 'n1'],
    args: [
      'bits: i32',
      'M: i32',
      'K: i32',
      'N: i32',
      'gs: i32',
      'B: i32',
      'G: i32',
      'xr16: usize',
      'xr8: usize',
      'axb: usize',
      'xg: usize',
      'qp: usize',
      'sz: usize',
      'c: usize',
      'n0: i32',
      'n1: i32',
    ],
  },
  gemm_q_dot: {
    group: 'quant',
    returns: 'void',
    range: ['n0', 'n1'],
    perThread: 'scratch',
    args: [
      'bits: i32',
      'M: i32',
      'K: i32',
      'N: i32',
      'gs: i32',
      'xq: usize',
      'ldq: i32',
      'ax: usize',
      'qp: usize',
      'sz: usize',
      'c: usize',
      'n0: i32',
      'n1: i32',
      'scratch: usize',
    ],
  },
} as const satisfies Record<string, KernelSpec>;

/** Exported constants the backend reads from a module (kernels.ts, at instantiation). */
export const KERNEL_GLOBALS = { ATT_QB: 'ops', ATT_PVB: 'ops', MANY_ENTRY: 'quant' } as const satisfies Record<string, KernelGroup>;

/** bKind values of gemm / gemm_blocked (kernels/gemm.ts B_*; the test checks they match). */
export const B_F32_NK = 0,
  B_BF16_NK = 1,
  B_F32_KN = 2,
  B_BF16_KN = 3;

// ---- types derived from the table -----------------------------------------------------------

export type KernelName = keyof typeof KERNELS;
type Spec<N extends KernelName> = (typeof KERNELS)[N];
type NameOf<S> = S extends `${infer A}: ${string}` ? A : never;
/** Parameter names of kernel N. */
export type ArgName<N extends KernelName> = NameOf<Spec<N>['args'][number]>;
/** Kernel N's arguments by name (all numbers: pointers, sizes, scalars). */
export type KernelArgs<N extends KernelName> = { readonly [A in ArgName<N>]: number };
type Result<R> = R extends 'void' ? undefined : number;
type Numbers<T extends readonly unknown[]> = { -readonly [I in keyof T]: number };
/** Kernel N as a function of positional arguments (one number per parameter). */
export type KernelFn<N extends KernelName> = (...args: Numbers<Spec<N>['args']>) => Result<Spec<N>['returns']>;
/** One memory's kernels by name (kernels.ts instantiate). */
export type KernelFns = { readonly [N in KernelName]: KernelFn<N> };
export type KernelGlobals = { readonly [G in keyof typeof KERNEL_GLOBALS]: number };

/** Kernels whose work splits into [lo, hi) ranges. */
export type RangeKernel = { [N in KernelName]: Spec<N> extends { range: readonly [string, string] } ? N : never }[KernelName];
/** The parameters a range job fills in itself: the range and the per-thread scratch. */
export type FilledArg<N extends KernelName> =
  | (Spec<N> extends { range: readonly [infer L extends string, infer H extends string] } ? L | H : never)
  | (Spec<N> extends { perThread: infer P extends string } ? P : never);
export type HasPerThread<N extends KernelName> = Spec<N> extends { perThread: string } ? true : false;

// Compile-time check: range and perThread name parameters of their kernel.
type Misnamed = {
  [N in KernelName]: FilledArg<N> extends ArgName<N> ? never : N;
}[KernelName];
const tableNamesAreParameters: [Misnamed] extends [never] ? true : Misnamed = true;
void tableNamesAreParameters;

// ---- the same table at run time ------------------------------------------------------------

/** Kernel names in table order: a kernel's job id in the pool is its index here. */
export const KERNEL_NAMES = Object.keys(KERNELS) as KernelName[];

/** [group, name] per job id, for the workers (pool.ts sends it with the kernel bytes). */
export const KERNEL_LIST: readonly (readonly [KernelGroup, KernelName])[] = KERNEL_NAMES.map((n) => [KERNELS[n].group, n] as const);

/** Parameter names per kernel, in signature order. */
export const PARAMS: { readonly [N in KernelName]: readonly ArgName<N>[] } = Object.fromEntries(
  KERNEL_NAMES.map((n) => [n, KERNELS[n].args.map((a: string) => a.slice(0, a.indexOf(':')))]),
) as never;

/** Position of parameter `arg` of kernel `name`. */
export function paramIndex<N extends KernelName>(name: N, arg: ArgName<N>): number {
  return (PARAMS[name] as readonly string[]).indexOf(arg);
}

/** Kernel `name`'s positional arguments from named ones (signature order). A missing or
 *  non-number argument is a BackendError (wasm would silently take it as 0). */
export function positional<N extends KernelName>(name: N, args: KernelArgs<N>): number[] {
  const names = PARAMS[name] as readonly string[];
  const out = new Array<number>(names.length);
  for (let i = 0; i < names.length; i++) {
    const v = (args as Record<string, number>)[names[i]];
    if (typeof v !== 'number')
      throw new BackendError(`kernel ${name}: argument '${names[i]}' is ${v === undefined ? 'missing' : `a ${typeof v}`}`);
    out[i] = v;
  }
  return out;
}
