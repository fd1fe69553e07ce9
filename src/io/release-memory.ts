// Giving a disposed backend's memory back to the operating system. A wasm backend's weights
// live in WebAssembly memories that are freed only when the garbage collector finalizes them,
// and V8 does not see gigabytes of released wasm memory as a reason to collect: measured, a
// 1.8 GB backend disposed before a 2.4 GB one is loaded was still resident at the peak (max
// RSS 4.26 GB) unless full collections ran in between (2.56 GB); the memories go after ~130 ms
// of collections (the workers must exit first). `ovis run --low-memory` depends on this: the
// vision half is dropped before the LLM is loaded (src/runner.ts).

import { nodeBuiltin } from './builtin.js';

type Gc = () => void;

/** A full-collection function where the runtime offers one: `gc` when exposed
 *  (--expose-gc), Bun.gc, or Node's (and Deno's node:v8 / node:vm) flag-at-run-time route. */
function collector(): Gc | undefined {
  const g = globalThis as { gc?: Gc; Bun?: { gc(force: boolean): void } };
  if (typeof g.gc === 'function') return g.gc;
  const bun = g.Bun;
  if (bun && typeof bun.gc === 'function') return () => bun.gc(true);
  const v8 = nodeBuiltin<{ setFlagsFromString(flags: string): void }>('node:v8');
  const vm = nodeBuiltin<{ runInNewContext(code: string): unknown }>('node:vm');
  if (!v8 || !vm) return undefined;
  try {
    v8.setFlagsFromString('--expose-gc');
    const gc = vm.runInNewContext('gc');
    return typeof gc === 'function' ? (gc as Gc) : undefined;
  } catch {
    return undefined;
  }
}

/** The process's resident set in bytes, where the runtime reports it. */
export function residentSetBytes(): number | undefined {
  const p = (globalThis as { process?: { memoryUsage?: { rss?: () => number } } }).process;
  try {
    return p?.memoryUsage?.rss?.();
  } catch {
    return undefined;
  }
}

/**
 * After `backend.dispose()`: run full collections until the resident set stops falling (at
 * most ~1 s). Returns false where no collector is reachable (a browser, Deno without
 * `--v8-flags=--expose-gc`): the memory then goes whenever the engine collects.
 */
export async function releaseMemory(): Promise<boolean> {
  const gc = collector();
  if (!gc) return false;
  let best = residentSetBytes() ?? Number.POSITIVE_INFINITY;
  let still = 0;
  // the memories go only once the workers have exited (~130 ms measured): collect for at
  // least 250 ms, then until three rounds in a row free nothing
  for (let round = 0; round < 40 && (round < 10 || still < 3); round++) {
    await new Promise((r) => setTimeout(r, 25));
    gc();
    const now = residentSetBytes();
    if (now === undefined) still++;
    else if (now < best * 0.98) {
      best = now;
      still = 0;
    } else still++;
  }
  return true;
}
