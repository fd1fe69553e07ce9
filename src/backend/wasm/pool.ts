// Worker pool over shared WebAssembly memories, synchronised with Atomics (no postMessage
// per op). Same code path in Node (node:worker_threads, loaded lazily) and in Deno/Bun
// (Web Workers from a Blob URL); the worker body is `workerMain` below, shipped as source
// text so no worker file has to be found on disk.
//
// Protocol (Int32Array `ctl` over one SharedArrayBuffer):
//   ctl[GEN]      job generation; the main thread bumps it and notifies to start a job
//   ctl[PENDING]  workers still running the current job; the last one notifies the main thread
//   ctl[ATTACHED] counter the workers bump after instantiating a newly attached memory
//   ctl[FAILED]   set by a worker whose kernel threw (the message follows by postMessage)
//   ctl[NTASKS..IB] a task job (below): task count, next unclaimed task, range step/total,
//                 and which two arguments receive each task's range [lo, hi)
//   slot w        (SLOT0 + w·SLOT_INTS): fn id, memory index, argc, state; args as f64 after it
// Slot states: IDLE (no part for this worker), READY (part posted), RUNNING (the worker took
// it), STOLEN (the main thread took it). A worker runs its slot only if it wins the
// READY -> RUNNING compare-exchange, and only then counts in PENDING.
//
// Two job forms, both ending when every part / task is done:
// - parts: one argument list per thread. The main thread runs parts[0], then takes over every
//   part whose worker has not started yet (READY -> STOLEN) and runs it itself.
// - tasks: one argument template, `ntasks` ranges [t·step, min(total, (t+1)·step)) written into
//   two argument positions; every thread (main included) claims tasks with Atomics.add until
//   none is left. A worker that wakes late finds nothing to do; one that never woke is
//   marked STOLEN so the main thread does not wait for it.
// Why: on a shared machine a worker is often descheduled for milliseconds; with a fixed split
// the whole op waited for it (measured: 2 threads streamed the GEMV at 11 GB/s, 1 thread at
// 16 GB/s, while another process held one core). Which thread computes a part or task never
// changes its values: every output element is computed by exactly one kernel call whose
// arguments do not depend on the thread (per-thread scratch only holds packed copies), with a
// fixed order — results do not depend on the thread count or on the scheduling.
//
// Attaching a memory created after start-up (the weight store grew): the main thread posts
// the memory to every worker, then runs a YIELD job: workers leave their Atomics loop,
// return to their event loop, receive the memory, instantiate, bump ATTACHED and re-enter
// the loop; the main thread blocks on ATTACHED meanwhile (postMessage is delivered to the
// worker even while the main thread is blocked). YIELD parts are never stolen.

import { BackendError } from '../../errors.js';
import { KERNEL_LIST, KERNEL_NAMES, type KernelName } from './kernel-table.js';
import type { CompiledKernels } from './kernels.js';

const GEN = 0;
const PENDING = 1;
const ATTACHED = 2;
const FAILED = 3;
const NTASKS = 4;
const NEXT = 5;
const STEP = 6;
const TOTAL = 7;
const IA = 8;
const IB = 9;
const SLOT0 = 16;
const SLOT_INTS = 48;
/** Most arguments a job can carry (a slot holds them as f64 after its 4 header ints). */
export const MAX_ARGS = 20;
const FN_IDLE = -1;
const FN_YIELD = -2;
const S_IDLE = 0;
const S_READY = 1;
const S_STOLEN = 3; // S_RUNNING = 2 is written by workerMain (literals there)

// The kernels a worker may run are the kernel table's (kernel-table.ts): a job's fn id is the
// kernel's index in KERNEL_NAMES, and the workers receive KERNEL_LIST ([group, name] per id)
// at init. Jobs carry positional arguments; jobs.ts builds them from named ones.

/** One thread's share of a job: the kernel, which memory's instance, and its arguments. */
export interface JobPart {
  fn: KernelName;
  mem: number;
  args: number[];
}

/** A job of `ntasks` range tasks claimed dynamically by all threads. Task t runs `fn` with
 *  `args`, except args[ia] = t·step and args[ib] = min(total, (t+1)·step); when `perThread`
 *  is given, args[perThread.index] = perThread.values[thread] (per-thread scratch). The
 *  positions come from the kernel table's `range` and `perThread` (jobs.ts `tasks`). */
export interface TaskJob {
  fn: KernelName;
  mem: number;
  args: number[];
  ntasks: number;
  step: number;
  total: number;
  ia: number;
  ib: number;
  perThread?: { index: number; values: number[] };
}

