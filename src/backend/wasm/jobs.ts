// Kernel jobs: from named arguments (kernel-table.ts) to the pool's positional jobs, and their
// dispatch on the calling thread and the workers (pool.ts), timed for the benchmarks.
//
//   part(fn, mem, args)             one thread's call: every argument by name
//   tasks(fn, mem, args, split)     a range job: every argument but the kernel's `range` pair
//                                   and `perThread` scratch, which the job fills per task /
//                                   thread; tasks [t·step, min(total, (t+1)·step)) are claimed
//                                   dynamically by the threads
//
// Which thread runs a part or a task never changes a value (pool.ts header).

import { BackendError } from '../../errors.js';
import {
  type FilledArg,
  type HasPerThread,
  KERNELS,
  type KernelArgs,
  type KernelName,
  PARAMS,
  positional,
  type RangeKernel,
} from './kernel-table.js';
import type { Memories } from './memory.js';
import type { JobPart, TaskJob, WorkerPool } from './pool.js';

/** One call of kernel `fn` in memory `mem`. */
export function part<N extends KernelName>(fn: N, mem: number, args: KernelArgs<N>): JobPart {
  return { fn, mem, args: positional(fn, args) };
}

/** How a range job splits: `total` items in tasks of `step`, and the per-thread scratch
 *  pointers (one per thread) when the kernel takes some. */
export type TaskSplit<N extends KernelName> = { total: number; step: number } & (HasPerThread<N> extends true
  ? { scratch: number[] }
  : { scratch?: undefined });

/** A range job of kernel `fn`: `args` names every parameter except the range and the
 *  per-thread scratch. Its template holds the whole range and thread 0's scratch (what a
 *  single-threaded run passes). */
export function tasks<N extends RangeKernel>(fn: N, mem: number, args: Omit<KernelArgs<N>, FilledArg<N>>, split: TaskSplit<N>): TaskJob {
  // the range pair and the scratch are filled in place of a merged object (a spread with computed
  // keys cost ~5 µs a call: decode makes hundreds of jobs per token)
  const { ia, ib, ip } = rangeSlots(fn);
  const names = PARAMS[fn] as readonly string[];
  const a = new Array<number>(names.length);
  for (let i = 0; i < names.length; i++) {
    if (i === ia) a[i] = 0;
    else if (i === ib) a[i] = split.total;
    else if (i === ip) a[i] = split.scratch![0];
    else {
      const v = (args as Record<string, number>)[names[i]];
      if (typeof v !== 'number')
        throw new BackendError(`kernel ${fn}: argument '${names[i]}' is ${v === undefined ? 'missing' : `a ${typeof v}`}`);
      a[i] = v;
    }
  }
  const job: TaskJob = { fn, mem, args: a, total: split.total, step: split.step, ntasks: Math.ceil(split.total / split.step), ia, ib };
  if (ip >= 0) job.perThread = { index: ip, values: split.scratch! };
  return job;
}

/** Positions of a range kernel's range pair and per-thread scratch (-1: none), once per kernel. */
const SLOTS = new Map<KernelName, { ia: number; ib: number; ip: number }>();
function rangeSlots(fn: RangeKernel): { ia: number; ib: number; ip: number } {
  let s = SLOTS.get(fn);
  if (!s) {
    const spec = KERNELS[fn] as { range: readonly [string, string]; perThread?: string };
    const names = PARAMS[fn] as readonly string[];
    s = { ia: names.indexOf(spec.range[0]), ib: names.indexOf(spec.range[1]), ip: spec.perThread ? names.indexOf(spec.perThread) : -1 };
    SLOTS.set(fn, s);
  }
  return s;
}

/** Split [0, total) into at most `parts` ranges whose inner boundaries are multiples of `align`. */
export function split(total: number, parts: number, align: number): [number, number][] {
  const out: [number, number][] = [];
  const step = Math.ceil(total / parts / align) * align || align;
  for (let a = 0; a < total; a += step) out.push([a, Math.min(total, a + step)]);
  return out;
}

/** Runs jobs on the calling thread and the pool's workers; counts the time inside them. */
export class Dispatcher {
  /** Wall time spent inside kernel jobs (ms), excluding the copies of activations in and
   *  out and the allocation of result arrays; read by bench/kernels.mjs. */
  kernelMs = 0;

  constructor(
    private readonly pool: WorkerPool,
    private readonly mems: Memories,
  ) {}

  /** Threads including the calling one. */
  get threads(): number {
    return this.pool.size + 1;
  }

  /** Static parts, one per thread (a part whose worker is late is run by the calling thread;
   *  `steal` false for the probes that need every thread at once). */
  run(parts: JobPart[], steal = true): void {
    const t0 = performance.now();
    if (parts.length === 1) this.runLocal(parts[0]);
    else this.pool.run(parts, (p) => this.runLocal(p), steal);
    this.kernelMs += performance.now() - t0;
  }

  /** Range tasks claimed dynamically by up to `threads` threads (pool.ts). With one thread
   *  (or one task) the calling thread runs the whole range in one call. */
  runTasks(job: TaskJob, threads: number): void {
    const t0 = performance.now();
    if (threads <= 1 || job.ntasks <= 1) {
      const args = job.args.slice();
      args[job.ia] = 0;
      args[job.ib] = job.total;
      this.runLocal({ fn: job.fn, mem: job.mem, args });
    } else {
      this.pool.runTasks(job, Math.min(threads, this.threads), (p) => this.runLocal(p));
    }
    this.kernelMs += performance.now() - t0;
  }

  close(): void {
    this.pool.close();
  }

  private runLocal(p: JobPart): void {
    (this.mems.get(p.mem).k[p.fn] as unknown as (...a: number[]) => unknown)(...p.args);
  }
}
