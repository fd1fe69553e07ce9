// The `wasm` backend: AssemblyScript SIMD kernels (kernels/*.ts, embedded as generated
// modules) over shared WebAssembly memories, with a worker pool and a weight store that
// spans several memories. Implements the Backend contract of src/backend/backend.ts; the
// readable definitions are the `ts` backend (src/ops/). This is the entry point; the backend
// lives in src/backend/wasm/, one job per file (docs/kernels.md has the map):
//   create.ts  creation, thread count     ops.ts        WasmBackend: the Backend methods
//   weights.ts weight placement           kv-arena.ts   KV-cache memory
//   probes.ts  warm-up, blocking probe    jobs.ts       named kernel calls, dispatch
//   memory.ts  one wasm memory + kernels  kernel-table.ts the ONE list of kernels
//   pool.ts    worker threads             kernels.ts    embedded modules; blocking.ts GEMM blocking

export { createWasmBackend, type WasmBackendOptions } from './wasm/create.js';
export { WasmBackend, type WasmBackendInfo } from './wasm/ops.js';