/** Task t's range [lo, hi). */
export function taskRange(job: Pick<TaskJob, 'step' | 'total'>, t: number): [number, number] {
  const lo = t * job.step;
  return [lo, Math.min(job.total, lo + job.step)];
}

/** The worker body. Self-contained (it is serialised with Function.prototype.toString). */
function workerMain(port: { on(f: (m: any) => void): void; post(m: unknown): void }): void {
  let ctl: Int32Array;
  let args: Float64Array;
  let slot = 0;
  let seen = 0;
  let fns: [string, string][] = [];
  const kmods: Record<string, WebAssembly.Module> = {};
  const inst: Record<string, any>[] = [];
  const attach = (memory: WebAssembly.Memory) => {
    const e: Record<string, any> = {};
    for (const g of Object.keys(kmods)) e[g] = new WebAssembly.Instance(kmods[g], { env: { memory } }).exports;
    inst.push(e);
  };
  const loop = () => {
    for (;;) {
      let g = Atomics.load(ctl, 0);
      for (let spin = 0; g === seen && spin < 20000; spin++) g = Atomics.load(ctl, 0);
      if (g === seen) {
        Atomics.wait(ctl, 0, seen);
        continue;
      }
      seen = g;
      const base = 16 + slot * 48;
      // READY -> RUNNING, or the main thread already took this part (or there is none)
      if (Atomics.compareExchange(ctl, base + 3, 1, 2) !== 1) continue;
      const fn = ctl[base];
      if (fn >= 0) {
        const argc = ctl[base + 2];
        const a: number[] = [];
        for (let i = 0; i < argc; i++) a.push(args[(base + 4) / 2 + i]);
        const [grp, name] = fns[fn];
        try {
          const f = inst[ctl[base + 1]][grp][name];
          const ntasks = ctl[4];
          if (ntasks > 0) {
            const step = ctl[6];
            const total = ctl[7];
            const ia = ctl[8];
            const ib = ctl[9];
            for (let t = Atomics.add(ctl, 5, 1); t < ntasks; t = Atomics.add(ctl, 5, 1)) {
              a[ia] = t * step;
              a[ib] = Math.min(total, t * step + step);
              f(...a);
            }
          } else {
            f(...a);
          }
        } catch (err) {
          Atomics.store(ctl, 3, 1);
          port.post({ type: 'error', message: String(err) });
        }
      }
      if (Atomics.sub(ctl, 1, 1) === 1) Atomics.notify(ctl, 1);
      if (fn === -2) return; // YIELD: back to the event loop to receive a message
    }
  };
  port.on((m: any) => {
    if (m.type === 'init') {
      ctl = new Int32Array(m.ctl);
      args = new Float64Array(m.ctl);
      slot = m.slot;
      seen = m.gen;
      fns = m.fns;
      for (const g of Object.keys(m.bytes)) kmods[g] = new WebAssembly.Module(m.bytes[g]);
      for (const mem of m.memories) attach(mem);
      port.post({ type: 'ready' });
      loop();
    } else if (m.type === 'attach') {
      attach(m.memory);
      Atomics.add(ctl, 2, 1);
      Atomics.notify(ctl, 2);
      loop();
    }
  });
}

// unref(): an idle pool must not keep the process alive (a CLI ends when its work is done) — but
// only after the ready handshake: until then the pending reply is the only thing the event loop
// waits for, and Bun (whose loop, unlike Node's, does not count an in-flight worker start) ends
// the process with exit status 0 before the first token.
interface AnyWorker {
  post(m: unknown): void;
  onMessage(f: (m: any) => void): void;
  terminate(): void;
  unref(): void;
}

async function spawn(code: string): Promise<AnyWorker> {
  const G = globalThis as any;
  // Node first: libraries may install a global `Worker` polyfill in Node (onnxruntime-web does)
  // whose Blob URLs node:worker_threads cannot load. Deno and Bun also expose process.versions.node.
  const isNode = typeof G.process?.versions?.node === 'string' && !G.Deno && !G.Bun;
  if (!isNode && typeof G.Worker === 'function') {
    // Deno, Bun, browsers: a module Web Worker from a Blob URL.
    const src = `(${code})({ on: (f) => { self.onmessage = (e) => f(e.data); }, post: (m) => self.postMessage(m) });`;
    const url = URL.createObjectURL(new Blob([src], { type: 'text/javascript' }));
    const w = new G.Worker(url, { type: 'module' });
    return {
      post: (m) => w.postMessage(m),
      onMessage: (f) => {
        w.onmessage = (e: MessageEvent) => f(e.data);
      },
      terminate: () => w.terminate(),
      unref: () => {
        if (typeof w.unref === 'function') w.unref();
      },
    };
  }
  // Node: worker_threads, imported lazily so this module has no Node-only top-level import.
  const wt = await import('node:worker_threads');
  const src = `const { parentPort } = require('node:worker_threads');\n(${code})({ on: (f) => parentPort.on('message', f), post: (m) => parentPort.postMessage(m) });`;
  const w = new wt.Worker(src, { eval: true });
  return {
    post: (m) => w.postMessage(m),
    onMessage: (f) => {
      w.on('message', f);
    },
    terminate: () => {
      void w.terminate();
    },
    unref: () => w.unref(),
  };
}

