// The kernel table (src/backend/wasm/kernel-table.ts) is the one list of kernels the wasm
// backend and its workers call. Checked here:
//  - each entry equals its AssemblyScript signature in kernels/<group>.ts (names, types, order,
//    result), and every function a backend module exports is listed (nothing callable untyped);
//  - the compiled modules agree (arity of every export) and export the listed constants; the
//    bKind values match kernels/gemm.ts; range/perThread name parameters; every kernel fits a
//    pool slot; named arguments land in signature order and a missing one is an error;
//  - the typing catches wrong calls: a snippet with a missing, extra or misspelt argument, a
//    wrong positional count, a range kernel given its range, a per-thread kernel without its
//    scratch is type-checked with the project's compiler options and must fail on exactly
//    those lines (and the correct lines must pass).
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import ts from 'typescript';
import { describe, expect, it } from 'vitest';
import { tasks } from '../../src/backend/wasm/jobs.js';
import {
  B_BF16_KN,
  B_BF16_NK,
  B_F32_KN,
  B_F32_NK,
  KERNEL_GLOBALS,
  KERNEL_LIST,
  KERNEL_NAMES,
  KERNELS,
  type KernelName,
  PARAMS,
  positional,
} from '../../src/backend/wasm/kernel-table.js';
import { GROUPS, loadKernels } from '../../src/backend/wasm/kernels.js';
import { MAX_ARGS } from '../../src/backend/wasm/pool.js';
import { BackendError } from '../../src/errors.js';

const root = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
const spec = (n: KernelName) =>
  KERNELS[n] as { group: string; args: readonly string[]; returns: string; range?: readonly string[]; perThread?: string };

/** `export function name(params): result` of an AssemblyScript file, params as 'name: type'. */
function asSignatures(file: string): Map<string, { args: string[]; returns: string }> {
  const src = readFileSync(join(root, file), 'utf8');
  const out = new Map<string, { args: string[]; returns: string }>();
  for (const m of src.matchAll(/^export function (\w+)\(([^)]*)\)\s*:\s*(\w+)/gm)) {
    const args = m[2]
      .split(',')
      .map((p) => p.replace(/\s+/g, ' ').trim())
      .filter((p) => p !== '');
    out.set(m[1], { args, returns: m[3] });
  }
  return out;
}