export class WorkerPool {
  private readonly ctl: Int32Array;
  private readonly args: Float64Array;
  private readonly fnIds = new Map<string, number>();
  private closed = false;

  private constructor(
    private readonly workers: AnyWorker[],
    sab: ArrayBufferLike,
  ) {
    this.ctl = new Int32Array(sab);
    this.args = new Float64Array(sab);
    KERNEL_NAMES.forEach((n, i) => this.fnIds.set(n, i));
    for (const w of workers) w.onMessage(() => {});
  }

  /** Start `n` workers (threads - 1; the main thread is the other one). */
  static async create(n: number, kernels: CompiledKernels, memories: WebAssembly.Memory[]): Promise<WorkerPool> {
    // No worker (one thread): a plain buffer. A page that is not cross-origin isolated has no
    // SharedArrayBuffer constructor, and with no worker no Atomics.wait is ever reached (PENDING
    // stays 0); load/store/add/compareExchange work on a non-shared Int32Array.
    const bytes = (SLOT0 + (n + 1) * SLOT_INTS) * 4;
    const sab = n === 0 ? new ArrayBuffer(bytes) : new SharedArrayBuffer(bytes);
    const code = workerMain.toString();
    const workers = await Promise.all(Array.from({ length: n }, () => spawn(code)));
    await Promise.all(
      workers.map(
        (w, slot) =>
          new Promise<void>((resolve, reject) => {
            w.onMessage((m) => {
              if (m?.type === 'ready') resolve();
              else if (m?.type === 'error') reject(new BackendError(`worker ${slot}: ${m.message}`));
            });
            w.post({ type: 'init', ctl: sab, slot, gen: 0, fns: KERNEL_LIST, bytes: kernels.bytes, memories });
          }),
      ),
    );
    for (const w of workers) w.unref();
    return new WorkerPool(workers, sab);
  }

  get size(): number {
    return this.workers.length;
  }

  /** Run parts[0] on the calling thread via `runLocal` and parts[1..] on workers (a part
   *  whose worker has not started when the calling thread is done is run by the calling
   *  thread, unless `steal` is false — the peak/bandwidth probes need every thread at once);
   *  returns when all are done. parts.length <= size + 1. */
  run(parts: JobPart[], runLocal: (p: JobPart) => void, steal = true): void {
    this.check(parts.length);
    Atomics.store(this.ctl, NTASKS, 0);
    this.post(parts.slice(1));
    this.finish(
      () => {
        if (parts[0]) runLocal(parts[0]);
      },
      steal ? (w) => runLocal(parts[w + 1]) : undefined,
      parts,
    );
  }

  /** Run a task job on up to `threads` threads (the calling one included); each task calls
   *  `runLocal` with its own arguments on the calling thread, or the kernel in a worker. */
  runTasks(job: TaskJob, threads: number, runLocal: (p: JobPart) => void): void {
    this.check(threads);
    const ctl = this.ctl;
    Atomics.store(ctl, NTASKS, job.ntasks);
    Atomics.store(ctl, NEXT, 0);
    ctl[STEP] = job.step;
    ctl[TOTAL] = job.total;
    ctl[IA] = job.ia;
    ctl[IB] = job.ib;
    const argsFor = (thread: number): number[] => {
      const a = job.args.slice();
      if (job.perThread) a[job.perThread.index] = job.perThread.values[thread];
      return a;
    };
    const parts = Array.from({ length: threads }, (_, t): JobPart => ({ fn: job.fn, mem: job.mem, args: argsFor(t) }));
    this.post(parts.slice(1));
    const mine = parts[0].args;
    this.finish(
      () => {
        for (let t = Atomics.add(ctl, NEXT, 1); t < job.ntasks; t = Atomics.add(ctl, NEXT, 1)) {
          [mine[job.ia], mine[job.ib]] = taskRange(job, t);
          runLocal({ fn: job.fn, mem: job.mem, args: mine });
        }
      },
      () => {},
      parts,
    );
  }

  private check(n: number): void {
    if (this.closed) throw new BackendError('wasm backend: used after dispose()');
    if (n > this.workers.length + 1) throw new BackendError(`pool: ${n} parts for ${this.workers.length + 1} threads`);
  }

  /** Write the workers' parts (worker w gets parts[w], none = IDLE): PENDING first, then each
   *  slot's arguments, then its state READY, then the generation bump (see the header). */
  private post(parts: JobPart[]): void {
    const ctl = this.ctl;
    Atomics.store(ctl, PENDING, parts.length);
    for (let w = 0; w < this.workers.length; w++) {
      const base = SLOT0 + w * SLOT_INTS;
      const p = parts[w];
      if (!p) {
        ctl[base] = FN_IDLE;
        Atomics.store(ctl, base + 3, S_IDLE);
        continue;
      }
      const id = this.fnIds.get(p.fn);
      if (id === undefined || p.args.length > MAX_ARGS) throw new BackendError(`pool: cannot dispatch ${p.fn}`);
      ctl[base] = id;
      ctl[base + 1] = p.mem;
      ctl[base + 2] = p.args.length;
      for (let i = 0; i < p.args.length; i++) this.args[(base + 4) / 2 + i] = p.args[i];
      Atomics.store(ctl, base + 3, S_READY);
    }
    Atomics.add(ctl, GEN, 1);
    Atomics.notify(ctl, GEN);
  }

  /** Run the calling thread's share, take over the parts no worker started (`steal(w)`
   *  runs worker w's part here; undefined = wait for every worker), wait for the rest. */
  private finish(mine: () => void, steal: ((w: number) => void) | undefined, parts: JobPart[]): void {
    const ctl = this.ctl;
    try {
      mine();
      if (steal) {
        for (let w = 0; w + 1 < parts.length && w < this.workers.length; w++) {
          const st = SLOT0 + w * SLOT_INTS + 3;
          if (Atomics.compareExchange(ctl, st, S_READY, S_STOLEN) !== S_READY) continue;
          try {
            steal(w);
          } finally {
            Atomics.sub(ctl, PENDING, 1);
          }
        }
      }
    } finally {
      this.waitIdle();
    }
    if (Atomics.exchange(ctl, FAILED, 0) !== 0) {
      throw new BackendError(
        `a worker's kernel trapped during ${parts.map((p) => p.fn).join(', ')}`,
        'a kernel read or wrote outside its memory: report this with the op and shapes',
      );
    }
  }

  /** Instantiate a new memory in every worker (synchronously, see the header). */
  attach(memory: WebAssembly.Memory): void {
    if (this.closed || this.workers.length === 0) return;
    const before = Atomics.load(this.ctl, ATTACHED);
    for (const w of this.workers) w.post({ type: 'attach', memory });
    this.postYield();
    this.waitIdle();
    const want = before + this.workers.length;
    for (let a: number; (a = Atomics.load(this.ctl, ATTACHED)) < want; ) {
      if (Atomics.wait(this.ctl, ATTACHED, a, 30_000) === 'timed-out') {
        throw new BackendError('pool: workers did not attach a new memory within 30 s');
      }
    }
  }

  /** Stop the workers: first send them back to their event loop (a worker blocked in
   *  Atomics.wait is not always interruptible by terminate(): Deno then never exits), then
   *  terminate them. */
  close(): void {
    if (this.closed) return;
    this.closed = true;
    if (this.workers.length) {
      this.postYield();
      const deadline = Date.now() + 5000;
      for (let p: number; (p = Atomics.load(this.ctl, PENDING)) !== 0 && Date.now() < deadline; ) Atomics.wait(this.ctl, PENDING, p, 50);
    }
    for (const w of this.workers) w.terminate();
  }

  /** Every worker leaves its Atomics loop (never stolen: finish() is not used). */
  private postYield(): void {
    const ctl = this.ctl;
    Atomics.store(ctl, NTASKS, 0);
    Atomics.store(ctl, PENDING, this.workers.length);
    for (let w = 0; w < this.workers.length; w++) {
      ctl[SLOT0 + w * SLOT_INTS] = FN_YIELD;
      ctl[SLOT0 + w * SLOT_INTS + 2] = 0;
      Atomics.store(ctl, SLOT0 + w * SLOT_INTS + 3, S_READY);
    }
    Atomics.add(ctl, GEN, 1);
    Atomics.notify(ctl, GEN);
  }

  private waitIdle(): void {
    const ctl = this.ctl;
    let p = Atomics.load(ctl, PENDING);
    for (let spin = 0; p !== 0 && spin < 20000; spin++) p = Atomics.load(ctl, PENDING);
    while (p !== 0) {
      Atomics.wait(ctl, PENDING, p, 1000);
      p = Atomics.load(ctl, PENDING);
    }
  }
}