describe('kernel table', () => {
  it('equals the AssemblyScript signatures, and lists every exported function of the backend modules', () => {
    const problems: string[] = [];
    for (const g of GROUPS) {
      const sigs = asSignatures(`kernels/${g}.ts`);
      expect(sigs.size, `kernels/${g}.ts exports functions`).toBeGreaterThan(0);
      for (const [name, sig] of sigs) {
        if (!(name in KERNELS)) {
          problems.push(`kernels/${g}.ts ${name}: not in the kernel table`);
          continue;
        }
        const k = spec(name as KernelName);
        if (k.group !== g) problems.push(`${name}: table group ${k.group}, exported by kernels/${g}.ts`);
        if (JSON.stringify(k.args) !== JSON.stringify(sig.args))
          problems.push(`${name}: table (${k.args.join(', ')}) vs kernels/${g}.ts (${sig.args.join(', ')})`);
        if (k.returns !== sig.returns) problems.push(`${name}: table returns ${k.returns}, kernels/${g}.ts ${sig.returns}`);
      }
      for (const n of KERNEL_NAMES)
        if (spec(n).group === g && !sigs.has(n)) problems.push(`${n}: in the table, not exported by kernels/${g}.ts`);
    }
    expect(problems).toEqual([]);
  });

  it('matches the compiled modules: every export by arity, the constants, the bKind values', () => {
    const k = loadKernels('simd');
    const memory = new WebAssembly.Memory({ initial: 2, maximum: 65536, shared: true });
    const ex = Object.fromEntries(GROUPS.map((g) => [g, new WebAssembly.Instance(k.modules[g], { env: { memory } }).exports]));
    const problems: string[] = [];
    for (const g of GROUPS) {
      for (const [name, v] of Object.entries(ex[g])) {
        if (typeof v !== 'function') continue;
        if (!(name in KERNELS)) problems.push(`module ${g} exports ${name}: not in the table`);
        else if ((v as (...a: number[]) => unknown).length !== spec(name as KernelName).args.length) {
          problems.push(
            `${name}: wasm takes ${(v as (...a: number[]) => unknown).length} arguments, the table lists ${spec(name as KernelName).args.length}`,
          );
        }
      }
    }
    for (const n of KERNEL_NAMES)
      if (typeof ex[spec(n).group][n] !== 'function') problems.push(`${n}: not exported by module ${spec(n).group}`);
    for (const [n, g] of Object.entries(KERNEL_GLOBALS))
      if (!(ex[g][n] instanceof WebAssembly.Global)) problems.push(`global ${n}: not exported by ${g}`);
    expect(problems).toEqual([]);
    const bKinds = { B_F32_NK, B_BF16_NK, B_F32_KN, B_BF16_KN };
    for (const [n, v] of Object.entries(bKinds)) expect((ex.gemm[n] as WebAssembly.Global).value, n).toBe(v);
  });

  it('range and perThread name parameters; every kernel fits a pool slot; the workers get the same list', () => {
    for (const n of KERNEL_NAMES) {
      const k = spec(n);
      for (const a of [...(k.range ?? []), ...(k.perThread ? [k.perThread] : [])]) expect(PARAMS[n], `${n}.${a}`).toContain(a);
      expect(k.args.length, n).toBeLessThanOrEqual(MAX_ARGS);
    }
    expect(KERNEL_LIST.map(([g, n]) => `${g}.${n}`)).toEqual(KERNEL_NAMES.map((n) => `${spec(n).group}.${n}`));
  });

  it('named arguments land in signature order; a missing or non-number argument is a BackendError', () => {
    expect(positional('add_bias', { n1: 6, n0: 5, b: 4, ldc: 3, c: 2, M: 1 })).toEqual([1, 2, 3, 4, 5, 6]);
    expect(() => positional('add', { a: 1, b: 2, y: 3, i0: 0 } as never)).toThrow(BackendError);
    expect(() => positional('add', { a: 1, b: 2, y: 3, i0: 0, i1: '4' } as never)).toThrow(/argument 'i1' is a string/);
    // a range job: the range spans the whole work and per-thread scratch is thread 0's in the template
    const job = tasks(
      'attention_blocked',
      3,
      { q: 1, k: 2, v: 3, o: 4, Tq: 5, Tk: 6, Nq: 7, Nkv: 8, Dh: 9, scl: 0.5, causal: 1, qPos0: 10, kPos0: 11, window: 12, cap: 13 },
      { total: 40, step: 7, scratch: [100, 200] },
    );
    expect(job).toEqual({
      fn: 'attention_blocked',
      mem: 3,
      args: [1, 2, 3, 4, 5, 6, 7, 8, 9, 0.5, 1, 10, 11, 12, 13, 0, 40, 100],
      total: 40,
      step: 7,
      ntasks: 6,
      ia: 15,
      ib: 16,
      perThread: { index: 17, values: [100, 200] },
    });
  });

  it('wrong kernel calls are type errors (type-checked with the project options)', () => {
    const dir = mkdtempSync(join(tmpdir(), 'kernel-table-'));
    try {
      const jobs = join(root, 'src/backend/wasm/jobs.js');
      const memory = join(root, 'src/backend/wasm/memory.js');
      // each line ending in `// bad` must fail, every other line must pass
      const lines = [
        `import { part, tasks } from ${JSON.stringify(jobs)};`,
        `import type { KernelMemory } from ${JSON.stringify(memory)};`,
        `declare const mem: KernelMemory;`,
        `part('add', 0, { a: 1, b: 2, y: 3, i0: 0, i1: 1 });`,
        `part('add', 0, { a: 1, b: 2, y: 3, i0: 0 }); // bad`,
        `part('add', 0, { a: 1, b: 2, y: 3, i0: 0, i1: 1, z: 5 }); // bad`,
        `part('add', 0, { a: 1, b: 2, y: 3, i0: 0, I1: 1 }); // bad`,
        `part('no_such_kernel', 0, {}); // bad`,
        `mem.k.add(1, 2, 3, 4, 5);`,
        `mem.k.add(1, 2, 3, 4); // bad`,
        `mem.k.add(1, 2, 3, 4, 5, 6); // bad`,
        `const n: number = mem.k.dot(0, 0, 4);`,
        `const v: number = mem.k.add(1, 2, 3, 4, 5); // bad`,
        `mem.call('dot', { a: 0, b: 0, n: 4 });`,
        `mem.call('dot', { a: 0, b: 0 }); // bad`,
        `tasks('gemv_f32', 0, { K: 1, x: 0, w: 0, y: 0 }, { total: 8, step: 8 });`,
        `tasks('gemv_f32', 0, { K: 1, x: 0, w: 0, y: 0, n0: 0 }, { total: 8, step: 8 }); // bad`,
        `tasks('softmax_rows', 0, { x: 0, y: 0, rows: 1, n: 1 }, { total: 1, step: 1 }); // bad`,
        `const g = { M: 1, N: 8, K: 1, a: 0, lda: 1, bKind: 0, w: 0, ldb: 1, c: 0, ldc: 8, KC: 1, MC: 4, NC: 8 };`,
        `tasks('gemm_blocked', 0, g, { total: 8, step: 8, scratch: [0] });`,
        `tasks('gemm_blocked', 0, g, { total: 8, step: 8 }); // bad`,
        `void n; void v;`,
      ];
      const file = join(dir, 'calls.ts');
      writeFileSync(file, lines.join('\n') + '\n');
      const cfg = ts.parseJsonConfigFileContent(ts.readConfigFile(join(root, 'tsconfig.json'), ts.sys.readFile).config, ts.sys, root);
      const program = ts.createProgram([file], { ...cfg.options, noEmit: true, rootDir: undefined });
      const sf = program.getSourceFile(file)!;
      const errLines = new Set(ts.getPreEmitDiagnostics(program, sf).map((d) => sf.getLineAndCharacterOfPosition(d.start!).line));
      const bad = new Set(lines.flatMap((l, i) => (l.endsWith('// bad') ? [i] : [])));
      expect([...errLines].sort((a, b) => a - b).map((i) => lines[i])).toEqual([...bad].sort((a, b) => a - b).map((i) => lines[i]));
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  }, 60_000);
});
